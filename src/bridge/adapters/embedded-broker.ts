/**
 * The embedded MQTT broker: aedes in this process, listening on TCP (1883) and
 * MQTT-over-WebSocket (8083) for backends. The gateway itself talks to aedes directly
 * (publish/subscribe calls), never through a loopback MQTT client.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { once } from 'node:events'
import { Aedes, type AedesPublishPacket } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { HandlerTable, stripShare, type MessageHandler, type MqttPort, type QoS } from './mqtt-port.js'
import { tuneMqttSocket } from './coalesce-writes.js'
import type { Logger } from '../../observability/logger.js'
import { listenOrExplain } from '../../transport/listen.js'
import { checkExposure } from './exposure.js'
import { EmbeddedAuth } from './embedded-auth.js'
import type { MqttAcl, MqttRole } from '../mqtt-acl.js'
import { aclHooks } from './embedded-acl.js'
import { packetSizeGuard } from './packet-size.js'
import { boundedPersistence, type BoundedPersistence } from './bounded-persistence.js'
import type { HashLimiter } from '../../auth/hash-limiter.js'
import type { ConnectionLimits } from '../../auth/limits.js'
import type { ListenerSecurity } from '../../config/security.js'
import { loadTlsOptionsSync, TlsReloader } from '../../transport/tls-context.js'
import { tlsRejection } from '../../transport/tls-errors.js'
import { defaults } from '../../config/defaults.js'
import { durationMs } from '../../config/duration.js'
import type { Duplex } from 'node:stream'
import type { Metrics } from '../../observability/metrics.js'

export interface EmbeddedBrokerOptions {
  bind?: { host: string, port: number }
  wsBind?: { host: string, port: number }
  /** MQTT over TLS (mqtts) and its certificate; profile 3 = clients present certificates too. */
  tlsBind?: { host: string, port: number }
  tls?: ListenerSecurity
  /** Let clients in without credentials; needed for a non-loopback bind without users (./exposure.ts). */
  allowAnonymous?: boolean
  /** MQTT users (credentials file); without it clients need no credentials. */
  usersFile?: string
  /** Role per user of usersFile; one not listed is an observer. */
  roles?: Readonly<Record<string, MqttRole>>
  /** What each role may read and publish (../mqtt-acl.ts); undefined = no rules (tests of the port alone). */
  acl?: MqttAcl
  /** Largest packet from a client, bytes (default 1 MiB). */
  maxPacketSize?: number
  /** Connections, TCP and WebSocket together (default 1000). */
  maxClients?: number
  /** QoS 1/2 messages waiting for one client, at most (default 1000); more are dropped, counted. */
  maxQueuedMessages?: number
  /** Unsent bytes for one connection, at most (default 8 MiB); over it the client is closed. */
  maxBufferedBytes?: number
  /** How long the state of a persistent session that went away is kept, ms (default 2 h). */
  sessionExpiryMs?: number
  /** The gateway's bound on concurrent password hashes (shared with charge point logins). */
  hashLimiter?: HashLimiter
  /** Failed-login lockouts for MQTT users (see EmbeddedAuthOptions.lockouts). */
  lockouts?: ConnectionLimits
  logger: Logger
  metrics?: Metrics
}

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void

export class EmbeddedBroker implements MqttPort {
  readonly kind = 'embedded' as const
  private readonly handlers = new HandlerTable()
  private readonly delivers = new Map<string, Deliver>()
  private tcp?: Server
  private tlsServer?: TlsServer
  private tlsReloader?: TlsReloader
  private http?: HttpServer
  private wss?: WebSocketServer
  /** Open client connections, TCP and WebSocket, CONNECT or not: what max_clients bounds. */
  private connections = 0
  /** Persistent sessions that went away, by client id: dropped when their expiry comes. */
  private readonly expiring = new Map<string, NodeJS.Timeout>()
  private bounded?: BoundedPersistence

  private constructor (readonly aedes: Aedes, private readonly logger: Logger, private readonly auth: EmbeddedAuth) {}

  static async start (opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    // Before anything listens: a broker open to the network without users is refused here.
    const note = checkExposure({
      binds: [
        { key: 'mqtt.embedded.bind', what: 'TCP', bind: opts.bind },
        { key: 'mqtt.embedded.ws_bind', what: 'WebSocket', bind: opts.wsBind },
        { key: 'mqtt.embedded.tls_bind', what: 'TLS', bind: opts.tlsBind }
      ],
      authenticated: opts.usersFile !== undefined,
      allowAnonymous: opts.allowAnonymous === true
    })
    const maxPacketSize = opts.maxPacketSize ?? defaults.mqtt.embedded.max_packet_size
    const maxClients = opts.maxClients ?? defaults.mqtt.embedded.max_clients
    const maxBuffered = opts.maxBufferedBytes ?? defaults.mqtt.embedded.max_buffered_bytes
    const self: { broker?: EmbeddedBroker } = {}
    // A user removed from the file is closed at once: its connection must not outlive its right.
    const auth = await EmbeddedAuth.open({
      usersFile: opts.usersFile,
      roles: opts.roles ?? {},
      allowAnonymous: opts.allowAnonymous === true,
      ...(opts.hashLimiter !== undefined ? { hashLimiter: opts.hashLimiter } : {}),
      ...(opts.lockouts !== undefined ? { lockouts: opts.lockouts } : {}),
      logger: opts.logger,
      metrics: opts.metrics
    }, () => self.broker?.closeRevoked())
    const maxQueued = opts.maxQueuedMessages ?? defaults.mqtt.embedded.max_queued_messages
    const bounded = boundedPersistence(maxQueued, (clientId) => {
      opts.metrics?.inc('mqtt_messages_dropped_total')
      // Checked first: one line per dropped message would flood the log of a slow client.
      if (opts.logger.isLevelEnabled('debug')) opts.logger.debug({ client: clientId, max: maxQueued }, 'MQTT message not queued: mqtt.embedded.max_queued_messages reached for this client')
    })
    let aedes: Aedes
    try {
      aedes = await Aedes.createBroker({ persistence: bounded.persistence as never, authenticate: auth.authenticate, ...(opts.acl === undefined ? {} : aclHooks(opts.acl, auth, opts.logger, opts.metrics)) })
    } catch (err) {
      auth.close()
      throw err
    }
    const broker = self.broker = new EmbeddedBroker(aedes, opts.logger, auth)
    broker.bounded = bounded
    const expiryMs = opts.sessionExpiryMs ?? durationMs(defaults.mqtt.embedded.session_expiry, 'mqtt.embedded.session_expiry')
    aedes.on('clientDisconnect', (client) => {
      auth.forget(client)
      if (client.clean === false && Number.isFinite(expiryMs)) broker.expireLater(client.id, expiryMs, opts)
    })
    aedes.on('client', (client) => broker.cancelExpiry(client.id))
    aedes.on('clientError', (client, err) => opts.logger.debug({ client: client.id, err: err.message }, 'mqtt client error'))
    try {
      // TCP and TLS connections are the same from here on.
      const onSocket = (socket: Socket | TLSSocket): void => {
        if (!broker.admit(socket, maxClients, opts)) { socket.destroy(); return }
        // MQTT packets are small and latency-bound: no Nagle delay; and the packets of one
        // event-loop turn (every charge point's Calls to a backend) go out in one write.
        tuneMqttSocket(socket)
        limitPackets(socket, maxPacketSize, () => broker.tooLarge(socket, opts))
        limitBuffered(socket, () => socket.writableLength, maxBuffered, () => broker.tooSlow(socket, opts))
        aedes.handle(socket)
      }
      if (opts.bind !== undefined) {
        broker.tcp = createServer(onSocket)
        await listenOrExplain(broker.tcp, opts.bind, 'embedded MQTT broker (TCP)', 'mqtt.embedded.bind / --mqtt-bind, or use an existing broker with --mqtt-url')
      }
      const tls = opts.tls?.tls
      if (opts.tlsBind !== undefined && tls !== undefined && opts.tls !== undefined) {
        // The certificate files are read now: a missing one fails the start (OCPPGW_ERR_TLS_CONFIG).
        const server = broker.tlsServer = createTlsServer(loadTlsOptionsSync(tls, opts.tls.profile), onSocket)
        broker.tlsReloader = new TlsReloader(server, tls, {
          onReload: () => opts.logger.info({ certfile: tls.certfile }, 'MQTT TLS certificate reloaded'),
          onError: (err) => opts.logger.error({ err: err.message }, 'MQTT TLS certificate not reloaded; keeping the previous one')
        })
        server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
          const { reason, code } = tlsRejection(err, socket)
          opts.metrics?.inc('mqtt_clients_refused_total', reason)
          opts.logger.info({ reason, code }, 'MQTT TLS handshake refused')
        })
        await listenOrExplain(server, opts.tlsBind, 'embedded MQTT broker (TLS)', 'mqtt.embedded.tls_bind')
      }
      if (opts.wsBind !== undefined) {
        broker.http = createHttpServer((_req, res) => { res.writeHead(426).end('MQTT over WebSocket only\n') })
        broker.wss = new WebSocketServer({
          server: broker.http,
          // A WebSocket message carries one MQTT packet or a few: bound what ws buffers too
          // (its own default is 100 MiB), with room for packets sent together.
          maxPayload: 2 * maxPacketSize,
          handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false)
        })
        broker.wss.on('connection', (ws, req) => {
          if (!broker.admit(ws, maxClients, opts)) { ws.close(1013, 'too many clients'); return }
          const stream = createWebSocketStream(ws)
          stream.on('error', () => stream.destroy())
          limitPackets(stream, maxPacketSize, () => broker.tooLarge(stream, opts))
          limitBuffered(stream, () => stream.writableLength + ws.bufferedAmount, maxBuffered, () => broker.tooSlow(stream, opts))
          aedes.handle(stream as any, req)
        })
        await listenOrExplain(broker.http, opts.wsBind, 'embedded MQTT broker (WebSocket)', 'mqtt.embedded.ws_bind / --mqtt-ws-bind')
      }
    } catch (err) {
      await broker.close()
      throw err
    }
    if (note !== undefined) opts.logger[note.level](note.message)
    return broker
  }

  /** Bound ports, e.g. after binding to port 0. */
  get tcpPort (): number | undefined { return addrPort(this.tcp) }
  get wsPort (): number | undefined { return addrPort(this.http) }
  get tlsPort (): number | undefined { return addrPort(this.tlsServer) }

  /** Re-read the TLS certificate (SIGHUP); nothing to do without a TLS listener. */
  async reload (): Promise<void> {
    await this.tlsReloader?.reload()
  }

  publish (topic: string, payload: string | Buffer, qos: QoS, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.aedes.publish(packet(topic, payload, qos, retain), (err?: Error) => (err != null ? reject(err) : resolve()))
    })
  }

  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void): void {
    this.aedes.publish(packet(topic, payload, qos, false), (err?: Error) => { if (err != null) onError(err) })
  }

  subscribe (topic: string, _qos: QoS, handler: MessageHandler): Promise<void> {
    if (!this.handlers.add(topic, handler)) return Promise.resolve()
    const deliver: Deliver = (packet, cb) => {
      this.handlers.dispatchTo(topic, packet.topic, packet.payload as Buffer)
      cb()
    }
    this.delivers.set(topic, deliver)
    // aedes has no shared subscriptions; in process there is one node anyway.
    return new Promise((resolve) => this.aedes.subscribe(stripShare(topic), deliver, () => resolve()))
  }

  unsubscribe (topic: string, handler: MessageHandler): Promise<void> {
    if (!this.handlers.remove(topic, handler)) return Promise.resolve()
    const deliver = this.delivers.get(topic)
    this.delivers.delete(topic)
    if (deliver === undefined) return Promise.resolve()
    return new Promise((resolve) => this.aedes.unsubscribe(stripShare(topic), deliver, () => resolve()))
  }

  /** Counts a new connection; false when max_clients are already open. */
  private admit (conn: { once: (e: 'close', f: () => void) => unknown }, max: number, opts: EmbeddedBrokerOptions): boolean {
    if (this.connections >= max) {
      opts.metrics?.inc('mqtt_clients_refused_total')
      this.logger.warn({ max }, 'MQTT connection refused: mqtt.embedded.max_clients reached')
      return false
    }
    this.connections++
    conn.once('close', () => { this.connections-- })
    return true
  }

  private tooLarge (conn: { destroy: () => void }, opts: EmbeddedBrokerOptions): void {
    opts.metrics?.inc('mqtt_packets_too_large_total')
    this.logger.warn({ max: opts.maxPacketSize ?? defaults.mqtt.embedded.max_packet_size }, 'MQTT client closed: packet over mqtt.embedded.max_packet_size')
    conn.destroy()
  }

  /** A client that does not read: what it has not taken is bounded, so it goes. */
  private tooSlow (conn: { destroy: () => void }, opts: EmbeddedBrokerOptions): void {
    opts.metrics?.inc('mqtt_slow_clients_closed_total')
    this.logger.warn({ max: opts.maxBufferedBytes ?? defaults.mqtt.embedded.max_buffered_bytes }, 'MQTT client closed: more unsent bytes than mqtt.embedded.max_buffered_bytes (it does not read)')
    conn.destroy()
  }

  private expireLater (clientId: string, ms: number, opts: EmbeddedBrokerOptions): void {
    this.cancelExpiry(clientId)
    const timer = setTimeout(() => {
      this.expiring.delete(clientId)
      // Back under the same id meanwhile (a takeover reports the old one's disconnect after
      // the new one's connect): the session is in use, nothing expires.
      if ((this.aedes as unknown as { clients: Record<string, unknown> }).clients[clientId] !== undefined) return
      const dropped = this.bounded?.queued(clientId) ?? 0
      this.bounded?.forget(clientId).then(() => {
        opts.metrics?.inc('mqtt_sessions_expired_total')
        this.logger.info({ client: clientId, dropped }, 'MQTT persistent session expired (mqtt.embedded.session_expiry): its subscriptions and queued messages are dropped')
      }, (err: Error) => this.logger.warn({ client: clientId, err: err.message }, 'MQTT session expiry failed'))
    }, ms)
    timer.unref()
    this.expiring.set(clientId, timer)
  }

  private cancelExpiry (clientId: string): void {
    const t = this.expiring.get(clientId)
    if (t !== undefined) { clearTimeout(t); this.expiring.delete(clientId) }
  }

  private closeRevoked (): void {
    for (const client of this.auth.revoked()) {
      this.logger.info({ client: client.id, username: this.auth.identity(client)?.username }, 'MQTT user removed from the users file: closing its connection')
      client.close()
    }
  }

  async close (): Promise<void> {
    this.auth.close()
    for (const t of this.expiring.values()) clearTimeout(t)
    this.expiring.clear()
    // Give QoS 1/2 exchanges with connected backends time to complete (MQTT.js emits a QoS 2
    // message only at PUBREL): the last events and gateway answers of a shutdown get through.
    if (this.aedes.connectedClients > 0) await new Promise((resolve) => setTimeout(resolve, 200))
    for (const c of this.wss?.clients ?? []) c.terminate()
    const closing: Promise<unknown>[] = []
    if (this.tcp?.listening === true) { this.tcp.close(); closing.push(once(this.tcp, 'close')) }
    this.tlsReloader?.close()
    if (this.tlsServer?.listening === true) { this.tlsServer.close(); closing.push(once(this.tlsServer, 'close')) }
    if (this.http?.listening === true) { this.http.close(); this.http.closeAllConnections(); closing.push(once(this.http, 'close')) }
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()))
    await Promise.all(closing)
  }
}

/**
 * Checks every byte a client sends against the packet-size bound before aedes parses it. aedes
 * pulls its input with conn.read() in paused mode (lib/client.js, nextBatch), so wrapping
 * read() on our own connection object sees every chunk first, costs nothing per packet beyond
 * the header arithmetic, and needs no extra stream on the hot path.
 */
function limitPackets (conn: Duplex, max: number, onTooLarge: () => void): void {
  const feed = packetSizeGuard(max)
  const read = conn.read.bind(conn)
  conn.read = (size?: number) => {
    const chunk = read(size) as Buffer | null
    if (chunk === null || feed(chunk)) return chunk
    onTooLarge()
    return null
  }
}

/**
 * One client's backlog is its own: aedes waits for a client's 'drain' before it finishes a
 * delivery, and its emitter waits for every subscriber's delivery, so one subscriber that
 * stopped reading froze every other client (measured: a paused subscriber stopped a second
 * one at 300 of 1,000 messages, for aedes' whole 60 s drainTimeout). Here a write always
 * reports room, so nobody waits on this client, and what it has not taken is bounded instead:
 * past `max` unsent bytes it is closed. One property read per write.
 */
function limitBuffered (conn: Duplex, buffered: () => number, max: number, onOver: () => void): void {
  const write = conn.write.bind(conn) as (...args: unknown[]) => boolean
  let over = false
  conn.write = ((...args: unknown[]): boolean => {
    if (over) return true // closing: nothing more for it
    if (buffered() > max) {
      over = true
      onOver()
      return true
    }
    write(...args)
    return true
  }) as typeof conn.write
}

function packet (topic: string, payload: string | Buffer, qos: QoS, retain: boolean): AedesPublishPacket {
  return { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, retain, dup: false } as AedesPublishPacket
}

function addrPort (server: Server | HttpServer | TlsServer | undefined): number | undefined {
  const a = server?.address()
  return a !== null && typeof a === 'object' ? a.port : undefined
}

/**
 * The embedded MQTT broker: aedes in this process, listening on TCP (1883),
 * MQTT-over-WebSocket (8083) and, when configured, TLS and secure WebSocket for backends. The gateway itself talks to aedes directly
 * (publish/subscribe calls), never through a loopback MQTT client.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls'
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { once } from 'node:events'
import type { Duplex } from 'node:stream'
import { Aedes, type AedesPublishPacket } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { HandlerTable, noteProps, stripShare, type MessageHandler, type MqttPort, type MqttProps, type QoS } from './mqtt-port.js'
import { tuneMqttSocket } from './coalesce-writes.js'
import type { Logger } from '../../observability/logger.js'
import { listenOrExplain } from '../../transport/listen.js'
import { checkExposure } from './exposure.js'
import { EmbeddedAuth, type EmbeddedAuthOptions } from './embedded-auth.js'
import { httpOptions, upgradeOnly } from './embedded-http.js'
import type { MqttAcl, MqttRole } from '../mqtt-acl.js'
import { aclHooks } from './embedded-acl.js'
import { limitBuffered, limitPackets } from './connection-guards.js'
import { boundedPersistence, type BoundedPersistence } from './bounded-persistence.js'
import type { HashLimiter } from '../../auth/hash-limiter.js'
import type { ConnectionLimits } from '../../auth/limits.js'
import type { HttpAuthenticatorConfig, ListenerSecurity, TlsFiles } from '../../config/security.js'
import { GatewayError } from '../../errors.js'
import { loadTlsOptionsSync, TlsReloader } from '../../transport/tls-context.js'
import { tlsRejection } from '../../transport/tls-errors.js'
import { defaults } from '../../config/defaults.js'
import { durationMs } from '../../config/duration.js'
import type { Metrics } from '../../observability/metrics.js'
import { PublishPump } from './publish-pump.js'
import { SharedSubscriptions, type SharedStrategy } from './shared-subscriptions.js'
import { filterClientPackets } from './client-packets.js'

export interface EmbeddedBrokerOptions {
  bind?: { host: string, port: number }
  wsBind?: { host: string, port: number }
  /** MQTT over TLS (mqtts) and its certificate; profile 3 = clients present certificates too. */
  tlsBind?: { host: string, port: number }
  /** MQTT over secure WebSocket (wss), with the same certificate and profile as tlsBind. */
  wssBind?: { host: string, port: number }
  /** The certificate of tlsBind and wssBind. */
  tls?: ListenerSecurity
  /** Let clients in without credentials; needed for a non-loopback bind without users (./exposure.ts). */
  allowAnonymous?: boolean
  /** MQTT users (credentials file); without it clients need no credentials. */
  usersFile?: string
  /** An HTTP service that checks MQTT logins, for user names not in usersFile (./embedded-auth.ts). */
  authentication?: HttpAuthenticatorConfig
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
  /** Which member of a `$share/group/…` group gets a message (./shared-subscriptions.ts; default round_robin). */
  sharedSubscriptionStrategy?: SharedStrategy
  /** The charge point id of a gateway topic, for the hash_clientid strategy. */
  chargerIdOf?: (topic: string) => string | undefined
  /** The gateway's own worker processes' user (--workers; role gateway, ./embedded-auth.ts). */
  internal?: EmbeddedAuthOptions['internal']
  /** The gateway's bound on concurrent password hashes (shared with charge point logins). */
  hashLimiter?: HashLimiter
  /** Failed-login lockouts for MQTT users (see EmbeddedAuthOptions.lockouts). */
  lockouts?: ConnectionLimits
  logger: Logger
  metrics?: Metrics
}

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void
/** The bounds every listener applies to each connection. */
interface Guards { maxClients: number, maxPacketSize: number, maxBuffered: number }

export class EmbeddedBroker implements MqttPort {
  readonly kind = 'embedded' as const
  private readonly handlers = new HandlerTable()
  private readonly delivers = new Map<string, Deliver>()
  private tcp?: Server
  private tlsServer?: TlsServer
  private tlsReloader?: TlsReloader
  private http?: HttpServer
  private https?: HttpsServer
  private readonly wsServers: WebSocketServer[] = []
  /** Open client connections, TCP and WebSocket, CONNECT or not: what max_clients bounds. */
  private connections = 0
  /** Persistent sessions that went away, by client id: dropped when their expiry comes. */
  private readonly expiring = new Map<string, NodeJS.Timeout>()
  private bounded?: BoundedPersistence

  /** Our publishes, paced so that aedes' emitter never queues them (./publish-pump.ts). */
  private readonly pump: PublishPump<AedesPublishPacket>

  private constructor (readonly aedes: Aedes, private readonly logger: Logger, private readonly auth: EmbeddedAuth) {
    this.pump = new PublishPump((p, done) => { aedes.publish(p, done) })
  }

  static async start (opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    // Before anything listens: a broker open to the network without users is refused here.
    const note = checkExposure({
      binds: [
        { key: 'mqtt.embedded.bind', what: 'TCP', bind: opts.bind },
        { key: 'mqtt.embedded.ws_bind', what: 'WebSocket', bind: opts.wsBind },
        { key: 'mqtt.embedded.tls_bind', what: 'TLS', bind: opts.tlsBind },
        { key: 'mqtt.embedded.wss_bind', what: 'secure WebSocket', bind: opts.wssBind }
      ],
      authenticated: opts.usersFile !== undefined || opts.authentication !== undefined,
      by: [opts.usersFile !== undefined ? 'mqtt.embedded.users_file' : '', opts.authentication !== undefined ? 'mqtt.embedded.authentication' : ''].filter((k) => k !== '').join(', then '),
      allowAnonymous: opts.allowAnonymous === true
    })
    const maxPacketSize = opts.maxPacketSize ?? defaults.mqtt.embedded.max_packet_size
    const maxClients = opts.maxClients ?? defaults.mqtt.embedded.max_clients
    const maxBuffered = opts.maxBufferedBytes ?? defaults.mqtt.embedded.max_buffered_bytes
    const self: { broker?: EmbeddedBroker } = {}
    // A user removed from the file is closed at once: its connection must not outlive its right.
    const auth = await EmbeddedAuth.open({
      internal: opts.internal,
      usersFile: opts.usersFile,
      ...(opts.authentication !== undefined ? { http: httpOptions(opts.authentication) } : {}),
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
    const expiryMs = opts.sessionExpiryMs ?? durationMs(defaults.mqtt.embedded.session_expiry, 'mqtt.embedded.session_expiry')
    let aedes: Aedes
    try {
      aedes = await Aedes.createBroker({
        persistence: bounded.persistence as never,
        authenticate: auth.authenticate,
        ...(opts.acl === undefined ? {} : aclHooks(opts.acl, auth, opts.logger, opts.metrics)),
        // MQTT 5 clients learn the packet bound from the CONNACK (limitPackets enforces it first),
        // and a session expiry they ask for is capped at ours.
        maximumPacketSize: maxPacketSize,
        ...(Number.isFinite(expiryMs) ? { sessionExpiryIntervalLimit: Math.ceil(expiryMs / 1000) } : {})
      })
    } catch (err) {
      auth.close()
      throw err
    }
    new SharedSubscriptions(opts.sharedSubscriptionStrategy ?? defaults.mqtt.embedded.shared_subscription_strategy, opts.chargerIdOf).install(aedes as never)
    const broker = self.broker = new EmbeddedBroker(aedes, opts.logger, auth)
    broker.bounded = bounded
    aedes.on('clientDisconnect', (client) => {
      auth.forget(client)
      bounded.cleanIncoming(client)
      if (client.clean === false && Number.isFinite(expiryMs)) broker.expireLater(client.id, expiryMs, opts)
    })
    aedes.on('client', (client) => { broker.cancelExpiry(client.id); bounded.cleanIncoming(client) })
    aedes.on('clientError', (client, err) => opts.logger.debug({ client: client.id, err: err.message }, 'mqtt client error'))
    try {
      const guards: Guards = { maxClients, maxPacketSize, maxBuffered }
      const onSocket = (socket: Socket | TLSSocket): void => broker.serveSocket(socket, guards, opts)
      if (opts.bind !== undefined) {
        broker.tcp = createServer(onSocket)
        await listenOrExplain(broker.tcp, opts.bind, 'embedded MQTT broker (TCP)', 'mqtt.embedded.bind / --mqtt-bind, or use an existing broker with --mqtt-url', 'another process, e.g. another MQTT broker,')
      }
      // The certificate files are read once, now: a missing one fails the start (OCPPGW_ERR_TLS_CONFIG).
      const tls = opts.tlsBind !== undefined || opts.wssBind !== undefined ? secureOptions(opts) : undefined
      if (opts.tlsBind !== undefined && tls !== undefined) {
        broker.tlsServer = broker.refuseLogged(createTlsServer(tls.options, onSocket), 'TLS', opts)
        await listenOrExplain(broker.tlsServer, opts.tlsBind, 'embedded MQTT broker (TLS)', 'mqtt.embedded.tls_bind', 'another process, e.g. another MQTT broker,')
      }
      if (opts.wsBind !== undefined) {
        broker.http = broker.serveWebSocket(createHttpServer(upgradeOnly), guards, opts)
        await listenOrExplain(broker.http, opts.wsBind, 'embedded MQTT broker (WebSocket)', 'mqtt.embedded.ws_bind / --mqtt-ws-bind', 'another process, e.g. another MQTT broker,')
      }
      if (opts.wssBind !== undefined && tls !== undefined) {
        broker.https = broker.serveWebSocket(broker.refuseLogged(createHttpsServer(tls.options, upgradeOnly), 'secure WebSocket', opts), guards, opts)
        await listenOrExplain(broker.https, opts.wssBind, 'embedded MQTT broker (secure WebSocket)', 'mqtt.embedded.wss_bind', 'another process, e.g. another MQTT broker,')
      }
      // One reloader for both TLS listeners: they serve the same files (mqtt.embedded.ssl_options).
      const secured = [broker.tlsServer, broker.https].filter((s): s is TlsServer | HttpsServer => s !== undefined)
      if (tls !== undefined && secured.length > 0) {
        broker.tlsReloader = new TlsReloader({ setSecureContext: (ctx) => { for (const s of secured) s.setSecureContext(ctx) } }, tls.files, {
          onReload: () => opts.logger.info({ certfile: tls.files.certfile }, 'MQTT TLS certificate reloaded'),
          onError: (err) => opts.logger.error({ err: err.message }, 'MQTT TLS certificate not reloaded; keeping the previous one')
        })
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
  get wssPort (): number | undefined { return addrPort(this.https) }

  /** Re-read the TLS certificate (SIGHUP); nothing to do without a TLS or wss listener. */
  async reload (): Promise<void> {
    await this.tlsReloader?.reload()
  }

  publish (topic: string, payload: string | Buffer, qos: QoS, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pump.publish(packet(topic, payload, qos, retain), (err?: Error) => (err != null ? reject(err) : resolve()))
    })
  }

  readonly properties = true // MQTT 5 properties reach MQTT 5 subscribers (aedes 2), not 3.1.1 ones

  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void, props?: MqttProps): void {
    this.pump.publish(packet(topic, payload, qos, false, props), (err?: Error) => { if (err != null) onError(err) })
  }

  subscribe (topic: string, _qos: QoS, handler: MessageHandler): Promise<void> {
    if (!this.handlers.add(topic, handler)) return Promise.resolve()
    const deliver: Deliver = (packet, cb) => {
      noteProps(packet.payload as Buffer, (packet as { properties?: MqttProps }).properties)
      this.handlers.dispatchTo(topic, packet.topic, packet.payload as Buffer)
      cb()
    }
    this.delivers.set(topic, deliver)
    // In process there is one node: the gateway's own $share/ filters are plain subscriptions.
    return new Promise((resolve) => this.aedes.subscribe(stripShare(topic), deliver, () => resolve()))
  }

  unsubscribe (topic: string, handler: MessageHandler): Promise<void> {
    if (!this.handlers.remove(topic, handler)) return Promise.resolve()
    const deliver = this.delivers.get(topic)
    this.delivers.delete(topic)
    if (deliver === undefined) return Promise.resolve()
    return new Promise((resolve) => this.aedes.unsubscribe(stripShare(topic), deliver, () => resolve()))
  }

  /** A TCP or TLS connection: counted, bounded, then aedes'. */
  private serveSocket (socket: Socket | TLSSocket, g: Guards, opts: EmbeddedBrokerOptions): void {
    if (!this.admit(socket, g.maxClients, opts)) { socket.destroy(); return }
    // MQTT packets are small and latency-bound: no Nagle delay; and the packets of one
    // event-loop turn (every charge point's Calls to a backend) go out in one write.
    tuneMqttSocket(socket)
    limitPackets(socket, g.maxPacketSize, () => this.tooLarge(socket, opts))
    limitBuffered(socket, () => socket.writableLength, g.maxBuffered, () => this.tooSlow(socket, opts))
    this.handle(socket)
  }

  /** aedes takes the connection, its packets filtered first (./client-packets.ts). */
  private handle (conn: Socket | TLSSocket | Duplex, req?: IncomingMessage): void {
    try {
      filterClientPackets(this.aedes.handle(conn, req), (name) => this.logger.warn({ name }, 'MQTT client closed: a client id, topic or filter named like an object property (e.g. __proto__) is refused'))
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'MQTT connection closed')
      conn.destroy()
    }
  }

  /** MQTT over WebSocket on an HTTP or HTTPS server (ws_bind, wss_bind): the same guards as TCP. */
  private serveWebSocket<S extends HttpServer | HttpsServer> (server: S, g: Guards, opts: EmbeddedBrokerOptions): S {
    const wss = new WebSocketServer({
      server,
      // A WebSocket message carries one MQTT packet or a few: bound what ws buffers too
      // (its own default is 100 MiB), with room for packets sent together.
      maxPayload: 2 * g.maxPacketSize,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false)
    })
    this.wsServers.push(wss)
    wss.on('connection', (ws, req) => {
      if (!this.admit(ws, g.maxClients, opts)) { ws.close(1013, 'too many clients'); return }
      // A WebSocket message over maxPayload (one frame, or fragments that never end) is refused
      // by ws itself (close 1009) before any MQTT header reaches limitPackets: the same bound.
      ws.on('error', (err: Error & { code?: string }) => { if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.tooLarge(ws, opts) })
      const stream = createWebSocketStream(ws)
      stream.on('error', () => stream.destroy())
      limitPackets(stream, g.maxPacketSize, () => this.tooLarge(stream, opts))
      limitBuffered(stream, () => stream.writableLength + ws.bufferedAmount, g.maxBuffered, () => this.tooSlow(stream, opts))
      this.handle(stream, req)
    })
    return server
  }

  /** A refused TLS handshake (no or a foreign client certificate, plain MQTT on a TLS port): counted and logged. */
  private refuseLogged<S extends TlsServer | HttpsServer> (server: S, listener: string, opts: EmbeddedBrokerOptions): S {
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const { reason, code } = tlsRejection(err, socket)
      opts.metrics?.inc('mqtt_clients_refused_total', reason)
      this.logger.info({ listener, reason, code }, 'MQTT TLS handshake refused')
    })
    return server
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

  private tooLarge (conn: { destroy: () => void } | { terminate: () => void }, opts: EmbeddedBrokerOptions): void {
    opts.metrics?.inc('mqtt_packets_too_large_total')
    this.logger.warn({ max: opts.maxPacketSize ?? defaults.mqtt.embedded.max_packet_size }, 'MQTT client closed: packet over mqtt.embedded.max_packet_size')
    if ('destroy' in conn) conn.destroy()
    else conn.terminate()
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
    for (const wss of this.wsServers) for (const c of wss.clients) c.terminate()
    const closing: Promise<unknown>[] = []
    if (this.tcp?.listening === true) { this.tcp.close(); closing.push(once(this.tcp, 'close')) }
    this.tlsReloader?.close()
    if (this.tlsServer?.listening === true) { this.tlsServer.close(); closing.push(once(this.tlsServer, 'close')) }
    for (const http of [this.http, this.https]) {
      if (http?.listening === true) { http.close(); http.closeAllConnections(); closing.push(once(http, 'close')) }
    }
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()))
    await Promise.all(closing)
  }
}

function packet (topic: string, payload: string | Buffer, qos: QoS, retain: boolean, props?: MqttProps): AedesPublishPacket {
  const properties = props === undefined ? undefined : { correlationData: props.correlationData, userProperties: props.userProperties }
  return { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, retain, dup: false, properties } as AedesPublishPacket
}

/** The TLS server options and files of tls_bind and wss_bind (mqtt.embedded.ssl_options). */
function secureOptions (opts: EmbeddedBrokerOptions): { options: TlsOptions, files: TlsFiles } {
  const files = opts.tls?.tls
  if (opts.tls === undefined || files === undefined) throw new GatewayError('OCPPGW_ERR_TLS_CONFIG', 'mqtt.embedded.tls_bind / wss_bind: no certificate (mqtt.embedded.ssl_options certfile and keyfile)')
  return { options: loadTlsOptionsSync(files, opts.tls.profile), files }
}

function addrPort (server: Server | HttpServer | HttpsServer | TlsServer | undefined): number | undefined {
  const a = server?.address()
  return a !== null && typeof a === 'object' ? a.port : undefined
}

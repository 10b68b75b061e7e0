/**
 * One OCPP-J WebSocket listener: HTTP server, handshake decisions before the upgrade
 * (HTTP 400/404 with a readable reason), then a Session per connection.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import type { Duplex } from 'node:stream'
import { once } from 'node:events'
import { createServer as createNetServer, type Server as NetServer } from 'node:net'
import { WebSocketServer } from 'ws'
import type { ListenerConfig } from '../config/load.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { chargePointIdFromUrl, chooseSubprotocol, parseBasicAuth, type ProtocolChoice } from './handshake.js'
import { listenOrExplain } from './listen.js'
import type { ChargePointSocket } from './socket.js'
import { loadTlsOptionsSync, TlsReloader } from './tls-context.js'
import { peerCertificateCN, peerCertificateOrganization, tlsRejection } from './tls-errors.js'
import { wsSocket } from './ws-socket.js'
import { clientAddress, trustedProxies, type TrustedProxies } from './client-address.js'
import { ProxiedPeers } from './proxy-protocol.js'
import { headerPort, ListenerRate, originAllowed } from './upgrade-gates.js'
import { unmap } from '../util/cidr.js'

export interface UpgradeInfo {
  cid: string
  choice: ProtocolChoice
  username: string | undefined
  password: string | undefined
  /** The password byte for byte (a 1.6 AuthorizationKey may be binary). */
  passwordBytes?: Buffer | undefined
  peer: string
  listener: ListenerConfig
  request: IncomingMessage
  /**
   * Bare IP (no port) of the charger, for per-address limits: the TCP peer, or from a trusted
   * proxy the address its `proxy_address_header` names (client-address.ts).
   */
  address: string
  /** Subject CN of the verified client certificate (profile 3). */
  certCN: string | undefined
  /** Subject O of the verified client certificate (profile 3), when the listener checks it. */
  certOrganization?: string | undefined
}

/** A refusal decided before the upgrade, answered as an HTTP status. */
export interface Refusal { status: number, reason: string, code: string, headers?: Record<string, string> }

/**
 * What the listener asks of the gateway around it. `prepare` runs before the upgrade is
 * answered (authentication, downstream subscription); when it refuses, the client gets the
 * HTTP status. Exactly one of `connect` or `abort` follows a successful `prepare`.
 * `connect` gets the upgraded connection as a {@link ChargePointSocket} (ws-socket.ts).
 */
export interface ConnectionHandler {
  prepare: (info: UpgradeInfo) => Promise<Refusal | undefined>
  connect: (socket: ChargePointSocket, info: UpgradeInfo) => void
  abort: (info: UpgradeInfo) => void
}

const statusText: Record<number, string> = { 408: 'Request Timeout', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }

/** Answer an upgrade request with an HTTP error and close the socket. */
export function rejectUpgrade (socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const body = reason + '\n'
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  socket.end(`HTTP/1.1 ${status} ${statusText[status] ?? 'Error'}\r\nConnection: close\r\n${extra}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

export class WsListener {
  readonly server: Server
  private readonly wss: WebSocketServer
  private connections = 0
  private pendingUpgrades = 0
  private readonly tlsReloader: TlsReloader | undefined
  private readonly trusted: TrustedProxies
  /** With proxy_protocol: the TCP server in front that reads the header, and what it read. */
  private readonly front: NetServer | undefined
  private readonly proxied: ProxiedPeers | undefined
  private accepting = false
  private readonly rate: ListenerRate | undefined

  constructor (readonly config: ListenerConfig, private readonly log: Logger, private readonly metrics: Metrics, private readonly handler: ConnectionHandler) {
    const onRequest: RequestListener = (_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' }).end(`OCPP-J endpoint: open a WebSocket to ${config.path}/{chargePointId}\n`)
    }
    this.trusted = trustedProxies(config.trustedProxies)
    this.rate = config.maxConnRate === undefined ? undefined : new ListenerRate(config.maxConnRate)
    const tls = config.security.tls
    // Handshake timeout: a client that does not finish its TLS handshake or its upgrade
    // request in time is dropped (slowloris), checked every second rather than Node's 30 s.
    const timeouts = { headersTimeout: config.handshakeTimeoutMs, requestTimeout: config.handshakeTimeoutMs + 1000, connectionsCheckingInterval: 1000 }
    if (tls === undefined) {
      this.server = createServer(timeouts, onRequest)
    } else {
      // Profiles 2 and 3: TLS from PEM files, replaced without a restart (file change or reload()).
      const https = createHttpsServer({ ...loadTlsOptionsSync(tls, config.security.profile), ...timeouts, handshakeTimeout: config.handshakeTimeoutMs }, onRequest)
      this.server = https
      this.tlsReloader = new TlsReloader(https, tls, {
        onReload: () => log.info({ listener: config.name, certfiles: [tls.certfile, ...(tls.more ?? []).map((p) => p.certfile)] }, 'TLS certificate reloaded'),
        onError: (err) => log.error({ listener: config.name, err: err.message }, 'TLS certificate not reloaded; keeping the previous one')
      })
      this.server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        const { reason, code } = tlsRejection(err, socket)
        this.metrics.inc('connections_rejected_total', reason)
        log.info({ listener: config.name, reason, code }, 'TLS handshake refused')
      })
    }
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: true,
      perMessageDeflate: false,
      maxPayload: config.maxFrameSize,
      // The choice was made before the upgrade (see onUpgrade); ws only asks when offered.
      handleProtocols: (_offered, req) => (req as RequestWithChoice).ocppSubprotocol ?? false
    })
    if (config.proxyProtocol) {
      const proxied = this.proxied = new ProxiedPeers()
      const server = this.server
      this.front = createNetServer({ pauseOnConnect: true }, (socket) => {
        const from = unmap(socket.remoteAddress ?? '')
        socket.on('error', destroySocket)
        if (this.trusted.size > 0 && !this.trusted.has(from)) {
          // Anyone else could claim any address in a header.
          this.metrics.inc('connections_rejected_total', 'proxy_untrusted')
          log.info({ listener: config.name, peer: from }, 'connection rejected: PROXY protocol listener, peer not in trusted_proxies')
          socket.destroy()
          return
        }
        proxied.accept(socket, server, config.handshakeTimeoutMs, (message) => {
          this.metrics.inc('connections_rejected_total', 'proxy_header')
          log.info({ listener: config.name, peer: from, err: message }, 'connection rejected: bad PROXY protocol header')
        })
      })
    }
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
    this.server.on('clientError', (err: Error & { code?: string }, socket) => {
      const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      this.metrics.inc('connections_rejected_total', timeout ? 'handshake_timeout' : 'bad_request')
      if (socket.writable) rejectUpgrade(socket, timeout ? 408 : 400, timeout ? 'handshake timeout' : 'bad request')
      else socket.destroy()
    })
  }

  async listen (): Promise<void> {
    await listenOrExplain(this.front ?? this.server, this.config, `OCPP listener "${this.config.name}"`, `listeners.ws.${this.config.name}.bind / --bind`, 'another process, e.g. another gateway or OCPP server,')
    // Behind the PROXY-protocol front the HTTP server never listens itself; its handshake and
    // request timeouts start with its 'listening' event, so it gets one.
    if (this.front !== undefined) this.server.emit('listening')
    this.accepting = true
    const a = (this.front ?? this.server).address()
    this.log.info({ listener: this.config.name, address: typeof a === 'object' && a !== null ? `${a.address}:${a.port}` : a, path: this.config.path, subprotocols: this.config.subprotocols }, 'OCPP-J listener ready')
  }

  /** Bound and accepting charge points (false before listen() and once stopping). */
  get listening (): boolean { return this.accepting }

  get port (): number {
    const a = (this.front ?? this.server).address()
    return typeof a === 'object' && a !== null ? a.port : 0
  }

  private reject (socket: Duplex, status: number, reason: string, code: string, req: IncomingMessage, headers?: Record<string, string>): void {
    this.metrics.inc('connections_rejected_total', code)
    const via = this.clientOf(req)
    this.log.info({ listener: this.config.name, url: req.url, peer: via.peer, ...(via.proxy !== undefined ? { proxy: via.proxy } : {}), status, code, reason }, 'connection rejected')
    rejectUpgrade(socket, status, reason, headers)
  }

  /**
   * Listeners that stay on a socket for its life are made outside onUpgrade: a closure made in
   * there would keep onUpgrade's whole scope (the request, its headers, the credentials) alive
   * as long as the connection, since V8 closures of one scope share it.
   */
  private readonly socketClosed = (): void => { this.connections-- }

  private onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket)
    const cfg = this.config
    // EMQX's max_conn_rate: before anything is parsed (upgrade-gates.ts).
    if (this.rate !== undefined && !this.rate.take(Date.now())) {
      this.reject(socket, 503, 'too many connections per second on this listener, retry later', 'listener_rate', req, { 'Retry-After': '1' })
      return
    }
    if (cfg.checkOrigins !== undefined && !originAllowed(req.headers.origin, cfg.checkOrigins, cfg.allowOriginAbsence)) {
      this.reject(socket, 403, 'origin not allowed', 'origin_not_allowed', req)
      return
    }
    const id = chargePointIdFromUrl(req.url ?? '/', cfg.path)
    if (!id.ok) { this.reject(socket, id.error.status, id.error.reason, id.error.code, req); return }
    const proto = chooseSubprotocol(req.headers['sec-websocket-protocol'], cfg.subprotocols, cfg.failIfNoSubprotocol)
    if (!proto.ok) { this.reject(socket, proto.error.status, proto.error.reason, proto.error.code, req); return }
    if (this.connections + this.pendingUpgrades >= cfg.maxConnections) {
      this.reject(socket, 503, 'too many connections', 'max_connections', req)
      return
    }
    const creds = parseBasicAuth(req.headers.authorization)
    const via = this.clientOf(req)
    ;(req as RequestWithChoice).ocppSubprotocol = proto.value.subprotocol
    const info: UpgradeInfo = {
      cid: id.value,
      choice: proto.value,
      username: creds?.username,
      password: creds?.password,
      passwordBytes: creds?.passwordBytes,
      peer: via.peer,
      listener: cfg,
      request: req,
      address: via.address,
      certCN: cfg.security.profile === 3 ? peerCertificateCN(req.socket as TLSSocket) : undefined,
      certOrganization: cfg.security.organizations === undefined ? undefined : peerCertificateOrganization(req.socket as TLSSocket)
    }
    this.pendingUpgrades++
    this.handler.prepare(info).then((refusal) => {
      this.pendingUpgrades--
      if (refusal !== undefined) {
        this.reject(socket, refusal.status, refusal.reason, refusal.code, req, refusal.headers)
        return
      }
      if (socket.destroyed || !this.accepting) {
        this.handler.abort(info)
        socket.destroy()
        return
      }
      // ws may refuse the upgrade itself (bad Sec-WebSocket-Key...) without calling back.
      // Removed once upgraded: it holds `info` and with it the whole upgrade request.
      const abortIfRefused = (): void => this.handler.abort(info)
      socket.once('close', abortIfRefused)
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.removeListener('close', abortIfRefused)
        this.connections++
        ws.once('close', this.socketClosed)
        this.metrics.inc('connections_accepted_total')
        this.handler.connect(wsSocket(ws), info)
      })
    }, (err: Error) => {
      this.pendingUpgrades--
      this.log.error({ err: err.message, cid: info.cid }, 'connection preparation failed')
      this.reject(socket, 503, 'gateway not ready, retry later', 'prepare_failed', req)
    })
  }

  /**
   * Who the connection is from: the TCP peer, or through a trusted proxy the client it names
   * (then `peer` is the bare client address, its port unknown, and `proxy` the TCP peer).
   */
  private clientOf (req: IncomingMessage): { address: string, peer: string, proxy?: string } {
    const p = this.proxied?.get(req.socket.remoteAddress, req.socket.remotePort)
    if (p !== undefined) {
      // The PROXY header's client, then X-Forwarded-For from it only if it too is trusted.
      const address = clientAddress(unmap(p.address), req.headers[this.config.proxyAddressHeader], this.trusted)
      return { address, peer: hostPort(address, address === p.address ? p.port : undefined), proxy: peerOf(req) }
    }
    const tcp = req.socket.remoteAddress ?? ''
    const address = clientAddress(tcp, req.headers[this.config.proxyAddressHeader], this.trusted)
    if (address === tcp) return { address, peer: peerOf(req) }
    return { address, peer: hostPort(address, headerPort(req.headers[this.config.proxyPortHeader])), proxy: peerOf(req) }
  }

  /**
   * Re-read this listener's TLS files and use them for new connections (open ones keep
   * theirs). Nothing to do for a ws listener. Never rejects: files that do not make a usable
   * context are logged and the previous certificate stays in use.
   */
  async reload (): Promise<void> {
    await this.tlsReloader?.reload()
  }

  /** Stop accepting new connections; existing sockets stay until closed or terminated. */
  stopAccepting (): Promise<void> {
    this.tlsReloader?.close()
    this.accepting = false
    const front = this.front
    if (front !== undefined) {
      if (!front.listening) return Promise.resolve()
      // The front counts the sockets (it accepted them): its close waits for them, as the
      // HTTP server's does without it. The HTTP server's close stops its timeout checks.
      const closed = once(front, 'close').then(() => undefined)
      front.close()
      this.server.close(() => {})
      return closed
    }
    if (!this.server.listening) return Promise.resolve()
    const closed = once(this.server, 'close').then(() => undefined)
    this.server.close()
    return closed
  }

  /** Drop every socket still open (after the grace period of a shutdown). */
  terminateAll (): void {
    for (const ws of this.wss.clients) ws.terminate()
  }

  get openSockets (): number { return this.wss.clients.size }
}

interface RequestWithChoice extends IncomingMessage { ocppSubprotocol?: string }

function destroySocket (this: Duplex): void {
  this.destroy()
}

export function peerOf (req: IncomingMessage): string {
  const s = req.socket
  const addr = s.remoteAddress ?? 'unknown'
  return hostPort(addr, s.remotePort ?? 0)
}

/** `192.0.2.1:4711`, `[2001:db8::1]:4711`; without a port (a proxied client's is unknown), the bare or bracketed address. */
function hostPort (address: string, port?: number): string {
  const host = address.includes(':') ? `[${address}]` : address
  return port === undefined ? host : `${host}:${port}`
}

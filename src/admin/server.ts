/**
 * The admin HTTP server: `/healthz`, `/readyz` and `/metrics` (Prometheus text), the REST
 * API under `/api` (routes.ts), its OpenAPI document at `/api/v1/openapi.json` and a Swagger
 * UI at `/api/v1/docs`. HTTP, or HTTPS with `admin.ssl_options` (the listeners' certificate
 * loader, reloaded on SIGHUP and when the files change). Built by a
 * factory that does not listen (tests may use `inject()`); {@link startAdminServer} binds it.
 * Fastify's own logger (and with it its request logging) is off: the gateway's logs stay quiet by default,
 * and every answer that is an error is logged here once, and counted
 * (`admin_requests_rejected_total` by reason).
 *
 * @example
 *   const admin = await startAdminServer({ bind: { host: '127.0.0.1', port: 0 }, ...sources })
 *   // GET http://127.0.0.1:${admin.port}/metrics
 *   await admin.close()
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { TlsOptions } from 'node:tls'
import type { ListenerSecurity } from '../config/security.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { listenOrExplain } from '../transport/listen.js'
import { loadTlsOptionsSync, TlsReloader, type SecureContextTarget } from '../transport/tls-context.js'
import { createRegistry, type ConnectedCharger, type SessionCalls } from './prometheus.js'
import { readiness, type ReadinessSources } from './readiness.js'
import { loadApiKeys, type ApiKeys } from './api-keys.js'
import { checkKey, mayUse, needsKey } from './auth.js'
import { addRoutes, type StatusSources } from './routes.js'
import { FrameStreams } from './frames.js'
import { addOpenApi } from './openapi.js'
import type { SessionTable } from '../session/sessions.js'
import { addStatsRoute } from './stats.js'
import { dashboard } from './dashboard.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the API key the request came with (undefined on open paths). */
    apiKeyName?: string
  }
}

export interface AdminSources extends ReadinessSources {
  log: Logger
  metrics: Metrics
  chargers: () => Iterable<ConnectedCharger>
  /** The keys of the moment (re-read on SIGHUP); none = every request that needs one is refused. */
  keys: () => ApiKeys
  metricsAuth: boolean
  sessions: SessionTable
  status: StatusSources
  /** Frames kept per traced charge point (admin.trace_frames; 0 = off) and admin.trace_idle in ms. */
  trace?: { frames: number, idleMs: number }
  /** Default wait of an operator's Call (dnstream.awaiting_timeout). */
  callTimeoutMs?: number
}

/** Why a request was refused: the `reason` label and the `error` member of the JSON body. */
export type AdminRejection = 'not_found' | 'offline' | 'bad_request' | 'unauthorized' | 'forbidden' | 'internal'

function * callsOf (sessions: SessionTable): Iterable<SessionCalls> {
  for (const s of sessions.all()) yield { queuedToCharger: s.calls.length, inFlightToCharger: s.calls.inflight === undefined ? 0 : 1, inFlightFromCharger: s.pendingUp.size }
}

/** `tls`: the HTTPS options, already read (startAdminServer); absent = HTTP. */
export function buildAdminServer (src: AdminSources, tls?: TlsOptions): FastifyInstance {
  const log = src.log.child({ component: 'admin' })
  const registry = createRegistry({ ...src, calls: () => callsOf(src.sessions) })
  const streams = new FrameStreams()
  // logger: false means no request logging either: one line per refused request, below.
  // Ajv as fastify has it, but refusing unknown members rather than removing them in silence
  // (removeAdditional): a misspelt option must be a 400, not ignored.
  const options = { logger: false, return503OnClosing: true, ajv: { customOptions: { removeAdditional: false } } } as const
  const app = tls === undefined
    ? Fastify(options)
    : Fastify({ ...options, https: tls }) as unknown as FastifyInstance

  const reject = (reply: FastifyReply, status: number, reason: AdminRejection, message: string, fields: Record<string, unknown>): FastifyReply => {
    src.metrics.inc('admin_requests_rejected_total', reason)
    log.info({ ...fields, status, reason }, `admin request refused: ${message}`)
    return reply.code(status).send({ error: reason, message })
  }

  app.setNotFoundHandler((req, reply) => reject(reply, 404, 'not_found', `no ${req.method} ${req.url}`, { method: req.method, url: req.url }))
  app.setErrorHandler((err: { statusCode?: number, message: string }, req, reply) => {
    const status = err.statusCode ?? 500
    if (status >= 500) {
      src.metrics.inc('internal_errors_total', 'admin')
      log.error({ method: req.method, url: req.url, err: err.message }, 'internal error in the admin API')
      return reject(reply, 500, 'internal', 'internal error', { method: req.method, url: req.url })
    }
    // Fastify's own 4xx (a body that does not parse, a header too large...).
    return reject(reply, status, 'bad_request', err.message, { method: req.method, url: req.url })
  })

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0] ?? ''
    if (!needsKey(path, src.metricsAuth)) return
    const r = checkKey(src.keys(), req.headers.authorization)
    if (r.ok) {
      req.apiKeyName = r.name
      if (mayUse(r.role, req.method)) return
      return reject(reply, 403, 'forbidden', `the key ${r.name} is a viewer key: it may only read (GET)`, { method: req.method, url: path, peer: req.ip, key: r.name })
    }
    reply.header('www-authenticate', 'Bearer realm="ocpp-gateway"')
    // The reason (missing or wrong key) goes to the log, not to the caller.
    return reject(reply, 401, 'unauthorized', 'a valid API key is required (Authorization: Bearer KEY)', { method: req.method, url: path, peer: req.ip, why: r.reason })
  })

  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const r = readiness(src)
    const notReady = [...Object.entries(r.listeners).filter(([, ok]) => !ok).map(([name]) => `listener ${name}`), ...(r.mqtt ? [] : ['mqtt'])]
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', listeners: r.listeners, mqtt: r.mqtt, ...(r.ready ? {} : { not_ready: notReady }) })
  })
  app.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics()
    return reply.type(registry.contentType).send(text)
  })
  // Closing: open streams end, idle connections close now, and the rest after a second's
  // grace (a request in flight finishes if it can). Fastify does none of it for a server it
  // did not listen() itself (startAdminServer binds it with listenOrExplain), and a connection
  // that never sent a request, or an operator's Call waiting for its charger, would otherwise
  // hold the shutdown for the keep-alive timeout (72 s) or the Call's.
  app.addHook('preClose', async () => {
    streams.closeAll()
    const server = app.server
    server.closeIdleConnections()
    setTimeout(() => { server.closeAllConnections() }, 1000).unref()
  })
  // The OpenAPI collector must be in place before the routes it describes are declared.
  addOpenApi(app)
  void app.register(async (api) => {
    addRoutes(api, {
      sessions: src.sessions,
      status: src.status,
      log,
      metrics: src.metrics,
      trace: src.trace ?? { frames: 50, idleMs: 600_000 },
      callTimeoutMs: src.callTimeoutMs ?? 30_000,
      streams,
      reject
    })
  })
  addStatsRoute(app, { metrics: src.metrics, connected: () => src.sessions.size, startedAt: src.status.startedAt })
  void app.register(dashboard)
  return app
}

export interface AdminServer {
  readonly port: number
  /** Read the keys file again (SIGHUP); on an error the keys in use are kept. */
  reload: () => Promise<void>
  close: () => Promise<void>
}

export interface AdminServerOptions extends Omit<AdminSources, 'keys'> {
  bind: { host: string, port: number }
  apiKeysFile: string | undefined
  /** admin.ssl_options: HTTPS with this certificate. */
  tls?: ListenerSecurity
}

export async function startAdminServer (opts: AdminServerOptions): Promise<AdminServer> {
  const file = opts.apiKeysFile
  let keys: ApiKeys = file === undefined ? new Map() : await loadApiKeys(file)
  const src: AdminSources & { bind: { host: string, port: number } } = { ...opts, keys: () => keys }
  const files = opts.tls?.tls
  // Read now: a missing certfile fails the start, as for a wss listener.
  const app = buildAdminServer(src, files === undefined || opts.tls === undefined ? undefined : loadTlsOptionsSync(files, opts.tls.profile))
  const reloader = files === undefined
    ? undefined
    : new TlsReloader(app.server as unknown as SecureContextTarget, files, {
      onReload: () => src.log.info({ component: 'admin', certfile: files.certfile }, 'admin HTTPS certificate reloaded'),
      onError: (err) => src.log.error({ component: 'admin', err: err.message }, 'admin HTTPS certificate not reloaded; the one in use is kept')
    })
  app.addHook('onClose', async () => { reloader?.close() })
  await app.ready()
  try {
    await listenOrExplain(app.server, src.bind, 'admin HTTP server', 'admin.bind / --admin-bind', 'another process, e.g. EMQX\'s dashboard or another gateway,')
  } catch (err) {
    await app.close()
    throw err
  }
  const a = app.server.address()
  const port = typeof a === 'object' && a !== null ? a.port : 0
  src.log.info({ component: 'admin', address: `${src.bind.host}:${port}`, https: reloader !== undefined, apiKeys: keys.size }, 'admin HTTP server ready')
  const reload = async (): Promise<void> => {
    await reloader?.reload()
    if (file === undefined) return
    keys = await loadApiKeys(file)
    src.log.info({ component: 'admin', apiKeys: keys.size }, 'admin API keys reloaded')
  }
  return { port, reload, close: () => app.close() }
}

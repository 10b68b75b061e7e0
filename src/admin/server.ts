/**
 * The admin HTTP server: `/healthz`, `/readyz` and `/metrics` (Prometheus text). Built by a
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
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { listenOrExplain } from '../transport/listen.js'
import { createRegistry, type ConnectedCharger } from './prometheus.js'
import { readiness, type ReadinessSources } from './readiness.js'
import { loadApiKeys, type ApiKeys } from './api-keys.js'
import { checkKey, needsKey } from './auth.js'
import { addRoutes, type StatusSources } from './routes.js'
import type { SessionTable } from '../session/sessions.js'
import { addStatsRoute } from './stats.js'
import { dashboard } from './dashboard.js'

export interface AdminSources extends ReadinessSources {
  log: Logger
  metrics: Metrics
  chargers: () => Iterable<ConnectedCharger>
  /** The keys of the moment (re-read on SIGHUP); none = every request that needs one is refused. */
  keys: () => ApiKeys
  metricsAuth: boolean
  sessions: SessionTable
  status: StatusSources
}

/** Why a request was refused: the `reason` label and the `error` member of the JSON body. */
export type AdminRejection = 'not_found' | 'bad_request' | 'unauthorized' | 'internal'

export function buildAdminServer (src: AdminSources): FastifyInstance {
  const log = src.log.child({ component: 'admin' })
  const registry = createRegistry(src)
  // logger: false means no request logging either: one line per refused request, below.
  const app = Fastify({ logger: false, return503OnClosing: true })

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
    if (r.ok) return
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
  addRoutes(app, { sessions: src.sessions, status: src.status, log, reject })
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
}

export async function startAdminServer (opts: AdminServerOptions): Promise<AdminServer> {
  const file = opts.apiKeysFile
  let keys: ApiKeys = file === undefined ? new Map() : await loadApiKeys(file)
  const src: AdminSources & { bind: { host: string, port: number } } = { ...opts, keys: () => keys }
  const app = buildAdminServer(src)
  await app.ready()
  try {
    await listenOrExplain(app.server, src.bind, 'admin HTTP server', 'admin.bind / --admin-bind')
  } catch (err) {
    await app.close()
    throw err
  }
  const a = app.server.address()
  const port = typeof a === 'object' && a !== null ? a.port : 0
  src.log.info({ component: 'admin', address: `${src.bind.host}:${port}`, apiKeys: keys.size }, 'admin HTTP server ready')
  const reload = async (): Promise<void> => {
    if (file === undefined) return
    keys = await loadApiKeys(file)
    src.log.info({ component: 'admin', apiKeys: keys.size }, 'admin API keys reloaded')
  }
  return { port, reload, close: () => app.close() }
}

/**
 * The REST routes under /api (the key and role checks are the server's onRequest hook):
 * status, the connected chargers (list, one, kick), an operator's Call (calls.ts), the frame
 * trace (frames.ts), and EMQX's client paths of the OCPP gateway mapped onto the same. Every
 * route has a schema (schemas.ts): fastify validates with it and the OpenAPI document is
 * made from it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SessionTable } from '../session/sessions.js'
import { CloseCode } from '../session/close-codes.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { listChargers, viewOf, type ListQuery } from './chargers.js'
import { adminCall, checkCall, type CallBody } from './calls.js'
import { viewOfFrame, type FrameStreams } from './frames.js'
import { routeSchemas } from './schemas.js'
import type { AdminRejection } from './server.js'

export interface StatusSources {
  version: string
  nodeId: string
  startedAt: number
  listeners: () => Array<{ name: string, bound: string | null, profile: number | null, connections: number }>
  broker: () => { kind: 'embedded' | 'external', connected: boolean }
  config: Readonly<Record<string, unknown>>
}

export interface RouteSources {
  sessions: SessionTable
  status: StatusSources
  log: Logger
  metrics: Metrics
  /** Frames kept per traced charge point (0 = no trace), and how long an unwatched trace lives. */
  trace: { frames: number, idleMs: number }
  /** Default wait of an operator's Call: dnstream.awaiting_timeout. */
  callTimeoutMs: number
  streams: FrameStreams
  reject: (reply: FastifyReply, status: number, reason: AdminRejection, message: string, fields: Record<string, unknown>) => FastifyReply
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>

export function addRoutes (app: FastifyInstance, src: RouteSources): void {
  const { sessions, status, reject } = src
  const node = status.nodeId
  app.get('/api/v1/status', { schema: routeSchemas.status }, async () => ({
    version: status.version,
    node_id: status.nodeId,
    uptime_s: Math.round((Date.now() - status.startedAt) / 1000),
    listeners: status.listeners(),
    broker: status.broker(),
    config: status.config
  }))

  const list = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const q = req.query as Record<string, unknown>
    const str = (k: string): string | undefined => typeof q[k] === 'string' ? q[k] : undefined
    const limit = q.limit as string | number | undefined
    const query: ListQuery = { prefix: str('prefix') ?? str('like_clientid'), version: str('version'), listener: str('listener'), limit, cursor: str('cursor') }
    const r = listChargers(sessions.all(), query, node)
    if (!r.ok) return reject(reply, 400, 'bad_request', r.message, { url: '/chargers' })
    return { data: r.data, next_cursor: r.next_cursor }
  }
  app.get('/api/v1/chargers', { schema: routeSchemas.list }, list)
  // EMQX 5: GET /api/v5/gateways/ocpp/clients (its `like_clientid` is a substring; ours a prefix).
  app.get('/api/v5/gateways/ocpp/clients', { schema: routeSchemas.emqxList }, async (req, reply) => {
    const r = await list(req, reply)
    if (r === reply) return reply
    const page = r as { data: Array<{ id: string }>, next_cursor: string | null }
    return { data: page.data.map((c) => ({ clientid: c.id, ...c })), meta: { count: page.data.length, next_cursor: page.next_cursor } }
  })

  const notHere = (reply: FastifyReply, url: string): FastifyReply => reject(reply, 404, 'not_found', 'charge point not connected to this node', { url })
  app.get('/api/v1/chargers/:id', { schema: routeSchemas.one }, async (req: IdRequest, reply) => {
    const s = sessions.get(req.params.id)
    return s === undefined ? notHere(reply, '/chargers/{id}') : viewOf(s, node)
  })
  const kick = async (req: IdRequest, reply: FastifyReply): Promise<unknown> => {
    const id = req.params.id
    const s = sessions.get(id)
    if (s === undefined) return notHere(reply, '/chargers/{id}')
    src.log.info({ component: 'admin', cid: id, key: req.apiKeyName }, 'charge point kicked by an operator')
    s.close(CloseCode.KICKED, 'closed by an operator', 'kicked')
    return reply.code(204).send()
  }
  app.delete('/api/v1/chargers/:id', { schema: routeSchemas.kick }, kick)
  app.delete('/api/v5/gateways/ocpp/clients/:id', { schema: routeSchemas.emqxKick }, kick)

  // attachValidation: a body the schema refuses is counted as a Call refused too, here.
  app.post('/api/v1/chargers/:id/calls', { schema: routeSchemas.call, attachValidation: true }, async (req: FastifyRequest<{ Params: { id: string }, Body: CallBody }>, reply) => {
    const id = req.params.id
    if (req.validationError !== undefined) {
      src.metrics.inc('admin_calls_total', 'bad_request')
      return reject(reply, 400, 'bad_request', req.validationError.message, { url: '/chargers/{id}/calls', cid: id })
    }
    const s = sessions.get(id)
    if (s === undefined) {
      // Counted as a Call that could not be made, and as a refused request (with its log line).
      src.metrics.inc('admin_calls_total', 'offline')
      return reject(reply, 404, 'offline', 'charge point not connected to this node (in a cluster, GET /api/v1/chargers/{id} on each node: `node` says which holds it)', { url: '/chargers/{id}/calls', cid: id })
    }
    const bad = checkCall(s.dialect.version, req.body)
    if (bad !== undefined) {
      src.metrics.inc('admin_calls_total', 'bad_request')
      return reject(reply, 400, 'bad_request', bad.message, { url: '/chargers/{id}/calls', cid: id })
    }
    const answer = await adminCall(s, req.body, { defaultTimeoutMs: src.callTimeoutMs, metrics: src.metrics, log: src.log, key: req.apiKeyName })
    return reply.code(answer.status as 200).send(answer.body as never)
  })

  app.get('/api/v1/chargers/:id/frames', { schema: routeSchemas.frames }, async (req: FastifyRequest<{ Params: { id: string }, Querystring: { limit?: number, follow?: string } }>, reply) => {
    const { frames, idleMs } = src.trace
    if (frames === 0) return reject(reply, 404, 'not_found', 'the frame trace is off (admin.trace_frames: 0)', { url: '/chargers/{id}/frames' })
    const s = sessions.get(req.params.id)
    if (s === undefined || s.closed) return notHere(reply, '/chargers/{id}/frames')
    const trace = s.traceFrames(frames, idleMs)
    const backlog = trace.last(Math.min(req.query.limit ?? frames, frames))
    if (req.query.follow !== '1' && req.query.follow !== 'true') {
      return { data: backlog.map(viewOfFrame), tracing_since: new Date(trace.since).toISOString() }
    }
    reply.hijack()
    src.streams.follow(req.raw, reply.raw, backlog, (push) => {
      trace.followers.add(push)
      return () => { trace.followers.delete(push) }
    }, src.metrics)
    return reply
  })
}

/**
 * The REST routes under /api (the key check is the server's onRequest hook): status, the
 * connected chargers (list, one, kick), and EMQX's client paths of the OCPP gateway mapped
 * onto the same.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { SessionTable } from '../session/sessions.js'
import { CloseCode } from '../session/close-codes.js'
import type { Logger } from '../observability/logger.js'
import { listChargers, viewOf, type ListQuery } from './chargers.js'
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
  reject: (reply: FastifyReply, status: number, reason: AdminRejection, message: string, fields: Record<string, unknown>) => FastifyReply
}

export function addRoutes (app: FastifyInstance, src: RouteSources): void {
  const { sessions, status, reject } = src
  app.get('/api/v1/status', async () => ({
    version: status.version,
    node_id: status.nodeId,
    uptime_s: Math.round((Date.now() - status.startedAt) / 1000),
    listeners: status.listeners(),
    broker: status.broker(),
    config: status.config
  }))

  const list = async (req: { query: unknown }, reply: FastifyReply): Promise<unknown> => {
    const q = req.query as Record<string, unknown>
    const str = (k: string): string | undefined => typeof q[k] === 'string' ? q[k] : undefined
    const query: ListQuery = { prefix: str('prefix') ?? str('like_clientid'), version: str('version'), listener: str('listener'), limit: str('limit'), cursor: str('cursor') }
    const r = listChargers(sessions.all(), query)
    if (!r.ok) return reject(reply, 400, 'bad_request', r.message, { url: '/chargers' })
    return { data: r.data, next_cursor: r.next_cursor }
  }
  app.get('/api/v1/chargers', list)
  // EMQX 5: GET /api/v5/gateways/ocpp/clients (its `like_clientid` is a substring; ours a prefix).
  app.get('/api/v5/gateways/ocpp/clients', async (req, reply) => {
    const r = await list(req, reply)
    if (r === reply) return reply
    const page = r as { data: Array<{ id: string }>, next_cursor: string | null }
    return { data: page.data.map((c) => ({ clientid: c.id, ...c })), meta: { count: page.data.length, next_cursor: page.next_cursor } }
  })

  const one = async (req: { params: unknown }, reply: FastifyReply): Promise<unknown> => {
    const id = (req.params as { id: string }).id
    const s = sessions.get(id)
    if (s === undefined) return reject(reply, 404, 'not_found', 'charge point not connected to this node', { url: '/chargers/{id}' })
    return viewOf(s)
  }
  const kick = async (req: { params: unknown }, reply: FastifyReply): Promise<unknown> => {
    const id = (req.params as { id: string }).id
    const s = sessions.get(id)
    if (s === undefined) return reject(reply, 404, 'not_found', 'charge point not connected to this node', { url: '/chargers/{id}' })
    src.log.info({ component: 'admin', cid: id }, 'charge point kicked by an operator')
    s.close(CloseCode.KICKED, 'closed by an operator', 'kicked')
    return reply.code(204).send()
  }
  app.get('/api/v1/chargers/:id', one)
  app.delete('/api/v1/chargers/:id', kick)
  app.delete('/api/v5/gateways/ocpp/clients/:id', kick)
}

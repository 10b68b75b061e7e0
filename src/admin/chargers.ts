/**
 * The connected charge points as the admin API shows them, filtered and paginated. The
 * cursor is opaque to callers: the last id of the page, base64url; pages are in id order, so
 * a charge point that connects or leaves between two pages does not shift the others.
 */
import type { Session } from '../session/session.js'

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

export interface ChargerView {
  id: string
  /** The node that holds the connection: in a cluster, the one to ask for Calls and frames. */
  node: string
  version: string
  subprotocol: string | null
  peer: string
  listener: string
  connected_at: string
  last_frame_at: string
  /** Keepalive interval in force (BootNotification's, or the default); 0 = no keepalive check. */
  heartbeat_interval_s: number
  /** Calls owed both ways: to the charge point (one in flight, the rest queued), from it (awaiting a backend). */
  calls: { to_charger: { queued: number, in_flight: number }, from_charger: { in_flight: number } }
  /** Whether its frames are being kept for GET …/frames. */
  tracing: boolean
}

export function viewOf (s: Session, node: string): ChargerView {
  return {
    id: s.cid,
    node,
    version: s.dialect.version,
    subprotocol: s.info.subprotocol ?? null,
    peer: s.info.peer,
    listener: s.info.listener,
    connected_at: new Date(s.connectedAt).toISOString(),
    last_frame_at: new Date(s.lastFrameAt).toISOString(),
    heartbeat_interval_s: s.heartbeatIntervalMs / 1000,
    calls: { to_charger: { queued: s.calls.length, in_flight: s.calls.inflight === undefined ? 0 : 1 }, from_charger: { in_flight: s.pendingUp.size } },
    tracing: s.trace !== undefined
  }
}

/** From the query string: fastify's Ajv has already made `limit` a number; a string is parsed. */
export interface ListQuery { prefix?: string, version?: string, listener?: string, limit?: string | number, cursor?: string }

export type ListResult =
  | { ok: true, data: ChargerView[], next_cursor: string | null }
  | { ok: false, message: string }

export function listChargers (sessions: Iterable<Session>, q: ListQuery, node: string): ListResult {
  const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { ok: false, message: `limit must be an integer from 1 to ${MAX_LIMIT}` }
  let after: string | undefined
  if (q.cursor !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(q.cursor)) return { ok: false, message: 'cursor is not one this API gave' }
    after = Buffer.from(q.cursor, 'base64url').toString('utf8')
  }
  const picked: Session[] = []
  for (const s of sessions) {
    if (q.prefix !== undefined && !s.cid.startsWith(q.prefix)) continue
    if (q.version !== undefined && s.dialect.version !== q.version) continue
    if (q.listener !== undefined && s.info.listener !== q.listener) continue
    if (after !== undefined && s.cid <= after) continue
    picked.push(s)
  }
  picked.sort((a, b) => a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0)
  const page = picked.slice(0, limit)
  const last = page[page.length - 1]
  return { ok: true, data: page.map((s) => viewOf(s, node)), next_cursor: picked.length > limit && last !== undefined ? Buffer.from(last.cid).toString('base64url') : null }
}

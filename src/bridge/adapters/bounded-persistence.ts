/**
 * aedes' memory persistence with bounds, so that no MQTT client can grow the gateway's memory
 * without limit: at most `maxQueued` QoS 1/2 messages wait for one client (a persistent
 * session that went away, or a connected one that does not acknowledge), and the state of a
 * persistent session that stays away longer than the session expiry is dropped.
 *
 * aedes-persistence keeps each client's queue in private fields, so the count is kept here,
 * beside it: +1 for every message queued for a client, -1 for every one removed (acknowledged,
 * or emptied on a clean start), which are the only two ways aedes changes a queue's length.
 */
import memoryModule, { type AedesMemoryPersistence } from 'aedes-persistence'

// A CommonJS module whose export is the factory; its types describe an ES default export.
const memory = memoryModule as unknown as () => AedesMemoryPersistence

interface Sub { clientId: string }
interface ClientLike { id: string }
type Persistence = AedesMemoryPersistence

export interface BoundedPersistence {
  persistence: Persistence
  /** Messages queued for a client now. */
  queued: (clientId: string) => number
  /** Drop everything kept for a client that is gone (session expiry). */
  forget: (clientId: string) => Promise<void>
  /**
   * A clean session's QoS 2 dedup entries, dropped when it connects and when it goes
   * ([MQTT-3.1.2-6]; aedes 1.2 does this itself, the 2.0.0 beta predates it): else a client
   * that never sends PUBREL, under fresh ids, grows the store without bound.
   */
  cleanIncoming: (client: { id: string, clean: boolean }) => void
}

/** `onDrop(clientId)` is told of each message not queued because the client's queue was full. */
export function boundedPersistence (maxQueued: number, onDrop: (clientId: string) => void): BoundedPersistence {
  const p = memory()
  const counts = new Map<string, number>()
  const add = (id: string): boolean => {
    const n = counts.get(id) ?? 0
    if (n >= maxQueued) { onDrop(id); return false }
    counts.set(id, n + 1)
    return true
  }
  const remove = (id: string): void => {
    const n = (counts.get(id) ?? 0) - 1
    if (n > 0) counts.set(id, n)
    else counts.delete(id)
  }
  const enqueue = p.outgoingEnqueue.bind(p) as (sub: Sub, packet: unknown) => Promise<void>
  const enqueueCombi = p.outgoingEnqueueCombi.bind(p) as (subs: Sub[], packet: unknown) => Promise<void>
  const clear = p.outgoingClearMessageId.bind(p) as (client: ClientLike, packet: unknown) => Promise<unknown>
  const target = p as unknown as Record<string, unknown>
  target.outgoingEnqueue = async (sub: Sub, packet: unknown): Promise<void> => {
    if (add(sub.clientId)) await enqueue(sub, packet)
  }
  target.outgoingEnqueueCombi = async (subs: Sub[], packet: unknown): Promise<void> => {
    const kept = subs.filter((s) => add(s.clientId))
    if (kept.length > 0) await enqueueCombi(kept, packet)
  }
  target.outgoingClearMessageId = async (client: ClientLike, packet: unknown): Promise<unknown> => {
    const removed = await clear(client, packet)
    if (removed !== undefined && removed !== null) remove(client.id)
    return removed
  }
  const forget = async (clientId: string): Promise<void> => {
    const client = { id: clientId }
    await (p.cleanSubscriptions as unknown as (c: ClientLike) => Promise<void>)(client)
    const stream = (p.outgoingStream as unknown as (c: ClientLike) => AsyncIterable<{ messageId?: number }>)(client)
    const clearOne = target.outgoingClearMessageId as (c: ClientLike, packet: unknown) => Promise<unknown>
    for await (const packet of stream) await clearOne(client, packet)
    counts.delete(clientId)
  }
  const cleanIncoming = (client: { id: string, clean: boolean }): void => {
    if (client.clean) (p.cleanIncoming as unknown as (c: ClientLike) => Promise<void>)({ id: client.id }).then(() => {}, () => {})
  }
  return { persistence: p, queued: (id) => counts.get(id) ?? 0, forget, cleanIncoming }
}

/**
 * The cluster router's bookkeeping (./cluster-router.ts): what it holds per charge point, what
 * it holds back, what it released lately, and what a node hands over when another node takes a
 * charge point from it — the UniqueIds of the downstream messages it received for it lately,
 * so the new node does not deliver them a second time.
 */

import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import type { SessionTable } from '../session/sessions.js'
import { messageProps, noteProps } from './adapters/mqtt-port.js'
import type { Held } from './router.js'
import type { Topics } from './topics.js'

/** How long a new holder waits for the old node's handoff before it delivers anyway. */
export const HANDOFF_WAIT_MS = 3000
/**
 * How long a released charge point's presence record stays before it is cleared: longer than a
 * lookup takes, so that a lookup for a message this node delivered still finds it (and relays
 * the message here, where it is known by its UniqueId).
 */
export const CLEAR_DELAY_MS = 500
/** Messages held back while waiting for the handoff, at most, per charge point. */
export const MAX_EARLY = 1000
/** How long a node that released a charge point still answers a handoff for it. */
export const RELEASED_KEEP_MS = 10_000

export interface ClusterHeld extends Held {
  /**
   * Downstream messages held back: until the session is attached (the subscription is made
   * before the upgrade is answered) and, when another node held the charge point, until its
   * handoff. undefined once delivered.
   */
  early?: Early[]
  attached: boolean
  /** This node's presence record came back from the broker (the other nodes have it from then on). */
  echoed: boolean
  /** Waiting for the old node's handoff. */
  waitHandoff: boolean
  /** The UniqueIds the old node handled (its handoff): not delivered again. */
  handled?: ReadonlySet<string>
  /**
   * Released, with the subscription kept until the broker echoes this node's cleared record:
   * until then the others still see this node as the holder, so what comes on it is answered
   * here (offline). The timer ends it if the echo never comes.
   */
  releasing?: NodeJS.Timeout
  timer?: NodeJS.Timeout
  /** UniqueIds received lately. */
  recent: RecentIds
  /** When a copy last came on the shared subscription too (ms; 0 never). */
  dual: number
}

/**
 * A message held back. `shared`: a copy came on the shared subscription (this node was the
 * group's pick for it); `preEcho`: it came before this node's presence record came back.
 */
export interface Early { payload: Buffer, id: string | undefined, shared: boolean, preEcho: boolean }

export interface Released { recent: RecentIds, until: number, echoed: boolean, topic: string }

/** How long stop() waits for the broker to echo the cleared records (the others then answer for them). */
export const STOP_ECHO_WAIT_MS = 2000

/** How far back a node remembers the UniqueIds it received per charge point (bridged brokers' delays). */
export const RECENT_MS = 5000

/** Sent on `{mountpoint}nodes/{new node}/handoff`. */
export interface Handoff { cid: string, from: string, ids: string[] }

/**
 * The UniqueIds a node received lately for one charge point, to drop the second copy of a
 * message (it comes on the exact and on the shared subscription). A Map in arrival order: a
 * lookup is O(1) and forgetting is from the oldest end, so a burst of 50,000 Calls to one
 * charge point costs 50,000 steps, not 50,000² (an array searched per message did).
 */
export class RecentIds {
  private readonly at = new Map<string, number>()

  get size (): number { return this.at.size }

  has (id: string): boolean { return this.at.has(id) }

  /** Remember `id` received now; forget those older than RECENT_MS. */
  note (id: string, now = Date.now()): void {
    this.prune(now)
    this.at.delete(id)
    this.at.set(id, now)
  }

  prune (now: number): void {
    for (const [id, t] of this.at) {
      if (t >= now - RECENT_MS) return
      this.at.delete(id)
    }
  }

  /** Oldest first. */
  ids (): string[] { return [...this.at.keys()] }
}

/**
 * Sent on the same topic by the shared subscription's pick: a downstream message for a charge
 * point that its lookup found held here (`relay`: the payload, `topic`: where it was published).
 */
export interface Relay {
  cid: string
  topic: string
  from: string
  relay: string
  /** The message's MQTT 5 Response Topic and Correlation Data (base64), when it had them. */
  responseTopic?: string
  correlationData?: string
  /** Its W3C traceparent user property, when it had one. */
  traceparent?: string
}

/** A relay of a received message: its payload and the MQTT 5 properties the holder needs. */
export function relayOf (cid: string, topic: string, from: string, payload: Buffer): Relay {
  const props = messageProps(payload)
  const relay: Relay = { cid, topic, from, relay: payload.toString('utf8') }
  if (props?.responseTopic !== undefined) relay.responseTopic = props.responseTopic
  if (props?.correlationData !== undefined) relay.correlationData = props.correlationData.toString('base64')
  const tp = props?.userProperties?.traceparent
  const traceparent = Array.isArray(tp) ? tp[0] : tp
  if (traceparent !== undefined) relay.traceparent = traceparent
  return relay
}

/** The payload of a relay, with the properties it came with noted again. */
export function relayPayload (r: Relay): Buffer {
  const payload = Buffer.from(r.relay, 'utf8')
  noteProps(payload, {
    responseTopic: typeof r.responseTopic === 'string' ? r.responseTopic : undefined,
    correlationData: typeof r.correlationData === 'string' ? Buffer.from(r.correlationData, 'base64') : undefined,
    userProperties: typeof r.traceparent === 'string' ? { traceparent: r.traceparent } : undefined
  })
  return payload
}

/** The newest of some nodes' records (newest wins: later `since`, then the higher node id). */
export function newest<T extends { node: string, since: number }> (records: readonly T[]): T | undefined {
  let best: T | undefined
  for (const r of records) if (best === undefined || r.since > best.since || (r.since === best.since && r.node > best.node)) best = r
  return best
}

/**
 * Holding back a new holder's downstream messages (docs/cluster.md, "A new holder waits for its
 * own record" and "Taking over from another node needs a handoff"), and letting them go.
 */
export class HoldBack {
  constructor (private readonly o: { metrics: Metrics, log: Logger, route: (cid: string, payload: Buffer) => string | undefined }) {}

  /** Another node holds (or held) it: wait for its handoff. */
  waitFor (held: ClusterHeld): void {
    if (held.waitHandoff || held.early === undefined) return
    held.waitHandoff = true
    this.armHandoffTimer(held)
  }

  armHandoffTimer (held: ClusterHeld): void {
    clearTimeout(held.timer)
    held.timer = setTimeout(() => this.handedOff(held, undefined, 'timeout'), HANDOFF_WAIT_MS)
    held.timer.unref()
  }

  /** Without the echo of the record (a broker that does not send it), deliver after a while. */
  armEchoFallback (held: ClusterHeld): void {
    if (held.echoed || !held.attached || held.early === undefined) return
    clearTimeout(held.timer)
    held.timer = setTimeout(() => { held.echoed = true; this.flushEarly(held) }, HANDOFF_WAIT_MS)
    held.timer.unref()
  }

  /**
   * The handoff came (`handled`: the UniqueIds the old node took care of), or the wait ended
   * (undefined): what was held back can go, except what the old node handled.
   */
  handedOff (held: ClusterHeld, handled: ReadonlySet<string> | undefined, why: 'handoff' | 'timeout' | 'early_full' | 'node_gone'): void {
    if (!held.waitHandoff && why !== 'early_full') return
    held.waitHandoff = false
    held.handled = handled
    clearTimeout(held.timer)
    held.timer = undefined
    if (why !== 'handoff') this.o.log.warn({ cid: held.cid, why, held: held.early?.length ?? 0 }, 'no handoff from the node that held this charge point: delivering what was held back')
    if (why === 'early_full') held.attached = true
    // Without a handoff, what was held back still waits for this node's record to come back:
    // with the same fallback as when no handoff was awaited.
    if (why !== 'early_full' && handled === undefined) this.armEchoFallback(held)
    this.flushEarly(held)
  }

  /**
   * Deliver what was held back, once the session is attached, this node's record has come back
   * and no handoff is awaited. After a handoff: all but what the old node handled. Else (one
   * broker's order): what came before the record came back was, at the broker, before it, so
   * the shared subscription's pick answered it, unless its lookup found this node and relayed
   * it — this node delivers those only if it was the pick or was relayed them (`shared`), and
   * everything after.
   */
  flushEarly (held: ClusterHeld): void {
    const early = held.early
    if (early === undefined || !held.attached || held.waitHandoff || (!held.echoed && held.handled === undefined)) return
    held.early = undefined
    clearTimeout(held.timer)
    held.timer = undefined
    const handled = held.handled
    held.handled = undefined
    let skipped = 0
    for (const e of early) {
      if (handled !== undefined ? e.id !== undefined && handled.has(e.id) : e.preEcho && !e.shared && e.id !== undefined) { skipped++; continue }
      const id = this.o.route(held.cid, e.payload)
      if (id !== undefined) held.recent.note(id)
    }
    if (skipped > 0) {
      this.o.metrics.inc('cluster_handed_over_total', undefined, skipped)
      this.o.log.debug({ cid: held.cid, count: skipped }, 'downstream messages answered by another node: not delivered again')
    }
  }
}

const VERSIONS = ['1.6', '2.0.1', '2.1']

/** What is held for a charge point, on whichever version's topic (the template may have none). */
export function heldOf (held: ReadonlyMap<string, ClusterHeld>, o: { topics: Topics, sessions: SessionTable }, cid: string): ClusterHeld | undefined {
  const s = o.sessions.get(cid)
  if (s !== undefined) return held.get(o.topics.dnstream({ cid, version: s.dialect.version }))
  for (const version of VERSIONS) {
    const h = held.get(o.topics.dnstream({ cid, version }))
    if (h !== undefined) return h
  }
  return undefined
}

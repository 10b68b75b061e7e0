/**
 * The cluster router's bookkeeping (./cluster-router.ts): what it holds per charge point, what
 * it holds back, what it released lately, and what a node hands over when another node takes a
 * charge point from it — the UniqueIds of the downstream messages it received for it lately,
 * so the new node does not deliver them a second time.
 */

import type { Held } from './router.js'

/** How long a new holder waits for the old node's handoff before it delivers anyway. */
export const HANDOFF_WAIT_MS = 3000
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
  /** UniqueIds received lately, oldest first, with when. */
  recent: Array<[string, number]>
  /** When a copy last came on the shared subscription too (ms; 0 never). */
  dual: number
}

/**
 * A message held back. `shared`: a copy came on the shared subscription (this node was the
 * group's pick for it); `preEcho`: it came before this node's presence record came back.
 */
export interface Early { payload: Buffer, id: string | undefined, shared: boolean, preEcho: boolean }

export interface Released { recent: Array<[string, number]>, until: number, echoed: boolean, topic: string }

/** How long stop() waits for the broker to echo the cleared records (the others then answer for them). */
export const STOP_ECHO_WAIT_MS = 2000

/** How far back a node remembers the UniqueIds it received per charge point (bridged brokers' delays). */
export const RECENT_MS = 5000

/** Sent on `{mountpoint}nodes/{new node}/handoff`. */
export interface Handoff { cid: string, from: string, ids: string[] }

/** Remember a UniqueId received now; forget those older than RECENT_MS. */
export function note (recent: Array<[string, number]>, id: string): void {
  const now = Date.now()
  prune(recent, now)
  recent.push([id, now])
}

export function prune (recent: Array<[string, number]>, now: number): void {
  let old = 0
  while (old < recent.length && (recent[old] as [string, number])[1] < now - RECENT_MS) old++
  if (old > 0) recent.splice(0, old)
}

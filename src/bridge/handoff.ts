/**
 * What a node hands over when another node takes a charge point from it (./cluster-router.ts):
 * the UniqueIds of the downstream messages it received for it lately, so the new node does
 * not deliver them a second time.
 */

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

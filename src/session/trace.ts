/**
 * The last frames of one charge point, both directions, for the admin API's
 * `GET /api/v1/chargers/{id}/frames` (and its live `?follow=1`). Made on demand: a session
 * has none until an operator asks, so 100,000 idle chargers pay one undefined field each.
 * A trace nobody has asked about for `idleMs` (and nobody follows) is dropped at its next
 * frame, so looking at a charger once does not cost memory for the rest of its connection.
 *
 * Bounded twice: `size` frames, each kept up to {@link MAX_TRACED_CHARS} characters.
 */

/** Longer frames are kept cut (`truncated`): a 1 MiB frame must not make a trace 50 MiB. */
export const MAX_TRACED_CHARS = 16384

export interface TracedFrame {
  /** Epoch ms when the frame was received or written. */
  at: number
  dir: 'in' | 'out'
  text: string
  truncated: boolean
}

/** Told each frame as it is traced, and `undefined` once when the session ends. */
export type TraceFollower = (frame: TracedFrame | undefined) => void

export class FrameTrace {
  private readonly ring: Array<TracedFrame | undefined>
  private next = 0
  private count = 0
  readonly since = Date.now()
  lastAskedAt = this.since
  readonly followers = new Set<TraceFollower>()

  constructor (readonly size: number, private readonly idleMs: number) {
    this.ring = new Array<TracedFrame | undefined>(size)
  }

  /** Record one frame; false when the trace has been idle too long and should be dropped. */
  push (dir: 'in' | 'out', text: string, now: number): boolean {
    if (this.followers.size === 0 && now - this.lastAskedAt > this.idleMs) return false
    const truncated = text.length > MAX_TRACED_CHARS
    const f: TracedFrame = { at: now, dir, text: truncated ? text.slice(0, MAX_TRACED_CHARS) : text, truncated }
    this.ring[this.next] = f
    this.next = (this.next + 1) % this.size
    if (this.count < this.size) this.count++
    for (const follow of this.followers) follow(f)
    return true
  }

  /** The last `limit` frames, oldest first. */
  last (limit: number): TracedFrame[] {
    const n = Math.min(limit, this.count)
    const out: TracedFrame[] = []
    for (let i = n; i > 0; i--) {
      const f = this.ring[(this.next - i + this.size) % this.size]
      if (f !== undefined) out.push(f)
    }
    return out
  }

  /** The session ended: every follower is told once and forgotten. */
  end (): void {
    for (const follow of this.followers) follow(undefined)
    this.followers.clear()
  }
}

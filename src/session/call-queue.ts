/**
 * OCPP-J's one-outstanding-Call rule for backend Calls to one charge point: at most one in
 * flight, the rest wait in a bounded FIFO; the next goes out when the current one is answered
 * or times out. Pure bookkeeping: the session does the I/O.
 */
import type { CallFrame } from '../ocpp/frame.js'

export interface InFlight { frame: CallFrame, sentAt: number }

export type Offer = 'send' | 'queued' | 'full' | 'duplicate'

export class CallQueue {
  inflight: InFlight | undefined
  private waiting: CallFrame[] = []
  /** Ids that timed out recently, to tell a late answer from an unknown one. */
  private readonly timedOut: string[] = []

  constructor (private readonly max: number) {}

  get length (): number { return this.waiting.length }

  /** Where a new backend Call goes. On 'send' the caller sends it now and calls sent(). */
  offer (frame: CallFrame): Offer {
    if (this.inflight?.frame.id === frame.id || this.waiting.some((f) => f.id === frame.id)) return 'duplicate'
    if (this.inflight === undefined) return 'send'
    if (this.waiting.length >= this.max) return 'full'
    this.waiting.push(frame)
    return 'queued'
  }

  sent (frame: CallFrame, now: number): void {
    this.inflight = { frame, sentAt: now }
  }

  /** The charge point answered `id`: returns the Call it answers, or undefined. */
  answer (id: string): CallFrame | undefined {
    const f = this.inflight?.frame
    if (f === undefined || f.id !== id) return undefined
    this.inflight = undefined
    return f
  }

  /** Take a Call that waits (not yet sent) out of the queue; false when it is not waiting. */
  remove (id: string): boolean {
    const i = this.waiting.findIndex((f) => f.id === id)
    if (i < 0) return false
    this.waiting.splice(i, 1)
    return true
  }

  /** Whether an unmatched answer is late (its Call timed out) rather than unknown. */
  wasTimedOut (id: string): boolean { return this.timedOut.includes(id) }

  /** The in-flight Call if it is older than timeoutMs (it is then dropped). */
  expire (now: number, timeoutMs: number): CallFrame | undefined {
    const cur = this.inflight
    if (cur === undefined || now - cur.sentAt < timeoutMs) return undefined
    this.inflight = undefined
    this.timedOut.push(cur.frame.id)
    if (this.timedOut.length > 8) this.timedOut.shift()
    return cur.frame
  }

  /** The next Call to send, if none is in flight. */
  next (): CallFrame | undefined {
    return this.inflight === undefined ? this.waiting.shift() : undefined
  }

  /** Everything still owed an answer (in flight first), emptying the queue. */
  drain (): CallFrame[] {
    const all = this.inflight !== undefined ? [this.inflight.frame, ...this.waiting] : [...this.waiting]
    this.inflight = undefined
    this.waiting = []
    return all
  }

  /** Queued Calls not yet sent, handed to a newer connection of the same charge point. */
  takeWaiting (): CallFrame[] {
    const w = this.waiting
    this.waiting = []
    return w
  }
}

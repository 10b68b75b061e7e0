/**
 * The backend's Calls awaiting an answer, by UniqueId. Every instance makes its UniqueIds
 * from a random prefix of its own and a counter, so several instances on one broker (they all
 * receive every reply) each settle only their own Calls and ignore the others'. No I/O: the
 * timer functions are passed in, so the unit tests drive time themselves.
 */
import { randomBytes } from 'node:crypto'
import type { UpError, UpResult } from './envelope.js'

export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout)
}

/** An answer to one of our Calls: a CallResult or a CallError (the charge point's or the gateway's). */
export type Answer = UpResult | UpError

export interface PendingCall {
  readonly cid: string
  readonly action: string
  readonly id: string
  readonly version: string
  readonly sentAt: number
  settle: (answer: Answer) => void
  fail: (err: Error) => void
}

interface Entry extends PendingCall { timer: unknown }

/**
 * UniqueIds: 10 random base64url characters (60 bits: two instances colliding is out of the
 * question) and a base-36 counter; at most 36 characters (OCPP-J's limit) for 2^64 Calls.
 */
export function idPrefix (): string {
  return randomBytes(8).toString('base64url').slice(0, 10)
}

export class PendingCalls {
  private readonly calls = new Map<string, Entry>()
  private counter = 0

  constructor (readonly prefix: string = idPrefix(), private readonly timers: Timers = realTimers) {}

  get size (): number { return this.calls.size }

  nextId (): string {
    return `${this.prefix}-${(this.counter++).toString(36)}`
  }

  /** Whether a UniqueId is one of this instance's (answered or not). */
  ours (id: string): boolean {
    return id.startsWith(this.prefix + '-')
  }

  /** Track a Call; `onTimeout` runs (once, instead of settle/fail) if no answer comes within `timeoutMs`. */
  add (call: PendingCall, timeoutMs: number, onTimeout: (call: PendingCall) => void): void {
    const entry: Entry = {
      ...call,
      timer: this.timers.setTimeout(() => {
        if (this.calls.get(call.id) !== entry) return
        this.calls.delete(call.id)
        onTimeout(call)
      }, timeoutMs)
    }
    this.calls.set(call.id, entry)
  }

  /**
   * An answer from `cid`: settles the Call it answers and returns it, or undefined when it
   * answers none of ours in flight (another instance's, or one that timed out here). An answer
   * on another charge point's topic does not settle a Call.
   */
  answer (cid: string, answer: Answer): PendingCall | undefined {
    const entry = this.calls.get(answer.id)
    if (entry === undefined || entry.cid !== cid) return undefined
    this.calls.delete(answer.id)
    this.timers.clearTimeout(entry.timer)
    entry.settle(answer)
    return entry
  }

  /** Forget a Call (publishing it failed) and fail it. */
  fail (id: string, err: Error): void {
    const entry = this.calls.get(id)
    if (entry === undefined) return
    this.calls.delete(id)
    this.timers.clearTimeout(entry.timer)
    entry.fail(err)
  }

  /** Fail every Call in flight (the backend closes). */
  failAll (make: (call: PendingCall) => Error): void {
    const all = [...this.calls.values()]
    this.calls.clear()
    for (const entry of all) {
      this.timers.clearTimeout(entry.timer)
      entry.fail(make(entry))
    }
  }
}

/**
 * At most `maxConcurrent` password hashes (scrypt) at once, a FIFO queue of at most
 * `maxQueued` behind them, and an immediate "no" when the queue is full. Pure bookkeeping: no
 * timers, no I/O; the caller runs the hash while it holds a slot.
 *
 * Why: scrypt runs in libuv's thread pool (4 threads by default) and each check costs tens of
 * milliseconds of a core. Wrong passwords from many rotating addresses with random ids (each
 * one answered with a full dummy hash, so timing does not tell which ids exist) kept every core
 * busy and a real charger's first login waited 12 s. Bounding the hashes keeps cores free for
 * the event loop and the sessions; refusing when the queue is full (HTTP 503, `overloaded`)
 * answers in microseconds instead of letting work pile up behind the handshake timeout.
 * Chargers that logged in before skip the hash (CredentialsFileAuthenticator's cache of
 * verified passwords), so they get in while it is refusing.
 *
 * @example
 *   const hashes = new HashLimiter({ maxConcurrent: 2, maxQueued: 100 })
 *   const slot = hashes.acquire()
 *   if (slot === undefined) return deny('overloaded')
 *   const release = await slot
 *   try { ok = await verifyParsed(password, hash) } finally { release() }
 */
import { availableParallelism } from 'node:os'

export interface HashLimiterOptions {
  /** Hashes running at once; 0 = the number of cores (os.availableParallelism()). */
  maxConcurrent: number
  /** Hashes waiting behind them; over it acquire() refuses. 0 = no waiting at all. */
  maxQueued: number
}

/** `max_concurrent_hashes: 0` means this: one hash per core, the most that can make progress at once. */
export function defaultConcurrentHashes (): number {
  return Math.max(1, availableParallelism())
}

export class HashLimiter {
  readonly maxConcurrent: number
  readonly maxQueued: number
  private running = 0
  private readonly waiting: Array<() => void> = []
  /** Index of the first live entry of `waiting` (shifting an array of thousands is O(n)). */
  private head = 0

  constructor (opts: HashLimiterOptions) {
    if (!Number.isInteger(opts.maxConcurrent) || opts.maxConcurrent < 0) throw new RangeError('maxConcurrent must be an integer >= 0')
    if (!Number.isInteger(opts.maxQueued) || opts.maxQueued < 0) throw new RangeError('maxQueued must be an integer >= 0')
    this.maxConcurrent = opts.maxConcurrent === 0 ? defaultConcurrentHashes() : opts.maxConcurrent
    this.maxQueued = opts.maxQueued
  }

  /**
   * A slot for one hash: a promise of its release function (call it exactly once, when the
   * hash is done; later calls do nothing), or undefined when the queue is full. Slots are
   * handed out in the order they were asked for.
   */
  acquire (): Promise<() => void> | undefined {
    if (this.running < this.maxConcurrent) {
      this.running++
      return Promise.resolve(this.releaser())
    }
    if (this.queued >= this.maxQueued) return undefined
    return new Promise(resolve => {
      // The slot passes straight from the releasing hash to this one: `running` stays as is.
      this.waiting.push(() => resolve(this.releaser()))
    })
  }

  /** Hashes holding a slot. */
  get active (): number { return this.running }

  /** Hashes waiting for one. */
  get queued (): number { return this.waiting.length - this.head }

  private releaser (): () => void {
    let held = true
    return () => {
      if (!held) return
      held = false
      this.next()
    }
  }

  private next (): void {
    const wake = this.waiting[this.head]
    if (wake === undefined) {
      this.waiting.length = 0
      this.head = 0
      this.running--
      return
    }
    this.waiting[this.head] = noop
    this.head++
    // Compact once the dead prefix is the larger part, so memory follows the live queue.
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head)
      this.head = 0
    }
    wake()
  }
}

function noop (): void {}

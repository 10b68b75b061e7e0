/**
 * The gateway's own publishes into the embedded broker, paced. aedes hands every message to
 * mqemitter, which runs at most `concurrency` (100) at once and queues the rest; when a slot
 * frees, it starts the next queued message on the same stack, so a long queue whose handlers
 * finish synchronously recurses once per message and overflows the stack ("Maximum call stack
 * size exceeded": seen when 10,000 charge points dropped at once and their disconnect events
 * were published in one turn; mqemitter PR #204 is open upstream). The pump keeps mqemitter's
 * queue empty: at most `max` of our publishes are in aedes at once (below its concurrency);
 * the rest wait here in order and are started from a fresh stack (setImmediate), in a loop.
 *
 * @example
 *   const pump = new PublishPump((packet, done) => aedes.publish(packet, done), 64)
 *   pump.publish(packet, (err) => { … })
 */

export type Done = (err?: Error) => void
export type PublishFn<P> = (packet: P, done: Done) => void

/** Our publishes in aedes at once: under mqemitter's default concurrency of 100, which client publishes share. */
export const DEFAULT_IN_FLIGHT = 50

export class PublishPump<P> {
  private inFlight = 0
  private readonly waiting: Array<{ packet: P, done: Done }> = []
  private scheduled = false
  /** Most messages that waited here at once (for tests and the docs). */
  peak = 0

  constructor (private readonly send: PublishFn<P>, private readonly max = DEFAULT_IN_FLIGHT) {}

  get queued (): number { return this.waiting.length }

  publish (packet: P, done: Done): void {
    if (this.inFlight < this.max && this.waiting.length === 0) {
      this.start(packet, done)
      return
    }
    this.waiting.push({ packet, done })
    if (this.waiting.length > this.peak) this.peak = this.waiting.length
    this.schedule()
  }

  private start (packet: P, done: Done): void {
    this.inFlight++
    let settled = false
    this.send(packet, (err) => {
      if (settled) return
      settled = true
      this.inFlight--
      if (this.waiting.length > 0) this.schedule()
      done(err)
    })
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      // A loop from a fresh stack: a publish that completes at once frees its slot for the next
      // iteration instead of starting the next one inside its own callback.
      while (this.inFlight < this.max) {
        const next = this.waiting.shift()
        if (next === undefined) return
        this.start(next.packet, next.done)
      }
    })
  }
}

/**
 * Everything the gateway publishes to an external broker passes through here, so that it is
 * handed to MQTT.js only while the broker is there and holds this node's subscriptions (an
 * answer to a message published before the subscriptions are back would be lost), and never
 * with more QoS 1/2 messages unacknowledged than the broker's Receive Maximum (MQTT 5
 * §3.2.2.3.3, §4.9 flow control: Mosquitto's max_inflight_messages, 20 by default; a stock
 * Mosquitto refuses the excess, and drops it silently from an MQTT 3.1.1 client).
 *
 * The rest waits, oldest first, within bounds (mqtt.offline_queue): past max_messages a message
 * is refused at once, past max_age it is dropped without ever being published. Either way its
 * sender is told with an {@link OutboxError}, so that a charge point's Call gets a CallError.
 */
import type { QoS } from './mqtt-port.js'

/** Why a message was never published. */
export type UndeliveredReason = 'queue_full' | 'timeout' | 'closed'

export class OutboxError extends Error {
  constructor (readonly reason: UndeliveredReason, message: string) {
    super(message)
    this.name = 'OutboxError'
  }
}

export interface Outgoing {
  topic: string
  payload: string | Buffer
  qos: QoS
  retain: boolean
  /** MQTT 5 properties (correlation data, user properties). */
  props?: import('./mqtt-port.js').MqttProps
  /** Told once: acknowledged by the broker (per its QoS), or why not. */
  done: (err?: Error) => void
  /** When it was given to the outbox (ms). */
  at: number
}

/**
 * Hand one message to the client; `acked` once the broker acknowledged it, or it failed, or
 * (`withdrawn`) it was taken back from the client unsent, to be published again (requeue()).
 */
export type Transmit = (m: Outgoing, acked: (err?: Error, withdrawn?: boolean) => void) => void

export interface OutboxLimits { maxMessages: number, maxAgeMs: number }

/** MQTT 5 §3.2.2.3.3: absent Receive Maximum = 65,535. */
export const DEFAULT_RECEIVE_MAXIMUM = 65535

export class Outbox {
  private queue: Array<Outgoing | undefined> = []
  private head = 0
  private inflight = 0
  private window = DEFAULT_RECEIVE_MAXIMUM
  private open = false
  private draining = false
  private withdrawn: Outgoing[] = []

  constructor (private readonly transmit: Transmit, private readonly limits: OutboxLimits) {}

  /** Messages waiting (not yet handed to the client). */
  get waiting (): number { return this.queue.length - this.head }
  /** QoS 1/2 messages handed to the client and not yet acknowledged. */
  get inFlight (): number { return this.inflight }
  get isOpen (): boolean { return this.open }

  /** Publish now if the broker is there and the window has room; else wait (bounded). */
  push (m: Outgoing): boolean {
    if (this.waiting === 0 && this.canSend(m)) {
      this.send(m)
      return false
    }
    if (this.waiting >= this.limits.maxMessages) {
      m.done(new OutboxError('queue_full', `${this.limits.maxMessages} messages already wait for the MQTT broker (mqtt.offline_queue.max_messages)`))
      return false
    }
    this.queue.push(m)
    return true
  }

  /** Put the withdrawn messages back in front of the queue, in their order: published first. */
  requeueWithdrawn (): number {
    const ms = this.withdrawn
    this.withdrawn = []
    this.compact()
    this.queue.unshift(...ms)
    return ms.length
  }

  /** The broker is there and holds our subscriptions; `window` is its Receive Maximum. */
  opened (window: number): void {
    this.open = true
    this.window = Math.max(1, window)
    this.drain()
  }

  /** The connection is gone: nothing more is handed to the client until opened() again. */
  closed (): void {
    this.open = false
  }

  /** Drop (and tell) the messages that waited longer than max_age; returns how many. */
  expire (now: number): number {
    let n = 0
    const max = this.limits.maxAgeMs
    while (this.waiting > 0) {
      const m = this.queue[this.head] as Outgoing
      if (now - m.at < max) break
      this.queue[this.head++] = undefined
      n++
      m.done(new OutboxError('timeout', `not published within ${max} ms: the MQTT broker was unreachable or its in-flight window full (mqtt.offline_queue.max_age)`))
    }
    this.compact()
    return n
  }

  /** Fail everything waiting (the gateway closes). */
  failAll (reason: UndeliveredReason, message: string): void {
    const left = this.queue.slice(this.head) as Outgoing[]
    this.queue = []
    this.head = 0
    for (const m of left) m.done(new OutboxError(reason, message))
  }

  private canSend (m: Outgoing): boolean {
    return this.open && (m.qos === 0 || this.inflight < this.window)
  }

  private send (m: Outgoing): void {
    if (m.qos > 0) this.inflight++
    this.transmit(m, (err, withdrawn) => {
      if (m.qos > 0) this.inflight--
      if (withdrawn === true) {
        this.withdrawn.push(m)
        return
      }
      m.done(err)
      this.drain()
    })
  }

  private drain (): void {
    if (this.draining) return
    this.draining = true
    try {
      while (this.waiting > 0) {
        const m = this.queue[this.head] as Outgoing
        if (!this.canSend(m)) break
        this.queue[this.head++] = undefined
        this.send(m)
      }
    } finally {
      this.draining = false
    }
    this.compact()
  }

  private compact (): void {
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}

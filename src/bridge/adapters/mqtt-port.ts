/**
 * The one interface the gateway needs from MQTT. Two adapters implement it: the embedded
 * aedes broker (in process, no loopback client) and an external broker through MQTT.js
 * (one connection for the whole gateway).
 */
export type QoS = 0 | 1 | 2

/**
 * A delivered message. `retained`: the broker replays a stored retained message because a
 * subscription was (re)made (MQTT-3.3.1-8); a live message to an existing subscription is never
 * marked (MQTT-3.3.1-9). The embedded adapter never marks: aedes hands in-process subscribers
 * live messages only.
 */
export type MessageHandler = (topic: string, payload: Buffer, retained?: boolean) => void

/**
 * The MQTT 5 properties of a message that the gateway uses: a backend's Response Topic and
 * Correlation Data (request/response, §4.10) and its user properties (`traceparent`). On a
 * publish, those to send.
 */
export interface MqttProps {
  responseTopic?: string
  correlationData?: Buffer
  userProperties?: Record<string, string | string[]>
}

/**
 * A received message's properties, kept beside its payload: the adapters note them on receipt
 * (only messages that have any), and whatever handles that payload, however late (held back
 * during a takeover, say), reads them with {@link messageProps}. A WeakMap: nothing to free.
 */
const received = new WeakMap<Buffer, MqttProps>()

/** Note the properties that came with a payload (the adapters, on receipt). */
export function noteProps (payload: Buffer, props: MqttProps | undefined): void {
  if (props !== undefined && (props.responseTopic !== undefined || props.userProperties !== undefined)) received.set(payload, props)
}

/** The properties a payload came with, if any. */
export function messageProps (payload: Buffer): MqttProps | undefined {
  return received.get(payload)
}

export interface MqttPort {
  readonly kind: 'embedded' | 'external'
  /** Whether publishes carry MQTT 5 properties (traceparent, correlation data) to subscribers. */
  readonly properties?: boolean
  /** Resolves when the broker accepted the message (per its QoS); rejects on failure. */
  publish (topic: string, payload: string | Buffer, qos: QoS, retain?: boolean): Promise<void>
  /**
   * The same without a promise (the per-message path): a failure is passed to onError. `props`:
   * MQTT 5 properties to send (dropped on an MQTT 3.1.1 connection).
   */
  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void, props?: MqttProps): void
  /**
   * Subscription to a topic or filter (`+`, `#`, `$share/group/...`); several handlers may
   * share one. Exact topics are the hot path (one per charge point); filters are few.
   */
  subscribe (topic: string, qos: QoS, handler: MessageHandler): Promise<void>
  /**
   * Several subscriptions in one SUBSCRIBE packet (one broker round trip), each with its own
   * handler; resolves at the SUBACK. Optional: without it, one subscribe() each.
   */
  subscribeMany? (subs: ReadonlyArray<{ topic: string, qos: QoS, handler: MessageHandler }>): Promise<void>
  unsubscribe (topic: string, handler: MessageHandler): Promise<void>
  /**
   * Called on every re-connection to the broker after the first (external broker only: the
   * embedded one is in process). What the broker may have lost is said again here.
   */
  onReconnect? (listener: () => void): void
  /** End another client's session at the broker (a lost node's; external broker only). */
  endSession? (clientId: string): Promise<void>
  close (): Promise<void>
}

/** `$share/group/a/+` -> `a/+`. */
export function stripShare (filter: string): string {
  return filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches (filter: string, topic: string): boolean {
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

/** Handlers by subscription, shared by both adapters. */
export class HandlerTable {
  private readonly byTopic = new Map<string, Set<MessageHandler>>()
  /** Filters with wildcards (or shared), matched one by one: there are only a few. */
  private readonly filters = new Map<string, string>()
  /** Filters `parent/+`, by parent: there may be many (one per charge point). */
  private readonly byParent = new Map<string, Set<string>>()

  /** Returns true when this is the subscription's first handler (subscribe at the broker). */
  add (topic: string, handler: MessageHandler): boolean {
    let set = this.byTopic.get(topic)
    const first = set === undefined
    if (set === undefined) this.byTopic.set(topic, set = new Set())
    set.add(handler)
    const plain = stripShare(topic)
    if (first && (plain !== topic || /[+#]/.test(plain))) {
      // `a/b/+` (one per charge point: its presence records) is found by the topic's parent.
      const parent = plain.slice(0, -2)
      if (plain === topic && plain.endsWith('/+') && !/[+#]/.test(parent)) {
        let subs = this.byParent.get(parent)
        if (subs === undefined) this.byParent.set(parent, subs = new Set())
        subs.add(topic)
      } else this.filters.set(topic, plain)
    }
    return first
  }

  /** Handlers of one subscription. */
  count (topic: string): number { return this.byTopic.get(topic)?.size ?? 0 }
  has (topic: string, handler: MessageHandler): boolean { return this.byTopic.get(topic)?.has(handler) === true }

  /** Returns true when the subscription has no handler left (unsubscribe at the broker). */
  remove (topic: string, handler: MessageHandler): boolean {
    const set = this.byTopic.get(topic)
    if (set === undefined) return false
    set.delete(handler)
    if (set.size > 0) return false
    this.byTopic.delete(topic)
    this.filters.delete(topic)
    if (topic.endsWith('/+')) {
      const parent = topic.slice(0, -2)
      const subs = this.byParent.get(parent)
      subs?.delete(topic)
      if (subs?.size === 0) this.byParent.delete(parent)
    }
    return true
  }

  /** Deliver to the handlers of one subscription (the embedded broker knows which). */
  dispatchTo (subscription: string, topic: string, payload: Buffer, retained = false): void {
    const set = this.byTopic.get(subscription)
    if (set !== undefined) for (const h of set) h(topic, payload, retained)
  }

  /** Deliver to every subscription matching the topic (an external broker says only the topic). */
  dispatch (topic: string, payload: Buffer, retained = false): void {
    const slash = topic.lastIndexOf('/')
    const subs = slash < 0 ? undefined : this.byParent.get(topic.slice(0, slash))
    if (!this.filters.has(topic) && subs?.has(topic) !== true) this.dispatchTo(topic, topic, payload, retained)
    if (subs !== undefined) for (const sub of subs) this.dispatchTo(sub, topic, payload, retained)
    for (const [sub, plain] of this.filters) {
      if (topicMatches(plain, topic)) this.dispatchTo(sub, topic, payload, retained)
    }
  }

  get size (): number { return this.byTopic.size }
}

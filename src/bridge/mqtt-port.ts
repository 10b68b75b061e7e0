/**
 * The one interface the gateway needs from MQTT. Two adapters implement it: the embedded
 * aedes broker (in process, no loopback client) and an external broker through MQTT.js
 * (one connection for the whole gateway).
 */
export type QoS = 0 | 1 | 2

export type MessageHandler = (topic: string, payload: Buffer) => void

export interface MqttPort {
  readonly kind: 'embedded' | 'external'
  /** Resolves when the broker accepted the message (per its QoS); rejects on failure. */
  publish (topic: string, payload: string | Buffer, qos: QoS): Promise<void>
  /** Exact-topic subscription; several handlers may share a topic. */
  subscribe (topic: string, qos: QoS, handler: MessageHandler): Promise<void>
  unsubscribe (topic: string, handler: MessageHandler): Promise<void>
  close (): Promise<void>
}

/** Handlers by exact topic, shared by both adapters. */
export class HandlerTable {
  private readonly byTopic = new Map<string, Set<MessageHandler>>()

  /** Returns true when this is the topic's first handler (subscribe at the broker). */
  add (topic: string, handler: MessageHandler): boolean {
    let set = this.byTopic.get(topic)
    const first = set === undefined
    if (set === undefined) this.byTopic.set(topic, set = new Set())
    set.add(handler)
    return first
  }

  /** Returns true when the topic has no handler left (unsubscribe at the broker). */
  remove (topic: string, handler: MessageHandler): boolean {
    const set = this.byTopic.get(topic)
    if (set === undefined) return false
    set.delete(handler)
    if (set.size > 0) return false
    this.byTopic.delete(topic)
    return true
  }

  dispatch (topic: string, payload: Buffer): boolean {
    const set = this.byTopic.get(topic)
    if (set === undefined) return false
    for (const h of set) h(topic, payload)
    return true
  }

  get size (): number { return this.byTopic.size }
}

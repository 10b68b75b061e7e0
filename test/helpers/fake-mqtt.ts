/**
 * An MqttPort without a broker, for unit tests of the bridge: it records publishes and
 * delivers what the test "publishes as a backend" to the matching subscriptions, through
 * the same HandlerTable the real adapters use.
 */
import { HandlerTable, stripShare, topicMatches, type MessageHandler, type MqttPort, type QoS } from '../../src/bridge/adapters/mqtt-port.js'

export interface Published { topic: string, payload: string, qos: QoS, retain: boolean }

export class FakeMqtt implements MqttPort {
  readonly published: Published[] = []
  /** Subscriptions made at the "broker", in order (topic filters). */
  readonly subscriptions: string[] = []
  /** Every subscribe call (also those that added a handler to an existing subscription), with its QoS. */
  readonly subscribeCalls: Array<{ topic: string, qos: QoS }> = []
  readonly unsubscriptions: string[] = []
  /** Set to make the next subscribe fail. */
  failSubscribe: Error | undefined
  private readonly handlers = new HandlerTable()

  constructor (readonly kind: 'embedded' | 'external' = 'embedded') {
    this.loopback = kind === 'external'
  }

  async publish (topic: string, payload: string | Buffer, qos: QoS, retain = false): Promise<void> {
    this.published.push({ topic, payload: payload.toString(), qos, retain })
    if (retain) this.store(topic, payload)
    this.loop(topic, payload)
  }

  /**
   * Retained messages, as a broker keeps them (external kind): what is published with retain,
   * or given to retain(), is replayed (retained = true) to each new subscription that matches,
   * before its subscribe resolves.
   */
  readonly retained = new Map<string, Buffer>()
  /** A retained message at the "broker" (another node's record), not delivered to anyone now. */
  retain (topic: string, payload: unknown): void {
    this.store(topic, typeof payload === 'string' ? payload : JSON.stringify(payload))
  }

  private store (topic: string, payload: string | Buffer): void {
    if (this.kind !== 'external') return
    if (payload.length === 0) this.retained.delete(topic)
    else this.retained.set(topic, Buffer.from(payload))
  }

  /** SUBSCRIBE packets made at the "broker" (one per subscribe, or per subscribeMany), by their topics. */
  readonly subscribePackets: string[][] = []

  async subscribeMany (subs: ReadonlyArray<{ topic: string, qos: QoS, handler: MessageHandler }>): Promise<void> {
    const fresh: string[] = []
    for (const s of subs) if (await this.subscribeOne(s.topic, s.qos, s.handler)) fresh.push(s.topic)
    if (fresh.length > 0) this.subscribePackets.push(fresh)
  }

  post (topic: string, payload: string | Buffer, qos: QoS): void {
    this.published.push({ topic, payload: payload.toString(), qos, retain: false })
    this.loop(topic, payload)
  }

  /**
   * As a broker does (external kind): what is published reaches the publisher's own matching
   * subscriptions (a microtask later), e.g. a node's presence record comes back to it. Set
   * `loopback` false to hold it.
   */
  loopback: boolean
  private loop (topic: string, payload: string | Buffer): void {
    // As from a broker: later, never inside the publish call.
    if (this.loopback) queueMicrotask(() => this.handlers.dispatch(topic, Buffer.from(payload)))
  }

  async subscribe (topic: string, qos: QoS, handler: MessageHandler): Promise<void> {
    if (await this.subscribeOne(topic, qos, handler)) this.subscribePackets.push([topic])
  }

  private async subscribeOne (topic: string, qos: QoS, handler: MessageHandler): Promise<boolean> {
    this.subscribeCalls.push({ topic, qos })
    const err = this.failSubscribe
    this.failSubscribe = undefined
    if (err !== undefined) throw err
    if (!this.handlers.add(topic, handler)) return false
    this.subscriptions.push(topic)
    const plain = stripShare(topic)
    for (const [t, payload] of this.retained) if (t === plain || topicMatches(plain, t)) handler(t, payload, true)
    return true
  }

  /** Subscriptions at the "broker" now. */
  get subscribed (): number { return this.subscriptions.length - this.unsubscriptions.length }

  async unsubscribe (topic: string, handler: MessageHandler): Promise<void> {
    if (this.handlers.remove(topic, handler)) this.unsubscriptions.push(topic)
  }

  private readonly reconnects: Array<() => void> = []
  onReconnect (listener: () => void): void { this.reconnects.push(listener) }
  /** The connection came back (external kind): what onReconnect listeners hear. */
  reconnect (): void { for (const f of this.reconnects) f() }

  async close (): Promise<void> {}

  /** A backend publishes: delivered to every matching subscription (`retained`: a replay at subscription). */
  deliver (topic: string, payload: unknown, retained = false): void {
    this.handlers.dispatch(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), retained)
  }

  /** Published messages on a topic, parsed as JSON. */
  on (topic: string): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => (p.payload === '' ? '' : JSON.parse(p.payload)))
  }
}

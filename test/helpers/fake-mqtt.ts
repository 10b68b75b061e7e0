/**
 * An MqttPort without a broker, for unit tests of the bridge: it records publishes and
 * delivers what the test "publishes as a backend" to the matching subscriptions, through
 * the same HandlerTable the real adapters use.
 */
import { HandlerTable, type MessageHandler, type MqttPort, type QoS } from '../../src/bridge/adapters/mqtt-port.js'

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
    this.loop(topic, payload)
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
    this.subscribeCalls.push({ topic, qos })
    const err = this.failSubscribe
    this.failSubscribe = undefined
    if (err !== undefined) throw err
    if (this.handlers.add(topic, handler)) this.subscriptions.push(topic)
  }

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

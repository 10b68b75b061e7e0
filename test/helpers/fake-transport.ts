/**
 * A broker in memory behind the backend SDK's own BackendTransport interface: every transport
 * made from one FakeBroker receives what matches its filters (`$share/g/` groups take turns,
 * round-robin), and a test publishes as the gateway would. No network.
 */
import type { BackendTransport, QoS } from '../../src/backend/transport.js'
import { topicMatches } from '../../src/bridge/adapters/mqtt-port.js'

export { topicMatches }

interface Sub { transport: FakeTransport, filter: string, group: string | undefined }

export interface Published { topic: string, payload: string, json: any, qos: QoS, from: FakeTransport }

export class FakeBroker {
  readonly subs: Sub[] = []
  readonly published: Published[] = []
  private turn = new Map<string, number>()

  transport (): FakeTransport { return new FakeTransport(this) }

  /** Deliver to every matching subscription; one member per shared group. */
  deliver (topic: string, payload: string | object, retained = false): void {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
    const groups = new Map<string, Sub[]>()
    const seen = new Set<FakeTransport>()
    for (const s of this.subs) {
      if (s.transport.closed || !topicMatches(s.filter, topic)) continue
      if (s.group !== undefined) {
        const key = `${s.group}\u0000${s.filter}`
        groups.set(key, [...(groups.get(key) ?? []), s])
      } else if (!seen.has(s.transport)) {
        seen.add(s.transport)
        s.transport.receive(topic, text, retained)
      }
    }
    for (const [key, members] of groups) {
      const n = this.turn.get(key) ?? 0
      this.turn.set(key, n + 1)
      members[n % members.length]?.transport.receive(topic, text, retained)
    }
  }

  /** Publishes to `topic` so far, parsed. */
  on (topic: string): Published[] { return this.published.filter((p) => p.topic === topic) }
}

export class FakeTransport implements BackendTransport {
  closed = false
  failPublish: Error | undefined
  private handler: (topic: string, payload: Buffer, retained: boolean) => void = () => {}
  private status: (up: boolean, err?: Error) => void = () => {}

  constructor (private readonly broker: FakeBroker) {}

  async subscribe (filters: string[], _qos: QoS): Promise<void> {
    for (const f of filters) {
      const m = /^\$share\/([^/]+)\/(.*)$/.exec(f)
      this.broker.subs.push(m === null ? { transport: this, filter: f, group: undefined } : { transport: this, filter: m[2] as string, group: m[1] })
    }
  }

  async publish (topic: string, payload: string, qos: QoS): Promise<void> {
    if (this.failPublish !== undefined) throw this.failPublish
    let json: unknown
    try { json = JSON.parse(payload) } catch { json = undefined }
    this.broker.published.push({ topic, payload, json, qos, from: this })
  }

  onMessage (handler: (topic: string, payload: Buffer, retained: boolean) => void): void { this.handler = handler }
  onStatus (handler: (up: boolean, err?: Error) => void): void { this.status = handler }
  receive (topic: string, payload: string, retained: boolean): void { this.handler(topic, Buffer.from(payload), retained) }
  setUp (up: boolean, err?: Error): void { this.status(up, err) }
  async close (): Promise<void> { this.closed = true }
}

/** Resolves after pending promise callbacks (handlers' answers) have run. */
export const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve)) }

/** A logger that keeps its lines. */
export function memoryLogger (): { lines: Array<{ level: string, obj: object, msg: string }>, error: (o: object, m: string) => void, warn: (o: object, m: string) => void, info: (o: object, m: string) => void, debug: (o: object, m: string) => void } {
  const lines: Array<{ level: string, obj: object, msg: string }> = []
  const at = (level: string) => (obj: object, msg: string) => { lines.push({ level, obj, msg }) }
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }
}

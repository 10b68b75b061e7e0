/**
 * Which gateway node holds which charge point, across nodes sharing one broker, so a node
 * answers "offline" for a backend Call only when no node holds the charge point.
 *
 * Each node keeps a retained message on `{mountpoint}presence/{cid}/{node}` while it holds
 * `cid` and clears it (empty retained payload) when it stops holding it; every node
 * subscribes `{mountpoint}presence/+/+` and so learns the others' charge points, including
 * those connected before it started.
 */
import type { MessageHandler, MqttPort } from './adapters/mqtt-port.js'

export class Presence {
  /** cid -> nodes other than this one that hold it. */
  private readonly remote = new Map<string, Set<string>>()
  private readonly filter: string
  private readonly handler: MessageHandler

  /** `prefix`: the topics' presencePrefix, `{mountpoint}presence/`. */
  constructor (private readonly mqtt: MqttPort, private readonly prefix: string, private readonly nodeId: string) {
    this.filter = `${prefix}+/+`
    this.handler = (topic, payload) => this.onMessage(topic, payload)
  }

  start (): Promise<void> {
    return this.mqtt.subscribe(this.filter, 1, this.handler)
  }

  private onMessage (topic: string, payload: Buffer): void {
    const [cid, node] = topic.slice(this.prefix.length).split('/')
    if (cid === undefined || node === undefined || node === this.nodeId) return
    let nodes = this.remote.get(cid)
    if (payload.length === 0) {
      nodes?.delete(node)
      if (nodes?.size === 0) this.remote.delete(cid)
      return
    }
    if (nodes === undefined) this.remote.set(cid, nodes = new Set())
    nodes.add(node)
  }

  /** Whether another node holds the charge point. */
  heldElsewhere (cid: string): boolean {
    return (this.remote.get(cid)?.size ?? 0) > 0
  }

  /** The nodes other than this one that hold the charge point. */
  nodesOf (cid: string): string[] {
    return [...(this.remote.get(cid) ?? [])]
  }

  announce (cid: string, online: boolean): Promise<void> {
    const topic = `${this.prefix}${cid}/${this.nodeId}`
    return this.mqtt.publish(topic, online ? JSON.stringify({ node: this.nodeId, at: new Date().toISOString() }) : '', 1, true)
  }

  async stop (): Promise<void> {
    await this.mqtt.unsubscribe(this.filter, this.handler)
  }
}

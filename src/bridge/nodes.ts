/**
 * Which gateway nodes sharing one broker are alive. Each node keeps a retained message on
 * `{mountpoint}nodes/{node}`: `{"status":"online","since":<ms>}` from its connection on, and
 * `{"status":"stopped"}` when it stops in order. Its MQTT last will is the same topic with
 * `{"status":"lost"}`: the broker publishes it as soon as the node's connection ends without a
 * DISCONNECT — at once when the process dies (kill -9, crash: the kernel closes the socket),
 * after 1.5 × mqtt.keepalive when the host or the network vanishes.
 *
 * What a node holds is cleaned up by the others when it is lost (./cluster-router.ts): its
 * presence records cleared and a `disconnected` event with reason `node_lost` for each of its
 * chargers. The directory is small: one record per node, whatever the fleet.
 *
 * A will is not always a death: when a node's own MQTT client re-connects with its client id
 * while the broker still has the old connection (half-open), the broker ends the old one and,
 * with a will delay of 0, publishes its will. The node reads it and says `online` again at
 * once; so a live will counts only when no `online` record of that node follows within
 * LOST_CONFIRM_MS (a retained `lost`, replayed at subscription, counts at once).
 */
import type { MessageHandler, MqttPort } from './adapters/mqtt-port.js'

export type NodeStatus = 'online' | 'stopped' | 'lost'

/** How long a live will waits for the node's `online` record before the node counts as lost. */
export const LOST_CONFIRM_MS = 500

/** When this process started: `since` of its node record, and of its will (the run they belong to). */
const RUN_SINCE = Date.now()

/** The node's MQTT client id at an external broker: mqtt.client_id, else `ocpp-gateway-<node_id>`. */
export function mqttClientId (configured: string, nodeId: string): string {
  return configured !== '' ? configured : `ocpp-gateway-${nodeId}`
}

/** The will to connect with, for a node's id. */
export function nodeWill (prefix: string, nodeId: string): { topic: string, payload: string, qos: 1, retain: true } {
  return { topic: `${prefix}${nodeId}`, payload: JSON.stringify({ status: 'lost', node: nodeId, since: RUN_SINCE }), qos: 1, retain: true }
}

export interface NodeDirectoryHooks {
  /**
   * Another node was lost (its will) or stopped; `status` says which. A stopped node's record
   * says, per charge point it released in its last seconds, the UniqueIds it answered
   * (`released`): a node taking one of them over must not deliver those again.
   */
  gone: (node: string, status: 'lost' | 'stopped', released: Readonly<Record<string, string[]>>, client: string | undefined) => void
  /** The broker published this node's own will (its connection was seen dead): say online again. */
  ownLost: () => void
  /** A node's will was followed by its `online` record: a replaced connection, not a lost node. */
  revived?: (node: string) => void
}

export class NodeDirectory {
  private readonly status = new Map<string, NodeStatus>()
  /** Each node's MQTT client id, from its online record: a lost node's session is ended with it. */
  private readonly clients = new Map<string, string>()
  private readonly filter: string
  private readonly handler: MessageHandler
  private readonly since = RUN_SINCE
  /** Live wills waiting for LOST_CONFIRM_MS (an `online` record of the node cancels them). */
  private readonly suspects = new Map<string, NodeJS.Timeout>()

  /** `prefix`: the topics' nodesPrefix, `{mountpoint}nodes/`. */
  constructor (private readonly mqtt: MqttPort, private readonly prefix: string, readonly nodeId: string, private readonly hooks: NodeDirectoryHooks, private readonly clientId?: string) {
    this.filter = `${prefix}+`
    this.handler = (topic, payload, retained) => this.onMessage(topic, payload, retained === true)
  }

  async start (): Promise<void> {
    await this.mqtt.subscribe(this.filter, 1, this.handler)
    await this.announce()
  }

  /** Say this node is online (at start and on every re-connection). */
  announce (): Promise<void> {
    return this.mqtt.publish(`${this.prefix}${this.nodeId}`, JSON.stringify({ status: 'online', node: this.nodeId, since: this.since, client: this.clientId }), 1, true)
  }

  /** Whether a node may hold charge points: not lost, not stopped (a node not heard of yet may). */
  alive (node: string): boolean {
    const s = this.status.get(node)
    return s === undefined || s === 'online'
  }

  /** The nodes known online, this one included. */
  online (): string[] {
    const out = [this.nodeId]
    for (const [node, s] of this.status) if (s === 'online' && node !== this.nodeId) out.push(node)
    return out
  }

  private onMessage (topic: string, payload: Buffer, retained: boolean): void {
    const node = topic.slice(this.prefix.length)
    if (node === '' || node.includes('/')) return
    let status: NodeStatus | undefined
    let released: Record<string, string[]> = {}
    if (payload.length === 0) status = 'stopped'
    else {
      try {
        const v = JSON.parse(payload.toString('utf8')) as { status?: NodeStatus, released?: unknown, client?: unknown }
        status = v.status
        if (status === 'online' && typeof v.client === 'string' && node !== this.nodeId) this.clients.set(node, v.client)
        if (typeof v.released === 'object' && v.released !== null && !Array.isArray(v.released)) released = v.released as Record<string, string[]>
      } catch { return }
      if (status !== 'online' && status !== 'stopped' && status !== 'lost') return
    }
    if (node === this.nodeId) {
      if (status !== 'online') this.hooks.ownLost()
      return
    }
    const suspect = this.suspects.get(node)
    if (suspect !== undefined) {
      clearTimeout(suspect)
      this.suspects.delete(node)
      if (status === 'online') {
        this.hooks.revived?.(node)
        return
      }
    }
    if (status === 'lost' && !retained && this.status.get(node) === 'online') {
      // Maybe the will of a connection its own re-connection replaced: wait for its `online`.
      const timer = setTimeout(() => {
        this.suspects.delete(node)
        this.set(node, 'lost', released)
      }, LOST_CONFIRM_MS)
      timer.unref()
      this.suspects.set(node, timer)
      return
    }
    this.set(node, status, released)
  }

  private set (node: string, status: NodeStatus, released: Record<string, string[]>): void {
    const before = this.status.get(node)
    this.status.set(node, status)
    if (status !== 'online' && before !== status) this.hooks.gone(node, status, released, this.clients.get(node))
  }

  /**
   * Say this node stopped (before its MQTT connection closes with a DISCONNECT: no will), with
   * the UniqueIds it answered lately per charge point it released (see NodeDirectoryHooks.gone).
   */
  async stop (released: Record<string, string[]> = {}): Promise<void> {
    for (const t of this.suspects.values()) clearTimeout(t)
    this.suspects.clear()
    await this.mqtt.unsubscribe(this.filter, this.handler)
    await this.mqtt.publish(`${this.prefix}${this.nodeId}`, JSON.stringify({ status: 'stopped', node: this.nodeId, released }), 1, true)
  }
}

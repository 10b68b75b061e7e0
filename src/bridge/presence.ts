/**
 * Which gateway node holds which charge point, across nodes sharing one broker: so a node
 * answers "offline" for a backend Call only when no live node holds the charge point, and so
 * the node that held a charge point learns that it connected to another one (a takeover
 * across nodes, ./router.ts).
 *
 * Each node keeps a retained message on `{mountpoint}presence/{cid}/{node}` while it holds
 * `cid` — `{"node","since","version"}`, `since` being when that connection was accepted (ms)
 * — and clears it (empty retained payload) when it stops holding it; every node subscribes
 * `{mountpoint}presence/+/+` and so learns the others' charge points, including those
 * connected before it started. Memory and traffic grow with the fleet, not with the node's
 * own share: docs/cluster.md has the arithmetic and where this stops being enough.
 */
import type { MessageHandler, MqttPort } from './adapters/mqtt-port.js'

/** One node's record of holding a charge point. */
export interface Holding {
  node: string
  /** When the node accepted the connection, ms since the epoch (0 if the record has none). */
  since: number
  version: string | undefined
}

export interface PresenceHooks {
  /** Another node now holds `cid` (a live record, not a retained replay). */
  claimed?: (cid: string, h: Holding) => void
  /** A record about this node: `h` undefined = cleared. `retained` = replayed at subscription. */
  own?: (cid: string, h: Holding | undefined, retained: boolean) => void
  /** A record of a node that `alive` says is gone (lost or stopped before it cleared it). */
  stale?: (cid: string, h: Holding) => void
}

export class Presence {
  /** cid -> nodes other than this one that hold it. */
  private readonly remote = new Map<string, Map<string, Holding>>()
  private readonly filter: string
  private readonly handler: MessageHandler
  private hooks: PresenceHooks = {}

  /**
   * `prefix`: the topics' presencePrefix, `{mountpoint}presence/`. `alive`: whether a node may
   * hold charge points (./nodes.ts); without it every node is.
   */
  constructor (private readonly mqtt: MqttPort, private readonly prefix: string, private readonly nodeId: string, private readonly alive: (node: string) => boolean = () => true) {
    this.filter = `${prefix}+/+`
    this.handler = (topic, payload, retained) => this.onMessage(topic, payload, retained === true)
  }

  observe (hooks: PresenceHooks): void { this.hooks = hooks }

  start (): Promise<void> {
    return this.mqtt.subscribe(this.filter, 1, this.handler)
  }

  private onMessage (topic: string, payload: Buffer, retained: boolean): void {
    const [cid, node, extra] = topic.slice(this.prefix.length).split('/')
    if (cid === undefined || node === undefined || extra !== undefined || cid === '' || node === '') return
    const h = payload.length === 0 ? undefined : parseHolding(payload, node)
    if (node === this.nodeId) {
      this.hooks.own?.(cid, h, retained)
      return
    }
    let nodes = this.remote.get(cid)
    if (h === undefined) {
      nodes?.delete(node)
      if (nodes?.size === 0) this.remote.delete(cid)
      return
    }
    if (!this.alive(node)) {
      this.hooks.stale?.(cid, h)
      return
    }
    if (nodes === undefined) this.remote.set(cid, nodes = new Map())
    nodes.set(node, h)
    if (!retained) this.hooks.claimed?.(cid, h)
  }

  /** Whether another live node holds the charge point. */
  heldElsewhere (cid: string): boolean {
    const nodes = this.remote.get(cid)
    if (nodes === undefined) return false
    for (const node of nodes.keys()) if (this.alive(node)) return true
    return false
  }

  /** The live nodes other than this one that hold the charge point. */
  nodesOf (cid: string): string[] {
    return [...(this.remote.get(cid)?.keys() ?? [])].filter((n) => this.alive(n))
  }

  /** Forget every record of a node (lost or stopped) and return them, for the cleanup. */
  dropNode (node: string): Array<{ cid: string, h: Holding }> {
    const out: Array<{ cid: string, h: Holding }> = []
    for (const [cid, nodes] of this.remote) {
      const h = nodes.get(node)
      if (h === undefined) continue
      out.push({ cid, h })
      nodes.delete(node)
      if (nodes.size === 0) this.remote.delete(cid)
    }
    return out
  }

  /** This node holds `cid` (since, version), or (undefined) no longer. */
  announce (cid: string, holding: { since: number, version: string } | undefined): Promise<void> {
    return this.mqtt.publish(this.topic(cid, this.nodeId), holding === undefined ? '' : JSON.stringify({ node: this.nodeId, since: holding.since, version: holding.version, at: new Date(holding.since).toISOString() }), 1, true)
  }

  /** Clear another node's record (it is gone): the cleanup after a lost node. */
  clear (cid: string, node: string): Promise<void> {
    return this.mqtt.publish(this.topic(cid, node), '', 1, true)
  }

  private topic (cid: string, node: string): string { return `${this.prefix}${cid}/${node}` }

  async stop (): Promise<void> {
    await this.mqtt.unsubscribe(this.filter, this.handler)
  }
}

function parseHolding (payload: Buffer, node: string): Holding {
  // A record in another shape (an older node's, a hand-written one) still means "held".
  try {
    const v = JSON.parse(payload.toString('utf8')) as { since?: unknown, version?: unknown }
    return { node, since: typeof v.since === 'number' ? v.since : 0, version: typeof v.version === 'string' ? v.version : undefined }
  } catch {
    return { node, since: 0, version: undefined }
  }
}

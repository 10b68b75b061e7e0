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
  /**
   * cid -> the records of nodes other than this one that hold it: one record (nearly always)
   * or a few (during a takeover). Node ids and versions are interned: at a fleet of 1,000,000
   * this map is the node's largest structure (docs/cluster.md).
   */
  private readonly remote = new Map<string, Holding | Holding[]>()
  private readonly strings = new Map<string, string>()
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
    const h = payload.length === 0 ? undefined : parseHolding(payload, this.intern(node), (v) => this.intern(v))
    if (node === this.nodeId) {
      this.hooks.own?.(cid, h, retained)
      return
    }
    if (h === undefined) {
      this.remove(cid, node)
      return
    }
    if (!this.alive(node)) {
      this.hooks.stale?.(cid, h)
      return
    }
    const had = this.remote.get(cid)
    if (had === undefined || (!Array.isArray(had) && had.node === node)) this.remote.set(cid, h)
    else {
      const list = Array.isArray(had) ? had : [had]
      const i = list.findIndex((x) => x.node === node)
      this.remote.set(cid, i < 0 ? [...list, h] : list.map((x, j) => (j === i ? h : x)))
    }
    if (!retained) this.hooks.claimed?.(cid, h)
  }

  private remove (cid: string, node: string): void {
    const had = this.remote.get(cid)
    if (had === undefined) return
    if (!Array.isArray(had)) {
      if (had.node === node) this.remote.delete(cid)
      return
    }
    const list = had.filter((x) => x.node !== node)
    if (list.length === 0) this.remote.delete(cid)
    else this.remote.set(cid, list.length === 1 ? list[0] as Holding : list)
  }

  private records (cid: string): readonly Holding[] {
    const had = this.remote.get(cid)
    return had === undefined ? [] : Array.isArray(had) ? had : [had]
  }

  private intern (s: string): string {
    if (this.strings.size > 10_000) this.strings.clear()
    const known = this.strings.get(s)
    if (known !== undefined) return known
    this.strings.set(s, s)
    return s
  }

  /** Whether another live node holds the charge point. */
  heldElsewhere (cid: string): boolean {
    const had = this.remote.get(cid)
    if (had === undefined) return false
    if (!Array.isArray(had)) return this.alive(had.node)
    return had.some((h) => this.alive(h.node))
  }

  /** The live nodes other than this one that hold the charge point. */
  nodesOf (cid: string): string[] {
    return this.records(cid).map((h) => h.node).filter((n) => this.alive(n))
  }

  /** Forget every record of a node (lost or stopped) and return them, for the cleanup. */
  dropNode (node: string): Array<{ cid: string, h: Holding }> {
    const out: Array<{ cid: string, h: Holding }> = []
    for (const cid of this.remote.keys()) {
      const h = this.records(cid).find((x) => x.node === node)
      if (h === undefined) continue
      out.push({ cid, h })
      this.remove(cid, node)
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

function parseHolding (payload: Buffer, node: string, intern: (s: string) => string): Holding {
  // A record in another shape (an older node's, a hand-written one) still means "held".
  try {
    const v = JSON.parse(payload.toString('utf8')) as { since?: unknown, version?: unknown }
    return { node, since: typeof v.since === 'number' ? v.since : 0, version: typeof v.version === 'string' ? intern(v.version) : undefined }
  } catch {
    return { node, since: 0, version: undefined }
  }
}

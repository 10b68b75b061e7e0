/**
 * Which gateway node holds which charge point, across nodes sharing one broker — known only
 * for this node's own charge points, so that what a node keeps and receives grows with its own
 * share of the fleet, not with the fleet (docs/cluster.md has the arithmetic).
 *
 * Each node keeps a retained message on `{mountpoint}presence/{cid}/{node}` while it holds
 * `cid` — `{"node","since","version"}`, `since` being when that connection was accepted (ms)
 * — and clears it (empty retained payload) when it stops holding it. A node watches
 * `{mountpoint}presence/{cid}/+` for each charge point it holds (subscribed with the charge
 * point's downstream topic, in one SUBSCRIBE: ./cluster-router.ts) and for a few seconds after:
 * the retained replay says which other node held it before, and a live record of another node
 * says the charge point connected there (newest wins). Charge points it does not hold are
 * looked up one at a time (./presence-lookup.ts).
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
  /** Another node now holds `cid` (`retained`: replayed at subscription, a record from before). */
  claimed?: (cid: string, h: Holding, retained: boolean) => void
  /** A record about this node: `h` undefined = cleared. `retained` = replayed at subscription. */
  own?: (cid: string, h: Holding | undefined, retained: boolean) => void
  /** A record of a node that `alive` says is gone (lost or stopped before it cleared it). */
  stale?: (cid: string, h: Holding) => void
}

/** A record on a presence topic: the charge point, the node, and the record (undefined = cleared). */
export interface PresenceRecord { cid: string, node: string, h: Holding | undefined }

export class Presence {
  /**
   * cid -> the records of nodes other than this one that hold it, for the watched charge points
   * only: one record (nearly always) or a few (during a takeover).
   */
  private readonly remote = new Map<string, Holding | Holding[]>()
  /** Watched charge points (own, released lately, looked up now), with their reference counts. */
  private readonly watched = new Map<string, number>()
  /**
   * Filters being unsubscribed (until the UNSUBACK): subscribed again only after it, else the
   * broker would end the new subscription with the old one (and replay nothing).
   */
  private readonly leaving = new Map<string, Promise<void>>()
  private readonly strings = new Map<string, string>()
  readonly handler: MessageHandler
  private hooks: PresenceHooks = {}
  /** Presence messages received (live and retained), for the scaling test and the docs' figures. */
  received = 0

  /**
   * `prefix`: the topics' presencePrefix, `{mountpoint}presence/`. `alive`: whether a node may
   * hold charge points (./nodes.ts); without it every node is.
   */
  constructor (private readonly mqtt: MqttPort, readonly prefix: string, readonly nodeId: string, readonly alive: (node: string) => boolean = () => true) {
    this.handler = (topic, payload, retained) => this.onMessage(topic, payload, retained === true)
  }

  observe (hooks: PresenceHooks): void { this.hooks = hooks }

  /** The filter that watches one charge point's records. */
  filter (cid: string): string { return `${this.prefix}${cid}/+` }

  /**
   * Count a watcher of `cid`; true when it is the first, and the caller subscribes filter(cid)
   * with `handler` (alone, or in one SUBSCRIBE with the downstream topic).
   */
  watch (cid: string): boolean {
    const n = this.watched.get(cid) ?? 0
    this.watched.set(cid, n + 1)
    return n === 0
  }

  /** One watcher less; the last one unsubscribes, and the records of `cid` are forgotten. */
  unwatch (cid: string): void {
    const n = this.watched.get(cid)
    if (n === undefined) return
    if (n > 1) { this.watched.set(cid, n - 1); return }
    this.watched.delete(cid)
    this.remote.delete(cid)
    const left: Promise<void> = (this.leaving.get(cid) ?? Promise.resolve())
      .then(() => this.mqtt.unsubscribe(this.filter(cid), this.handler))
      .catch(() => {})
      .then(() => { if (this.leaving.get(cid) === left) this.leaving.delete(cid) })
    this.leaving.set(cid, left)
  }

  /** Whether the filter of `cid` is being unsubscribed: a first watcher subscribes with subscribe(), after it. */
  isLeaving (cid: string): boolean { return this.leaving.has(cid) }

  /** Subscribe the filter of `cid` for its first watcher, once a pending unsubscribe of it is done. */
  subscribe (cid: string): Promise<void> {
    const left = this.leaving.get(cid)
    const go = (): Promise<void> => this.mqtt.subscribe(this.filter(cid), 1, this.handler)
    return left === undefined ? go() : left.then(go)
  }

  watching (cid: string): boolean { return this.watched.has(cid) }

  /** Held in memory: watched charge points, and other nodes' records of them. */
  get size (): { watched: number, records: number } { return { watched: this.watched.size, records: this.remote.size } }

  /** Parse a message on a presence topic (undefined: not a record topic). */
  parse (topic: string, payload: Buffer): PresenceRecord | undefined {
    if (!topic.startsWith(this.prefix)) return undefined
    const [cid, node, extra] = topic.slice(this.prefix.length).split('/')
    if (cid === undefined || node === undefined || extra !== undefined || cid === '' || node === '') return undefined
    return { cid, node, h: payload.length === 0 ? undefined : parseHolding(payload, this.intern(node), (v) => this.intern(v)) }
  }

  private onMessage (topic: string, payload: Buffer, retained: boolean): void {
    this.received++
    const r = this.parse(topic, payload)
    if (r === undefined || !this.watched.has(r.cid)) return
    const { cid, node, h } = r
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
    this.hooks.claimed?.(cid, h, retained)
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

  /** Whether another live node holds the (watched) charge point. */
  heldElsewhere (cid: string): boolean {
    const had = this.remote.get(cid)
    if (had === undefined) return false
    if (!Array.isArray(had)) return this.alive(had.node)
    return had.some((h) => this.alive(h.node))
  }

  /** The live records other than this node's of a watched charge point. */
  holders (cid: string): Holding[] {
    return this.records(cid).filter((h) => this.alive(h.node))
  }

  /** Forget every record of a node (lost or stopped), among the watched charge points. */
  dropNode (node: string): void {
    for (const cid of [...this.remote.keys()]) this.remove(cid, node)
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

  /** Unsubscribe every watched charge point (before the MQTT connection closes). */
  async stop (): Promise<void> {
    const cids = [...this.watched.keys()]
    this.watched.clear()
    this.remote.clear()
    await Promise.all(cids.map((cid) => this.mqtt.unsubscribe(this.filter(cid), this.handler).catch(() => {})))
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

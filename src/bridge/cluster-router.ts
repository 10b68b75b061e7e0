/**
 * Downstream routing when the gateway is one node of several on an external broker:
 *
 * - a subscription per charge point, so each node receives its own chargers' messages only;
 * - a shared subscription on the wildcard answers "offline" for charge points no live node
 *   holds (./offline.ts, ./presence.ts);
 * - newest wins across nodes: a node that holds a charge point and sees another node's newer
 *   presence record for it (the charge point reconnected there) closes its connection with
 *   the takeover close code; the Calls it still owed are answered `disconnected`;
 * - exactly one node delivers each downstream message during a takeover: the new node
 *   subscribes, then publishes its presence record; what it receives before the broker
 *   echoes that record back was published before it, so the old node delivers it (the new
 *   one drops it, counted in cluster_handed_over_total), unless no other node held the charge
 *   point (then the new one delivers it). The old node stops at the record: what comes after
 *   is the new node's;
 * - node liveness (./nodes.ts): when a node is lost, one survivor (the lowest id among those
 *   online) clears its presence records and publishes a `disconnected` event with reason
 *   `node_lost` for each of its charge points; offline answers for them resume at once;
 * - everything this node says is said again on every re-connection to the broker (a broker
 *   restarted without persistence has forgotten it).
 */
import type { MessageHandler } from './adapters/mqtt-port.js'
import { CloseCode } from '../session/close-codes.js'
import { NodeDirectory } from './nodes.js'
import { Presence, type Holding } from './presence.js'
import { Router, type Held, type RouterOptions } from './router.js'

/** How long a new holder waits for its presence record's echo before it delivers anyway. */
const ECHO_WAIT_MS = 2000
/** Messages held back while waiting for the echo, at most, per charge point. */
const MAX_EARLY = 1000

interface ClusterHeld extends Held {
  /** Downstream messages received before this node's presence record came back; undefined = none waited for. */
  early?: Buffer[]
  timer?: NodeJS.Timeout
}

export interface ClusterRouterOptions extends RouterOptions {
  /** A charge point of a lost node: publish its `disconnected` event (node_lost). */
  onChargerLost: (cid: string, h: Holding) => void
}

export class ClusterRouter extends Router {
  readonly nodes: NodeDirectory
  declare protected readonly held: Map<string, ClusterHeld>

  constructor (private readonly c: ClusterRouterOptions) {
    const nodes = new NodeDirectory(c.mqtt, c.topics.nodesPrefix, c.nodeId, {
      gone: (node, status) => this.nodeGone(node, status),
      ownLost: () => { this.say(this.nodes.announce(), 'node record') }
    })
    super(c, new Presence(c.mqtt, c.topics.presencePrefix, c.nodeId, (node) => nodes.alive(node)))
    this.nodes = nodes
    this.presence?.observe({
      claimed: (cid, h) => this.claimed(cid, h),
      own: (cid, h, retained) => this.own(cid, h, retained),
      stale: (cid, h) => { if (this.janitor()) this.cleanUp(cid, h) }
    })
  }

  async start (): Promise<void> {
    const { topics, dnstream, mqtt } = this.c
    // Presence first: a lost node's records are known when its will is read.
    await this.presence?.start()
    await this.nodes.start()
    mqtt.onReconnect?.(() => this.reannounce())
    if (!dnstream.offlineAnswer) return
    // Shared across nodes: one of them sees each message for a charge point no node holds.
    await this.subscribeWide(`$share/${dnstream.shareGroup}/${topics.dnstreamFilter}`, (topic, payload, retained) => {
      // A topic held here is delivered by its own subscription; a replayed retained message is
      // answered by nobody (its Call is old) and reported once by the charger's own subscription.
      if (!this.held.has(topic) && retained !== true) this.offline.answer(topic, payload)
    })
  }

  acquire (cid: string, version: string): Promise<void> {
    const { mqtt, topics, dnstream } = this.c
    const topic = topics.dnstream({ cid, version })
    let held = this.held.get(topic)
    if (held === undefined) {
      const handler: MessageHandler = this.guard((_t, payload, retained) => this.onDownstream(topic, cid, payload, retained))
      // Until this node's presence record comes back, messages may be another node's to deliver.
      const created: ClusterHeld = held = { cid, refs: 0, handler, ready: mqtt.subscribe(topic, dnstream.qos, handler), early: [] }
      this.held.set(topic, created)
      created.ready.then(() => {
        // Without the echo (a broker that does not deliver it), deliver after a while anyway.
        if (this.held.get(topic) !== created || created.early === undefined) return
        created.timer = setTimeout(() => this.flushEarly(created, 'echo_timeout'), ECHO_WAIT_MS)
        created.timer.unref()
      }, () => { if (this.held.get(topic) === created) this.drop(topic, created) })
    }
    held.refs++
    return held.ready
  }

  release (cid: string, version: string): void {
    const topic = this.c.topics.dnstream({ cid, version })
    const held = this.held.get(topic)
    if (held === undefined || --held.refs > 0) return
    this.drop(topic, held)
    if (held.handler === undefined) return
    this.c.mqtt.unsubscribe(topic, held.handler).catch((err: Error) => this.c.log.warn({ err: err.message, topic }, 'unsubscribe failed'))
  }

  announce (cid: string, holding: { since: number, version: string } | undefined): void {
    if (this.presence !== undefined) this.say(this.presence.announce(cid, holding), 'presence update', cid)
  }

  override async stop (): Promise<void> {
    for (const h of this.held.values()) clearTimeout(h.timer)
    await super.stop()
    await this.nodes.stop().catch((err: Error) => this.c.log.warn({ err: err.message }, 'node record not updated at stop'))
  }

  private onDownstream (topic: string, cid: string, payload: Buffer, retained: boolean | undefined): void {
    const held = this.held.get(topic)
    if (held?.early !== undefined && retained !== true) {
      if (held.early.length < MAX_EARLY) { held.early.push(payload); return }
      this.flushEarly(held, 'early_full')
    }
    const s = this.c.sessions.get(cid)
    if (retained !== true && (s === undefined || s.closed) && this.presence?.heldElsewhere(cid) === true) {
      // Taken over by another node, which delivers it: nothing lost, nothing doubled.
      this.c.metrics.inc('cluster_handed_over_total')
      return
    }
    this.route(cid, payload, retained)
  }

  /** The echo came (or the wait ended): what was held back is ours unless another node had the charge point. */
  private flushEarly (held: ClusterHeld, why: 'echo' | 'echo_timeout' | 'early_full'): void {
    const early = held.early
    if (early === undefined) return
    held.early = undefined
    clearTimeout(held.timer)
    held.timer = undefined
    if (why !== 'echo') this.c.log.warn({ cid: held.cid, why, held: early.length }, 'presence record not echoed by the broker in time: delivering downstream messages without it')
    if (early.length === 0) return
    if (this.presence?.heldElsewhere(held.cid) === true) {
      this.c.metrics.inc('cluster_handed_over_total', undefined, early.length)
      this.c.log.debug({ cid: held.cid, count: early.length }, 'downstream messages from before the takeover: the previous node delivers them')
      return
    }
    for (const payload of early) this.route(held.cid, payload)
  }

  private drop (topic: string, held: ClusterHeld): void {
    clearTimeout(held.timer)
    held.early = undefined
    this.held.delete(topic)
  }

  /** Another node's live record: if it is newer than our connection, the charge point moved there. */
  private claimed (cid: string, h: Holding): void {
    const s = this.c.sessions.get(cid)
    if (s === undefined || s.closed) return
    const newer = h.since > s.connectedAt || (h.since === s.connectedAt && h.node > this.c.nodeId)
    if (!newer) return
    this.c.metrics.inc('cluster_takeovers_total')
    s.log.info({ node: h.node }, 'connected to another node: closing this connection (takeover)')
    s.close(CloseCode.TAKEOVER, `replaced by a connection on node ${h.node}`.slice(0, 120), 'takeover')
  }

  /** A record about this node, as the broker has it. */
  private own (cid: string, h: Holding | undefined, retained: boolean): void {
    const s = this.c.sessions.get(cid)
    const holding = s !== undefined && !s.closed
    if (retained) {
      // A previous run's record (same node id) for a charge point not connected now: clear it.
      if (!holding && h !== undefined) this.say(this.presence?.clear(cid, this.c.nodeId), 'stale presence clear', cid)
      return
    }
    if (h !== undefined && holding) {
      const held = this.held.get(this.c.topics.dnstream({ cid, version: s.dialect.version }))
      if (held?.early !== undefined) this.flushEarly(held, 'echo')
    } else if (h === undefined && holding) {
      // Cleared by someone else (a survivor that thought this node lost): say it again.
      this.announce(cid, { since: s.connectedAt, version: s.dialect.version })
    }
  }

  private nodeGone (node: string, status: 'lost' | 'stopped'): void {
    const records = this.presence?.dropNode(node) ?? []
    if (status === 'lost') this.c.metrics.inc('cluster_nodes_lost_total')
    this.c.log.warn({ node, status, chargers: records.length }, status === 'lost' ? 'gateway node lost (its MQTT will): its charge points are no longer held' : 'gateway node stopped')
    if (!this.janitor()) return
    for (const { cid, h } of records) this.cleanUp(cid, h)
  }

  /** One survivor cleans up after a lost node: the lowest id of the nodes online. */
  private janitor (): boolean {
    return this.nodes.online().sort()[0] === this.c.nodeId
  }

  private cleanUp (cid: string, h: Holding): void {
    this.c.metrics.inc('cluster_chargers_lost_total')
    this.say(this.presence?.clear(cid, h.node), 'lost node presence clear', cid)
    this.c.onChargerLost(cid, h)
  }

  /** After a re-connection: the node record and every presence record again. */
  private reannounce (): void {
    this.c.log.info({ chargers: this.c.sessions.size }, 'MQTT re-connected: announcing this node and its charge points again')
    this.say(this.nodes.announce(), 'node record')
    for (const s of this.c.sessions.all()) if (!s.closed) this.say(this.presence?.announce(s.cid, { since: s.connectedAt, version: s.dialect.version }), 'presence update', s.cid)
  }

  private say (p: Promise<void> | undefined, what: string, cid?: string): void {
    p?.catch((err: Error) => this.c.log.warn({ err: err.message, cid }, `${what} failed`))
  }
}

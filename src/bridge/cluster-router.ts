/**
 * Downstream routing when the gateway is one node of several on an external broker
 * (docs/cluster.md has the rules in full):
 *
 * - a subscription per charge point, so each node receives its own chargers' messages only,
 *   and in the same SUBSCRIBE one to the charge point's presence records (./presence.ts): a
 *   node keeps and receives presence for its own charge points only;
 * - a shared subscription on the wildcard answers "offline" for charge points no live node
 *   holds: the node it picks looks the charge point up (./presence-lookup.ts) and, when a node
 *   holds it, relays the message to that node (which delivers it once, by UniqueId);
 * - newest wins across nodes: a node that sees another node's newer presence record for a
 *   charge point it holds closes that connection (4002; owed Calls answered `disconnected`);
 * - each downstream message is delivered by one node: a new holder holds messages back until
 *   its own record comes back from the broker (what came before is the shared
 *   subscription's pick's to answer) and, taking over from another node, until that node's
 *   handoff of the UniqueIds it handled (which also holds across bridged brokers);
 * - a released charge point keeps its subscriptions until its cleared record comes back; what
 *   the shared subscription's pick relays for it meanwhile is answered here (once per UniqueId);
 * - node liveness (./nodes.ts): for a lost node, one survivor (the lowest live id) ends its
 *   MQTT session, sweeps its records and publishes `node_lost` for each (./presence-janitor.ts);
 * - everything this node says is said again on every re-connection to the broker.
 */
import type { MessageHandler } from './adapters/mqtt-port.js'
import { CloseCode } from '../session/close-codes.js'
import { NodeDirectory } from './nodes.js'
import { Presence, type Holding } from './presence.js'
import { Router, type RouterOptions } from './router.js'
import { peekEnvelopeId } from './envelope.js'
import { CLEAR_DELAY_MS, HANDOFF_WAIT_MS, heldOf, HoldBack, MAX_EARLY, RECENT_MS, RecentIds, RELEASED_KEEP_MS, relayPayload, STOP_ECHO_WAIT_MS, type ClusterHeld, type Handoff, type Relay, type Released } from './handoff.js'
import { PresenceLookup } from './presence-lookup.js'
import { Janitor } from './presence-janitor.js'

export interface ClusterRouterOptions extends RouterOptions {
  /** This node's MQTT client id, in its node record (so a survivor can end its session). */
  mqttClientId?: string
  /** A charge point of a lost node: publish its `disconnected` event (node_lost). */
  onChargerLost: (cid: string, h: Holding) => void
}

export class ClusterRouter extends Router {
  readonly nodes: NodeDirectory
  declare protected readonly held: Map<string, ClusterHeld>

  constructor (private readonly c: ClusterRouterOptions) {
    const nodes = new NodeDirectory(c.mqtt, c.topics.nodesPrefix, c.nodeId, {
      gone: (node, status, released, client) => this.nodeGone(node, status, released, client),
      ownLost: () => { this.say(this.nodes.announce(), 'node record') },
      revived: (node) => c.log.info({ node }, 'gateway node\'s will followed by its online record: a replaced connection, not a lost node')
    }, c.mqttClientId)
    const presence = new Presence(c.mqtt, c.topics.presencePrefix, c.nodeId, (node) => nodes.alive(node))
    super(c, presence)
    this.nodes = nodes
    this.pres = presence
    this.handoffTopic = `${c.topics.nodesPrefix}${c.nodeId}/handoff`
    this.lookup = new PresenceLookup(c.mqtt, presence, c.topics.nodesPrefix, c)
    this.hold = new HoldBack({ ...c, route: (cid, payload) => this.route(cid, payload) })
    this.janitor = new Janitor({ ...c, presence, lookup: this.lookup, nodes, holding: (cid) => this.c.sessions.get(cid)?.closed === false })
    presence.observe({
      claimed: (cid, h, retained) => this.claimed(cid, h, retained),
      own: (cid, h, retained) => this.own(cid, h, retained),
      stale: (cid, h) => this.janitor.stale(cid, h)
    })
  }

  private readonly pres: Presence
  readonly lookup: PresenceLookup
  private readonly janitor: Janitor
  private readonly hold: HoldBack

  /**
   * Charge points released lately, with the UniqueIds received or answered for them: for a
   * handoff asked late, and for the stopped record. `echoed`: the broker has this node's
   * cleared record (the other nodes answer for the charge point from then on).
   */
  private readonly released = new Map<string, Released>()
  private readonly handoffTopic: string
  private readonly onHandoff: MessageHandler = (_t, payload) => this.handoff(payload)

  async start (): Promise<void> {
    const { topics, dnstream, mqtt } = this.c
    await mqtt.subscribe(this.handoffTopic, 1, this.onHandoff)
    await this.nodes.start()
    this.janitor.sweepOwn()
    mqtt.onReconnect?.(() => this.reannounce())
    if (!dnstream.offlineAnswer) return
    // Shared across nodes: one of them sees each message for a charge point no node holds.
    await this.subscribeWide(`$share/${dnstream.shareGroup}/${topics.dnstreamFilter}`, (topic, payload, retained) => {
      // A topic held here is delivered by its own subscription; a replayed retained message is
      // answered by nobody (its Call is old) and reported once by the charger's own subscription.
      if (retained === true) return
      const cid = topics.parseDnstream(topic)?.cid
      if (cid === undefined) { this.offline.answer(topic, payload); return }
      if (this.pickHere(topic, cid, payload)) return
      // Looked up; held here by then (connected meanwhile: its own subscription came after this
      // message, so this copy is its only one), it is delivered here as well.
      this.lookup.answerOrRelay(topic, cid, payload, () => this.pickHere(topic, cid, payload), () => this.offline.answer(topic, payload))
    })
  }

  /** The shared copy of a message for a charge point held or released here lately: handled here (true). */
  private pickHere (topic: string, cid: string, payload: Buffer): boolean {
    const held = this.held.get(topic)
    // Held here: both subscriptions may bring it, in either order (even before the SUBACK of its
    // own, measured): the first copy is delivered, the other is dropped by UniqueId.
    if (held !== undefined && held.releasing === undefined) { this.onDownstream(topic, cid, payload, false, true); return true }
    // Released here lately, or releasing (the shared copy may come on its own connection, in no
    // order with the echo of the cleared record): answered here once per UniqueId.
    const r = this.released.get(cid)
    if (r !== undefined && r.until >= Date.now()) { this.answerReleased(topic, cid, payload); return true }
    return false
  }

  /** A message the shared subscription's pick relayed: as a shared copy here. */
  private relayed (r: Relay): void {
    const payload = relayPayload(r)
    const held = this.held.get(r.topic)
    if (held !== undefined && held.releasing === undefined) { this.onDownstream(r.topic, r.cid, payload, false, true); return }
    this.answerReleased(r.topic, r.cid, payload)
  }

  acquire (cid: string, version: string): Promise<void> {
    const { mqtt, topics, dnstream } = this.c
    const topic = topics.dnstream({ cid, version })
    let held = this.held.get(topic)
    if (held?.releasing !== undefined) {
      // Back before the release finished: the same subscriptions, a new connection.
      clearTimeout(held.releasing)
      held.releasing = undefined
      const elsewhere = this.pres.heldElsewhere(cid)
      Object.assign(held, { early: [], attached: false, echoed: false, waitHandoff: elsewhere, handled: undefined })
      if (elsewhere) this.hold.armHandoffTimer(held)
    }
    if (held === undefined) {
      const handler: MessageHandler = this.guard((_t, payload, retained) => this.onDownstream(topic, cid, payload, retained))
      // Held by another node (a known record, or one in the presence replay): wait for its handoff.
      const created: ClusterHeld = held = { cid, refs: 0, handler, ready: Promise.resolve(), recent: new RecentIds(), dual: 0, early: [], attached: false, echoed: false, waitHandoff: false }
      this.held.set(topic, created)
      const subs = [{ topic, qos: dnstream.qos, handler }]
      // The presence subscription rides in the same SUBSCRIBE (one round trip per connect),
      // unless it is being unsubscribed (then after its UNSUBACK).
      let late: Promise<void> | undefined
      if (this.pres.watch(cid)) {
        if (this.pres.isLeaving(cid)) late = this.pres.subscribe(cid)
        else subs.push({ topic: this.pres.filter(cid), qos: 1, handler: this.pres.handler })
      }
      if (this.pres.heldElsewhere(cid)) this.hold.waitFor(created)
      const both = mqtt.subscribeMany !== undefined ? mqtt.subscribeMany(subs) : Promise.all(subs.map((x) => mqtt.subscribe(x.topic, x.qos, x.handler))).then(() => {})
      created.ready = late === undefined ? both : Promise.all([both, late]).then(() => {})
      created.ready.catch(() => {
        if (this.held.get(topic) === created) this.drop(topic, created)
        this.pres.unwatch(cid)
      })
    }
    held.refs++
    return held.ready
  }

  release (cid: string, version: string): void {
    const topic = this.c.topics.dnstream({ cid, version })
    const held = this.held.get(topic)
    if (held === undefined || --held.refs > 0 || held.releasing !== undefined) return
    const early = held.early
    held.early = undefined
    clearTimeout(held.timer)
    this.remember(cid, held.recent, topic)
    // An upgrade that did not become a session, or one that ended before the handoff: what was
    // held back is answered as for a charge point that is not here (or left to its holder).
    for (const e of early ?? []) if (e.shared || !e.preEcho) this.offline.answer(topic, e.payload)
    // Never announced (an aborted upgrade): no record to wait for.
    if (!held.attached) { this.finishRelease(topic, held); return }
    held.releasing = setTimeout(() => this.finishRelease(topic, held), HANDOFF_WAIT_MS)
    held.releasing.unref()
  }

  private finishRelease (topic: string, held: ClusterHeld): void {
    if (this.held.get(topic) !== held || held.refs > 0) return
    clearTimeout(held.releasing)
    held.releasing = undefined
    this.drop(topic, held)
    // Presence stays watched while a late handoff or relay may be asked of this node.
    setTimeout(() => this.pres.unwatch(held.cid), RELEASED_KEEP_MS).unref()
    if (held.handler === undefined) return
    this.c.mqtt.unsubscribe(topic, held.handler).catch((err: Error) => this.c.log.warn({ err: err.message, topic }, 'unsubscribe failed'))
  }

  announce (cid: string, holding: { since: number, version: string } | undefined): void {
    if (holding !== undefined) {
      const held = this.held.get(this.c.topics.dnstream({ cid, version: holding.version }))
      if (held !== undefined && !held.attached) {
        held.attached = true
        if (!held.waitHandoff) this.hold.armEchoFallback(held)
        this.hold.flushEarly(held)
      }
    }
    clearTimeout(this.clearing.get(cid))
    this.clearing.delete(cid)
    if (holding !== undefined) { this.say(this.pres.announce(cid, holding), 'presence update', cid); return }
    // The record stays a while: a pick's lookup comes after the message it is for, so one that
    // read no record would answer offline what this node delivered just before it let go.
    const timer = setTimeout(() => {
      this.clearing.delete(cid)
      this.say(this.pres.announce(cid, undefined), 'presence update', cid)
    }, CLEAR_DELAY_MS)
    this.clearing.set(cid, timer)
  }

  /** Records of charge points released here, cleared after CLEAR_DELAY_MS. */
  private readonly clearing = new Map<string, NodeJS.Timeout>()

  override async stop (): Promise<void> {
    for (const h of this.held.values()) clearTimeout(h.timer)
    // The others take over answering for what this node released once they read its cleared
    // records; until the broker has them (the echo), this node answers.
    for (const deadline = Date.now() + STOP_ECHO_WAIT_MS; [...this.released.values()].some((r) => !r.echoed) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (const [topic, held] of [...this.held]) if (held.releasing !== undefined) this.finishRelease(topic, held)
    // Relays of lookups made before the cleared records reached the broker: answered until the
    // shared subscription is gone.
    await super.stop()
    await this.c.mqtt.unsubscribe(this.handoffTopic, this.onHandoff)
    const now = Date.now()
    const released: Record<string, string[]> = {}
    for (const [cid, r] of this.released) {
      r.recent.prune(now)
      if (r.until >= now && r.recent.size > 0) released[cid] = r.recent.ids()
    }
    await this.nodes.stop(released).catch((err: Error) => this.c.log.warn({ err: err.message }, 'node record not updated at stop'))
  }

  private onDownstream (topic: string, cid: string, payload: Buffer, retained: boolean | undefined, shared = false): void {
    const held = this.held.get(topic)
    if (held?.releasing !== undefined && retained !== true) {
      // Its own copy is not answered here: the shared copy's pick does, or relays it here if it
      // still reads this node's record (the lookup comes after the message).
      if (shared) this.answerReleased(topic, cid, payload)
      return
    }
    // A second copy (own and shared subscription) is dropped by its UniqueId: read only while
    // both bring messages, or while held back.
    let id: string | undefined
    const now = Date.now()
    if (held !== undefined && retained !== true) {
      if (shared) held.dual = now
      if (shared || held.early !== undefined || now - held.dual < RECENT_MS) {
        id = peekEnvelopeId(payload.toString('utf8')).id
        const twin = id === undefined ? undefined : held.early?.find((e) => e.id === id)
        if (twin !== undefined) { twin.shared ||= shared; return }
        if (id !== undefined && held.recent.has(id)) return
      }
    }
    if (held?.early !== undefined && retained !== true) {
      if (held.early.length < MAX_EARLY) {
        held.early.push({ payload, id, shared, preEcho: !held.echoed })
        return
      }
      this.hold.handedOff(held, undefined, 'early_full')
    }
    const s = this.c.sessions.get(cid)
    if (retained !== true && (s === undefined || s.closed) && this.pres.heldElsewhere(cid)) {
      // Taken over by another node, which delivers it: nothing lost, nothing doubled.
      this.c.metrics.inc('cluster_handed_over_total')
      return
    }
    const routed = this.route(cid, payload, retained)
    if (routed !== undefined && held !== undefined) held.recent.note(routed)
  }

  /** A handoff from the node that held a charge point this node took over. */
  private handoff (payload: Buffer): void {
    let h: Handoff | Relay
    try { h = JSON.parse(payload.toString('utf8')) as Handoff | Relay } catch { return }
    if (typeof h?.cid !== 'string') return
    if ('relay' in h) {
      if (typeof h.relay === 'string' && typeof h.topic === 'string' && this.c.topics.parseDnstream(h.topic)?.cid === h.cid) this.guard(() => this.relayed(h as Relay))(h.topic, payload)
      return
    }
    if (!Array.isArray(h.ids)) return
    // Rare (a takeover): a walk over what is held finds it on whichever version's topic.
    const held = heldOf(this.held, this.c, h.cid)
    if (held?.waitHandoff === true) this.hold.handedOff(held, new Set(h.ids.filter((x) => typeof x === 'string')), 'handoff')
  }

  /**
   * A message for a charge point released here lately: its own subscription and the shared
   * one may both bring it, and a node taking it over must hear what was answered: answered
   * once per UniqueId, remembered (or left to the node that holds it now).
   */
  private answerReleased (topic: string, cid: string, payload: Buffer): void {
    if (this.pres.heldElsewhere(cid)) {
      this.c.metrics.inc('cluster_handed_over_total')
      return
    }
    const r = this.released.get(cid)
    const { id } = peekEnvelopeId(payload.toString('utf8'))
    if (id !== undefined && r?.recent.has(id) === true) return
    if (this.offline.answer(topic, payload) && id !== undefined && r !== undefined) r.recent.note(id)
  }

  /** Tell the node that took a charge point over what this node handled for it lately. */
  private sendHandoff (cid: string, to: string, recent: RecentIds): void {
    recent.prune(Date.now())
    const handoff: Handoff = { cid, from: this.c.nodeId, ids: recent.ids() }
    this.say(this.c.mqtt.publish(`${this.c.topics.nodesPrefix}${to}/handoff`, JSON.stringify(handoff), 1, false), 'handoff', cid)
  }

  private remember (cid: string, recent: RecentIds, topic: string): void {
    const now = Date.now()
    // In order of `until` (a re-set entry moves to the end): forget from the oldest, stop at the first kept.
    for (const [k, v] of this.released) { if (v.until >= now) break; this.released.delete(k) }
    this.released.delete(cid)
    this.released.set(cid, { recent, until: now + RELEASED_KEEP_MS, echoed: false, topic })
  }

  private drop (topic: string, held: ClusterHeld): void {
    clearTimeout(held.timer)
    held.early = undefined
    this.held.delete(topic)
  }

  /** Another node's live record: if it is newer than our connection, the charge point moved there. */
  private claimed (cid: string, h: Holding, retained: boolean): void {
    if (retained) {
      // Replayed at the subscription: a node held it before this connection came.
      const held = heldOf(this.held, this.c, cid)
      if (held !== undefined && held.releasing === undefined) this.hold.waitFor(held)
      return
    }
    const s = this.c.sessions.get(cid)
    if (s === undefined || s.closed) {
      // Released here lately (the charge point left before it connected there): say what was handled.
      const gone = this.released.get(cid)
      if (gone !== undefined && gone.until >= Date.now()) this.sendHandoff(cid, h.node, gone.recent)
      return
    }
    const newer = h.since > s.connectedAt || (h.since === s.connectedAt && h.node > this.c.nodeId)
    if (!newer) return
    this.c.metrics.inc('cluster_takeovers_total')
    s.log.info({ node: h.node }, 'connected to another node: closing this connection (takeover)')
    const held = this.held.get(this.c.topics.dnstream({ cid, version: s.dialect.version }))
    // Closed first: what it still owed is answered "disconnected" before the new node delivers.
    s.close(CloseCode.TAKEOVER, `replaced by a connection on node ${h.node}`.slice(0, 120), 'takeover')
    this.sendHandoff(cid, h.node, held?.recent ?? new RecentIds())
  }

  /** A record about this node, as the broker has it. */
  private own (cid: string, h: Holding | undefined, retained: boolean): void {
    const s = this.c.sessions.get(cid)
    const holding = s !== undefined && !s.closed
    if (retained) {
      // A previous run's record (same node id) for a charge point not connected now: clear it.
      if (!holding && h !== undefined) this.say(this.pres.clear(cid, this.c.nodeId), 'stale presence clear', cid)
      return
    }
    if (h !== undefined && holding) {
      const held = this.held.get(this.c.topics.dnstream({ cid, version: s.dialect.version }))
      if (held !== undefined && !held.echoed) {
        held.echoed = true
        this.hold.flushEarly(held)
      }
    } else if (h === undefined && !holding) {
      // The broker has the cleared record: the others answer for it from here on.
      const r = this.released.get(cid)
      if (r === undefined) return
      r.echoed = true
      const held = this.held.get(r.topic)
      if (held?.releasing !== undefined) this.finishRelease(r.topic, held)
    } else if (h === undefined && holding) {
      // Cleared by someone else (a survivor that thought this node lost): say it again.
      this.announce(cid, { since: s.connectedAt, version: s.dialect.version })
    }
  }

  private nodeGone (node: string, status: 'lost' | 'stopped', released: Readonly<Record<string, string[]>>, client: string | undefined): void {
    this.pres.dropNode(node)
    // No handoff will come from it; a stopped node said what it answered in its record.
    for (const held of this.held.values()) {
      if (!held.waitHandoff || this.pres.heldElsewhere(held.cid)) continue
      const ids = Object.hasOwn(released, held.cid) ? released[held.cid] : undefined
      if (Array.isArray(ids)) this.hold.handedOff(held, new Set(ids.filter((x) => typeof x === 'string')), 'handoff')
      else this.hold.handedOff(held, undefined, 'node_gone')
    }
    if (status === 'lost') this.c.metrics.inc('cluster_nodes_lost_total')
    this.c.log.warn({ node, status }, status === 'lost' ? 'gateway node lost (its MQTT will): its charge points are no longer held' : 'gateway node stopped')
    if (status === 'lost') this.janitor.lost(node, client)
  }

  /** After a re-connection: the node record and every presence record again. */
  private reannounce (): void {
    this.c.log.info({ chargers: this.c.sessions.size }, 'MQTT re-connected: announcing this node and its charge points again')
    this.say(this.nodes.announce(), 'node record')
    for (const s of this.c.sessions.all()) if (!s.closed) this.say(this.pres.announce(s.cid, { since: s.connectedAt, version: s.dialect.version }), 'presence update', s.cid)
  }

  private say (p: Promise<void> | undefined, what: string, cid?: string): void {
    p?.catch((err: Error) => this.c.log.warn({ err: err.message, cid }, `${what} failed`))
  }
}

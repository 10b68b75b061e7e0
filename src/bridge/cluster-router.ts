/**
 * Downstream routing when the gateway is one node of several on an external broker
 * (docs/cluster.md has the rules in full):
 *
 * - a subscription per charge point, so each node receives its own chargers' messages only;
 *   a shared subscription on the wildcard answers "offline" for charge points no live node
 *   holds (./offline.ts, ./presence.ts);
 * - newest wins across nodes: a node that sees another node's newer presence record for a
 *   charge point it holds closes that connection (4002; owed Calls answered `disconnected`);
 * - each downstream message is delivered by one node: a new holder holds messages back until
 *   its own record comes back from the broker (what came before is the shared
 *   subscription's pick's to answer) and, taking over from another node, until that node's
 *   handoff of the UniqueIds it handled (which also holds across bridged brokers);
 * - a released charge point keeps its subscription until its cleared record comes back, and
 *   answers what arrives meanwhile (once per UniqueId);
 * - node liveness (./nodes.ts): for a lost node, one survivor (the lowest live id) ends its
 *   MQTT session, clears its records and publishes `node_lost` for each of its charge points;
 * - everything this node says is said again on every re-connection to the broker.
 */
import type { MessageHandler } from './adapters/mqtt-port.js'
import { CloseCode } from '../session/close-codes.js'
import { NodeDirectory } from './nodes.js'
import { Presence, type Holding } from './presence.js'
import { Router, type RouterOptions } from './router.js'
import { peekEnvelopeId } from './envelope.js'
import { HANDOFF_WAIT_MS, MAX_EARLY, note, prune, RECENT_MS, RELEASED_KEEP_MS, STOP_ECHO_WAIT_MS, type ClusterHeld, type Handoff, type Released } from './handoff.js'

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
      ownLost: () => { this.say(this.nodes.announce(), 'node record') }
    }, c.mqttClientId)
    super(c, new Presence(c.mqtt, c.topics.presencePrefix, c.nodeId, (node) => nodes.alive(node)))
    this.nodes = nodes
    this.handoffTopic = `${c.topics.nodesPrefix}${c.nodeId}/handoff`
    this.presence?.observe({
      claimed: (cid, h) => this.claimed(cid, h),
      own: (cid, h, retained) => this.own(cid, h, retained),
      stale: (cid, h) => { if (this.janitor()) this.cleanUp(cid, h) }
    })
  }

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
    // Presence first: a lost node's records are known when its will is read.
    await this.presence?.start()
    await mqtt.subscribe(this.handoffTopic, 1, this.onHandoff)
    await this.nodes.start()
    mqtt.onReconnect?.(() => this.reannounce())
    if (!dnstream.offlineAnswer) return
    // Shared across nodes: one of them sees each message for a charge point no node holds.
    await this.subscribeWide(`$share/${dnstream.shareGroup}/${topics.dnstreamFilter}`, (topic, payload, retained) => {
      // A topic held here is delivered by its own subscription; a replayed retained message is
      // answered by nobody (its Call is old) and reported once by the charger's own subscription.
      if (retained === true) return
      const held = this.held.get(topic)
      const cid = topics.parseDnstream(topic)?.cid
      // Held here: both subscriptions may bring it, in either order (even before the SUBACK
      // of its own, measured): the first copy is delivered, the other is dropped by UniqueId.
      if (held !== undefined && held.releasing === undefined && cid !== undefined) {
        this.onDownstream(topic, cid, payload, false, true)
        return
      }
      // Released here lately, or releasing (the shared copy may come on its own connection, in
      // no order with the echo of the cleared record): answered here once per UniqueId.
      const r = cid === undefined ? undefined : this.released.get(cid)
      if (r === undefined || r.until < Date.now()) {
        this.offline.answer(topic, payload)
        return
      }
      this.answerReleased(topic, cid as string, payload)
    })
  }

  acquire (cid: string, version: string): Promise<void> {
    const { mqtt, topics, dnstream } = this.c
    const topic = topics.dnstream({ cid, version })
    let held = this.held.get(topic)
    const elsewhere = this.presence?.heldElsewhere(cid) === true
    if (held?.releasing !== undefined) {
      // Back before the release finished: the same subscription, a new connection.
      clearTimeout(held.releasing)
      held.releasing = undefined
      Object.assign(held, { early: [], attached: false, echoed: false, waitHandoff: elsewhere, handled: undefined })
      if (elsewhere) this.armHandoffTimer(held)
    }
    if (held === undefined) {
      const handler: MessageHandler = this.guard((_t, payload, retained) => this.onDownstream(topic, cid, payload, retained))
      // Held by another node: what arrives may be that node's to deliver, until its handoff.
      const created: ClusterHeld = held = { cid, refs: 0, handler, ready: mqtt.subscribe(topic, dnstream.qos, handler), recent: [], dual: 0, early: [], attached: false, echoed: false, waitHandoff: elsewhere }
      this.held.set(topic, created)
      if (elsewhere) this.armHandoffTimer(created)
      created.ready.catch(() => { if (this.held.get(topic) === created) this.drop(topic, created) })
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
    if (held.handler === undefined) return
    this.c.mqtt.unsubscribe(topic, held.handler).catch((err: Error) => this.c.log.warn({ err: err.message, topic }, 'unsubscribe failed'))
  }

  private armHandoffTimer (held: ClusterHeld): void {
    held.timer = setTimeout(() => this.handedOff(held, undefined, 'timeout'), HANDOFF_WAIT_MS)
    held.timer.unref()
  }

  announce (cid: string, holding: { since: number, version: string } | undefined): void {
    if (holding !== undefined) {
      const held = this.held.get(this.c.topics.dnstream({ cid, version: holding.version }))
      if (held !== undefined && !held.attached) {
        held.attached = true
        // Without the echo of the record (a broker that does not send it), deliver after a while.
        if (!held.waitHandoff) {
          clearTimeout(held.timer)
          held.timer = setTimeout(() => { held.echoed = true; this.flushEarly(held) }, HANDOFF_WAIT_MS)
          held.timer.unref()
        }
        this.flushEarly(held)
      }
    }
    if (this.presence !== undefined) this.say(this.presence.announce(cid, holding), 'presence update', cid)
  }

  override async stop (): Promise<void> {
    for (const h of this.held.values()) clearTimeout(h.timer)
    // The others take over answering for what this node released once they read its cleared
    // records; until the broker has them (the echo), this node answers.
    for (const deadline = Date.now() + STOP_ECHO_WAIT_MS; [...this.released.values()].some((r) => !r.echoed) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (const [topic, held] of [...this.held]) if (held.releasing !== undefined) this.finishRelease(topic, held)
    await this.c.mqtt.unsubscribe(this.handoffTopic, this.onHandoff)
    await super.stop()
    const now = Date.now()
    const released: Record<string, string[]> = {}
    for (const [cid, r] of this.released) {
      prune(r.recent, now)
      if (r.until >= now && r.recent.length > 0) released[cid] = r.recent.map(([id]) => id)
    }
    await this.nodes.stop(released).catch((err: Error) => this.c.log.warn({ err: err.message }, 'node record not updated at stop'))
  }

  private onDownstream (topic: string, cid: string, payload: Buffer, retained: boolean | undefined, shared = false): void {
    const held = this.held.get(topic)
    if (held?.releasing !== undefined && retained !== true) {
      this.answerReleased(topic, cid, payload)
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
        if (id !== undefined && held.recent.some(([x]) => x === id)) return
      }
    }
    if (held?.early !== undefined && retained !== true) {
      if (held.early.length < MAX_EARLY) {
        held.early.push({ payload, id, shared, preEcho: !held.echoed })
        return
      }
      this.handedOff(held, undefined, 'early_full')
    }
    const s = this.c.sessions.get(cid)
    if (retained !== true && (s === undefined || s.closed) && this.presence?.heldElsewhere(cid) === true) {
      // Taken over by another node, which delivers it: nothing lost, nothing doubled.
      this.c.metrics.inc('cluster_handed_over_total')
      return
    }
    const routed = this.route(cid, payload, retained)
    if (routed !== undefined && held !== undefined) note(held.recent, routed)
  }

  /**
   * The handoff came (`handled`: the UniqueIds the old node took care of), or the wait ended
   * (undefined): what was held back can go, except what the old node handled.
   */
  private handedOff (held: ClusterHeld, handled: ReadonlySet<string> | undefined, why: 'handoff' | 'timeout' | 'early_full' | 'node_gone'): void {
    if (!held.waitHandoff && why !== 'early_full') return
    held.waitHandoff = false
    held.handled = handled
    clearTimeout(held.timer)
    held.timer = undefined
    if (why !== 'handoff') this.c.log.warn({ cid: held.cid, why, held: held.early?.length ?? 0 }, 'no handoff from the node that held this charge point: delivering what was held back')
    if (why === 'early_full') held.attached = true
    this.flushEarly(held)
  }

  /**
   * Deliver what was held back, once the session is attached, this node's record has come back
   * and no handoff is awaited. After a handoff: all but what the old node handled. Else (one
   * broker's order): what came before the record came back was, at the broker, before it, so
   * the shared subscription's pick answered it — this node delivers those only if it was the
   * pick (a shared copy came), and everything after.
   */
  private flushEarly (held: ClusterHeld): void {
    const early = held.early
    if (early === undefined || !held.attached || held.waitHandoff || (!held.echoed && held.handled === undefined)) return
    held.early = undefined
    clearTimeout(held.timer)
    held.timer = undefined
    const handled = held.handled
    held.handled = undefined
    let skipped = 0
    for (const e of early) {
      if (handled !== undefined ? e.id !== undefined && handled.has(e.id) : e.preEcho && !e.shared && e.id !== undefined) { skipped++; continue }
      const id = this.route(held.cid, e.payload)
      if (id !== undefined) note(held.recent, id)
    }
    if (skipped > 0) {
      this.c.metrics.inc('cluster_handed_over_total', undefined, skipped)
      this.c.log.debug({ cid: held.cid, count: skipped }, 'downstream messages answered by another node: not delivered again')
    }
  }

  /** A handoff from the node that held a charge point this node took over. */
  private handoff (payload: Buffer): void {
    let h: Handoff
    try { h = JSON.parse(payload.toString('utf8')) as Handoff } catch { return }
    if (typeof h?.cid !== 'string' || !Array.isArray(h.ids)) return
    // Rare (a takeover): a walk over what is held finds it on whichever version's topic.
    for (const held of this.held.values()) {
      if (held.cid === h.cid && held.waitHandoff) this.handedOff(held, new Set(h.ids.filter((x) => typeof x === 'string')), 'handoff')
    }
  }

  /**
   * A message for a charge point released here lately: its own subscription and the shared
   * one may both bring it, and a node taking it over must hear what was answered: answered
   * once per UniqueId, remembered (or left to the node that holds it now).
   */
  private answerReleased (topic: string, cid: string, payload: Buffer): void {
    if (this.presence?.heldElsewhere(cid) === true) {
      this.c.metrics.inc('cluster_handed_over_total')
      return
    }
    const r = this.released.get(cid)
    const { id } = peekEnvelopeId(payload.toString('utf8'))
    if (id !== undefined && r?.recent.some(([x]) => x === id) === true) return
    if (this.offline.answer(topic, payload) && id !== undefined && r !== undefined) note(r.recent, id)
  }

  /** Tell the node that took a charge point over what this node handled for it lately. */
  private sendHandoff (cid: string, to: string, recent: Array<[string, number]>): void {
    prune(recent, Date.now())
    const handoff: Handoff = { cid, from: this.c.nodeId, ids: recent.map(([id]) => id) }
    this.say(this.c.mqtt.publish(`${this.c.topics.nodesPrefix}${to}/handoff`, JSON.stringify(handoff), 1, false), 'handoff', cid)
  }

  private remember (cid: string, recent: Array<[string, number]>, topic: string): void {
    const now = Date.now()
    for (const [k, v] of this.released) if (v.until < now) this.released.delete(k)
    this.released.set(cid, { recent, until: now + RELEASED_KEEP_MS, echoed: false, topic })
  }

  private drop (topic: string, held: ClusterHeld): void {
    clearTimeout(held.timer)
    held.early = undefined
    this.held.delete(topic)
  }

  /** Another node's live record: if it is newer than our connection, the charge point moved there. */
  private claimed (cid: string, h: Holding): void {
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
    this.sendHandoff(cid, h.node, held?.recent ?? [])
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
      if (held !== undefined && !held.echoed) {
        held.echoed = true
        this.flushEarly(held)
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
    const records = this.presence?.dropNode(node) ?? []
    // Its persistent session would keep taking its share of the offline answers for nobody.
    if (status === 'lost' && client !== undefined && this.janitor()) {
      this.say(this.c.mqtt.endSession?.(client).then(() => this.c.log.info({ node, client }, 'lost node\'s MQTT session ended')), 'ending the lost node\'s session')
    }
    // No handoff will come from it; a stopped node said what it answered in its record.
    for (const held of this.held.values()) {
      if (!held.waitHandoff || this.presence?.heldElsewhere(held.cid) === true) continue
      const ids = Object.hasOwn(released, held.cid) ? released[held.cid] : undefined
      if (Array.isArray(ids)) this.handedOff(held, new Set(ids.filter((x) => typeof x === 'string')), 'handoff')
      else this.handedOff(held, undefined, 'node_gone')
    }
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

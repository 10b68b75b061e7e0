/**
 * Presence a node does not keep (./presence.ts keeps only its own charge points'), asked of the
 * broker's retained records when needed:
 *
 * - lookup(cid): who holds a charge point this node does not hold — for the shared
 *   subscription's "offline" answers. A one-off subscription to `{prefix}{cid}/+`: the broker
 *   replays the retained records (none: nobody holds it), then a sync round trip (a QoS 1
 *   publish whose PUBACK comes after them on one broker's connection) says the replay is over,
 *   and the subscription is dropped. Lookups of one charge point at once share one subscription.
 * - sweep(node): every record of one node (a lost node, for its node_lost reports; this node's
 *   previous run, at start): a one-off `{prefix}+/{node}`, kept until the replay is quiet.
 *
 * Neither depends on MQTT 5 "no matching subscribers" (PUBACK 0x10): Mosquitto sends it, but a
 * bridge subscribes `#` and so every publish has a subscriber (docs/cluster.md).
 */
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import type { MessageHandler, MqttPort } from './adapters/mqtt-port.js'
import { newest, relayOf } from './handoff.js'
import type { Holding, Presence } from './presence.js'

/** Lookups in flight at most; more wait their turn (a flood of Calls to unknown ids costs a queue, not subscriptions). */
export const MAX_LOOKUPS = 256
/** A sweep ends when no record came for this long after its replay began (or at SWEEP_MAX_MS). */
export const SWEEP_QUIET_MS = 300
export const SWEEP_MAX_MS = 30_000

export class PresenceLookup {
  private readonly inFlight = new Map<string, Promise<Holding[]>>()
  private readonly queue: Array<() => void> = []
  private running = 0
  /** Lookups made (one-off subscriptions), for the counters and the docs' figures. */
  made = 0

  private readonly syncTopic: string

  /** `nodesPrefix`: `{mountpoint}nodes/`; the sync topic is `{nodesPrefix}{node}/sync`, which nobody subscribes. */
  constructor (private readonly mqtt: MqttPort, private readonly presence: Presence, private readonly nodesPrefix: string, private readonly o: { nodeId: string, metrics: Metrics, log: Logger }) {
    this.syncTopic = `${nodesPrefix}${o.nodeId}/sync`
  }

  /**
   * A message for a charge point this node does not hold, brought by the shared subscription:
   * who holds it, asked of the broker. Nobody: `offline()` answers it. A node: the lookup came
   * after the message, so that node may have subscribed after it too (or be releasing it): the
   * message is relayed to the newest holder, which delivers or answers it unless it had it
   * already (by UniqueId). `here()` first: whether this node took the charge point meanwhile
   * and handled the message itself.
   */
  answerOrRelay (topic: string, cid: string, payload: Buffer, here: () => boolean, offline: () => void): void {
    const { metrics, log, nodeId } = this.o
    metrics.inc('cluster_lookups_total')
    this.lookup(cid).then((holders) => {
      if (here()) return
      const to = newest(holders)
      if (to === undefined) { offline(); return }
      const relay = relayOf(cid, topic, nodeId, payload)
      metrics.inc('cluster_relayed_total')
      this.mqtt.publish(`${this.nodesPrefix}${to.node}/handoff`, JSON.stringify(relay), 1, false).catch((err: Error) => log.warn({ err: err.message, cid }, 'relay failed'))
    }, (err: Error) => {
      // No answer from the broker (it went away): as without presence, the pick answers.
      log.warn({ err: err.message, cid }, 'presence lookup failed: answering as for a charge point nobody holds')
      if (!here()) offline()
    })
  }

  /** The live nodes other than this one that hold `cid` now. */
  lookup (cid: string): Promise<Holding[]> {
    const pending = this.inFlight.get(cid)
    if (pending !== undefined) return pending
    // Watched here (released lately): its subscription keeps the records current.
    if (this.presence.watching(cid)) return Promise.resolve(this.presence.holders(cid))
    const p = this.turn().then(() => this.ask(cid))
    this.inFlight.set(cid, p)
    const forget = (): void => { if (this.inFlight.get(cid) === p) this.inFlight.delete(cid) }
    p.then(forget, forget)
    return p
  }

  private turn (): Promise<void> {
    if (this.running < MAX_LOOKUPS) { this.running++; return Promise.resolve() }
    return new Promise((resolve) => this.queue.push(() => { this.running++; resolve() }))
  }

  private next (): void {
    this.running--
    this.queue.shift()?.()
  }

  private async ask (cid: string): Promise<Holding[]> {
    // Watched for the lookup's time: the records land in Presence, with its hooks (a stale
    // record is cleaned up; a charge point acquired meanwhile learns its old holder).
    const first = this.presence.watch(cid)
    this.made++
    try {
      if (first) await this.presence.subscribe(cid)
      await this.sync()
      return this.presence.holders(cid)
    } finally {
      this.presence.unwatch(cid)
      this.next()
    }
  }

  /** A round trip after what came before on this connection (the retained replay of a subscription). */
  private sync (): Promise<void> {
    return this.mqtt.publish(this.syncTopic, '', 1, false)
  }

  /**
   * Every retained record of `node`, each handed to `found` as it comes; resolves with their
   * number once the replay is over.
   */
  async sweep (node: string, found: (cid: string, h: Holding) => void): Promise<number> {
    const filter = `${this.presence.prefix}+/${node}`
    let count = 0
    let last = Date.now()
    const seen = new Set<string>()
    const handler: MessageHandler = (topic, payload, retained) => {
      const r = this.presence.parse(topic, payload)
      // Live messages are the clears of this sweep coming back, or news: not a leftover.
      if (r === undefined || r.node !== node || r.h === undefined || retained !== true || seen.has(r.cid)) return
      seen.add(r.cid)
      count++
      last = Date.now()
      found(r.cid, r.h)
    }
    const start = Date.now()
    await this.mqtt.subscribe(filter, 1, handler)
    try {
      await this.sync()
      last = Math.max(last, Date.now())
      while (Date.now() - last < SWEEP_QUIET_MS && Date.now() - start < SWEEP_MAX_MS) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(10, SWEEP_QUIET_MS - (Date.now() - last))))
      }
    } finally {
      await this.mqtt.unsubscribe(filter, handler).catch(() => {})
    }
    return count
  }
}

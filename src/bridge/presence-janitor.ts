/**
 * The clean-up after a lost gateway node (docs/cluster.md, "A node that dies"), done by one
 * survivor — the lowest id among the nodes online — since no node keeps the others' presence:
 *
 * - it ends the lost node's MQTT session (which would keep its share of the shared
 *   subscription's messages queued for nobody);
 * - it sweeps the lost node's retained presence records (`{prefix}+/{node}`, subscribed only
 *   for the sweep: n records, replayed once) and, for each, clears it and reports the charge
 *   point lost (`disconnected`, reason `node_lost`);
 * - a leftover record of a node known lost, read on a watched or looked-up charge point, is
 *   cleaned the same way (once: a record swept and read at once is reported once).
 *
 * At start a node sweeps its own records the same way: what its previous run (same node id)
 * left for charge points it does not hold is cleared.
 */
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import type { MqttPort } from './adapters/mqtt-port.js'
import type { NodeDirectory } from './nodes.js'
import type { Holding, Presence } from './presence.js'
import type { PresenceLookup } from './presence-lookup.js'

/** How many cleaned records are remembered (so that one is reported once). */
const CLEANED_KEEP = 100_000

export interface JanitorOptions {
  mqtt: MqttPort
  nodeId: string
  metrics: Metrics
  log: Logger
  presence: Presence
  lookup: PresenceLookup
  nodes: NodeDirectory
  /** A charge point of a lost node: publish its `disconnected` event (node_lost). */
  onChargerLost: (cid: string, h: Holding) => void
  /** Whether this node holds the charge point now. */
  holding: (cid: string) => boolean
}

export class Janitor {
  private readonly cleaned = new Set<string>()

  constructor (private readonly o: JanitorOptions) {}

  /** One survivor cleans up after a lost node: the lowest id of the nodes online. */
  isJanitor (): boolean {
    return this.o.nodes.online().sort()[0] === this.o.nodeId
  }

  /** A node was lost (its will confirmed): the janitor ends its session and sweeps its records. */
  lost (node: string, client: string | undefined): void {
    const { mqtt, log } = this.o
    if (!this.isJanitor()) return
    // Its persistent session would keep taking its share of the offline answers for nobody.
    if (client !== undefined) {
      mqtt.endSession?.(client).then(() => log.info({ node, client }, 'lost node\'s MQTT session ended'), (err: Error) => log.warn({ err: err.message, node }, 'ending the lost node\'s session failed'))
    }
    const started = Date.now()
    this.o.lookup.sweep(node, (cid, h) => this.cleanUp(cid, h)).then(
      (count) => log.info({ node, chargers: count, ms: Date.now() - started }, 'lost node\'s presence records swept: cleared, node_lost reported'),
      (err: Error) => log.warn({ err: err.message, node }, 'sweep of the lost node\'s presence records failed'))
  }

  /** A record of a node known gone, read on a watched or looked-up charge point. */
  stale (cid: string, h: Holding): void {
    if (this.isJanitor()) this.cleanUp(cid, h)
  }

  private cleanUp (cid: string, h: Holding): void {
    const key = `${h.node}\u0000${cid}`
    if (this.cleaned.has(key)) return
    if (this.cleaned.size >= CLEANED_KEEP) this.cleaned.clear()
    this.cleaned.add(key)
    this.o.metrics.inc('cluster_chargers_lost_total')
    this.o.presence.clear(cid, h.node).catch((err: Error) => this.o.log.warn({ err: err.message, cid }, 'lost node presence clear failed'))
    this.o.onChargerLost(cid, h)
  }

  /** At start: the records this node's previous run left for charge points it does not hold. */
  sweepOwn (): void {
    const { nodeId, presence, lookup, log } = this.o
    lookup.sweep(nodeId, (cid) => {
      if (this.o.holding(cid)) return
      presence.announce(cid, undefined).catch((err: Error) => log.warn({ err: err.message, cid }, 'stale presence clear failed'))
    }).then(
      (count) => { if (count > 0) log.info({ records: count }, 'presence records of a previous run under this node id: cleared') },
      (err: Error) => log.warn({ err: err.message }, 'sweep of this node\'s previous presence records failed'))
  }
}

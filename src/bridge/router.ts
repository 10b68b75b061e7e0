/**
 * Downstream routing: which downstream topics this node holds, and how their messages reach
 * the sessions. Two strategies, picked once with the broker adapter:
 *
 * - {@link LocalRouter} (embedded broker: one node): one wildcard subscription routes every
 *   downstream topic by a Map lookup, instead of a broker subscription per charge point
 *   (cheaper per message, per connect and per idle charger).
 * - ClusterRouter (./cluster-router.ts; external broker: maybe many nodes): a subscription
 *   per charge point, so each node receives its own chargers' messages only; a shared
 *   subscription on the wildcard answers for charge points no node holds; presence tells
 *   which node holds which, and newest wins across nodes.
 *
 * acquire() is called before the WebSocket upgrade is answered, so that once a charge
 * point's socket is open, whatever the backend publishes to it is delivered; release() pairs
 * with it when the session ends or the upgrade aborts.
 */
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import type { SessionTable } from '../session/sessions.js'
import type { MessageHandler, MqttPort, QoS } from './adapters/mqtt-port.js'
import { gatewayReport } from './backend.js'
import { deliverEnvelope } from './downstream.js'
import { OfflineAnswers } from './offline.js'
import type { Presence } from './presence.js'
import type { Publisher } from './publisher.js'
import type { ResponseRoutes } from './responses.js'
import type { FrameTracing } from '../observability/tracing.js'
import type { Topics } from './topics.js'

export interface RouterOptions {
  mqtt: MqttPort
  topics: Topics
  publish: Publisher
  sessions: SessionTable
  metrics: Metrics
  log: Logger
  nodeId: string
  dnstream: { qos: QoS, offlineAnswer: boolean, shareGroup: string, maxPayloadSize: number }
  upstreamQos: QoS
  eventsQos: QoS
  /** max_json_depth: deeper envelopes are refused before they are parsed. */
  maxJsonDepth: number
  /** Backend Calls' MQTT 5 response topics (./responses.ts). */
  responses: ResponseRoutes
  /** traceparent on the gateway's answers (offline, invalid envelope). */
  tracing: FrameTracing
}

export interface Held {
  cid: string
  /** Sessions and upgrades in progress that use this topic. */
  refs: number
  ready: Promise<void>
  /** The broker subscription's handler (ClusterRouter only). */
  handler?: MessageHandler
}

const RESOLVED = Promise.resolve()

export abstract class Router {
  /** Downstream topics held here, by topic. */
  protected readonly held = new Map<string, Held>()
  protected readonly offline: OfflineAnswers
  protected wide: { filter: string, handler: MessageHandler } | undefined
  /** Other nodes' charge points (cluster only). */
  readonly presence: Presence | undefined

  constructor (protected readonly o: RouterOptions, presence?: Presence) {
    this.presence = presence
    this.offline = new OfflineAnswers({
      ...o,
      connectedHere: (cid) => o.sessions.get(cid) !== undefined,
      heldElsewhere: (cid) => presence?.heldElsewhere(cid) === true
    })
  }

  abstract start (): Promise<void>
  /** Subscribe the downstream topic of a charge point (first reference) before its upgrade. */
  abstract acquire (cid: string, version: string): Promise<void>
  abstract release (cid: string, version: string): void
  /** This node now holds the charge point (since when, on which version), or (undefined) no longer. */
  abstract announce (cid: string, holding: { since: number, version: string } | undefined): void

  /** Unsubscribe the node-wide subscriptions (before the MQTT connection closes). */
  async stop (): Promise<void> {
    if (this.wide !== undefined) await this.o.mqtt.unsubscribe(this.wide.filter, this.wide.handler)
    await this.presence?.stop()
  }

  protected ignoreRetained (cid: string): void {
    const { metrics, log, topics, publish, eventsQos } = this.o
    metrics.inc('envelopes_retained_ignored_total')
    log.warn({ cid }, 'retained downstream message replayed by the broker: not delivered (publish downstream messages without retain)')
    publish.json(topics.gatewayError({ cid }), gatewayReport(cid, 'retained_ignored', 'a retained message on the downstream topic was replayed by the broker and not delivered; publish downstream messages without the retain flag, and clear the retained one'), eventsQos)
  }

  protected subscribeWide (filter: string, handler: MessageHandler): Promise<void> {
    const guarded = this.guard(handler)
    this.wide = { filter, handler: guarded }
    return this.o.mqtt.subscribe(filter, this.o.dnstream.qos, guarded)
  }

  /**
   * The last-resort guard per MQTT message: whatever one message does wrong costs that message
   * (a report on the error topic, a log line, a counter), never the process.
   */
  protected guard (handler: MessageHandler): MessageHandler {
    return (topic, payload, retained) => {
      try {
        handler(topic, payload, retained)
      } catch (err) {
        const { metrics, log, topics, publish, eventsQos } = this.o
        metrics.inc('internal_errors_total', 'downstream')
        log.error({ topic, err: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack }, 'internal error on a downstream message: not delivered')
        try {
          const where = topics.parseDnstream(topic)
          if (where !== undefined) publish.json(topics.gatewayError({ cid: where.cid, version: where.version }), gatewayReport(where.cid, 'internal_error', 'gateway: internal error while handling this downstream message; not delivered'), eventsQos)
        } catch {}
      }
    }
  }

  /** Deliver to the charge point's session; returns the envelope's UniqueId when it was delivered or answered. */
  protected route (cid: string, payload: Buffer, retained = false): string | undefined {
    if (retained) {
      // A stored retained message replayed on (re)subscription: a Call sent again to a charger
      // that reconnects hours later. Downstream messages are never retained deliveries.
      this.ignoreRetained(cid)
      return undefined
    }
    const session = this.o.sessions.get(cid)
    if (session === undefined || session.closed) {
      this.o.metrics.inc('envelopes_unroutable_total')
      this.o.log.warn({ cid }, 'downstream message for a charge point that is not connected')
      return undefined
    }
    const route = this.o.responses.asked(payload, cid)
    const expect = route === undefined ? undefined : (id: string) => this.o.responses.expect(cid, id, route)
    return deliverEnvelope(session, payload, this.o.dnstream.maxPayloadSize, this.o.maxJsonDepth, this.o.metrics, expect)
  }
}

export class LocalRouter extends Router {
  async start (): Promise<void> {
    const { topics, dnstream, metrics, log } = this.o
    await this.subscribeWide(topics.dnstreamFilter, (topic, payload) => {
      const held = this.held.get(topic)
      if (held !== undefined) {
        this.route(held.cid, payload)
      } else if (dnstream.offlineAnswer) {
        this.offline.answer(topic, payload)
      } else {
        // offline_answer off: not answered, as a broker without a subscriber would; counted.
        metrics.inc('envelopes_unroutable_total')
        log.debug({ topic }, 'downstream message for a charge point that is not connected (offline_answer off): dropped')
      }
    })
  }

  acquire (cid: string, version: string): Promise<void> {
    const topic = this.o.topics.dnstream({ cid, version })
    let held = this.held.get(topic)
    if (held === undefined) this.held.set(topic, held = { cid, refs: 0, ready: RESOLVED })
    held.refs++
    return held.ready
  }

  release (cid: string, version: string): void {
    const topic = this.o.topics.dnstream({ cid, version })
    const held = this.held.get(topic)
    if (held !== undefined && --held.refs <= 0) this.held.delete(topic)
  }

  announce (): void {}
}

/**
 * A downstream message for a charge point that no node holds: a Call is answered `offline`
 * (as EMQX cannot), an invalid envelope with a readable UniqueId gets the reply a connected
 * charge point's backend would get, anything else is reported on the error topic.
 */
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import { dialects } from '../ocpp/dialect.js'
import type { JsonObject } from '../ocpp/frame.js'
import type { QoS } from './adapters/mqtt-port.js'
import { gatewayReport } from './backend.js'
import { envelopeToFrame, gatewayErrorEnvelope } from './envelope.js'
import type { Publisher } from './publisher.js'
import { publishProps, type ResponseRoutes } from './responses.js'
import type { FrameTracing } from '../observability/tracing.js'
import type { Topics } from './topics.js'

export interface OfflineAnswersOptions {
  topics: Topics
  publish: Publisher
  metrics: Metrics
  log: Logger
  upstreamQos: QoS
  eventsQos: QoS
  maxJsonDepth: number
  /** Whether a charge point is connected to this node (on any version's topic). */
  connectedHere: (cid: string) => boolean
  /** Whether another node holds it (cluster presence); never, on one node. */
  heldElsewhere: (cid: string) => boolean
  /** What backend Calls ask of their answers (MQTT 5 response topics, traces). */
  responses: ResponseRoutes
  tracing: FrameTracing
}

export class OfflineAnswers {
  constructor (private readonly o: OfflineAnswersOptions) {}

  /**
   * A downstream message on a topic that no session of this node holds. Returns true when it
   * was answered or reported here, false when it is left to another node (or not a downstream topic).
   */
  answer (topic: string, payload: Buffer): boolean {
    const o = this.o
    const where = o.topics.parseDnstream(topic)
    if (where === undefined || o.heldElsewhere(where.cid)) return false
    // The answer goes to the topics of the version the Call was sent on (${version}).
    const { cid, version } = where
    if (o.connectedHere(cid)) {
      // Connected here, but on the topic of another version (${version} in the template).
      o.metrics.inc('envelopes_unroutable_total')
      o.log.warn({ cid, topic }, 'downstream message on a topic this charge point is not connected on: not delivered')
      return true
    }
    // The topic's version when the template has one; else any version's envelope: the newest
    // dialect knows every message type.
    const dialect = (version !== undefined ? dialects[version as keyof typeof dialects] : undefined) ?? dialects['2.1']
    const parsed = envelopeToFrame(payload, dialect, o.maxJsonDepth)
    if (parsed.ok && parsed.frame.type === 2) {
      const f = parsed.frame
      o.metrics.inc('gateway_answers_total', 'offline')
      o.log.info({ cid, id: f.id, action: f.action }, 'Call to a charge point that is not connected: answered offline')
      this.publishAnswer(cid, payload, o.topics.error({ cid, version, type: 4, id: f.id, action: f.action }), gatewayErrorEnvelope(f.id, 'GenericError', 'gateway: the charge point is not connected', { reason: 'offline' }, f.action))
      return true
    }
    if (!parsed.ok && parsed.error.id !== undefined) {
      const { id, action, message } = parsed.error
      o.metrics.inc('envelopes_invalid_total', 'invalid')
      this.publishAnswer(cid, payload, o.topics.error({ cid, version, type: 4, id, action }), gatewayErrorEnvelope(id, dialect.errorCodes.formatViolation, `gateway: invalid envelope (and the charge point is not connected): ${message}`, { reason: 'invalid_envelope' }, action))
      return true
    }
    o.metrics.inc('envelopes_unroutable_total')
    const description = parsed.ok ? 'the charge point is not connected; the message was not delivered' : `the charge point is not connected, and the envelope is invalid: ${parsed.error.message}`
    o.publish.json(o.topics.gatewayError({ cid, version, type: 4 }), gatewayReport(cid, 'offline', description, { UniqueId: parsed.ok ? parsed.frame.id : parsed.error.id }), o.eventsQos)
    return true
  }

  /** A gateway answer on the reply topic, and on the Call's MQTT 5 response topic when it asked. */
  private publishAnswer (cid: string, payload: Buffer, topic: string, envelope: JsonObject): void {
    const o = this.o
    const text = JSON.stringify(envelope)
    const route = o.responses.asked(payload, cid)
    const trace = o.tracing.upstream(envelope.Action as string | undefined, cid, envelope.UniqueId as string, route?.parent)
    o.publish.text(topic, text, o.upstreamQos, undefined, publishProps(trace))
    if (route?.topic !== undefined) o.publish.text(route.topic, text, o.upstreamQos, undefined, publishProps(trace, route))
  }
}

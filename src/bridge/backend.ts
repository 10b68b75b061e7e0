/**
 * The session's BackendPort over MQTT: one per charge point, bound to its id and version.
 * Frames from the charge point become EMQX envelopes on the upstream topics; gateway-made
 * answers and reports get their envelopes here too.
 */
import type { Frame, JsonObject } from '../ocpp/frame.js'
import type { AnswerTarget, BackendPort, OnUndelivered } from '../session/backend-port.js'
import type { QoS } from './adapters/mqtt-port.js'
import { OutboxError } from './adapters/outbox.js'
import { frameToEnvelope, gatewayErrorEnvelope, upstreamEnvelopeText } from './envelope.js'
import type { Publisher } from './publisher.js'
import { publishProps, type ResponseRoute, type ResponseRoutes } from './responses.js'
import type { FrameTracing } from '../observability/tracing.js'
import type { Topics, TopicVars } from './topics.js'

/** What all of one gateway's backend ports share. */
export interface BackendShared {
  readonly topics: Topics
  readonly publish: Publisher
  readonly upstreamQos: QoS
  readonly eventsQos: QoS
  /** Where answers to backend Calls with an MQTT 5 Response Topic go besides (./responses.ts). */
  readonly responses: ResponseRoutes
  /** traceparent on upstream publishes (MQTT 5 connections, upstream.trace_context). */
  readonly tracing: FrameTracing
}

export class MqttBackend implements BackendPort {
  constructor (private readonly shared: BackendShared, readonly cid: string, readonly version: string) {}

  forward (frame: Frame, text: string, action: string | undefined, validationError: string | undefined, undelivered?: OnUndelivered): void {
    const { topics, publish, upstreamQos } = this.shared
    const failed = undelivered === undefined ? undefined : (err: Error) => undelivered(err instanceof OutboxError ? err.reason : 'error', err.message)
    const vars: TopicVars = { cid: this.cid, id: frame.id, type: frame.type, version: this.version, action }
    const topic = frame.type === 2 || frame.type === 6 ? topics.call(vars) : frame.type === 3 ? topics.reply(vars) : topics.error(vars)
    // The payload's text spliced from the frame as received, not serialised a second time.
    let envelope = upstreamEnvelopeText(frame, text, action, validationError)
    if (envelope === undefined) {
      const env = frameToEnvelope(frame, action)
      // warn mode: forwarded, but the envelope says what failed validation.
      if (validationError !== undefined) env.ValidationError = validationError
      envelope = JSON.stringify(env)
    }
    // The answer to a backend Call: in its trace, and on its MQTT 5 Response Topic too.
    const route = frame.type === 3 || frame.type === 4 ? this.shared.responses.take(this.cid, frame.id) : undefined
    const trace = this.shared.tracing.upstream(action, this.cid, frame.id, route?.parent)
    publish.text(topic, envelope, upstreamQos, failed, publishProps(trace))
    if (route?.topic !== undefined) this.respond(route.topic, route, envelope, trace)
  }

  answer (to: AnswerTarget, code: string, description: string, details: JsonObject): void {
    const { topics, publish, upstreamQos } = this.shared
    const topic = topics.error({ cid: this.cid, id: to.id, type: 4, action: to.action, version: this.version })
    const envelope = JSON.stringify(gatewayErrorEnvelope(to.id, code, description, details, to.action))
    const route = this.shared.responses.take(this.cid, to.id)
    const trace = this.shared.tracing.upstream(to.action, this.cid, to.id, route?.parent)
    publish.text(topic, envelope, upstreamQos, undefined, publishProps(trace))
    if (route?.topic !== undefined) this.respond(route.topic, route, envelope, trace)
  }

  private respond (topic: string, route: ResponseRoute, envelope: string, trace: Record<string, string> | undefined): void {
    this.shared.publish.text(topic, envelope, this.shared.upstreamQos, undefined, publishProps(trace, route))
  }

  report (error: string, description: string, extra: JsonObject): void {
    const { topics, publish, eventsQos } = this.shared
    publish.json(topics.gatewayError({ cid: this.cid, version: this.version }), gatewayReport(this.cid, error, description, extra), eventsQos)
  }
}

/** A report on the gateway error topic, for problems that have no reply to carry them. */
export function gatewayReport (cid: string, error: string, description: string, extra: JsonObject = {}): JsonObject {
  return { Origin: 'gateway', Error: error, ErrorDescription: description, cid, ...extra }
}

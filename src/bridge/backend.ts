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
import type { ResponseRoutes } from './responses.js'
import type { Topics, TopicVars } from './topics.js'

/** What all of one gateway's backend ports share. */
export interface BackendShared {
  readonly topics: Topics
  readonly publish: Publisher
  readonly upstreamQos: QoS
  readonly eventsQos: QoS
  /** Where answers to backend Calls with an MQTT 5 Response Topic go besides (./responses.ts). */
  readonly responses: ResponseRoutes
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
    publish.text(topic, envelope, upstreamQos, failed)
    // The answer to a backend Call that asked for it on its MQTT 5 Response Topic: there too.
    if (frame.type === 3 || frame.type === 4) this.respond(frame.id, envelope)
  }

  answer (to: AnswerTarget, code: string, description: string, details: JsonObject): void {
    const { topics, publish, upstreamQos } = this.shared
    const topic = topics.error({ cid: this.cid, id: to.id, type: 4, action: to.action, version: this.version })
    const envelope = JSON.stringify(gatewayErrorEnvelope(to.id, code, description, details, to.action))
    publish.text(topic, envelope, upstreamQos)
    this.respond(to.id, envelope)
  }

  private respond (id: string, envelope: string): void {
    const route = this.shared.responses.take(this.cid, id)
    if (route !== undefined) this.shared.publish.text(route.topic, envelope, this.shared.upstreamQos, undefined, route.props)
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

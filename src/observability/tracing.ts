/**
 * W3C trace context through the bridge (issue 16): every frame the gateway publishes upstream
 * carries a `traceparent` MQTT 5 user property, and a backend Call's `traceparent` is honoured:
 * the charge point's answer (or the gateway's) is published as a child of the backend's span.
 * So a trace runs charge point -> gateway -> broker -> backend and back.
 *
 * Through the OpenTelemetry API only: when the application registers an SDK (a tracer
 * provider), the gateway's PRODUCER/CONSUMER spans are real spans, exported by it. Without one
 * (no exporter required) the API's spans record nothing, and the gateway makes the span context
 * itself (random ids, a new span id under the backend's trace when it sent one), so the
 * traceparent still ties the backend's spans to one trace per frame.
 *
 * @example
 *   const tracing = new FrameTracing(true)
 *   const props = tracing.upstream('BootNotification', 'CP1', '19223201')  // { traceparent: '00-…-01' }
 *   tracing.upstream('Reset', 'CP1', 'c7', backendTraceparent)            // a child of the backend's span
 */
import { randomFillSync } from 'node:crypto'
import { ROOT_CONTEXT, SpanKind, TraceFlags, defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, trace, type Attributes, type Context } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'

const tracer = trace.getTracer('ocpp-mqtt-gateway')
const w3c = new W3CTraceContextPropagator()

/** Random bytes taken 24 at a time (a trace id and a span id) from one buffer refilled when used up. */
const pool = Buffer.alloc(24 * 256)
let at = pool.length

function randomIds (): { traceId: string, spanId: string } {
  if (at + 24 > pool.length) {
    randomFillSync(pool)
    at = 0
  }
  const traceId = pool.toString('hex', at, at + 16)
  const spanId = pool.toString('hex', at + 16, at + 24)
  at += 24
  return { traceId, spanId }
}

export type TraceProps = Record<string, string>

export class FrameTracing {
  constructor (readonly enabled: boolean) {}

  /**
   * The user properties (`traceparent`, and `tracestate` when the parent had one) for one
   * upstream publish of a frame; `parent`: the traceparent of the backend Call it answers.
   * Undefined when tracing is off.
   */
  upstream (action: string | undefined, cid: string, id: string, parent?: string): TraceProps | undefined {
    if (!this.enabled) return undefined
    const ctx = parent === undefined ? ROOT_CONTEXT : w3c.extract(ROOT_CONTEXT, { traceparent: parent }, defaultTextMapGetter)
    const span = tracer.startSpan(`${action ?? 'answer'} publish`, { kind: SpanKind.PRODUCER, attributes: attributes(cid, id, action) }, ctx)
    span.end()
    const made = span.spanContext()
    const up = trace.getSpanContext(ctx)
    const carrier: TraceProps = {}
    if (isSpanContextValid(made) && made.spanId !== up?.spanId) {
      // An SDK made the span (recorded, or sampled out): its context goes on.
      w3c.inject(trace.setSpanContext(ROOT_CONTEXT, made), carrier, defaultTextMapSetter)
      return carrier
    }
    // No SDK (the API's span is empty, or its parent's): a span context of our own, under the
    // backend's trace when there is one, in the W3C form (the propagator's inject costs a
    // context per frame).
    const ids = randomIds()
    const flags = (up?.traceFlags ?? TraceFlags.SAMPLED) & TraceFlags.SAMPLED
    carrier.traceparent = `00-${up?.traceId ?? ids.traceId}-${ids.spanId}-0${flags}`
    const state = up?.traceState?.serialize()
    if (state !== undefined && state !== '') carrier.tracestate = state
    return carrier
  }

  /**
   * A backend message's traceparent, checked (a malformed one is ignored, as W3C says), with a
   * CONSUMER span for its delivery under it (recorded only with an SDK). Undefined without one.
   */
  downstream (traceparent: string | string[] | undefined, action: string | undefined, cid: string, id: string | undefined): string | undefined {
    if (!this.enabled || traceparent === undefined) return undefined
    const value = Array.isArray(traceparent) ? traceparent[0] : traceparent
    if (value === undefined) return undefined
    const ctx: Context = w3c.extract(ROOT_CONTEXT, { traceparent: value }, defaultTextMapGetter)
    if (trace.getSpanContext(ctx) === undefined) return undefined
    const span = tracer.startSpan(`${action ?? 'message'} deliver`, { kind: SpanKind.CONSUMER, attributes: attributes(cid, id, action) }, ctx)
    span.end()
    return value
  }
}

function attributes (cid: string, id: string | undefined, action: string | undefined): Attributes {
  const a: Attributes = { 'messaging.system': 'mqtt', 'ocpp.charge_point.id': cid }
  if (id !== undefined) a['ocpp.message.id'] = id
  if (action !== undefined) a['ocpp.action'] = action
  return a
}

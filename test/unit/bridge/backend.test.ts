/**
 * MqttBackend, the session's BackendPort over MQTT: the topic per frame type, the QoS, the
 * spliced envelope text, the warn-mode ValidationError, gateway answers and reports.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildConfig } from '../../../src/config/load.js'
import { ResponseRoutes } from '../../../src/bridge/responses.js'
import { FrameTracing } from '../../../src/observability/tracing.js'
import { MqttBackend } from '../../../src/bridge/backend.js'
import { frameToEnvelope, gatewayErrorEnvelope } from '../../../src/bridge/envelope.js'
import { Publisher } from '../../../src/bridge/publisher.js'
import { compileTopics } from '../../../src/bridge/topics.js'
import { Metrics } from '../../../src/observability/metrics.js'
import type { Frame } from '../../../src/ocpp/frame.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'
import { fakeSession } from '../../helpers/fake-backend.js'

const layers = {
  upstream: {
    topic: 'cp/${cid}/${action}',
    reply_topic: 'cp/${cid}/Reply/${id}',
    error_topic: 'cp/${cid}/Error/${type}/${id}/${action}',
    qos: 1
  },
  events: { error_topic: 'errors/${version}/${cid}', qos: 0 }
}

function setup (config: Record<string, unknown> = layers, cid = 'CP-1', version = '2.1'): { mqtt: FakeMqtt, metrics: Metrics, backend: MqttBackend } {
  const c = buildConfig([{ log: { level: 'silent' } }, config])
  const mqtt = new FakeMqtt()
  const metrics = new Metrics()
  const publish = new Publisher(mqtt, metrics, pino({ level: 'silent' }))
  const topics = compileTopics(c)
  const backend = new MqttBackend({ topics, publish, upstreamQos: c.upstream.qos, eventsQos: c.events.qos, responses: new ResponseRoutes(topics, () => {}), tracing: new FrameTracing(false) }, cid, version)
  return { mqtt, metrics, backend }
}

test('forward: a Call on the call topic, the payload text spliced as received, upstream QoS', () => {
  const { mqtt, metrics, backend } = setup()
  const text = '[2, "m1", "DataTransfer", {"n": 1.50, "s": "\\u00e9"}]'
  backend.forward({ type: 2, id: 'm1', action: 'DataTransfer', payload: { n: 1.5, s: 'é' } }, text, 'DataTransfer', undefined)
  assert.deepEqual(mqtt.published, [{
    topic: 'ocpp/cp/CP-1/DataTransfer',
    payload: '{"MessageTypeId":2,"UniqueId":"m1","Action":"DataTransfer","Payload":{"n": 1.50, "s": "\\u00e9"}}',
    qos: 1,
    retain: false
  }])
  assert.equal(metrics.get('mqtt_published_total'), 1)
})

test('forward: a Send (2.1) on the call topic', () => {
  const { mqtt, backend } = setup()
  backend.forward({ type: 6, id: 's1', action: 'NotifyPeriodicEventStream', payload: { id: 1 } }, '[6,"s1","NotifyPeriodicEventStream",{"id":1}]', 'NotifyPeriodicEventStream', undefined)
  assert.deepEqual(mqtt.published, [{
    topic: 'ocpp/cp/CP-1/NotifyPeriodicEventStream',
    payload: '{"MessageTypeId":6,"UniqueId":"s1","Action":"NotifyPeriodicEventStream","Payload":{"id":1}}',
    qos: 1,
    retain: false
  }])
})

test('forward: a CallResult on the reply topic, with the Action of the Call it answers', () => {
  const { mqtt, backend } = setup()
  backend.forward({ type: 3, id: 'r1', payload: { status: 'Accepted' } }, '[3,"r1",{"status":"Accepted"}]', 'Reset', undefined)
  assert.deepEqual(mqtt.published, [{
    topic: 'ocpp/cp/CP-1/Reply/r1',
    payload: '{"MessageTypeId":3,"UniqueId":"r1","Action":"Reset","Payload":{"status":"Accepted"}}',
    qos: 1,
    retain: false
  }])
})

test('forward: a CallError and a CallResultError on the error topic, serialised', () => {
  const { mqtt, backend } = setup()
  const error: Frame = { type: 4, id: 'e1', code: 'NotSupported', description: 'no', details: { a: 1 } }
  backend.forward(error, '[4,"e1","NotSupported","no",{"a":1}]', 'Reset', undefined)
  const resultError: Frame = { type: 5, id: 'e2', code: 'GenericError', description: 'bad', details: {} }
  backend.forward(resultError, '[5,"e2","GenericError","bad",{}]', undefined, undefined)
  assert.deepEqual(mqtt.published, [
    { topic: 'ocpp/cp/CP-1/Error/4/e1/Reset', payload: JSON.stringify(frameToEnvelope(error, 'Reset')), qos: 1, retain: false },
    { topic: 'ocpp/cp/CP-1/Error/5/e2/', payload: JSON.stringify(frameToEnvelope(resultError)), qos: 1, retain: false }
  ])
  assert.deepEqual(JSON.parse(mqtt.published[0]!.payload), { MessageTypeId: 4, UniqueId: 'e1', ErrorCode: 'NotSupported', ErrorDescription: 'no', ErrorDetails: { a: 1 }, Action: 'Reset' })
})

test('forward: the configured QoS (0) and the default QoS (2)', () => {
  const zero = setup({ upstream: { qos: 0 } })
  zero.backend.forward({ type: 2, id: '1', action: 'Heartbeat', payload: {} }, '[2,"1","Heartbeat",{}]', 'Heartbeat', undefined)
  assert.deepEqual(zero.mqtt.published.map((p) => [p.topic, p.qos]), [['ocpp/cp/CP-1', 0]])
  const dflt = setup({})
  dflt.backend.forward({ type: 3, id: '1', payload: {} }, '[3,"1",{}]', 'Reset', undefined)
  assert.deepEqual(dflt.mqtt.published.map((p) => [p.topic, p.qos]), [['ocpp/cp/CP-1/Reply', 2]])
})

test('forward: warn mode adds ValidationError after the payload, spliced or serialised', () => {
  const { mqtt, backend } = setup()
  backend.forward({ type: 2, id: 'm1', action: 'Heartbeat', payload: { x: 1 } }, '[2,"m1","Heartbeat",{"x":1}]', 'Heartbeat', 'Payload: must NOT have additional properties')
  // A text the splice cannot use: serialised, the member added the same way.
  backend.forward({ type: 3, id: 'r1', payload: { y: 2 } }, 'not the frame', 'Reset', 'Payload.status: is required')
  assert.equal(mqtt.published.length, 2)
  const [call, result] = mqtt.published.map((p) => JSON.parse(p.payload) as Record<string, unknown>)
  assert.deepEqual(call, { MessageTypeId: 2, UniqueId: 'm1', Action: 'Heartbeat', Payload: { x: 1 }, ValidationError: 'Payload: must NOT have additional properties' })
  assert.deepEqual(Object.keys(call!), ['MessageTypeId', 'UniqueId', 'Action', 'Payload', 'ValidationError'])
  assert.deepEqual(result, { MessageTypeId: 3, UniqueId: 'r1', Action: 'Reset', Payload: { y: 2 }, ValidationError: 'Payload.status: is required' })
  assert.deepEqual(Object.keys(result!), ['MessageTypeId', 'UniqueId', 'Action', 'Payload', 'ValidationError'])
  assert.equal(mqtt.published[1]?.topic, 'ocpp/cp/CP-1/Reply/r1')
})

test('forward: a session in warn mode marks an invalid Call with ValidationError', () => {
  const config = { message_format_checking: 'upstream_only', message_format_warn_only: true }
  const { mqtt, backend } = setup(config, 'CP-7', '1.6')
  const { socket, metrics } = fakeSession({ config, cid: 'CP-7', port: backend })
  socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V' }])
  assert.equal(socket.sent.length, 0, 'forwarded, not refused')
  assert.equal(mqtt.published.length, 1)
  const p = mqtt.published[0]!
  assert.equal(p.topic, 'ocpp/cp/CP-7')
  const env = JSON.parse(p.payload) as Record<string, unknown>
  assert.deepEqual(Object.keys(env), ['MessageTypeId', 'UniqueId', 'Action', 'Payload', 'ValidationError'])
  assert.deepEqual({ ...env, ValidationError: undefined }, { MessageTypeId: 2, UniqueId: 'b1', Action: 'BootNotification', Payload: { chargePointVendor: 'V' }, ValidationError: undefined })
  assert.equal(typeof env.ValidationError, 'string')
  assert.match(env.ValidationError as string, /chargePointModel/)
  assert.equal(metrics.get('validation_failures_total', 'upstream_warn'), 1)
})

test('answer: a gateway CallError on the error topic with the Action, upstream QoS', () => {
  const { mqtt, backend } = setup()
  backend.answer({ id: 'c1', action: 'Reset' }, 'GenericError', 'gateway: the charge point disconnected', { reason: 'disconnected' })
  backend.answer({ id: 'c2', action: undefined }, 'FormatViolation', 'gateway: invalid envelope', { reason: 'invalid_envelope' })
  assert.deepEqual(mqtt.published.map((p) => [p.topic, p.qos, p.retain]), [
    ['ocpp/cp/CP-1/Error/4/c1/Reset', 1, false],
    ['ocpp/cp/CP-1/Error/4/c2/', 1, false]
  ])
  assert.deepEqual(JSON.parse(mqtt.published[0]!.payload), {
    MessageTypeId: 4, UniqueId: 'c1', ErrorCode: 'GenericError', ErrorDescription: 'gateway: the charge point disconnected', ErrorDetails: { reason: 'disconnected' }, Origin: 'gateway', Action: 'Reset'
  })
  assert.deepEqual(JSON.parse(mqtt.published[1]!.payload), gatewayErrorEnvelope('c2', 'FormatViolation', 'gateway: invalid envelope', { reason: 'invalid_envelope' }))
  assert.equal('Action' in (JSON.parse(mqtt.published[1]!.payload) as object), false)
})

test('report: on the gateway error topic, with the events QoS', () => {
  const { mqtt, metrics, backend } = setup()
  backend.report('unmatched_answer', 'the charge point answered a Call that is not in flight', { UniqueId: 'x1', Frame: '[3,"x1",{}]' })
  assert.equal(mqtt.published.length, 1)
  const p = mqtt.published[0]!
  assert.deepEqual([p.topic, p.qos, p.retain], ['ocpp/errors/2.1/CP-1', 0, false])
  const body = JSON.parse(p.payload) as Record<string, unknown>
  assert.deepEqual(body, { Origin: 'gateway', Error: 'unmatched_answer', ErrorDescription: 'the charge point answered a Call that is not in flight', cid: 'CP-1', UniqueId: 'x1', Frame: '[3,"x1",{}]' })
  assert.deepEqual(Object.keys(body), ['Origin', 'Error', 'ErrorDescription', 'cid', 'UniqueId', 'Frame'])
  assert.equal(metrics.get('mqtt_published_total'), 1)
})

test('report: default events QoS is 1 on errors/${cid}', () => {
  const { mqtt, backend } = setup({})
  backend.report('malformed_frame', 'm', {})
  assert.deepEqual(mqtt.published.map((p) => [p.topic, p.qos]), [['ocpp/errors/CP-1', 1]])
  assert.deepEqual(mqtt.on('ocpp/errors/CP-1'), [{ Origin: 'gateway', Error: 'malformed_frame', ErrorDescription: 'm', cid: 'CP-1' }])
})

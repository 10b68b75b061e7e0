/**
 * OfflineAnswers on its own: a downstream message for a charge point no node holds. A Call
 * is answered `offline`, an invalid envelope with a readable UniqueId answered FormatViolation,
 * anything else reported on the gateway error topic; nothing when another node holds it, when
 * it is connected here on another version's topic, or when the topic is not a downstream one.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { ResponseRoutes } from '../../../src/bridge/responses.js'
import { FrameTracing } from '../../../src/observability/tracing.js'
import { OfflineAnswers } from '../../../src/bridge/offline.js'
import { Publisher } from '../../../src/bridge/publisher.js'
import { compileTopics } from '../../../src/bridge/topics.js'
import { buildConfig } from '../../../src/config/load.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'

interface Setup {
  mqtt: FakeMqtt
  metrics: Metrics
  offline: OfflineAnswers
  /** Charge points connected here / held by another node. */
  here: Set<string>
  elsewhere: Set<string>
  /** The cids each predicate was asked about. */
  asked: { here: string[], elsewhere: string[] }
  answer: (topic: string, payload: unknown) => void
}

function setup (layers: Record<string, unknown> = {}): Setup {
  const config = buildConfig([{ log: { level: 'silent' } }, layers])
  const mqtt = new FakeMqtt()
  const metrics = new Metrics()
  const log = pino({ level: 'silent' })
  const here = new Set<string>()
  const elsewhere = new Set<string>()
  const asked = { here: [] as string[], elsewhere: [] as string[] }
  const topics = compileTopics(config)
  const offline = new OfflineAnswers({
    topics,
    responses: new ResponseRoutes(topics, () => {}),
    tracing: new FrameTracing(false),
    publish: new Publisher(mqtt, metrics, log),
    maxJsonDepth: config.maxJsonDepth,
    metrics,
    log,
    upstreamQos: config.upstream.qos,
    eventsQos: config.events.qos,
    connectedHere: (cid) => { asked.here.push(cid); return here.has(cid) },
    heldElsewhere: (cid) => { asked.elsewhere.push(cid); return elsewhere.has(cid) }
  })
  const answer = (topic: string, payload: unknown): void => {
    offline.answer(topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)))
  }
  return { mqtt, metrics, offline, here, elsewhere, asked, answer }
}

const reset = (id = 'c1'): Record<string, unknown> => ({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })

/** A gateway-level counter snapshot of what these answers touch. */
function counts (m: Metrics): Record<string, number> {
  return {
    offline: m.get('gateway_answers_total', 'offline'),
    invalid: m.get('envelopes_invalid_total', 'invalid'),
    unroutable: m.get('envelopes_unroutable_total'),
    published: m.get('mqtt_published_total')
  }
}

test('a Call is answered offline on the error topic: the exact envelope, upstream QoS, counted', () => {
  const s = setup()
  s.answer('ocpp/cs/CP-9', reset('c9'))
  assert.deepEqual(s.mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['ocpp/cp/CP-9/Reply', 2, false]])
  const body = JSON.parse(s.mqtt.published[0]!.payload) as Record<string, unknown>
  assert.deepEqual(body, {
    MessageTypeId: 4,
    UniqueId: 'c9',
    ErrorCode: 'GenericError',
    ErrorDescription: 'gateway: the charge point is not connected',
    ErrorDetails: { reason: 'offline' },
    Origin: 'gateway',
    Action: 'Reset'
  })
  assert.deepEqual(Object.keys(body), ['MessageTypeId', 'UniqueId', 'ErrorCode', 'ErrorDescription', 'ErrorDetails', 'Origin', 'Action'])
  assert.deepEqual(counts(s.metrics), { offline: 1, invalid: 0, unroutable: 0, published: 1 })
  assert.deepEqual(s.asked, { here: ['CP-9'], elsewhere: ['CP-9'] })
})

test('the answer\'s QoS is upstream.qos, a report\'s events.qos', () => {
  const s = setup({ upstream: { qos: 0 }, events: { qos: 2 } })
  s.answer('ocpp/cs/CP-9', reset('c1'))
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 3, UniqueId: 'r1', Payload: {} })
  assert.deepEqual(s.mqtt.published.map((m) => [m.topic, m.qos]), [['ocpp/cp/CP-9/Reply', 0], ['ocpp/errors/CP-9', 2]])
})

test('the answer goes to the topic of the version the Call came on, with its type, id and Action', () => {
  const s = setup({
    mountpoint: 'mp/',
    dnstream: { topic: 'cs/${version}/${cid}' },
    upstream: { error_topic: 'cp/${version}/${cid}/Error/${type}/${id}/${action}' },
    events: { error_topic: 'errors/${version}/${cid}/${type}' }
  })
  s.answer('mp/cs/2.0.1/CP-9', reset('c1'))
  s.answer('mp/cs/1.6/CP-9', { MessageTypeId: 3, UniqueId: 'r1', Payload: {} })
  assert.deepEqual(s.mqtt.published.map((m) => m.topic), ['mp/cp/2.0.1/CP-9/Error/4/c1/Reset', 'mp/errors/1.6/CP-9/4'])
  assert.equal(s.metrics.get('gateway_answers_total', 'offline'), 1)
})

test('held by another node: nothing published, nothing counted, whatever the envelope', () => {
  const s = setup()
  s.elsewhere.add('CP-9')
  s.answer('ocpp/cs/CP-9', reset())
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 2, UniqueId: 'bad', Action: 'Reset' })
  s.answer('ocpp/cs/CP-9', 'not json')
  assert.equal(s.mqtt.published.length, 0)
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 0, unroutable: 0, published: 0 })
  assert.deepEqual(s.asked.here, [], 'asked whether held elsewhere first')
  // Another charge point is still answered.
  s.answer('ocpp/cs/CP-8', reset('c8'))
  assert.deepEqual(s.mqtt.published.map((m) => m.topic), ['ocpp/cp/CP-8/Reply'])
})

test('connected here on another version\'s topic: unroutable, nothing published', () => {
  const s = setup({ dnstream: { topic: 'cs/${version}/${cid}' } })
  s.here.add('CP-1')
  s.answer('ocpp/cs/2.0.1/CP-1', reset())
  s.answer('ocpp/cs/2.0.1/CP-1', 'junk')
  assert.deepEqual(s.mqtt.published, [])
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 0, unroutable: 2, published: 0 })
  assert.deepEqual(s.asked.here, ['CP-1', 'CP-1'])
})

test('an invalid envelope with a readable UniqueId is answered FormatViolation, reason invalid_envelope', () => {
  const s = setup()
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 2, UniqueId: 'bad1', Action: 'Reset', Payload: 'x' })
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 9, UniqueId: 'bad2' })
  assert.deepEqual(s.mqtt.published.map((m) => [m.topic, m.qos]), [['ocpp/cp/CP-9/Reply', 2], ['ocpp/cp/CP-9/Reply', 2]])
  const [first, second] = s.mqtt.on('ocpp/cp/CP-9/Reply') as Array<Record<string, unknown>>
  assert.deepEqual(first, {
    MessageTypeId: 4,
    UniqueId: 'bad1',
    ErrorCode: 'FormatViolation',
    ErrorDescription: 'gateway: invalid envelope (and the charge point is not connected): Payload is missing or not a JSON object',
    ErrorDetails: { reason: 'invalid_envelope' },
    Origin: 'gateway',
    Action: 'Reset'
  })
  // No Action in the envelope: none in the answer.
  assert.deepEqual(second, {
    MessageTypeId: 4,
    UniqueId: 'bad2',
    ErrorCode: 'FormatViolation',
    ErrorDescription: 'gateway: invalid envelope (and the charge point is not connected): MessageTypeId 9 is not one of 2, 3, 4, 5, 6 (OCPP 2.1)',
    ErrorDetails: { reason: 'invalid_envelope' },
    Origin: 'gateway'
  })
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 2, unroutable: 0, published: 2 })
})

test('an envelope whose UniqueId cannot be read is reported on the gateway error topic, without UniqueId', () => {
  const s = setup()
  const cases: Array<[unknown, string]> = [
    ['not json', 'envelope is not valid JSON'],
    [[2, 'c1', 'Reset', {}], 'envelope is not a JSON object'],
    [{ MessageTypeId: 2, Action: 'Reset', Payload: {} }, 'UniqueId is missing or not a string'],
    [{ MessageTypeId: 2, UniqueId: 'x'.repeat(37), Action: 'Reset', Payload: {} }, 'UniqueId must be 1 to 36 characters']
  ]
  for (const [payload] of cases) s.answer('ocpp/cs/CP-9', payload)
  assert.deepEqual(s.mqtt.published.map((m) => [m.topic, m.qos, m.retain]), cases.map(() => ['ocpp/errors/CP-9', 1, false]))
  const reports = s.mqtt.on('ocpp/errors/CP-9') as Array<Record<string, unknown>>
  assert.deepEqual(reports, cases.map(([, message]) => ({
    Origin: 'gateway',
    Error: 'offline',
    ErrorDescription: `the charge point is not connected, and the envelope is invalid: ${message}`,
    cid: 'CP-9'
  })))
  for (const r of reports) assert.equal('UniqueId' in r, false)
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 0, unroutable: 4, published: 4 })
})

test('a CallResult, a CallError and a Send for a charge point no node holds are reported with their UniqueId', () => {
  const s = setup()
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 3, UniqueId: 'r1', Payload: { status: 'Accepted' } })
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 4, UniqueId: 'e1', ErrorCode: 'NotSupported' })
  s.answer('ocpp/cs/CP-9', { MessageTypeId: 6, UniqueId: 's1', Action: 'NotifyX', Payload: {} })
  const description = 'the charge point is not connected; the message was not delivered'
  assert.deepEqual(s.mqtt.on('ocpp/errors/CP-9'), ['r1', 'e1', 's1'].map((id) => ({ Origin: 'gateway', Error: 'offline', ErrorDescription: description, cid: 'CP-9', UniqueId: id })))
  assert.deepEqual(s.mqtt.published.map((m) => m.topic), ['ocpp/errors/CP-9', 'ocpp/errors/CP-9', 'ocpp/errors/CP-9'])
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 0, unroutable: 3, published: 3 })
})

test('a topic that is not a downstream topic: nothing, and no one is asked', () => {
  const s = setup()
  for (const topic of ['ocpp/cp/CP-9', 'ocpp/cs/CP-9/extra', 'ocpp/cs/', 'cs/CP-9', 'other']) s.answer(topic, reset())
  assert.deepEqual(s.mqtt.published, [])
  assert.deepEqual(counts(s.metrics), { offline: 0, invalid: 0, unroutable: 0, published: 0 })
  assert.deepEqual(s.asked, { here: [], elsewhere: [] })
})

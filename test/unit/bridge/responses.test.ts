/** ResponseRoutes: where answers to backend Calls with an MQTT 5 Response Topic go (no network). */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { noteProps } from '../../../src/bridge/adapters/mqtt-port.js'
import { relayOf, relayPayload } from '../../../src/bridge/handoff.js'
import { ResponseRoutes } from '../../../src/bridge/responses.js'
import { FrameTracing } from '../../../src/observability/tracing.js'
import { compileTopics } from '../../../src/bridge/topics.js'
import { buildConfig } from '../../../src/config/load.js'

const topics = compileTopics(buildConfig([{ log: { level: 'silent' } }]))

describe('ResponseRoutes', () => {
  test('a route is taken once, by charge point and UniqueId', () => {
    const r = new ResponseRoutes(topics, () => {})
    r.expect('CP1', 'a', { topic: 'csms/1', props: undefined })
    assert.equal(r.take('CP2', 'a'), undefined)
    assert.deepEqual(r.take('CP1', 'a'), { topic: 'csms/1', props: undefined })
    assert.equal(r.take('CP1', 'a'), undefined)
    assert.equal(r.size, 0)
  })

  test('bounded: past the bound the oldest goes, counted', () => {
    const r = new ResponseRoutes(topics, () => {}, undefined, 3)
    for (const id of ['1', '2', '3', '4']) r.expect('CP', id, { topic: `t/${id}`, props: undefined })
    assert.equal(r.size, 3)
    assert.equal(r.dropped, 1)
    assert.equal(r.take('CP', '1'), undefined)
    assert.equal(r.take('CP', '4')?.topic, 't/4')
  })

  test('the gateway\'s own topics and wildcards are refused, and told; other topics are honoured', () => {
    const told: string[] = []
    const r = new ResponseRoutes(topics, (cid, topic) => told.push(`${cid} ${topic}`))
    for (const t of ['ocpp/cs/CP9', 'ocpp/cp/CP9', 'ocpp/cp/CP9/Reply', 'ocpp/events/CP9', 'ocpp/errors/CP9', 'ocpp/ctl/CP9', 'ocpp/ctl/CP9/Reply', 'ocpp/presence/CP9/n1', 'ocpp/nodes/n1', 'a/+/b', 'a/#', '']) assert.equal(r.honours(t, 'CP1'), false, t)
    assert.equal(told.length, 12)
    for (const t of ['csms/answers/1', 'ocpp/responses/csms/1', 'ocpp/cp/CP1/mine/x', 'ocpp/cs']) assert.equal(r.honours(t, 'CP1'), true, t)
  })

  test('asked() reads the noted properties of the payload; a relay carries them to the holder', () => {
    const r = new ResponseRoutes(topics, () => {}, { requestResponse: true, tracing: new FrameTracing(true) })
    const payload = Buffer.from('{}')
    assert.equal(r.asked(payload, 'CP1'), undefined)
    noteProps(payload, { responseTopic: 'csms/x', correlationData: Buffer.from([0, 1, 255]) })
    assert.deepEqual(r.asked(payload, 'CP1'), { topic: 'csms/x', props: { correlationData: Buffer.from([0, 1, 255]) } })
    const relayed = relayPayload(JSON.parse(JSON.stringify(relayOf('CP1', 'ocpp/cs/CP1', 'n1', payload))))
    assert.notEqual(relayed, payload)
    assert.deepEqual(r.asked(relayed, 'CP1'), { topic: 'csms/x', props: { correlationData: Buffer.from([0, 1, 255]) } })
    // Off: the response topic is not honoured.
    const off = new ResponseRoutes(topics, () => {}, { requestResponse: false, tracing: new FrameTracing(true) })
    assert.equal(off.asked(payload, 'CP1'), undefined)
  })

  test('asked() keeps a valid traceparent, ignores a malformed one', () => {
    const r = new ResponseRoutes(topics, () => {}, { requestResponse: true, tracing: new FrameTracing(true) })
    const good = Buffer.from('{}')
    noteProps(good, { userProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })
    assert.deepEqual(r.asked(good, 'CP1'), { parent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
    // Relayed to the node that holds the charge point, the trace goes along.
    const relayed = relayPayload(JSON.parse(JSON.stringify(relayOf('CP1', 'ocpp/cs/CP1', 'n1', good))))
    assert.deepEqual(r.asked(relayed, 'CP1'), { parent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
    const bad = Buffer.from('{}')
    noteProps(bad, { userProperties: { traceparent: 'nonsense' } })
    assert.equal(r.asked(bad, 'CP1'), undefined)
  })
})

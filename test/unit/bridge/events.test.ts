/**
 * ConnectionEvents on its own: the members of connected, disconnected and unknown_charger
 * events (fixed members first, the event's own after), the topic and QoS, enable false, and
 * onPublished once per event.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { ConnectionEvents } from '../../../src/bridge/events.js'
import { Publisher } from '../../../src/bridge/publisher.js'
import { compileTopics } from '../../../src/bridge/topics.js'
import { buildConfig } from '../../../src/config/load.js'
import { dialects } from '../../../src/ocpp/dialect.js'
import { Metrics } from '../../../src/observability/metrics.js'
import type { Session } from '../../../src/session/session.js'
import { fakeSession } from '../../helpers/fake-backend.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'

const FIXED = ['event', 'cid', 'clientid', 'version', 'subprotocol', 'peer', 'username', 'listener', 'node', 'at']

type Json = Record<string, unknown>

function setup (o: { enable?: boolean, qos?: 0 | 1 | 2, layers?: Record<string, unknown> } = {}): { mqtt: FakeMqtt, events: ConnectionEvents, published: () => number } {
  const config = buildConfig([{ log: { level: 'silent' } }, o.layers ?? {}])
  const mqtt = new FakeMqtt()
  let n = 0
  const events = new ConnectionEvents({
    enable: o.enable ?? true,
    qos: o.qos ?? 1,
    nodeId: 'node-x',
    topics: compileTopics(config),
    publish: new Publisher(mqtt, new Metrics(), pino({ level: 'silent' })),
    onPublished: () => { n++ }
  })
  return { mqtt, events, published: () => n }
}

function assertRecent (iso: unknown): void {
  assert.equal(typeof iso, 'string')
  assert.equal(new Date(iso as string).toISOString(), iso)
  assert.ok(Math.abs(Date.parse(iso as string) - Date.now()) < 5000)
}

test('connected: the fixed members in order, on events/{cid} with the configured QoS', () => {
  const { mqtt, events, published } = setup({ qos: 2 })
  const { session } = fakeSession({ cid: 'CP-1', version: '2.0.1', peer: '10.0.0.5:5', username: 'op', listener: 'wss:main' })
  events.connected(session)
  assert.deepEqual(mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['ocpp/events/CP-1', 2, false]])
  const ev = JSON.parse(mqtt.published[0]!.payload) as Json
  assert.deepEqual(Object.keys(ev), FIXED)
  assertRecent(ev.at)
  assert.deepEqual({ ...ev, at: 'x' }, {
    event: 'connected', cid: 'CP-1', clientid: 'CP-1', version: '2.0.1', subprotocol: 'ocpp2.0.1', peer: '10.0.0.5:5', username: 'op', listener: 'wss:main', node: 'node-x', at: 'x'
  })
  assert.equal(published(), 1)
})

test('disconnected: reason, code, detail and duration_ms after the fixed members', () => {
  const { mqtt, events } = setup()
  const { session } = fakeSession({ cid: 'CP-2', version: '1.6' })
  events.disconnected(session, 'keepalive_timeout', 1001, 'no frame for 90 s')
  const ev = mqtt.on('ocpp/events/CP-2')[0] as Json
  assert.deepEqual(Object.keys(ev), [...FIXED, 'reason', 'code', 'detail', 'duration_ms'])
  assert.deepEqual([ev.event, ev.reason, ev.code, ev.detail], ['disconnected', 'keepalive_timeout', 1001, 'no frame for 90 s'])
  assert.equal(typeof ev.duration_ms, 'number')
  assert.ok((ev.duration_ms as number) >= 0)
  assert.ok((ev.duration_ms as number) < 5000)
})

test('disconnected: duration_ms is the time since the session connected', () => {
  const { mqtt, events } = setup()
  const { session } = fakeSession({ cid: 'CP-3' })
  const connectedAt = Date.now() - 12_345
  Object.defineProperty(session, 'connectedAt', { value: connectedAt })
  const before = Date.now()
  events.disconnected(session, 'closed_by_charger', 1000, '')
  const after = Date.now()
  const ev = mqtt.on('ocpp/events/CP-3')[0] as Json
  assert.ok((ev.duration_ms as number) >= before - connectedAt && (ev.duration_ms as number) <= after - connectedAt, String(ev.duration_ms))
  assert.equal(ev.detail, '')
})

test('unknown_charger: the fixed members only', () => {
  const { mqtt, events } = setup()
  const { session } = fakeSession({ cid: 'CP-X', version: '2.1' })
  events.unknown(session)
  const ev = mqtt.on('ocpp/events/CP-X')[0] as Json
  assert.deepEqual(Object.keys(ev), FIXED)
  assert.deepEqual([ev.event, ev.version, ev.subprotocol, ev.username], ['unknown_charger', '2.1', 'ocpp2.1', null])
})

test('no subprotocol and no username are null', () => {
  const { mqtt, events } = setup()
  const session = {
    cid: 'CP-4',
    dialect: dialects['1.6'],
    connectedAt: Date.now(),
    info: { cid: 'CP-4', dialect: dialects['1.6'], subprotocol: undefined, peer: 'p', username: undefined, listener: 'l' }
  } as unknown as Session
  events.connected(session)
  const ev = mqtt.on('ocpp/events/CP-4')[0] as Json
  assert.equal(ev.subprotocol, null)
  assert.equal(ev.username, null)
  assert.deepEqual(Object.keys(ev), FIXED)
})

test('the events topic template gets the cid and the session\'s version, under the mountpoint', () => {
  const { mqtt, events } = setup({ layers: { mountpoint: 'mp/', events: { topic: 'ev/${version}/${clientid}' } } })
  events.connected(fakeSession({ cid: 'CP-5', version: '2.0.1' }).session)
  assert.deepEqual(mqtt.published.map((m) => m.topic), ['mp/ev/2.0.1/CP-5'])
})

test('onPublished once per event, with each publish', () => {
  const { mqtt, events, published } = setup()
  const { session } = fakeSession({ cid: 'CP-6' })
  events.connected(session)
  assert.equal(published(), 1)
  events.unknown(session)
  assert.equal(published(), 2)
  events.disconnected(session, 'shutdown', 1001, 'bye')
  assert.equal(published(), 3)
  assert.deepEqual((mqtt.on('ocpp/events/CP-6') as Json[]).map((e) => e.event), ['connected', 'unknown_charger', 'disconnected'])
})

test('enable false: nothing published, onPublished never called', () => {
  const { mqtt, events, published } = setup({ enable: false })
  const { session } = fakeSession({ cid: 'CP-7' })
  events.connected(session)
  events.unknown(session)
  events.disconnected(session, 'takeover', 4002, 'replaced')
  assert.deepEqual(mqtt.published, [])
  assert.equal(published(), 0)
})

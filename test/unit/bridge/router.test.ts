/**
 * Downstream routing on a FakeMqtt: LocalRouter (embedded broker: one wildcard subscription
 * and a Map lookup) and ClusterRouter (external broker: a subscription per charge point, a
 * shared wildcard for offline answers, presence).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gatewayErrorEnvelope } from '../../../src/bridge/envelope.js'
import { CLEAR_DELAY_MS } from '../../../src/bridge/handoff.js'
import { NODE_ID, parts, routerOf, type Parts } from '../../helpers/fake-bridge.js'

const reset = (id = 'c1'): Record<string, unknown> => ({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })
const offlineAnswer = (id: string, action: string): unknown => gatewayErrorEnvelope(id, 'GenericError', 'gateway: the charge point is not connected', { reason: 'offline' }, action)

// ---- LocalRouter ----

test('local: start subscribes the one downstream wildcard', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  assert.deepEqual(p.mqtt.subscriptions, ['ocpp/cs/+'])
  await router.acquire('CP-1', '1.6')
  assert.deepEqual(p.mqtt.subscriptions, ['ocpp/cs/+'], 'no subscription per charge point')
  await router.stop()
  assert.deepEqual(p.mqtt.unsubscriptions, ['ocpp/cs/+'])
})

test('local: a held topic routes to its session: the socket receives the frame', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  p.mqtt.deliver('ocpp/cs/CP-1', reset())
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]])
  assert.deepEqual(p.mqtt.published, [])
  assert.equal(p.metrics.get('mqtt_received_total'), 1)
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 0)
  p.sessions.closeAll()
})

test('local: two acquires and one release keep routing; the last release stops it', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  router.release('CP-1', '1.6')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('c1'))
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]])
  router.release('CP-1', '1.6')
  // No longer held, the charge point still in the table: not delivered, not answered offline.
  p.mqtt.deliver('ocpp/cs/CP-1', reset('c2'))
  assert.equal(socket.sent.length, 1)
  assert.deepEqual(p.mqtt.published, [])
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 1)
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 0)
  p.sessions.closeAll()
})

test('local: a held topic whose charge point has no session is unroutable', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  p.mqtt.deliver('ocpp/cs/CP-1', reset())
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 1)
  assert.deepEqual(p.mqtt.published, [])
})

test('local: a Call on an unheld topic gets an offline answer on the error topic', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  p.mqtt.deliver('ocpp/cs/CP-9', reset('c9'))
  assert.deepEqual(p.mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['ocpp/cp/CP-9/Reply', 2, false]])
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-9/Reply'), [offlineAnswer('c9', 'Reset')])
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 1)
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 0)
})

test('local: offline, a non-Call is reported, an invalid envelope with an id answered, one without reported', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  p.mqtt.deliver('ocpp/cs/CP-9', { MessageTypeId: 3, UniqueId: 'r1', Payload: {} })
  p.mqtt.deliver('ocpp/cs/CP-9', { MessageTypeId: 2, UniqueId: 'bad1', Action: 'Reset' })
  p.mqtt.deliver('ocpp/cs/CP-9', 'not json')
  assert.deepEqual(p.mqtt.published.map((m) => [m.topic, m.qos]), [['ocpp/errors/CP-9', 1], ['ocpp/cp/CP-9/Reply', 2], ['ocpp/errors/CP-9', 1]])
  assert.deepEqual(p.mqtt.on('ocpp/errors/CP-9'), [
    { Origin: 'gateway', Error: 'offline', ErrorDescription: 'the charge point is not connected; the message was not delivered', cid: 'CP-9', UniqueId: 'r1' },
    { Origin: 'gateway', Error: 'offline', ErrorDescription: 'the charge point is not connected, and the envelope is invalid: envelope is not valid JSON', cid: 'CP-9' }
  ])
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-9/Reply'), [
    gatewayErrorEnvelope('bad1', 'FormatViolation', 'gateway: invalid envelope (and the charge point is not connected): Payload is missing or not a JSON object', { reason: 'invalid_envelope' }, 'Reset')
  ])
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 2)
  assert.equal(p.metrics.get('envelopes_invalid_total', 'invalid'), 1)
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 0)
})

test('local: offline_answer false: counted unroutable, nothing published', async () => {
  const p = parts('embedded', { dnstream: { offline_answer: false } })
  const router = routerOf(p)
  await router.start()
  assert.deepEqual(p.mqtt.subscriptions, ['ocpp/cs/+'])
  p.mqtt.deliver('ocpp/cs/CP-9', reset())
  p.mqtt.deliver('ocpp/cs/CP-8', 'junk')
  assert.deepEqual(p.mqtt.published, [])
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 2)
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 0)
})

test('local: another version\'s topic of a connected charge point is unroutable, not answered', async () => {
  const p = parts('embedded', { dnstream: { topic: 'cs/${version}/${cid}' } })
  const router = routerOf(p)
  await router.start()
  assert.deepEqual(p.mqtt.subscriptions, ['ocpp/cs/+/+'])
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1', '1.6')
  p.sessions.attach(session)
  p.mqtt.deliver('ocpp/cs/2.0.1/CP-1', reset('c1'))
  assert.deepEqual(socket.sent, [])
  assert.deepEqual(p.mqtt.published, [])
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 1)
  p.mqtt.deliver('ocpp/cs/1.6/CP-1', reset('c2'))
  assert.deepEqual(socket.sent, [[2, 'c2', 'Reset', { type: 'Soft' }]])
  p.sessions.closeAll()
})

test('local: an envelope over dnstream.max_payload_size is answered with its UniqueId; one at the limit delivered', async () => {
  const p = parts('embedded', { dnstream: { max_payload_size: 100 } })
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  const text = JSON.stringify({ MessageTypeId: 2, UniqueId: 'c1', Action: 'Reset', Payload: {} })
  const atLimit = text.slice(0, -1) + ' '.repeat(100 - text.length) + '}'
  assert.equal(Buffer.byteLength(atLimit), 100)
  p.mqtt.deliver('ocpp/cs/CP-1', atLimit)
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', {}]])
  const over = text.slice(0, -1) + ' '.repeat(101 - text.length) + '}'
  p.mqtt.deliver('ocpp/cs/CP-1', over)
  assert.equal(socket.sent.length, 1)
  assert.deepEqual(p.mqtt.published.map((m) => [m.topic, m.qos]), [['ocpp/cp/CP-1/Reply', 2]])
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-1/Reply'), [gatewayErrorEnvelope('c1', 'FormationViolation', 'gateway: invalid envelope: envelope of 101 bytes exceeds dnstream.max_payload_size (100)', { reason: 'invalid_envelope' }, 'Reset')])
  assert.equal(p.metrics.get('envelopes_invalid_total', 'too_large'), 1)
  assert.equal(p.metrics.get('mqtt_received_total'), 2)
  p.sessions.closeAll()
})

test('local: an invalid envelope for a held topic with a readable id is answered on the error topic', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '2.0.1')
  const { session, socket } = p.session('CP-1', '2.0.1')
  p.sessions.attach(session)
  p.mqtt.deliver('ocpp/cs/CP-1', { MessageTypeId: 6, UniqueId: 'x1', Action: 'NotifyX', Payload: {} })
  assert.deepEqual(socket.sent, [])
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-1/Reply'), [
    gatewayErrorEnvelope('x1', 'FormatViolation', 'gateway: invalid envelope: MessageTypeId 6 is not one of 2, 3, 4 (OCPP 2.0.1)', { reason: 'invalid_envelope' }, 'NotifyX')
  ])
  assert.equal(p.metrics.get('envelopes_invalid_total', 'invalid'), 1)
  p.sessions.closeAll()
})

test('local: announce publishes nothing', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  router.announce('CP-1', { since: 1, version: '1.6' })
  assert.deepEqual(p.mqtt.published, [])
  assert.equal(router.presence, undefined)
})

// ---- ClusterRouter ----

/** What the router published besides the node's own records (node and presence). */
const gatewayMessages = (p: Parts): unknown[] => p.mqtt.published.filter((m) => !m.topic.startsWith('ocpp/nodes/') && !m.topic.startsWith('ocpp/presence/'))

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
/** The record of a released charge point is cleared after CLEAR_DELAY_MS, then echoed. */
const cleared = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, CLEAR_DELAY_MS + 20))

test('cluster: start subscribes the handoff topic, the node directory and the shared wildcard (offline_answer on); no presence of other nodes', async () => {
  const p = parts('external', { dnstream: { share_group: 'grp' } })
  const router = routerOf(p)
  await router.start()
  // The sweep of this node's previous run's records is a one-off subscription (made at start).
  assert.deepEqual(p.mqtt.subscriptions, ['ocpp/nodes/node-a/handoff', 'ocpp/nodes/+', 'ocpp/presence/+/node-a', '$share/grp/ocpp/cs/+'])
  await router.stop()
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t !== 'ocpp/presence/+/node-a'), ['$share/grp/ocpp/cs/+', 'ocpp/nodes/node-a/handoff', 'ocpp/nodes/+'])
})

test('cluster: no shared subscription with offline_answer off; the mountpoint on presence', async () => {
  const p = parts('external', { mountpoint: 'mp/', dnstream: { offline_answer: false } })
  const router = routerOf(p)
  await router.start()
  assert.deepEqual(p.mqtt.subscriptions, ['mp/nodes/node-a/handoff', 'mp/nodes/+', 'mp/presence/+/node-a'])
  p.mqtt.deliver('mp/cs/CP-9', reset())
  await tick()
  assert.deepEqual(p.mqtt.published.map((m) => m.topic).filter((t) => !t.endsWith('/sync')), ['mp/nodes/node-a'], 'only the node record')
})

test('cluster: acquire subscribes the exact topic and its presence in one SUBSCRIBE, once; release unsubscribes on the last reference', async () => {
  const p = parts('external')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  await router.acquire('CP-1', '1.6')
  assert.deepEqual(p.mqtt.subscribePackets.at(-1), ['ocpp/cs/CP-1', 'ocpp/presence/CP-1/+'])
  assert.equal(p.mqtt.subscribePackets.filter((x) => x.includes('ocpp/cs/CP-1')).length, 1)
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  router.announce('CP-1', { since: session.connectedAt, version: '1.6' })
  await tick()
  router.release('CP-1', '1.6')
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.startsWith('ocpp/cs/')), [])
  p.mqtt.deliver('ocpp/cs/CP-1', reset('c1'))
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]])
  // As the bridge does: the record cleared, then the release; the subscription goes once the
  // broker has echoed the cleared record.
  p.sessions.closeAll()
  router.announce('CP-1', undefined)
  router.release('CP-1', '1.6')
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.startsWith('ocpp/cs/')), [])
  await tick()
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.startsWith('ocpp/cs/')), [], 'the record stays CLEAR_DELAY_MS')
  await cleared()
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.startsWith('ocpp/cs/')), ['ocpp/cs/CP-1'])
})

test('cluster: a failed subscribe removes the entry, so a retry subscribes again', async () => {
  const p = parts('external')
  const router = routerOf(p)
  await router.start()
  p.mqtt.failSubscribe = new Error('not authorised')
  await assert.rejects(router.acquire('CP-1', '1.6'), /not authorised/)
  assert.equal(router.presence?.watching('CP-1'), false)
  await router.acquire('CP-1', '1.6')
  assert.deepEqual(p.mqtt.subscriptions.filter((t) => t.includes('CP-1')), ['ocpp/cs/CP-1', 'ocpp/presence/CP-1/+'])
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  router.announce('CP-1', { since: session.connectedAt, version: '1.6' })
  await tick()
  p.mqtt.deliver('ocpp/cs/CP-1', reset('c1'))
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]])
  // One reference (the retry's): one release unsubscribes (after the echo of the cleared record).
  p.sessions.closeAll()
  router.announce('CP-1', undefined)
  router.release('CP-1', '1.6')
  await cleared()
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.startsWith('ocpp/cs/')), ['ocpp/cs/CP-1'])
})

test('cluster: a message on the shared subscription for a held topic is not answered offline; one for a topic nobody holds is, after a lookup', async () => {
  const p = parts('external')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  router.announce('CP-1', { since: session.connectedAt, version: '1.6' })
  await tick()
  // The FakeMqtt delivers to the exact subscription and to the shared wildcard.
  p.mqtt.deliver('ocpp/cs/CP-1', reset('c1'))
  assert.deepEqual(socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]])
  assert.deepEqual(gatewayMessages(p), [])
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 0)
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 0)
  assert.equal(p.metrics.get('cluster_lookups_total'), 0, 'no lookup for a charge point held here')
  // Not held: looked up (nobody), answered through the shared subscription.
  p.mqtt.deliver('ocpp/cs/CP-2', reset('c2'))
  await tick()
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-2/Reply'), [offlineAnswer('c2', 'Reset')])
  assert.equal(p.metrics.get('cluster_lookups_total'), 1)
  p.sessions.closeAll()
})

test('cluster: a lookup that finds another node\'s record relays the message to it instead of answering offline', async () => {
  const p = parts('external')
  const router = routerOf(p)
  await router.start()
  p.mqtt.retain('ocpp/presence/CP-9/node-b', { node: 'node-b', since: 1 })
  p.mqtt.retain('ocpp/presence/CP-9/node-c', { node: 'node-c', since: 2 })
  p.mqtt.deliver('ocpp/cs/CP-9', reset('c1'))
  await tick()
  assert.deepEqual(gatewayMessages(p), [])
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 0)
  assert.deepEqual(p.mqtt.on('ocpp/nodes/node-c/handoff'), [{ cid: 'CP-9', topic: 'ocpp/cs/CP-9', from: NODE_ID, relay: JSON.stringify(reset('c1')) }], 'to the newest holder')
  assert.equal(router.presence?.heldElsewhere('CP-9'), false, 'nothing kept after the lookup')
  p.mqtt.retain('ocpp/presence/CP-9/node-b', '')
  p.mqtt.retain('ocpp/presence/CP-9/node-c', '')
  p.mqtt.deliver('ocpp/cs/CP-9', reset('c2'))
  await tick()
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-9/Reply'), [offlineAnswer('c2', 'Reset')])
  assert.equal(p.metrics.get('gateway_answers_total', 'offline'), 1)
})

test('cluster: announce publishes retained presence, and clears it', async () => {
  const p = parts('external')
  const router = routerOf(p)
  await router.start()
  router.announce('CP-1', { since: 1_700_000_000_000, version: '1.6' })
  router.announce('CP-1', undefined)
  await cleared()
  assert.deepEqual(p.mqtt.published.filter((m) => !m.topic.endsWith('/sync')).map((m) => [m.topic, m.qos, m.retain]), [
    [`ocpp/nodes/${NODE_ID}`, 1, true],
    [`ocpp/presence/CP-1/${NODE_ID}`, 1, true],
    [`ocpp/presence/CP-1/${NODE_ID}`, 1, true]
  ])
  const [online, offline] = p.mqtt.on(`ocpp/presence/CP-1/${NODE_ID}`) as [Record<string, unknown>, string]
  assert.deepEqual(online, { node: NODE_ID, since: 1_700_000_000_000, version: '1.6', at: '2023-11-14T22:13:20.000Z' })
  assert.equal(offline, '')
})

test('offline answers go to the topics of the version the Call was sent on', async () => {
  const p = parts('embedded', { dnstream: { topic: 'cs/${version}/${cid}' }, upstream: { error_topic: 'cp/${version}/${cid}/Reply' } })
  const router = routerOf(p)
  await router.start()
  p.mqtt.deliver('ocpp/cs/2.0.1/CP-9', reset('v1'))
  assert.deepEqual(p.mqtt.on('ocpp/cp/2.0.1/CP-9/Reply'), [offlineAnswer('v1', 'Reset')])
  await router.stop()
})

test('max_json_depth: a deep downstream Call is answered invalid_envelope with its UniqueId, never parsed', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  const deep = '['.repeat(5000) + ']'.repeat(5000)
  p.mqtt.deliver('ocpp/cs/CP-1', `{"MessageTypeId":2,"UniqueId":"dd-1","Action":"DataTransfer","Payload":{"vendorId":"v","data":${deep}}}`)
  assert.deepEqual(socket.sent, [])
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-1/Reply'), [gatewayErrorEnvelope('dd-1', 'FormationViolation', 'gateway: invalid envelope: envelope nests deeper than 64 levels (max_json_depth)', { reason: 'invalid_envelope' }, 'DataTransfer')])
  p.sessions.closeAll()
  await router.stop()
})

test('the last-resort guard of a downstream message: a bug costs that message a report, not the process', async () => {
  const p = parts('embedded')
  const router = routerOf(p)
  await router.start()
  await router.acquire('CP-1', '1.6')
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  socket.send = () => { throw new Error('boom') }
  p.mqtt.deliver('ocpp/cs/CP-1', reset('g1'))
  assert.equal(p.metrics.get('internal_errors_total', 'downstream'), 1)
  const [report] = p.mqtt.on('ocpp/errors/CP-1') as Array<Record<string, unknown>>
  assert.equal(report?.Error, 'internal_error')
  p.sessions.closeAll()
  await router.stop()
})

test('offline, with ${version} in the topic: an invalid envelope on a 1.6 topic gets the 1.6 spelling', async () => {
  const p = parts('embedded', { dnstream: { topic: 'cs/${version}/${cid}' } })
  const router = routerOf(p)
  await router.start()
  p.mqtt.deliver('ocpp/cs/1.6/CP-9', { MessageTypeId: 2, UniqueId: 'v2', Action: 'Reset' })
  const [answer] = p.mqtt.on('ocpp/cp/CP-9/Reply') as Array<Record<string, unknown>>
  assert.equal(answer?.ErrorCode, 'FormationViolation')
  await router.stop()
})

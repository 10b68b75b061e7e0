/**
 * Presence on a FakeMqtt('external'): the `{prefix}+/+` subscription, what other nodes'
 * retained messages make of heldElsewhere/nodesOf, this node's own ignored, announce's
 * retained QoS 1 messages, and stop.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Presence } from '../../../src/bridge/presence.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'

const PREFIX = 'ocpp/presence/'
const NODE = 'node-a'

async function started (prefix = PREFIX): Promise<{ mqtt: FakeMqtt, presence: Presence }> {
  const mqtt = new FakeMqtt('external')
  const presence = new Presence(mqtt, prefix, NODE)
  await presence.start()
  return { mqtt, presence }
}

const online = (node: string): Record<string, unknown> => ({ node, at: '2024-01-01T00:00:00.000Z' })

test('start subscribes <prefix>+/+ with QoS 1', async () => {
  const { mqtt } = await started()
  assert.deepEqual(mqtt.subscriptions, ['ocpp/presence/+/+'])
  assert.deepEqual(mqtt.subscribeCalls, [{ topic: 'ocpp/presence/+/+', qos: 1 }])
  const other = await started('mp/presence/')
  assert.deepEqual(other.mqtt.subscriptions, ['mp/presence/+/+'])
})

test('nothing known: held by no other node', () => {
  const presence = new Presence(new FakeMqtt('external'), PREFIX, NODE)
  assert.equal(presence.heldElsewhere('CP-1'), false)
  assert.deepEqual(presence.nodesOf('CP-1'), [])
})

test('another node\'s message: heldElsewhere and nodesOf; an empty retained payload clears it', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  assert.equal(presence.heldElsewhere('CP-1'), true)
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b'])
  assert.equal(presence.heldElsewhere('CP-2'), false, 'only that charge point')
  assert.deepEqual(presence.nodesOf('CP-2'), [])
  mqtt.deliver('ocpp/presence/CP-1/node-b', '')
  assert.equal(presence.heldElsewhere('CP-1'), false)
  assert.deepEqual(presence.nodesOf('CP-1'), [])
})

test('two other nodes: cleared only when both are gone; a repeated message is one node', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  mqtt.deliver('ocpp/presence/CP-1/node-c', online('node-c'))
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b', 'node-c'])
  mqtt.deliver('ocpp/presence/CP-1/node-c', '')
  assert.equal(presence.heldElsewhere('CP-1'), true)
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', '')
  assert.equal(presence.heldElsewhere('CP-1'), false)
})

test('any non-empty payload counts as held (the payload is not parsed)', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('ocpp/presence/CP-1/node-b', 'not json')
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b'])
})

test('clearing a node or a charge point never seen changes nothing', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('ocpp/presence/CP-1/node-b', '')
  assert.equal(presence.heldElsewhere('CP-1'), false)
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  mqtt.deliver('ocpp/presence/CP-1/node-c', '')
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b'])
})

test('this node\'s own messages are ignored, online or empty; a node id it only prefixes is not its own', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver(`ocpp/presence/CP-1/${NODE}`, online(NODE))
  assert.equal(presence.heldElsewhere('CP-1'), false)
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  mqtt.deliver(`ocpp/presence/CP-1/${NODE}`, '')
  assert.deepEqual(presence.nodesOf('CP-1'), ['node-b'])
  mqtt.deliver(`ocpp/presence/CP-2/${NODE}2`, online(`${NODE}2`))
  assert.deepEqual(presence.nodesOf('CP-2'), [`${NODE}2`])
})

test('messages under another prefix or on other levels do not reach it', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('other/presence/CP-1/node-b', online('node-b'))
  mqtt.deliver('ocpp/presence/CP-1', online('node-b'))
  mqtt.deliver('ocpp/presence/CP-1/node-b/x', online('node-b'))
  assert.equal(presence.heldElsewhere('CP-1'), false)
})

test('announce online: retained QoS 1 JSON with node, since, version and at on <prefix><cid>/<node>', async () => {
  const { mqtt, presence } = await started('mp/presence/')
  const since = Date.UTC(2026, 0, 2, 3, 4, 5, 6)
  await presence.announce('CP-1', { since, version: '2.0.1' })
  assert.deepEqual(mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['mp/presence/CP-1/node-a', 1, true]])
  const body = JSON.parse(mqtt.published[0]!.payload) as Record<string, unknown>
  assert.deepEqual(body, { node: NODE, since, version: '2.0.1', at: '2026-01-02T03:04:05.006Z' })
})

test('announce offline: an empty retained QoS 1 message, which clears it at the broker', async () => {
  const { mqtt, presence } = await started()
  await presence.announce('CP-1', undefined)
  assert.deepEqual(mqtt.published, [{ topic: 'ocpp/presence/CP-1/node-a', payload: '', qos: 1, retain: true }])
})

test('its own announcement, delivered back by the broker, does not make it held elsewhere', async () => {
  const { mqtt, presence } = await started()
  await presence.announce('CP-1', { since: 1, version: '1.6' })
  const [own] = mqtt.published
  mqtt.deliver(own!.topic, own!.payload)
  assert.equal(presence.heldElsewhere('CP-1'), false)
})

test('stop unsubscribes the filter; later messages are not seen', async () => {
  const { mqtt, presence } = await started()
  mqtt.deliver('ocpp/presence/CP-1/node-b', online('node-b'))
  await presence.stop()
  assert.deepEqual(mqtt.unsubscriptions, ['ocpp/presence/+/+'])
  mqtt.deliver('ocpp/presence/CP-2/node-b', online('node-b'))
  assert.equal(presence.heldElsewhere('CP-2'), false)
})

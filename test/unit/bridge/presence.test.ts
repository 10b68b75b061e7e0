/**
 * Presence on a FakeMqtt('external'): records are kept for watched charge points only (the
 * subscription per own charge point), other nodes' records make heldElsewhere/holders, this
 * node's own go to the `own` hook, a lost node's to `stale`; unwatch forgets; announce's
 * retained QoS 1 messages; PresenceLookup's one-off subscription and sweep.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Presence, type Holding } from '../../../src/bridge/presence.js'
import { PresenceLookup } from '../../../src/bridge/presence-lookup.js'
import { pino } from 'pino'
import { Metrics } from '../../../src/observability/metrics.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'

const PREFIX = 'ocpp/presence/'
const NODE = 'node-a'

function watched (cids: string[], alive?: (node: string) => boolean): { mqtt: FakeMqtt, presence: Presence } {
  const mqtt = new FakeMqtt('external')
  const presence = new Presence(mqtt, PREFIX, NODE, alive)
  for (const cid of cids) if (presence.watch(cid)) void mqtt.subscribe(presence.filter(cid), 1, presence.handler)
  return { mqtt, presence }
}

const rec = (node: string, since = 1): Record<string, unknown> => ({ node, since, version: '1.6' })
const nodes = (hs: Holding[]): string[] => hs.map((h) => h.node)

test('the filter of one charge point; the first watcher subscribes it, the last unwatch unsubscribes it', async () => {
  const { mqtt, presence } = watched(['CP-1'])
  assert.equal(presence.filter('CP-1'), 'ocpp/presence/CP-1/+')
  assert.deepEqual(mqtt.subscriptions, ['ocpp/presence/CP-1/+'])
  assert.equal(presence.watch('CP-1'), false, 'a second watcher')
  presence.unwatch('CP-1')
  assert.deepEqual(mqtt.unsubscriptions, [])
  presence.unwatch('CP-1')
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(mqtt.unsubscriptions, ['ocpp/presence/CP-1/+'])
  assert.equal(presence.watching('CP-1'), false)
})

test('another node\'s record of a watched charge point: heldElsewhere and holders; an empty payload clears it', () => {
  const { mqtt, presence } = watched(['CP-1'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  assert.equal(presence.heldElsewhere('CP-1'), true)
  assert.deepEqual(nodes(presence.holders('CP-1')), ['node-b'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', '')
  assert.equal(presence.heldElsewhere('CP-1'), false)
})

test('records of charge points not watched are not kept: memory grows with the watched ones', () => {
  const { mqtt, presence } = watched(['CP-1'])
  // Even if such a message reached the handler (another subscription's), it is not stored.
  for (let i = 0; i < 100; i++) presence.handler(`ocpp/presence/X-${i}/node-b`, Buffer.from(JSON.stringify(rec('node-b'))))
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  assert.deepEqual(presence.size, { watched: 1, records: 1 })
  assert.equal(presence.heldElsewhere('X-1'), false)
})

test('two other nodes: cleared only when both are gone; a repeated record is one node', () => {
  const { mqtt, presence } = watched(['CP-1'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  mqtt.deliver('ocpp/presence/CP-1/node-c', rec('node-c'))
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b', 2))
  assert.deepEqual(nodes(presence.holders('CP-1')), ['node-b', 'node-c'])
  mqtt.deliver('ocpp/presence/CP-1/node-c', '')
  assert.deepEqual(nodes(presence.holders('CP-1')), ['node-b'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', '')
  assert.equal(presence.heldElsewhere('CP-1'), false)
})

test('hooks: claimed (live or replayed), own, stale for a node that is not alive', () => {
  const { mqtt, presence } = watched(['CP-1'], (n) => n !== 'node-x')
  const seen: unknown[] = []
  presence.observe({
    claimed: (cid, h, retained) => seen.push(['claimed', cid, h.node, retained]),
    own: (cid, h, retained) => seen.push(['own', cid, h?.node, retained]),
    stale: (cid, h) => seen.push(['stale', cid, h.node])
  })
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'), true)
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  mqtt.deliver(`ocpp/presence/CP-1/${NODE}`, rec(NODE))
  mqtt.deliver(`ocpp/presence/CP-1/${NODE}`, '')
  mqtt.deliver('ocpp/presence/CP-1/node-x', rec('node-x'))
  assert.deepEqual(seen, [['claimed', 'CP-1', 'node-b', true], ['claimed', 'CP-1', 'node-b', false], ['own', 'CP-1', NODE, false], ['own', 'CP-1', undefined, false], ['stale', 'CP-1', 'node-x']])
  assert.deepEqual(nodes(presence.holders('CP-1')), ['node-b'])
})

test('a record in another shape still means held; other prefixes and levels are not records', () => {
  const { mqtt, presence } = watched(['CP-1'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', 'not json')
  assert.deepEqual(presence.holders('CP-1').map((h) => [h.node, h.since, h.version]), [['node-b', 0, undefined]])
  assert.equal(presence.parse('other/presence/CP-1/node-b', Buffer.from('x')), undefined)
  assert.equal(presence.parse('ocpp/presence/CP-1/node-b/extra', Buffer.from('x')), undefined)
  assert.equal(presence.parse('ocpp/presence//node-b', Buffer.from('x')), undefined)
})

test('announce publishes a retained QoS 1 record and clears it; clear empties another node\'s', async () => {
  const { mqtt, presence } = watched([])
  await presence.announce('CP-1', { since: 1_700_000_000_000, version: '2.0.1' })
  await presence.announce('CP-1', undefined)
  await presence.clear('CP-2', 'node-x')
  assert.deepEqual(mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['ocpp/presence/CP-1/node-a', 1, true], ['ocpp/presence/CP-1/node-a', 1, true], ['ocpp/presence/CP-2/node-x', 1, true]])
  assert.deepEqual(JSON.parse(mqtt.published[0]?.payload ?? ''), { node: NODE, since: 1_700_000_000_000, version: '2.0.1', at: '2023-11-14T22:13:20.000Z' })
  assert.equal(mqtt.published[1]?.payload, '')
})

test('stop unsubscribes every watched charge point and forgets their records', async () => {
  const { mqtt, presence } = watched(['CP-1', 'CP-2'])
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  await presence.stop()
  assert.deepEqual(mqtt.unsubscriptions.sort(), ['ocpp/presence/CP-1/+', 'ocpp/presence/CP-2/+'])
  assert.deepEqual(presence.size, { watched: 0, records: 0 })
})

test('lookup: a one-off subscription returns the live retained records, then is dropped; lookups at once share it', async () => {
  const mqtt = new FakeMqtt('external')
  const presence = new Presence(mqtt, PREFIX, NODE, (n) => n !== 'node-x')
  const lookup = new PresenceLookup(mqtt, presence, 'ocpp/nodes/', { nodeId: NODE, metrics: new Metrics(), log: pino({ level: 'silent' }) })
  mqtt.retain('ocpp/presence/CP-1/node-b', rec('node-b', 5))
  mqtt.retain('ocpp/presence/CP-1/node-x', rec('node-x', 6))
  const [a, b, none] = await Promise.all([lookup.lookup('CP-1'), lookup.lookup('CP-1'), lookup.lookup('CP-2')])
  assert.deepEqual(nodes(a), ['node-b'], 'a record of a node that is gone does not count')
  assert.equal(a, b, 'one lookup for both')
  assert.deepEqual(none, [])
  assert.equal(lookup.made, 2)
  assert.deepEqual(mqtt.subscriptions, ['ocpp/presence/CP-1/+', 'ocpp/presence/CP-2/+'])
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(mqtt.unsubscriptions, ['ocpp/presence/CP-1/+', 'ocpp/presence/CP-2/+'])
  assert.deepEqual(presence.size, { watched: 0, records: 0 })
  assert.deepEqual(mqtt.published.map((m) => [m.topic, m.qos, m.retain]), [['ocpp/nodes/node-a/sync', 1, false], ['ocpp/nodes/node-a/sync', 1, false]], 'the sync round trip after each replay')
})

test('lookup of a watched charge point: from memory, no subscription', async () => {
  const { mqtt, presence } = watched(['CP-1'])
  const lookup = new PresenceLookup(mqtt, presence, 'ocpp/nodes/', { nodeId: NODE, metrics: new Metrics(), log: pino({ level: 'silent' }) })
  mqtt.deliver('ocpp/presence/CP-1/node-b', rec('node-b'))
  assert.deepEqual(nodes(await lookup.lookup('CP-1')), ['node-b'])
  assert.equal(lookup.made, 0)
})

test('sweep: every retained record of one node, once each, then unsubscribed', async () => {
  const mqtt = new FakeMqtt('external')
  const presence = new Presence(mqtt, PREFIX, NODE)
  const lookup = new PresenceLookup(mqtt, presence, 'ocpp/nodes/', { nodeId: NODE, metrics: new Metrics(), log: pino({ level: 'silent' }) })
  mqtt.retain('ocpp/presence/CP-1/node-x', rec('node-x', 1))
  mqtt.retain('ocpp/presence/CP-2/node-x', rec('node-x', 2))
  mqtt.retain('ocpp/presence/CP-3/node-y', rec('node-y', 3))
  const found: Array<[string, number]> = []
  const count = await lookup.sweep('node-x', (cid, h) => { found.push([cid, h.since]); mqtt.deliver(`ocpp/presence/${cid}/node-x`, '') })
  assert.equal(count, 2)
  assert.deepEqual(found, [['CP-1', 1], ['CP-2', 2]])
  assert.deepEqual(mqtt.subscriptions, ['ocpp/presence/+/node-x'])
  assert.deepEqual(mqtt.unsubscriptions, ['ocpp/presence/+/node-x'])
})

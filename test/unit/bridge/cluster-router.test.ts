/**
 * ClusterRouter's cluster rules on a FakeMqtt('external') that, like a broker, hands a
 * node's own publishes back to its subscriptions: newest wins across nodes, the hold-back of
 * downstream messages until the old node's handoff, the cleanup after a lost node, and what
 * is said again on a re-connection.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NODE_ID, parts, routerOf, type Parts } from '../../helpers/fake-bridge.js'
import type { ClusterRouter } from '../../../src/bridge/cluster-router.js'
import { LOST_CONFIRM_MS } from '../../../src/bridge/nodes.js'
import { SWEEP_QUIET_MS } from '../../../src/bridge/presence-lookup.js'

const reset = (id: string): Record<string, unknown> => ({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })

async function cluster (): Promise<{ p: Parts, router: ClusterRouter }> {
  const p = parts('external')
  const router = routerOf(p) as ClusterRouter
  await router.start()
  return { p, router }
}

/** acquire + attach + announce, as the bridge does for a new connection. */
async function connect (p: Parts, router: ClusterRouter, cid: string): Promise<ReturnType<Parts['session']>> {
  await router.acquire(cid, '1.6')
  const fs = p.session(cid)
  p.sessions.attach(fs.session)
  router.announce(cid, { since: fs.session.connectedAt, version: '1.6' })
  // The broker hands the record back (a microtask later on the FakeMqtt).
  await new Promise((resolve) => setImmediate(resolve))
  return fs
}

test('a newer record of another node for a held charge point closes it with 4002; an older one does not', async () => {
  const { p, router } = await cluster()
  const { session, socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/presence/CP-1/node-b', { node: 'node-b', since: session.connectedAt - 1000, version: '1.6' })
  assert.equal(socket.closedWith, undefined, 'an older connection elsewhere changes nothing')
  p.mqtt.deliver('ocpp/presence/CP-1/node-b', { node: 'node-b', since: session.connectedAt - 1000, version: '1.6' }, true)
  assert.equal(socket.closedWith, undefined)
  p.mqtt.deliver('ocpp/presence/CP-1/node-c', { node: 'node-c', since: session.connectedAt + 5, version: '1.6' }, true)
  assert.equal(socket.closedWith, undefined, 'a retained replay is no news')
  p.mqtt.deliver('ocpp/presence/CP-1/node-c', { node: 'node-c', since: session.connectedAt + 5, version: '1.6' })
  assert.deepEqual(socket.closedWith, { code: 4002, reason: 'replaced by a connection on node node-c' })
  assert.equal(p.metrics.get('cluster_takeovers_total'), 1)
  assert.equal(session.closed, true)
})

test('same instant on two nodes: the higher node id wins, on both', async () => {
  const { p, router } = await cluster()
  const { session, socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/presence/CP-1/node-0', { node: 'node-0', since: session.connectedAt })
  assert.equal(socket.closedWith, undefined, `${NODE_ID} > node-0: it keeps the connection`)
  p.mqtt.deliver('ocpp/presence/CP-1/node-z', { node: 'node-z', since: session.connectedAt })
  assert.deepEqual((socket.closedWith as unknown as { code: number }).code, 4002)
})

test('a charge point no other node holds: its downstream messages are delivered once its session is attached', async () => {
  const { p, router } = await cluster()
  await router.acquire('CP-1', '1.6')
  // Subscribed before the upgrade is answered: what comes before the session waits for it.
  p.mqtt.deliver('ocpp/cs/CP-1', reset('first'))
  const { session, socket } = p.session('CP-1')
  p.sessions.attach(session)
  router.announce('CP-1', { since: session.connectedAt, version: '1.6' })
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(socket.sent, [[2, 'first', 'Reset', { type: 'Soft' }]])
  socket.receive([3, 'first', { status: 'Accepted' }])
  p.mqtt.deliver('ocpp/cs/CP-1', reset('second'))
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['first', 'second'])
  assert.equal(p.metrics.get('cluster_handed_over_total'), 0)
  p.sessions.closeAll()
})

test('taking over from another node: messages held back until its handoff, then delivered except those it handled', async () => {
  const { p, router } = await cluster()
  p.mqtt.retain('ocpp/presence/CP-1/node-b', { node: 'node-b', since: 1, version: '1.6' })
  const { socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('handled-by-b'))
  p.mqtt.deliver('ocpp/cs/CP-1', reset('not-seen-by-b'))
  assert.deepEqual(socket.sent, [], 'held until node-b says what it handled')
  p.mqtt.deliver(`ocpp/nodes/${NODE_ID}/handoff`, { cid: 'CP-1', from: 'node-b', ids: ['handled-by-b', 'older'] })
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['not-seen-by-b'])
  assert.equal(p.metrics.get('cluster_handed_over_total'), 1)
  socket.receive([3, 'not-seen-by-b', { status: 'Accepted' }])
  p.mqtt.deliver('ocpp/cs/CP-1', reset('after'))
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['not-seen-by-b', 'after'])
  p.sessions.closeAll()
})

test('taking over from a node that sends no handoff: what was held back is delivered after 3 s', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { p, router } = await cluster()
  p.mqtt.retain('ocpp/presence/CP-1/node-b', { node: 'node-b', since: 1, version: '1.6' })
  const { socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('waiting'))
  t.mock.timers.tick(2999)
  assert.deepEqual(socket.sent, [])
  t.mock.timers.tick(1)
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['waiting'])
  p.sessions.closeAll()
})

test('taking over from a node that is lost meanwhile: delivered at once', async () => {
  const { p, router } = await cluster()
  p.mqtt.retain('ocpp/presence/CP-1/node-b', { node: 'node-b', since: 1, version: '1.6' })
  const { socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('waiting'))
  p.mqtt.deliver('ocpp/nodes/node-b', { status: 'lost', node: 'node-b' })
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['waiting'])
  p.sessions.closeAll()
})

test('an upgrade that does not become a session: what was held back for it is answered offline', async () => {
  const { p, router } = await cluster()
  await router.acquire('CP-1', '1.6')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('orphan'))
  router.release('CP-1', '1.6')
  assert.deepEqual((p.mqtt.on('ocpp/cp/CP-1/Reply') as Array<{ UniqueId: string, ErrorDetails: unknown }>).map((m) => [m.UniqueId, m.ErrorDetails]), [['orphan', { reason: 'offline' }]])
})

test('the old node: at the newer record it closes, then hands over the UniqueIds it received lately', async () => {
  const { p, router } = await cluster()
  const { session, socket } = await connect(p, router, 'CP-1')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('d1'))
  socket.receive([3, 'd1', { status: 'Accepted' }])
  p.mqtt.deliver('ocpp/cs/CP-1', reset('d2'))
  p.mqtt.deliver('ocpp/presence/CP-1/node-c', { node: 'node-c', since: session.connectedAt + 1, version: '1.6' })
  assert.equal(session.closed, true)
  assert.deepEqual(p.mqtt.on('ocpp/nodes/node-c/handoff'), [{ cid: 'CP-1', from: NODE_ID, ids: ['d1', 'd2'] }])
  // d2 was owed: answered "disconnected" by this node, so node-c must not deliver it again.
  assert.deepEqual((p.mqtt.on('ocpp/cp/CP-1/Reply') as Array<{ UniqueId: string, ErrorDetails: unknown }>).map((m) => [m.UniqueId, m.ErrorDetails]), [['d1', undefined], ['d2', { reason: 'disconnected' }]])
})

test('after a takeover to another node, its later messages are left to that node (counted), not reported unroutable', async () => {
  const { p, router } = await cluster()
  const { session } = await connect(p, router, 'CP-1')
  // Closed by the takeover; the record of node-b is known.
  p.mqtt.deliver('ocpp/presence/CP-1/node-b', { node: 'node-b', since: session.connectedAt + 1 })
  assert.equal(session.closed, true)
  assert.equal(router.presence?.heldElsewhere('CP-1'), true)
  p.mqtt.deliver('$share/ocpp-gateway/ocpp/cs/CP-1', reset('x'))
  assert.equal(p.metrics.get('envelopes_unroutable_total'), 0)
  assert.deepEqual(p.mqtt.on('ocpp/cp/CP-1/Reply'), [], 'not answered offline either')
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('a lost node (its will, not followed by its online record): its records swept, cleared, one node_lost report per charge point by the lowest live node', async () => {
  const { p, router } = await cluster()
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'online', node: 'node-x' })
  p.mqtt.retain('ocpp/presence/CP-1/node-x', { node: 'node-x', since: 1000, version: '2.0.1' })
  p.mqtt.retain('ocpp/presence/CP-2/node-x', { node: 'node-x', since: 2000, version: '1.6' })
  p.mqtt.retain('ocpp/presence/CP-3/node-y', { node: 'node-y', since: 3000, version: '1.6' })
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'lost', node: 'node-x' })
  assert.equal(p.lost.length, 0, 'not before LOST_CONFIRM_MS: it may be a replaced connection')
  await sleep(LOST_CONFIRM_MS + 100)
  assert.deepEqual(p.lost.map((l) => [l.cid, l.h.node, l.h.version, l.h.since]), [['CP-1', 'node-x', '2.0.1', 1000], ['CP-2', 'node-x', '1.6', 2000]])
  assert.deepEqual(p.mqtt.published.filter((m) => m.topic.includes('/node-x')).map((m) => [m.topic, m.payload, m.retain]), [
    ['ocpp/presence/CP-1/node-x', '', true],
    ['ocpp/presence/CP-2/node-x', '', true]
  ])
  assert.equal(p.metrics.get('cluster_nodes_lost_total'), 1)
  assert.equal(p.metrics.get('cluster_chargers_lost_total'), 2)
  assert.equal(router.presence?.size.watched, 0, 'no record of the lost node kept')
  // A Call for one of them is answered offline now (looked up: nobody holds it).
  p.mqtt.deliver('ocpp/cs/CP-1', reset('after'))
  await sleep(10)
  assert.deepEqual((p.mqtt.on('ocpp/cp/CP-1/Reply')[0] as { ErrorDetails: unknown }).ErrorDetails, { reason: 'offline' })
  await sleep(SWEEP_QUIET_MS + 100)
  assert.deepEqual(p.mqtt.unsubscriptions.filter((t) => t.includes('node-x')), ['ocpp/presence/+/node-x'], 'the sweep\'s subscription is dropped')
})

test('a will followed by the node\'s online record (its own re-connection replaced the connection): not lost', async () => {
  const { p } = await cluster()
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'online', node: 'node-x', since: 5 })
  p.mqtt.retain('ocpp/presence/CP-1/node-x', { node: 'node-x', since: 1000, version: '1.6' })
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'lost', node: 'node-x', since: 5 })
  await sleep(50)
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'online', node: 'node-x', since: 5 })
  await sleep(LOST_CONFIRM_MS + 100)
  assert.deepEqual(p.lost, [])
  assert.equal(p.metrics.get('cluster_nodes_lost_total'), 0)
  assert.deepEqual(p.mqtt.published.filter((m) => m.topic.includes('/node-x')), [], 'its records untouched')
})

test('a lost node\'s charge points are cleaned up by one survivor only: a live node with a lower id does it', async () => {
  const { p } = await cluster()
  p.mqtt.deliver('ocpp/nodes/node-0', { status: 'online', node: 'node-0' })
  p.mqtt.retain('ocpp/presence/CP-1/node-x', { node: 'node-x', since: 1000 })
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'lost', node: 'node-x' })
  await sleep(50)
  assert.deepEqual(p.lost, [], `node-0 < ${NODE_ID}: node-0 reports`)
  assert.deepEqual(p.mqtt.published.filter((m) => m.topic.includes('/node-x')), [])
  assert.deepEqual(p.mqtt.subscriptions.filter((t) => t.includes('node-x')), [], 'no sweep either')
})

test('a record of a node already known lost (a retained leftover) is cleaned up when a lookup reads it, and the Call answered offline', async () => {
  const { p } = await cluster()
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'lost', node: 'node-x' }, true)
  await sleep(SWEEP_QUIET_MS + 100)
  p.mqtt.retain('ocpp/presence/CP-7/node-x', { node: 'node-x', since: 1 })
  p.mqtt.deliver('ocpp/cs/CP-7', reset('late'))
  await sleep(10)
  assert.deepEqual(p.lost.map((l) => l.cid), ['CP-7'])
  assert.deepEqual(p.mqtt.on('ocpp/presence/CP-7/node-x'), [''])
  assert.deepEqual((p.mqtt.on('ocpp/cp/CP-7/Reply') as Array<{ ErrorDetails: unknown }>).map((m) => m.ErrorDetails), [{ reason: 'offline' }])
})

test('a stopped node is forgotten without node_lost reports (it said its own goodbyes); a takeover from it waits no longer', async () => {
  const { p, router } = await cluster()
  p.mqtt.retain('ocpp/presence/CP-1/node-x', { node: 'node-x', since: 1 })
  const { socket } = await connect(p, router, 'CP-1')
  assert.equal(router.presence?.heldElsewhere('CP-1'), true)
  p.mqtt.deliver('ocpp/cs/CP-1', reset('held'))
  assert.deepEqual(socket.sent, [])
  p.mqtt.deliver('ocpp/nodes/node-x', { status: 'stopped', node: 'node-x', released: { 'CP-1': [] } })
  assert.equal(router.presence?.heldElsewhere('CP-1'), false)
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['held'])
  assert.equal(p.metrics.get('cluster_nodes_lost_total'), 0)
  p.sessions.closeAll()
})

test('own records: a retained one of a previous run is swept and cleared at start; one cleared by someone else while held is said again', async () => {
  const p = parts('external')
  p.mqtt.retain(`ocpp/presence/OLD/${NODE_ID}`, { node: NODE_ID, since: 1 })
  const router = routerOf(p) as ClusterRouter
  await router.start()
  await sleep(SWEEP_QUIET_MS + 100)
  assert.deepEqual(p.mqtt.on(`ocpp/presence/OLD/${NODE_ID}`), [''])
  const { session } = await connect(p, router, 'CP-1')
  const before = p.mqtt.on(`ocpp/presence/CP-1/${NODE_ID}`).length
  p.mqtt.deliver(`ocpp/presence/CP-1/${NODE_ID}`, '')
  const after = p.mqtt.on(`ocpp/presence/CP-1/${NODE_ID}`)
  assert.equal(after.length, before + 1)
  assert.equal((after.at(-1) as { since: number }).since, session.connectedAt)
  p.sessions.closeAll()
})

test('a re-connection says the node record and every held charge point again; its own will read back is answered online', async () => {
  const { p, router } = await cluster()
  await connect(p, router, 'CP-1')
  await connect(p, router, 'CP-2')
  p.mqtt.published.length = 0
  p.mqtt.reconnect()
  assert.deepEqual(p.mqtt.published.map((m) => m.topic).sort(), [`ocpp/nodes/${NODE_ID}`, `ocpp/presence/CP-1/${NODE_ID}`, `ocpp/presence/CP-2/${NODE_ID}`])
  p.mqtt.published.length = 0
  p.mqtt.deliver(`ocpp/nodes/${NODE_ID}`, { status: 'lost', node: NODE_ID })
  assert.deepEqual(p.mqtt.published.map((m) => [m.topic, (JSON.parse(m.payload) as { status: string }).status]), [[`ocpp/nodes/${NODE_ID}`, 'online']])
  p.sessions.closeAll()
})

test('stop says "stopped" on the node record', async () => {
  const { p, router } = await cluster()
  await router.stop()
  assert.deepEqual(p.mqtt.on(`ocpp/nodes/${NODE_ID}`).map((v) => (v as { status: string }).status), ['online', 'stopped'])
})

test('a handoff wait that ends without a handoff, on a broker that never echoes the record: delivered after the echo fallback too', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { p, router } = await cluster()
  p.mqtt.loopback = false
  p.mqtt.retain('ocpp/presence/CP-1/node-b', { node: 'node-b', since: 1, version: '1.6' })
  const { socket } = await connect(p, router, 'CP-1')
  // Own and shared copy (this node was the pick): delivered once the wait is over.
  p.mqtt.deliver('ocpp/cs/CP-1', reset('waiting'))
  t.mock.timers.tick(3000)
  assert.deepEqual(socket.sent, [], 'no handoff: still waiting for its own record to come back')
  t.mock.timers.tick(3000)
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['waiting'], 'the echo fallback was armed')
  p.sessions.closeAll()
})

test('a relay from the pick for a held charge point: delivered once, whichever copy comes first', async () => {
  const { p, router } = await cluster()
  const { socket } = await connect(p, router, 'CP-1')
  const relay = (id: string): void => p.mqtt.deliver(`ocpp/nodes/${NODE_ID}/handoff`, { cid: 'CP-1', topic: 'ocpp/cs/CP-1', from: 'node-c', relay: JSON.stringify(reset(id)) })
  relay('r1')
  p.mqtt.deliver('ocpp/cs/CP-1', reset('r1'))
  socket.receive([3, 'r1', { status: 'Accepted' }])
  p.mqtt.deliver('ocpp/cs/CP-1', reset('r2'))
  relay('r2')
  assert.deepEqual((socket.sent as unknown[][]).map((f) => f[1]), ['r1', 'r2'])
  // A relay naming a topic of another charge point is ignored.
  p.mqtt.deliver(`ocpp/nodes/${NODE_ID}/handoff`, { cid: 'CP-1', topic: 'ocpp/cs/CP-2', from: 'node-c', relay: JSON.stringify(reset('x')) })
  assert.equal((socket.sent as unknown[][]).length, 2)
  p.sessions.closeAll()
})

test('a released charge point: its own copies are left to the pick; a relay is answered offline once', async () => {
  const { p, router } = await cluster()
  const { session } = await connect(p, router, 'CP-1')
  p.sessions.closeAll()
  router.announce('CP-1', undefined)
  router.release('CP-1', session.dialect.version)
  const replies = (): unknown[] => (p.mqtt.on('ocpp/cp/CP-1/Reply') as Array<{ UniqueId: string, ErrorDetails: unknown }>).map((m) => [m.UniqueId, m.ErrorDetails])
  const relay = { cid: 'CP-1', topic: 'ocpp/cs/CP-1', from: 'node-c', relay: JSON.stringify(reset('late')) }
  p.mqtt.deliver(`ocpp/nodes/${NODE_ID}/handoff`, relay)
  p.mqtt.deliver(`ocpp/nodes/${NODE_ID}/handoff`, relay)
  assert.deepEqual(replies(), [['late', { reason: 'offline' }]])
})

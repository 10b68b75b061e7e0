/**
 * The scaling property of the cluster design (docs/cluster.md, "Sizing"): what a node keeps and
 * receives about presence grows with its own charge points, not with the fleet. Two gateway
 * nodes on one real Mosquitto: node a holds 5 charge points, node b 500. Node a keeps records
 * and subscriptions for its 5 only, and receives no presence message while node b's 500 connect
 * (counted on node a's own MQTT connection); a Call to one of node b's charge points still
 * reaches it, whichever node the shared subscription picks, and one nobody holds is answered
 * offline once.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import type { ExternalBroker } from '../../src/bridge/adapters/external-broker.js'
import { startMosquitto, mosquittoSkip, type Mosquitto } from '../helpers/mosquitto.js'
import { connectBackend, connectChargePoint, waitFor, type Backend, type ChargePoint } from '../helpers/clients.js'
import { answersById, echoCharger, resetCall } from '../helpers/cluster-clients.js'

const skip = mosquittoSkip()

function startNode (id: string, url: string): Promise<Gateway> {
  return startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    node_id: id,
    allow_anonymous: true,
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { url },
    log: { level: 'silent' }
  }]), { logger: pino({ level: 'silent' }), sweepPeriodMs: 100, shutdownGraceMs: 500 })
}

/** Broker subscriptions of a node's MQTT connection (the adapter's own table). */
const subscriptionsOf = (gw: Gateway): number => (gw.mqtt as unknown as { subscriptions: Map<string, unknown> }).subscriptions.size

describe('presence scales with a node\'s own charge points', { skip }, () => {
  let mosquitto: Mosquitto
  let a: Gateway
  let b: Gateway
  let backend: Backend
  const chargers: ChargePoint[] = []
  const wsUrl = (gw: Gateway): string => `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`

  before(async () => {
    // As the bench runs it: without TCP_NODELAY each lookup's round trips can wait for a delayed ACK (40 ms).
    mosquitto = await startMosquitto(['set_tcp_nodelay true'])
    a = await startNode('node-a', mosquitto.url)
    b = await startNode('node-b', mosquitto.url)
    backend = await connectBackend(mosquitto.url, ['ocpp/cp/#'])
    ;(backend.client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
  })
  after(async () => {
    await Promise.all(chargers.map(async (cp) => await cp.close().catch(() => {})))
    await backend?.close()
    await a?.close()
    await b?.close()
    await mosquitto?.stop()
  })

  test('node a (5 charge points) keeps and receives presence for its 5 only while node b connects 500', async () => {
    for (let i = 0; i < 5; i++) chargers.push(await echoCharger(`${wsUrl(a)}/a-${i}`))
    await waitFor(() => a.sessions.size === 5)
    // The start's one-off sweep of its own previous records is over by now.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const baseSubs = subscriptionsOf(a)
    // Node a's presence traffic, on its own MQTT connection, from here on.
    const presenceIn: string[] = []
    ;(a.mqtt as ExternalBroker).client.on('message', (topic) => { if (topic.startsWith('ocpp/presence/')) presenceIn.push(topic) })
    const started = Date.now()
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, async (_, j) => await connectChargePoint(`${wsUrl(b)}/b-${i + j}`)))
      chargers.push(...batch)
    }
    await waitFor(() => b.sessions.size === 500, 30_000)
    const connectMs = Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 500))
    const pa = a.bridge.presence?.size
    const pb = b.bridge.presence?.size
    console.log(`# scale: node b connected 500 in ${connectMs} ms; node a: ${pa?.watched ?? -1} watched, ${pa?.records ?? -1} other nodes' records, ${subscriptionsOf(a)} broker subscriptions (${baseSubs} before), ${presenceIn.length} presence messages in ${JSON.stringify(presenceIn.slice(0, 5))}; node b: ${pb?.watched ?? -1} watched, ${subscriptionsOf(b)} subscriptions`)
    assert.equal(pa?.watched, 5, 'node a watches its own 5')
    assert.equal(pa?.records, 0, 'and keeps no record of another node')
    assert.equal(subscriptionsOf(a), baseSubs, 'no subscription for node b\'s charge points')
    assert.deepEqual(presenceIn, [], 'no presence message for node b\'s 500 connects')
    assert.equal(pb?.watched, 500)
    // 2 per charge point (downstream topic, presence) and a few node-wide ones.
    assert.ok(subscriptionsOf(b) >= 1000 && subscriptionsOf(b) <= 1010, `node b: ${subscriptionsOf(b)} subscriptions`)
  })

  test('Calls to node b\'s charge points are delivered once; one to a charge point nobody holds is answered offline once', async () => {
    const targets = ['b-1', 'b-2', 'b-3', 'b-4']
    for (const cid of targets) {
      const cp = chargers.find((c) => c.ws.url.endsWith(`/${cid}`)) as ChargePoint
      cp.ws.on('message', (d) => { const f = JSON.parse(String(d)) as unknown[]; if (f[0] === 2) cp.send([3, f[1], { status: 'Accepted' }]) })
    }
    // Several Calls each: the shared subscription's pick alternates between the nodes.
    for (let i = 0; i < 5; i++) for (const cid of targets) await backend.publish(`ocpp/cs/${cid}`, resetCall(`${cid}-${i}`))
    await backend.publish('ocpp/cs/nobody', resetCall('n1'))
    await waitFor(() => targets.every((cid) => answersById(backend, cid).size === 5) && answersById(backend, 'nobody').size === 1, 10_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const cid of targets) {
      const answers = answersById(backend, cid)
      assert.ok([...answers.values()].every((list) => list.length === 1 && list[0]?.json.ErrorDetails === undefined), `${cid}: ${JSON.stringify([...answers.entries()].map(([id, l]) => [id, l.length]))}`)
    }
    assert.deepEqual(answersById(backend, 'nobody').get('n1')?.map((m) => m.json.ErrorDetails), [{ reason: 'offline' }])
    const lookups = a.metrics.get('cluster_lookups_total') + b.metrics.get('cluster_lookups_total')
    const relayed = a.metrics.get('cluster_relayed_total') + b.metrics.get('cluster_relayed_total')
    console.log(`# scale: 21 Calls, ${lookups} lookups (the pick did not hold the charge point), ${relayed} relayed to the holder`)
    assert.equal(a.bridge.presence?.size.records, 0, 'the lookups left nothing behind on node a')
  })

  test('what the offline path costs: a Call to a charge point nobody holds, one lookup each, answered offline once', async () => {
    const ms: number[] = []
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now()
      const answered = backend.inbox.wait((m) => m.topic === `ocpp/cp/ghost-${i}/Reply`)
      await backend.publish(`ocpp/cs/ghost-${i}`, resetCall(`g${i}`))
      await answered
      ms.push(performance.now() - t0)
    }
    ms.sort((x, y) => x - y)
    console.log(`# scale: offline answer after a lookup, 50 Calls one after another: median ${(ms[25] as number).toFixed(1)} ms, p90 ${(ms[45] as number).toFixed(1)} ms`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let i = 0; i < 50; i++) assert.equal(answersById(backend, `ghost-${i}`).get(`g${i}`)?.length, 1)
  })
})

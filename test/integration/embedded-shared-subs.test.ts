/**
 * Shared subscriptions on the embedded broker (issue 16): a backend pool subscribed to
 * `$share/pool/ocpp/cp/+` shares the gateway's Calls instead of each member getting none (aedes
 * alone) or all; round_robin by default, hash_clientid keeping one charge point's messages on
 * one member in order; a member that goes away gets nothing and the others get everything.
 * Real charge points (WebSocket) through the gateway; MQTT.js members at 3.1.1 and 5.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor, type ChargePoint } from '../helpers/clients.js'

interface Got { topic: string, id: string, qos: number }
interface Member { name: string, client: MqttClient, got: Got[] }

async function member (t: TestGateway, name: string, filter: string, opts: IClientOptions & { qos?: 0 | 1 | 2 } = {}): Promise<Member> {
  const client = mqtt.connect(t.mqttUrl, { reconnectPeriod: 0, clientId: `pool-${name}-${Math.random().toString(16).slice(2)}`, ...opts })
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
  const got: Got[] = []
  client.on('message', (topic, payload, packet) => got.push({ topic, id: (JSON.parse(payload.toString()) as { UniqueId: string }).UniqueId, qos: packet.qos }))
  if (opts.clean !== false || filter !== '') {
    const granted = await client.subscribeAsync(filter, { qos: opts.qos ?? 1 })
    assert.deepEqual(granted.map((g) => g.qos), [opts.qos ?? 1], `${name}: SUBACK`)
  }
  return { name, client, got }
}

/** Each charge point sends `n` Heartbeats, ids `{cid}-1`…; resolves once `pool` has them all (and a little more time for strays). */
async function calls (cps: Array<{ cid: string, cp: ChargePoint }>, n: number, pool: Member[], tag: string): Promise<void> {
  const before = pool.reduce((sum, m) => sum + m.got.length, 0)
  for (let i = 1; i <= n; i++) for (const { cid, cp } of cps) cp.send([2, `${cid}-${tag}${i}`, 'Heartbeat', {}])
  await waitFor(() => pool.reduce((sum, m) => sum + m.got.length, 0) >= before + n * cps.length)
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(pool.reduce((sum, m) => sum + m.got.length, 0), before + n * cps.length, 'each Call to exactly one member')
}

async function chargers (t: TestGateway, cids: string[]): Promise<Array<{ cid: string, cp: ChargePoint }>> {
  return await Promise.all(cids.map(async (cid) => ({ cid, cp: await connectChargePoint(`${t.url}/${cid}`, ['ocpp1.6']) })))
}

describe('embedded broker: shared subscriptions, round_robin (default)', () => {
  test('a pool of 2 (a 3.1.1 and a v5 member) gets 2/2 of 4 Calls, each at its own QoS; a plain subscriber still gets all 4', async () => {
    const t = await startTestGateway({ subscriptions: ['ocpp/cp/+'] })
    const a = await member(t, 'a', '$share/pool/ocpp/cp/+', { protocolVersion: 4, qos: 1 })
    const b = await member(t, 'b', '$share/pool/ocpp/cp/+', { protocolVersion: 5, qos: 0 })
    const cps = await chargers(t, ['RR-1', 'RR-2', 'RR-3', 'RR-4'])
    try {
      await calls(cps, 1, [a, b], 'c')
      assert.equal(a.got.length, 2, JSON.stringify(a.got))
      assert.equal(b.got.length, 2, JSON.stringify(b.got))
      assert.ok(a.got.every((g) => g.qos === 1) && b.got.every((g) => g.qos === 0))
      assert.ok([...a.got, ...b.got].every((g) => /^ocpp\/cp\/RR-\d$/.test(g.topic)))
      await waitFor(() => t.backend.inbox.items.filter((m) => m.topic.startsWith('ocpp/cp/RR-')).length === 4)
    } finally {
      for (const { cp } of cps) await cp.close()
      await a.client.endAsync()
      await b.client.endAsync()
      await t.stop()
    }
  })

  test('a member that disconnects gets nothing, the other gets every Call; a persistent member back on its session is in the pool again', async () => {
    const t = await startTestGateway({ subscriptions: [] })
    const a = await member(t, 'a', '$share/pool/ocpp/cp/+')
    const bId = `pool-b-persistent-${Math.random().toString(16).slice(2)}`
    const b = await member(t, 'b', '$share/pool/ocpp/cp/+', { clientId: bId, clean: false, protocolVersion: 4 })
    const cps = await chargers(t, ['DC-1', 'DC-2'])
    try {
      await calls(cps, 1, [a, b], 'x')
      assert.deepEqual([a.got.length, b.got.length], [1, 1])
      await b.client.endAsync()
      await calls(cps, 2, [a, b], 'y')
      assert.deepEqual([a.got.length, b.got.length], [5, 1])
      // Back with its session (no new SUBSCRIBE): aedes restores the shared subscription.
      const back = await member(t, 'b', '', { clientId: bId, clean: false, protocolVersion: 4 })
      await calls(cps, 2, [a, back], 'z')
      assert.deepEqual([a.got.length - 5, back.got.length], [2, 2])
      assert.ok(back.got.every((g) => /-z\d$/.test(g.id)), 'nothing from while it was away')
      await back.client.endAsync()
    } finally {
      for (const { cp } of cps) await cp.close()
      await a.client.endAsync()
      await t.stop()
    }
  })

  test('UNSUBSCRIBE of the shared filter leaves the pool', async () => {
    const t = await startTestGateway({ subscriptions: [] })
    const a = await member(t, 'a', '$share/pool/ocpp/cp/+')
    const b = await member(t, 'b', '$share/pool/ocpp/cp/+', { protocolVersion: 5 })
    const cps = await chargers(t, ['US-1'])
    try {
      await b.client.unsubscribeAsync('$share/pool/ocpp/cp/+')
      await calls(cps, 3, [a, b], 'u')
      assert.deepEqual([a.got.length, b.got.length], [3, 0])
    } finally {
      for (const { cp } of cps) await cp.close()
      await a.client.endAsync()
      await b.client.endAsync()
      await t.stop()
    }
  })
})

describe('embedded broker: shared subscriptions, hash_clientid', () => {
  // Four ids that the rendezvous hash puts two and two on a pool of two.
  const cids = ['HC-1', 'HC-2', 'HC-3', 'HC-4']

  test('each charge point\'s Calls and Replies all reach one member, in order; 4 chargers split 2/2; a member leaving moves only its chargers', async () => {
    const t = await startTestGateway({ subscriptions: [], config: { mqtt: { embedded: { shared_subscription_strategy: 'hash_clientid' } } } })
    const a = await member(t, 'a', '$share/pool/ocpp/cp/#', { protocolVersion: 5 })
    const b = await member(t, 'b', '$share/pool/ocpp/cp/#', { protocolVersion: 4 })
    const cps = await chargers(t, cids)
    try {
      await calls(cps, 1, [a, b], 'a')
      const owner = new Map<string, Member>()
      for (const m of [a, b]) for (const g of m.got) owner.set(g.topic.split('/')[2] as string, m)
      assert.deepEqual([a.got.length, b.got.length], [2, 2], JSON.stringify({ a: a.got, b: b.got }))
      // Five more Calls each, then each charger answers a backend Call: its Reply topic too.
      await calls(cps, 5, [a, b], 'h')
      for (const { cid, cp } of cps) {
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: `${cid}-dn`, Action: 'Reset', Payload: { type: 'Soft' } })
        await cp.frames.wait((f) => f[1] === `${cid}-dn`)
        cp.send([3, `${cid}-dn`, { status: 'Accepted' }])
      }
      await waitFor(() => a.got.length + b.got.length === 28)
      for (const { cid } of cps) {
        const m = owner.get(cid) as Member
        const other = m === a ? b : a
        assert.ok(other.got.every((g) => !g.id.startsWith(`${cid}-`)), `${cid} only on ${m.name}`)
        assert.deepEqual(m.got.filter((g) => g.id.startsWith(`${cid}-`)).map((g) => g.id), [`${cid}-a1`, ...[1, 2, 3, 4, 5].map((i) => `${cid}-h${i}`), `${cid}-dn`])
        assert.equal(m.got.find((g) => g.id === `${cid}-dn`)?.topic, `ocpp/cp/${cid}/Reply`)
      }
      // b leaves: its chargers go to a, a's stay on a.
      await b.client.endAsync()
      const bBefore = b.got.length
      await calls(cps, 1, [a], 'after')
      assert.equal(b.got.length, bBefore)
      assert.equal(a.got.filter((g) => /-after1$/.test(g.id)).length, 4)
    } finally {
      for (const { cp } of cps) await cp.close()
      await a.client.endAsync()
      await t.stop()
    }
  })

  test('hash_topic: one topic stays on one member', async () => {
    const t = await startTestGateway({ subscriptions: [], config: { mqtt: { embedded: { shared_subscription_strategy: 'hash_topic' } } } })
    const a = await member(t, 'a', '$share/pool/ocpp/cp/+')
    const b = await member(t, 'b', '$share/pool/ocpp/cp/+')
    const cps = await chargers(t, cids)
    try {
      await calls(cps, 3, [a, b], 't')
      for (const { cid } of cps) {
        const on = [a, b].filter((m) => m.got.some((g) => g.topic === `ocpp/cp/${cid}`))
        assert.equal(on.length, 1, `${cid} on one member`)
        assert.deepEqual(on[0]?.got.filter((g) => g.topic === `ocpp/cp/${cid}`).map((g) => g.id), [1, 2, 3].map((i) => `${cid}-t${i}`))
      }
    } finally {
      for (const { cp } of cps) await cp.close()
      await a.client.endAsync()
      await b.client.endAsync()
      await t.stop()
    }
  })
})

/** The benchmark's servers against the simulator: floor, ocpp-rpc peer, MQTT echo backend. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import mqtt from 'mqtt'
import { startEchoBackend, echoAnswer } from '../../bench/echo-backend.js'
import { startFloorServer } from '../../bench/floor-server.js'
import { startPeerServer } from '../../bench/peer-server.js'
import { runSimulation } from '../../src/sim/runner.js'
import { type SimProtocol } from '../../src/sim/options.js'

const T = { timeout: 15_000 }
const protocols: SimProtocol[] = ['ocpp1.6', 'ocpp2.0.1']

test('the floor answers every Call of every scenario, both versions', T, async (t) => {
  const floor = await startFloorServer()
  t.after(floor.close)
  let expected = 0
  for (const protocol of protocols) {
    for (const scenario of ['session', 'metervalues'] as const) {
      const s = await runSimulation({ url: `ws://127.0.0.1:${floor.port}/ocpp`, protocol, scenario, count: 4, calls: 25, meterSize: 2000 })
      assert.equal(s.errors.total, 0, JSON.stringify(s.errors))
      assert.equal(s.calls.results, 100)
      expected += 100
    }
  }
  assert.equal(floor.answered(), expected)
})

test('the ocpp-rpc peer (strict schemas) accepts every Call of the simulator', T, async (t) => {
  const peer = await startPeerServer()
  t.after(peer.close)
  for (const protocol of protocols) {
    for (const scenario of ['session', 'metervalues', 'boot'] as const) {
      const s = await runSimulation({ url: `ws://127.0.0.1:${peer.port}/ocpp`, protocol, scenario, count: 3, calls: 24, meterSize: 5000 })
      assert.equal(s.errors.total, 0, `${protocol} ${scenario}: ${JSON.stringify(s.errors)}`)
      assert.equal(s.calls.results, 72)
    }
  }
  assert.equal(peer.answered(), 2 * 3 * 72)
})

test('echoAnswer answers Calls only, per version', () => {
  assert.equal(echoAnswer({ MessageTypeId: 3, UniqueId: '1', Payload: {} }), undefined)
  assert.equal(echoAnswer('x'), undefined)
  assert.deepEqual(echoAnswer({ MessageTypeId: 2, UniqueId: '7', Action: 'Authorize', Payload: { idTag: 'a' } }),
    { MessageTypeId: 3, UniqueId: '7', Payload: { idTagInfo: { status: 'Accepted' } } })
  assert.deepEqual(echoAnswer({ MessageTypeId: 2, UniqueId: '8', Action: 'Authorize', Payload: { idToken: { idToken: 'a', type: 'Central' } } }),
    { MessageTypeId: 3, UniqueId: '8', Payload: { idTokenInfo: { status: 'Accepted' } } })
})

test('the echo backend answers upstream Call envelopes on the downstream topic', T, async (t) => {
  const aedes = await Aedes.createBroker()
  const tcp = createServer((socket) => aedes.handle(socket))
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
  const url = `mqtt://127.0.0.1:${(tcp.address() as AddressInfo).port}`
  t.after(async () => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await new Promise<void>((resolve) => tcp.close(() => resolve()))
  })
  const backend = await startEchoBackend({ url })
  t.after(backend.close)
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  t.after(async () => { await client.endAsync(true) })
  await client.subscribeAsync('ocpp/cs/+')
  const got = new Promise<[string, unknown]>((resolve) => client.once('message', (topic, m) => resolve([topic, JSON.parse(m.toString())])))
  await client.publishAsync('ocpp/cp/cp%2F1', JSON.stringify({ MessageTypeId: 2, UniqueId: 'u1', Action: 'Heartbeat', Payload: {} }))
  const [topic, envelope] = await got
  assert.equal(topic, 'ocpp/cs/cp%2F1')
  assert.equal((envelope as { UniqueId: string }).UniqueId, 'u1')
  assert.equal(typeof (envelope as { Payload: { currentTime: string } }).Payload.currentTime, 'string')
  assert.equal(backend.answered(), 1)
})

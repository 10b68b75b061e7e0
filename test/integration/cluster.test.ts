/**
 * Two gateway nodes sharing one real Mosquitto: each delivers only its own charge points'
 * traffic, a node never answers "offline" for a charge point the other holds, and a Call to
 * a charge point nobody holds is answered exactly once.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { startMosquitto, mosquittoSkip, type Mosquitto } from '../helpers/mosquitto.js'
import { connectBackend, connectChargePoint, waitFor, type Backend, type Message } from '../helpers/clients.js'
import { waitHolders } from '../helpers/cluster-clients.js'

const skip = mosquittoSkip()

/** A gateway node in this process on the broker at `url`. */
function startNode (id: string, url: string): Promise<Gateway> {
  return startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    node_id: id,
    allow_anonymous: true,
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { url },
    log: { level: 'silent' }
  }]), { logger: pino({ level: 'silent' }), sweepPeriodMs: 100, shutdownGraceMs: 500 })
}

describe('two gateway nodes on one Mosquitto', { skip }, () => {
  let mosquitto: Mosquitto
  let a: Gateway
  let b: Gateway
  let backend: Backend
  const url = (gw: Gateway): string => `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`

  before(async () => {
    mosquitto = await startMosquitto()
    const node = (id: string): Promise<Gateway> => startNode(id, mosquitto.url)
    a = await node('node-a')
    b = await node('node-b')
    backend = await connectBackend(mosquitto.url)
  })
  after(async () => {
    await backend.close()
    await a.close()
    await b.close()
    await mosquitto.stop()
  })

  test('a Call to a charge point held by one node is delivered once and never answered offline', async () => {
    const cp = await connectChargePoint(`${url(a)}/held-by-a`)
    // node b looks it up in the retained presence records (it keeps none of node a's)
    await backend.inbox.wait((m) => m.topic === 'ocpp/events/held-by-a' && m.json.event === 'connected')
    await waitHolders(mosquitto.url, 'held-by-a', ['node-a'])
    assert.equal(b.bridge.presence?.heldElsewhere('held-by-a'), false, 'node b keeps no record of node a\'s charge point')
    cp.ws.on('message', (d) => { const f = JSON.parse(String(d)) as unknown[]; cp.send([3, f[1], { status: 'Accepted' }]) })
    for (let i = 0; i < 20; i++) await backend.publish('ocpp/cs/held-by-a', { MessageTypeId: 2, UniqueId: `c${i}`, Action: 'Reset', Payload: { type: 'Soft' } })
    await backend.inbox.wait(() => backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/held-by-a/Reply').length >= 20, 10_000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/held-by-a/Reply')
    assert.equal(answers.length, 20, 'one answer per Call')
    assert.ok(answers.every((m) => m.json.Origin === undefined), 'all from the charge point, none "offline"')
    assert.equal(cp.frames.items.length, 20)
    assert.equal(b.metrics.get('gateway_answers_total', 'offline') + a.metrics.get('gateway_answers_total', 'offline'), 0)
    await cp.close()
  })

  test('a Call to a charge point nobody holds is answered offline exactly once', async () => {
    await backend.publish('ocpp/cs/ghost', { MessageTypeId: 2, UniqueId: 'g1', Action: 'Reset', Payload: { type: 'Soft' } })
    await backend.inbox.wait((m) => m.topic === 'ocpp/cp/ghost/Reply')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/ghost/Reply')
    assert.equal(answers.length, 1)
    assert.deepEqual(answers[0]?.json.ErrorDetails, { reason: 'offline' })
  })

  test('after the charge point leaves node a, its record is cleared and a Call to it is answered offline once', async () => {
    const cp = await connectChargePoint(`${url(a)}/leaves`)
    await waitHolders(mosquitto.url, 'leaves', ['node-a'])
    await cp.close()
    await waitHolders(mosquitto.url, 'leaves', [])
    await backend.publish('ocpp/cs/leaves', { MessageTypeId: 2, UniqueId: 'l1', Action: 'Reset', Payload: { type: 'Soft' } })
    await backend.inbox.wait((m) => m.topic === 'ocpp/cp/leaves/Reply')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/leaves/Reply')
    assert.deepEqual(answers.map((m) => m.json.ErrorDetails), [{ reason: 'offline' }])
  })
})

describe('two nodes, and a broker restarted without persistence', { skip }, () => {
  test('presence is said again on the re-connection: a node started after it knows node a\'s charge point, whose Calls are answered by it, never "offline"', async () => {
    const mosquitto = await startMosquitto([], { stock: true })
    const node = (id: string): Promise<Gateway> => startNode(id, mosquitto.url)
    const a = await node('node-a')
    const b = await node('node-b')
    const cp = await connectChargePoint(`ws://127.0.0.1:${a.listeners[0]?.port ?? 0}/ocpp/survivor`)
    cp.ws.on('message', (d) => { const f = JSON.parse(String(d)) as unknown[]; if (f[0] === 2) cp.send([3, f[1], { status: 'Accepted' }]) })
    let backend: Backend | undefined
    let c: Gateway | undefined
    try {
      await waitHolders(mosquitto.url, 'survivor', ['node-a'])
      // The broker forgets everything: retained presence, sessions, subscriptions.
      await mosquitto.kill('SIGKILL')
      await mosquitto.restart()
      await waitFor(() => a.metrics.get('mqtt_sessions_lost_total') >= 1 && b.metrics.get('mqtt_sessions_lost_total') >= 1, 10_000)
      // A node that starts now (or restarts) learns only from the broker's retained records:
      // node a said them again on its re-connection.
      c = await node('node-c')
      await waitHolders(mosquitto.url, 'survivor', ['node-a'], 10_000)
      backend = await connectBackend(mosquitto.url)
      for (let i = 0; i < 20; i++) await backend.publish('ocpp/cs/survivor', { MessageTypeId: 2, UniqueId: `s${i}`, Action: 'Reset', Payload: { type: 'Soft' } })
      const replies = (): Message[] => backend?.inbox.items.filter((m) => m.topic === 'ocpp/cp/survivor/Reply') ?? []
      await waitFor(() => replies().length >= 20, 10_000)
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(replies().length, 20, `one answer per Call: ${JSON.stringify(replies().map((m) => [m.json.UniqueId, m.json.ErrorDetails?.reason ?? 'charger']))}`)
      assert.ok(replies().every((m) => m.json.Origin === undefined), `all from the charge point: ${JSON.stringify(replies().filter((m) => m.json.Origin !== undefined).map((m) => m.json.ErrorDetails))}`)
    } finally {
      await cp.close()
      await backend?.close()
      await a.close()
      await b.close()
      await c?.close()
      await mosquitto.stop()
    }
  })
})

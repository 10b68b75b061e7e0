/**
 * The embedded broker's memory bounds against MQTT clients that do not take what they
 * subscribed to: a persistent session (clean=false, QoS 1) that went away, one that expires,
 * and a connected client that stops reading.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor } from '../helpers/clients.js'

async function persistentClient (url: string, clientId: string): Promise<{ client: mqtt.MqttClient, sessionPresent: boolean, received: string[] }> {
  const received: string[] = []
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0 })
  client.on('message', (topic) => { received.push(topic) })
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  return { client, sessionPresent: connack.sessionPresent, received }
}

describe('embedded broker bounds', () => {
  let t: TestGateway
  before(async () => {
    // Chargers here send many Calls without waiting: upstream.max_pending_calls out of the way.
    // The test's own backend hears only events: the clients under test are the only ones
    // that take the Calls, so a slow one is the only one over its bound.
    t = await startTestGateway({ subscriptions: ['ocpp/events/#'], config: { upstream: { max_pending_calls: 10000 }, mqtt: { embedded: { max_queued_messages: 50, session_expiry: '1s', max_buffered_bytes: 1048576 } } } })
  })
  after(async () => { await t.stop() })

  test('a persistent QoS 1 subscriber that went away gets at most max_queued_messages; the rest is counted', async () => {
    const sub = await persistentClient(t.mqttUrl, 'persist-1')
    await sub.client.subscribeAsync('ocpp/cp/#', { qos: 1 })
    await sub.client.endAsync()
    const cp = await connectChargePoint(`${t.url}/bnd-1`)
    for (let i = 0; i < 200; i++) cp.send([2, `h${i}`, 'Heartbeat', {}])
    await waitFor(() => t.gw.metrics.get('mqtt_messages_dropped_total') === 150, 10_000)
    assert.equal(t.gw.metrics.get('mqtt_messages_dropped_total'), 150)
    const back = await persistentClient(t.mqttUrl, 'persist-1')
    assert.equal(back.sessionPresent, true)
    // aedes replays one fewer than it queued (the first queued message is not resent; seen
    // with no bound at all too: 199 of 200): at most the bound, and at least the bound less one.
    await waitFor(() => back.received.length >= 49, 5000)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.ok(back.received.length >= 49 && back.received.length <= 50, `received ${back.received.length}`)
    await back.client.endAsync()
    await cp.close()
  })

  test('a persistent session that stays away longer than session_expiry is dropped', async () => {
    const sub = await persistentClient(t.mqttUrl, 'persist-2')
    await sub.client.subscribeAsync('ocpp/cp/#', { qos: 1 })
    await sub.client.endAsync()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    assert.ok(t.gw.metrics.get('mqtt_sessions_expired_total') >= 1)
    const back = await persistentClient(t.mqttUrl, 'persist-2')
    assert.equal(back.sessionPresent, false, 'the session is gone')
    await back.client.endAsync()
  })

  test('a persistent session taken over by a new connection with its id does not expire under it', async () => {
    const first = await persistentClient(t.mqttUrl, 'persist-3')
    await first.client.subscribeAsync('ocpp/cp/bnd-4', { qos: 1 })
    const second = await persistentClient(t.mqttUrl, 'persist-3') // the broker closes the first
    assert.equal(second.sessionPresent, true)
    await new Promise((resolve) => setTimeout(resolve, 1500)) // past session_expiry (1 s)
    const cp = await connectChargePoint(`${t.url}/bnd-4`)
    cp.send([2, 'k1', 'Heartbeat', {}])
    await waitFor(() => second.received.includes('ocpp/cp/bnd-4'), 5000)
    first.client.end(true)
    await second.client.endAsync()
    await cp.close()
  })

  test('a subscriber that stops reading holds up no one: the others get every message, it is closed past max_buffered_bytes', async () => {
    const slow = mqtt.connect(t.mqttUrl, { clientId: 'slow-1', reconnectPeriod: 0 })
    await new Promise((resolve) => slow.once('connect', resolve))
    await slow.subscribeAsync('ocpp/cp/bnd-3', { qos: 0 })
    slow.stream.pause() // reads nothing from now on
    const fast = mqtt.connect(t.mqttUrl, { clientId: 'fast-1', reconnectPeriod: 0 })
    await new Promise((resolve) => fast.once('connect', resolve))
    await fast.subscribeAsync('ocpp/cp/bnd-3', { qos: 0 })
    let got = 0
    fast.on('message', () => { got++ })
    const cp = await connectChargePoint(`${t.url}/bnd-3`)
    const data = 'x'.repeat(20_000)
    // 1,000 Calls of 20 KB: 20 MB, far past what the kernel buffers for the paused client.
    for (let i = 0; i < 1000; i++) {
      cp.send([2, `m${i}`, 'DataTransfer', { vendorId: 'v', data }])
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // Before the fix one paused subscriber stopped the others for aedes' 60 s drainTimeout.
    await waitFor(() => got === 1000, 10_000).catch((err: Error) => { throw new Error(`${err.message}: got ${got}, slow closed ${t.gw.metrics.get('mqtt_slow_clients_closed_total')}`) })
    assert.equal(t.gw.metrics.get('mqtt_slow_clients_closed_total'), 1)
    await fast.endAsync()
    slow.end(true)
    await cp.close()
  })
})

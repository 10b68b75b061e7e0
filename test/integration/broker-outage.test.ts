/**
 * A broker outage under load, with a real Mosquitto stopped and started again on the same port
 * while charge points and a backend keep sending Calls. Every Call, both ways, is answered
 * exactly once: by the other side once the broker is back, or (a charge point's Call that
 * could not be published within mqtt.offline_queue.max_age) with a CallError by the gateway.
 *
 * - With persistence (the README's recommendation), the broker keeps the node's session: its
 *   subscriptions and the messages queued for it; nothing is lost.
 * - Without (stock Mosquitto, killed): the sessions are gone; the gateway subscribes again
 *   before it publishes what waited.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { startMosquitto, mosquittoSkip, type Mosquitto } from '../helpers/mosquitto.js'
import { connectChargePoint, waitFor, type ChargePoint } from '../helpers/clients.js'
import { CallLedger } from '../helpers/call-ledger.js'

const skip = mosquittoSkip()
const level = process.env.TEST_LOG_LEVEL ?? 'silent'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A backend on a persistent MQTT 5 session, at QoS 2 (exactly once: at QoS 1 a broker restart
 * may deliver a message twice, which is QoS 1's contract): answers every charge point Call,
 * sends its own Calls with `call()`, and counts the answers to them. What it publishes waits in
 * its own list while it is disconnected (MQTT.js would publish its offline queue before
 * resubscribing, and the answers would be lost) and goes out within the broker's Receive
 * Maximum (MQTT.js does not keep to it: a stock Mosquitto refuses the excess).
 */
async function persistentBackend (url: string, toChargers: CallLedger, gate: () => boolean) {
  const client = mqtt.connect(url, { clientId: `backend-${Math.random().toString(16).slice(2)}`, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 60 }, reconnectPeriod: 100, resubscribe: false })
  const first = await new Promise<mqtt.IConnackPacket>((resolve) => client.once('connect', resolve))
  client.options.clean = false
  const filters = { 'ocpp/cp/+': { qos: 2 as const }, 'ocpp/cp/+/Reply': { qos: 2 as const } }
  let ready = true
  let window = first.properties?.receiveMaximum ?? 65535
  let inflight = 0
  const seen = new Set<string>()
  const held: Array<[string, string]> = []
  const pump = (): void => {
    if (!ready || !gate()) return
    while (held.length > 0 && inflight < window) {
      const [t, p] = held.shift() as [string, string]
      inflight++
      client.publish(t, p, { qos: 2 }, () => { inflight--; pump() })
    }
  }
  const flusher = setInterval(pump, 50)
  client.on('close', () => { ready = false })
  client.on('connect', (connack) => {
    window = connack.properties?.receiveMaximum ?? 65535
    if (connack.sessionPresent) { ready = true; pump(); return }
    client.subscribe(filters, () => { ready = true; pump() })
  })
  const send = (topic: string, payload: string): void => { held.push([topic, payload]); pump() }
  client.on('message', (topic, payload) => {
    const env = JSON.parse(payload.toString()) as { MessageTypeId: number, UniqueId: string }
    const cid = topic.split('/')[2] ?? ''
    if (topic.endsWith('/Reply')) { toChargers.answer(env.UniqueId, env.MessageTypeId === 4); return }
    if (env.MessageTypeId !== 2) return
    seen.add(env.UniqueId)
    send(`ocpp/cs/${cid}`, JSON.stringify({ MessageTypeId: 3, UniqueId: env.UniqueId, Payload: { currentTime: '2025-01-01T00:00:00Z' } }))
  })
  await client.subscribeAsync(filters)
  return {
    call: (cid: string, id: string) => { toChargers.sent(id); send(`ocpp/cs/${cid}`, JSON.stringify({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })) },
    seen,
    close: () => { clearInterval(flusher); return client.endAsync(true) }
  }
}

async function node (mosquitto: Mosquitto, config: Record<string, unknown> = {}): Promise<Gateway> {
  return startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    allow_anonymous: true,
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { url: mosquitto.url },
    // upstream.qos and dnstream.qos: 2, the defaults
    log: { level }
  }, config]), { logger: pino({ level }), sweepPeriodMs: 100, shutdownGraceMs: 500 })
}

interface Run { fromChargers: CallLedger, toChargers: CallLedger, gw: Gateway, seen: Set<string> }

/** 20 charge points and a backend; Calls both ways before, during (`outage`) and after. */
async function outage (mosquitto: Mosquitto, signal: NodeJS.Signals, config: Record<string, unknown> = {}, waitForGateway = false): Promise<Run> {
  const gw = await node(mosquitto, config)
  const fromChargers = new CallLedger()
  const toChargers = new CallLedger()
  // Without persistence a backend Call published before the gateway subscribed again is lost
  // by the broker (no subscriber, no session): that backend waits until the gateway is back.
  const external = gw.mqtt as unknown as { outbox: { isOpen: boolean } }
  const backend = await persistentBackend(mosquitto.url, toChargers, () => !waitForGateway || external.outbox.isOpen)
  const cps: ChargePoint[] = []
  try {
    const url = `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`
    for (let i = 0; i < 20; i++) {
      const cp = await connectChargePoint(`${url}/outage-${i}`)
      cp.ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as [number, string]
        if (f[0] === 2) cp.send([3, f[1], { status: 'Accepted' }])
        else fromChargers.answer(f[1], f[0] === 4)
      })
      cps.push(cp)
    }
    let round = 0
    const traffic = (): void => {
      round++
      for (const [i, cp] of cps.entries()) {
        const id = `cp${i}-${round}`
        fromChargers.sent(id)
        cp.send([2, id, 'Heartbeat', {}])
        backend.call(`outage-${i}`, `cs${i}-${round}`)
      }
    }
    traffic()
    await waitFor(() => fromChargers.settled && toChargers.settled, 5000)
    // Stopped between two rounds: what a dying Mosquitto 2.0 had just acknowledged can be lost
    // with it even with persistence (seen at QoS 1 and 2 alike), and no client can tell; the
    // outage's Calls are those sent once it is gone. The clients notice it 0-200 ms later.
    await mosquitto.kill(signal)
    if (waitForGateway) await sleep(200)
    // 3 s of Calls both ways while the broker is away.
    for (let t = 0; t < 10; t++) { traffic(); await sleep(300) }
    await mosquitto.restart()
    const restartedAt = Date.now()
    for (let t = 0; t < 3; t++) { traffic(); await sleep(100) }
    await waitFor(() => fromChargers.settled && toChargers.settled, 12_000).catch(() => {})
    const settleMs = Date.now() - restartedAt
    await sleep(300)
    console.log(`# broker outage (${signal}): every Call answered ${settleMs} ms after the restart (the last 3 rounds took 300 ms); charge point -> backend ${JSON.stringify(fromChargers.counts)}, backend -> charge point ${JSON.stringify(toChargers.counts)}`)
    return { fromChargers, toChargers, gw, seen: backend.seen }
  } finally {
    for (const cp of cps) await cp.close()
    await backend.close()
    await gw.close()
  }
}

describe('broker outage under load', { skip }, () => {
  test('persistent broker stopped 3 s: every Call both ways answered exactly once by the other side', async () => {
    const mosquitto = await startMosquitto([], { stock: true, persistence: true })
    try {
      const { fromChargers, toChargers, gw, seen } = await outage(mosquitto, 'SIGTERM')
      const sent = 20 * 14
      const m = gw.metrics.snapshot()
      const why = `seen by the backend ${fromChargers.unanswered().filter((id) => seen.has(id)).length}, sessions lost ${m['mqtt_sessions_lost_total'] ?? 0}, reconnects ${m['mqtt_reconnects_total'] ?? 0}, queued ${m['mqtt_queued_total'] ?? 0}`
      assert.deepEqual(fromChargers.counts, { sent, answered: sent, doubled: 0, unanswered: 0, errors: 0 }, `charge point -> backend (${why}): ${fromChargers.unanswered().join(' ')}`)
      assert.deepEqual(toChargers.counts, { sent, answered: sent, doubled: 0, unanswered: 0, errors: 0 }, `backend -> charge point: ${JSON.stringify(toChargers.counts)}`)
      assert.equal(gw.metrics.get('mqtt_sessions_lost_total'), 0, 'the broker kept the session')
      assert.ok(gw.metrics.get('mqtt_reconnects_total') >= 1)
      assert.ok(gw.metrics.get('mqtt_queued_total') >= 20 * 10, 'the Calls of the outage waited in the outbox')
    } finally {
      await mosquitto.stop()
    }
  })

  test('broker without persistence killed 3 s: resubscribed before publishing, every Call answered exactly once', async () => {
    const mosquitto = await startMosquitto([], { stock: true })
    try {
      const { fromChargers, toChargers, gw } = await outage(mosquitto, 'SIGKILL', { upstream: { awaiting_timeout: '5s' } }, true)
      const sent = 20 * 14
      assert.deepEqual({ ...fromChargers.counts, errors: 0 }, { sent, answered: sent, doubled: 0, unanswered: 0, errors: 0 }, `charge point -> backend: ${fromChargers.unanswered().join(' ')}`)
      assert.deepEqual({ ...toChargers.counts, errors: 0 }, { sent, answered: sent, doubled: 0, unanswered: 0, errors: 0 }, `backend -> charge point: ${toChargers.unanswered().join(' ')}`)
      assert.equal(gw.metrics.get('mqtt_sessions_lost_total'), 1, 'the broker lost the session; the gateway subscribed again')
    } finally {
      await mosquitto.stop()
    }
  })

  test('broker away past mqtt.offline_queue.max_age: the waiting charge point Calls get a CallError, never published later', async () => {
    const mosquitto = await startMosquitto([], { stock: true, persistence: true })
    try {
      const { fromChargers, gw } = await outage(mosquitto, 'SIGTERM', { mqtt: { offline_queue: { max_age: '1s' } } })
      const c = fromChargers.counts
      assert.equal(c.unanswered, 0, 'every charge point Call answered')
      assert.equal(c.doubled, 0, 'none twice')
      assert.ok(c.errors >= 20, `Calls of the outage answered with a CallError (${c.errors})`)
      assert.equal(gw.metrics.get('mqtt_undelivered_total', 'timeout') >= c.errors, true, 'counted')
    } finally {
      await mosquitto.stop()
    }
  })
})

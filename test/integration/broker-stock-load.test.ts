/**
 * A stock Mosquitto (max_inflight_messages 20, max_queued_messages 1000) under ~100 Calls/s
 * from charge points with upstream QoS 2 and QoS 1: the gateway keeps within the broker's
 * in-flight window (MQTT 5 Receive Maximum), so it is never disconnected, and every Call is
 * answered exactly once by an echo backend.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway } from '../../src/gateway.js'
import { startMosquitto, mosquittoSkip } from '../helpers/mosquitto.js'
import { connectChargePoint, waitFor, type ChargePoint } from '../helpers/clients.js'
import { CallLedger } from '../helpers/call-ledger.js'

const skip = mosquittoSkip()

/** Answers every upstream Call at once on the charge point's downstream topic. */
async function echoBackend (url: string): Promise<mqtt.MqttClient> {
  // MQTT 3.1.1 and QoS 1 for the answers: Mosquitto acknowledges an incoming QoS 1 message at
  // once, so a burst of answers never meets its in-flight limit (the gateway's side is tested).
  const client = await mqtt.connectAsync(url, { clientId: `echo-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 })
  client.on('message', (topic, payload) => {
    const env = JSON.parse(payload.toString()) as { MessageTypeId: number, UniqueId: string }
    if (env.MessageTypeId !== 2) return
    const cid = topic.split('/')[2] ?? ''
    client.publish(`ocpp/cs/${cid}`, JSON.stringify({ MessageTypeId: 3, UniqueId: env.UniqueId, Payload: { currentTime: '2025-01-01T00:00:00Z' } }), { qos: 1 })
  })
  await client.subscribeAsync('ocpp/cp/+', { qos: 2 })
  return client
}

for (const qos of [2, 1] as const) {
  describe(`stock Mosquitto, upstream QoS ${qos}, ~100 Calls/s`, { skip }, () => {
    test('no disconnection, every Call answered exactly once', async () => {
      const mosquitto = await startMosquitto([], { stock: true })
      const gw = await startGateway(buildConfig([{ admin: { bind: 'off' } }, {
        allow_anonymous: true,
        handshake_limits: { conn_rate_per_address: { enable: false } },
        listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
        mqtt: { url: mosquitto.url },
        upstream: { qos },
        dnstream: { qos },
        log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' }
      }]), { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), sweepPeriodMs: 100, shutdownGraceMs: 500 })
      const backend = await echoBackend(mosquitto.url)
      const url = `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`
      const ledger = new CallLedger()
      const cps: ChargePoint[] = []
      try {
        for (let i = 0; i < 25; i++) {
          const cp = await connectChargePoint(`${url}/load-${qos}-${i}`)
          cp.ws.on('message', (d) => { const f = JSON.parse(String(d)) as [number, string]; if (f[0] === 3 || f[0] === 4) ledger.answer(f[1], f[0] === 4) })
          cps.push(cp)
        }
        const reconnects = { n: 0 }
        const external = gw.mqtt as { client?: mqtt.MqttClient }
        external.client?.on('reconnect', () => reconnects.n++)
        // 3 s at 100 Calls/s, as a fleet sends them: every 250 ms, a Call from each of the 25
        // charge points at once (a burst over Mosquitto's 20 in flight).
        for (let tick = 0; tick < 12; tick++) {
          for (const [i, cp] of cps.entries()) {
            const id = `q${qos}-${i}-${tick}`
            ledger.sent(id)
            cp.send([2, id, 'Heartbeat', {}])
          }
          await new Promise((resolve) => setTimeout(resolve, 250))
        }
        await waitFor(() => ledger.settled, 15_000).catch(() => {})
        await new Promise((resolve) => setTimeout(resolve, 200))
        const c = ledger.counts
        assert.deepEqual({ ...c, reconnects: reconnects.n }, { sent: 300, answered: 300, doubled: 0, unanswered: 0, errors: 0, reconnects: 0 })
      } finally {
        for (const cp of cps) await cp.close()
        await backend.endAsync()
        await gw.close()
        await mosquitto.stop()
      }
    })
  })
}

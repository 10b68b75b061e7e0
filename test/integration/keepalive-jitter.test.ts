/**
 * Keepalive as chargers in the field meet it: each heartbeats at exactly its interval, give or
 * take network jitter, and none may be closed for it. KEEPALIVE_CHARGERS / KEEPALIVE_INTERVALS
 * scale it up for a measurement (the issue's: 1,000 chargers, 10 intervals).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, type ChargePoint } from '../helpers/clients.js'

const chargers = Number(process.env.KEEPALIVE_CHARGERS ?? 200)
const intervals = Number(process.env.KEEPALIVE_INTERVALS ?? 6)
const intervalMs = 1000
const jitterMs = 200

let t: TestGateway
before(async () => { t = await startTestGateway({ config: { default_heartbeat_interval: '1s' }, sweepPeriodMs: 100 }) })
after(async () => { await t.stop() })

test(`${chargers} chargers heartbeating every ${intervalMs} ms ± ${jitterMs} ms for ${intervals} intervals: none closed`, { timeout: 120_000 }, async () => {
  const cps: ChargePoint[] = []
  let closed = 0
  // Seeded jitter: deterministic, and each charger drifts both ways.
  let seed = 12345
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const timers: NodeJS.Timeout[] = []
  let sent = 0
  // Each charger's schedule starts when it is connected (as a real one's does after its boot).
  for (let i = 0; i < chargers; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, chargers - i) }, (_, k) => connectChargePoint(`${t.url}/ka-${i + k}`)))
    for (const cp of batch) {
      const n = cps.push(cp) - 1
      void cp.closed.then(() => { closed++ })
      for (let k = 1; k <= intervals; k++) {
        const at = k * intervalMs + (rand() * 2 - 1) * jitterMs
        timers.push(setTimeout(() => { if (cp.ws.readyState === 1) { cp.send([2, `h${n}-${k}`, 'Heartbeat', {}]); sent++ } }, at))
      }
    }
  }
  await new Promise((resolve) => setTimeout(resolve, (intervals + 0.4) * intervalMs))
  for (const tm of timers) clearTimeout(tm)
  assert.equal(closed, 0, `${closed} of ${chargers} chargers closed`)
  assert.equal(t.gw.metrics.get('keepalive_timeouts_total'), 0)
  assert.equal(sent, chargers * intervals)
  await Promise.all(cps.map((cp) => cp.close()))
})

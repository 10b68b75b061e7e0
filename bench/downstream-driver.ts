/**
 * The downstream driver: a backend that sends Calls to the charge points (backend -> MQTT ->
 * gateway -> charger) and times their answers, the other direction of the echo backend. Each
 * charger of `--prefix`1..`--count` gets `--calls` DataTransfer Calls, at most `--window` of
 * them outstanding at once (the gateway sends one at a time per charger, OCPP-J, and queues the
 * rest up to dnstream.max_mqueue_len), from the moment its BootNotification is seen on the
 * upstream topic (the echo backend answers it). Prints one JSON line when every answer came or
 * `--timeout` passed:
 *
 *   node dist/bench/downstream-driver.js --url mqtt://127.0.0.1:1883 -n 500 --calls 100
 *     [--window 1] [--qos 2] [--mountpoint ocpp/] [--timeout 120] [--inflight N]
 *
 * {"sent", "answered", "errors", "firstAt", "lastAt", "answersPerS", "latencyMs": {p50, p99, max}}
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { connectBackend } from './echo-backend.js'
import { tuneMqttSocket } from '../src/bridge/adapters/coalesce-writes.js'
import { DEFAULT_RECEIVE_MAXIMUM, Outbox } from '../src/bridge/adapters/outbox.js'

export interface DriverOptions {
  url: string
  count: number
  prefix: string
  calls: number
  window: number
  qos: 0 | 1 | 2
  mountpoint: string
  timeoutS: number
  /** QoS 1/2 publishes of the driver unacknowledged at once, at most (and within the broker's Receive Maximum). */
  inflight?: number
}

export interface DriverSummary {
  sent: number
  answered: number
  /** CallErrors and answers that are not a CallResult. */
  errors: number
  /** Date.now() of the first Call sent and of the last answer. */
  firstAt: number
  lastAt: number
  answersPerS: number
  latencyMs: { p50: number, p99: number, max: number }
}

const pct = (sorted: number[], p: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const round2 = (x: number): number => Math.round(x * 100) / 100

export async function runDriver (o: DriverOptions): Promise<DriverSummary> {
  const client = await connectBackend(o.url, `downstream-driver-${process.pid}`)
  tuneMqttSocket(client.stream)
  const outbox = new Outbox((m, acked) => client.publish(m.topic, m.payload, { qos: m.qos }, (err) => acked(err ?? undefined)), { maxMessages: Infinity, maxAgeMs: Infinity })
  outbox.opened(Math.min(o.inflight ?? Infinity, client.serverProperties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM))
  const total = o.count * o.calls
  const left = new Map<string, number>()
  const outstanding = new Map<string, number>()
  const latencies: number[] = []
  let sent = 0
  let answered = 0
  let errors = 0
  let firstAt = 0
  let lastAt = 0
  let seq = 0
  const send = (cid: string): void => {
    const n = left.get(cid) ?? 0
    if (n <= 0) return
    left.set(cid, n - 1)
    const id = `d${++seq}`
    outstanding.set(id, performance.now())
    if (firstAt === 0) firstAt = Date.now()
    sent++
    const call = { MessageTypeId: 2, UniqueId: id, Action: 'DataTransfer', Payload: { vendorId: 'bench', data: 'x' } }
    const failed = (err?: Error): void => {
      if (err === undefined) return
      if (errors++ === 0) process.stderr.write(`downstream-driver: publish failed: ${err.message}\n`)
    }
    outbox.push({ topic: `${o.mountpoint}cs/${cid}`, payload: JSON.stringify(call), qos: o.qos, retain: false, at: 0, done: failed })
  }
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => { finish = resolve })
  client.on('message', (topic, payload) => {
    const levels = topic.slice(o.mountpoint.length).split('/')
    const cid = levels[1] ?? ''
    let env: { MessageTypeId?: unknown, UniqueId?: unknown, Action?: unknown }
    try { env = JSON.parse(payload.toString()) as typeof env } catch { return }
    if (levels.length === 2) {
      // Upstream Call: a booted charger is driven from now on (its session exists).
      if (env.MessageTypeId === 2 && env.Action === 'BootNotification' && !left.has(cid) && cid.startsWith(o.prefix)) {
        left.set(cid, o.calls)
        for (let i = 0; i < o.window; i++) send(cid)
      }
      return
    }
    const t = typeof env.UniqueId === 'string' ? outstanding.get(env.UniqueId) : undefined
    if (t === undefined) return
    outstanding.delete(env.UniqueId as string)
    latencies.push(performance.now() - t)
    answered++
    if (env.MessageTypeId !== 3) errors++
    lastAt = Date.now()
    send(cid)
    if (answered >= total) finish()
  })
  await client.subscribeAsync([`${o.mountpoint}cp/+`, `${o.mountpoint}cp/+/Reply`], { qos: o.qos })
  process.stdout.write(JSON.stringify({ ready: true }) + '\n')
  const timer = setTimeout(finish, o.timeoutS * 1000)
  await done
  clearTimeout(timer)
  await client.endAsync(true)
  latencies.sort((a, b) => a - b)
  const spanS = (lastAt - firstAt) / 1000
  return {
    sent,
    answered,
    errors,
    firstAt,
    lastAt,
    answersPerS: spanS > 0 ? round2(answered / spanS) : 0,
    latencyMs: { p50: round2(pct(latencies, 0.5)), p99: round2(pct(latencies, 0.99)), max: round2(latencies[latencies.length - 1] ?? 0) }
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values: v } = parseArgs({
    options: {
      url: { type: 'string' },
      count: { type: 'string', short: 'n' },
      prefix: { type: 'string' },
      calls: { type: 'string' },
      window: { type: 'string' },
      qos: { type: 'string' },
      mountpoint: { type: 'string' },
      timeout: { type: 'string' },
      inflight: { type: 'string' }
    }
  })
  const summary = await runDriver({
    url: v.url ?? 'mqtt://127.0.0.1:1883',
    count: Number(v.count ?? 100),
    prefix: v.prefix ?? 'cp',
    calls: Number(v.calls ?? 100),
    window: Math.max(1, Number(v.window ?? 1)),
    qos: Number(v.qos ?? 2) as 0 | 1 | 2,
    mountpoint: v.mountpoint ?? 'ocpp/',
    timeoutS: Number(v.timeout ?? 120),
    inflight: v.inflight === undefined ? undefined : Number(v.inflight)
  })
  process.stdout.write(JSON.stringify(summary) + '\n')
}

/**
 * The "external" scenario: round trips through an external broker (Mosquitto, tuned and stock)
 * against the embedded one, in the same run: a fixed number of Calls (the issue's 50,000) from
 * chargers to the echo backend, upstream QoS and backend QoS varied, and Calls from a backend to
 * the chargers (bench/downstream-driver.ts). For each: answers/s, p50/p99, and the CPU per round
 * trip of the gateway, the broker and the backend processes, so that whose CPU is the limit shows.
 */
import { type SimSummary } from '../../src/sim/summary.js'
import { type Proc, readyLine, spawnNode } from './procs.js'
import { runOne, type RunnerOptions } from './runner.js'
import { type CpuUse, Sampler } from './sampler.js'
import { type RunDef } from './scenarios.js'
import { type SystemName, systems } from './systems.js'
import { type Table, fmt } from './report.js'

export interface ExternalCase {
  key: string
  title: string
  direction: 'up' | 'down'
  chargers: number
  /** Calls per charger. */
  calls: number
  /** Downstream: Calls outstanding per charger at once (the gateway queues all but one). */
  window?: number
  gatewayArgs?: string[]
  backendArgs?: string[]
  /** Downstream: give up after this many seconds. */
  timeoutS?: number
}

export const EXTERNAL_SYSTEMS: SystemName[] = ['ours-embedded', 'ours-mosquitto', 'ours-mosquitto-stock']

export function externalCases (scale: number): ExternalCase[] {
  // Full scale: 500 chargers x 100 Calls = the issue's 50,000.
  const n = Math.max(2, Math.round(500 * scale))
  const k = Math.max(2, Math.round(100 * scale))
  const total = (n * k).toLocaleString('en-US')
  return [
    { key: 'up', title: `${total} Calls up (${n} chargers x ${k}, closed loop), upstream QoS 2 (default), backend QoS 0`, direction: 'up', chargers: n, calls: k },
    { key: 'up-q1', title: 'the same, upstream QoS 1', direction: 'up', chargers: n, calls: k, gatewayArgs: ['--set', 'upstream.qos=1'] },
    { key: 'up-q0', title: 'the same, upstream QoS 0', direction: 'up', chargers: n, calls: k, gatewayArgs: ['--set', 'upstream.qos=0'] },
    { key: 'up-be2', title: 'the same, upstream QoS 2, backend subscribing and answering at QoS 2', direction: 'up', chargers: n, calls: k, backendArgs: ['--qos', '2'] },
    { key: 'down', title: `${total} Calls down (backend -> ${n} chargers x ${k}, one outstanding per charger), QoS 2`, direction: 'down', chargers: n, calls: k, window: 1, timeoutS: 120 },
    { key: 'down-burst', title: `${total} Calls down, sent at once (${k} per charger queued in the gateway), QoS 2; at most 60 s`, direction: 'down', chargers: n, calls: k, window: k, timeoutS: 60 }
  ]
}

export interface ExternalResult {
  case: string
  system: SystemName
  error?: string
  answered?: number
  expected?: number
  answersPerS?: number
  p50?: number
  p99?: number
  errors?: number
  cpu?: CpuUse
  sim?: SimSummary
}

async function runDown (c: ExternalCase, system: SystemName, o: RunnerOptions): Promise<ExternalResult> {
  const sys = await systems[system].start({ layout: o.layout, gatewayArgs: [...o.gatewayArgs, ...(c.gatewayArgs ?? [])], backendArgs: c.backendArgs })
  const procs: Proc[] = []
  try {
    if (sys.mqttUrl === undefined) throw new Error('no MQTT URL')
    const driver = spawnNode('downstream-driver', 'bench/downstream-driver.js', ['--url', sys.mqttUrl, '-n', String(c.chargers), '--calls', String(c.calls), '--window', String(c.window ?? 1), '--timeout', String(c.timeoutS ?? 120)], { cpus: o.layout.aux })
    procs.push(driver)
    await readyLine(driver)
    const sim = spawnNode('simulator', 'src/cli/simulate.js', ['--url', sys.url, '-n', String(c.chargers), '-s', 'idle', '--heartbeat', '3600', '-d', '3600', '-q', '--json', '-'], { cpus: o.layout.gen })
    procs.push(sim)
    const sampler = new Sampler({ ...sys.pids, driver: driver.pid, gen: sim.pid }, 250)
    await driver.exited
    sampler.stop()
    const line = driver.stdout().trim().split('\n').pop() ?? ''
    const d = JSON.parse(line) as { answered: number, errors: number, firstAt: number, lastAt: number, answersPerS: number, latencyMs: { p50: number, p99: number } }
    return { case: c.key, system, answered: d.answered, expected: c.chargers * c.calls, answersPerS: d.answersPerS, p50: d.latencyMs.p50, p99: d.latencyMs.p99, errors: d.errors, cpu: sampler.cpuBetween(d.firstAt, d.lastAt) }
  } catch (err) {
    return { case: c.key, system, error: (err as Error).message }
  } finally {
    for (const p of procs.reverse()) await p.stop()
    await sys.stop()
  }
}

async function runUp (c: ExternalCase, system: SystemName, o: RunnerOptions): Promise<ExternalResult> {
  const run: RunDef = { key: `external-${c.key}`, scenarios: [], title: c.title, count: c.chargers, simArgs: ['-n', String(c.chargers), '-s', 'heartbeat', '--calls', String(c.calls)], workers: 1, repeat: 1, memory: false, skip: [] }
  const r = await runOne(run, system, 1, o, { gatewayArgs: [...o.gatewayArgs, ...(c.gatewayArgs ?? [])], backendArgs: c.backendArgs })
  if (r.error !== undefined || r.sim === undefined) return { case: c.key, system, error: r.error ?? 'no summary' }
  const s = r.sim
  return { case: c.key, system, answered: s.calls.answered, expected: c.chargers * c.calls, answersPerS: s.calls.roundTripsPerS, p50: s.latencyMs.p50, p99: s.latencyMs.p99, errors: s.errors.total, cpu: r.cpu, sim: s }
}

/** Every case against every system, `repeat` times (systems alternating their order). */
export async function runExternal (cases: ExternalCase[], systemNames: SystemName[], repeat: number, o: RunnerOptions): Promise<ExternalResult[]> {
  const out: ExternalResult[] = []
  for (const c of cases) {
    for (let round = 1; round <= repeat; round++) {
      const order = round % 2 === 0 ? [...systemNames].reverse() : systemNames
      for (const system of order) {
        if (o.signal?.aborted === true) return out
        if (systems[system].unavailable?.() !== undefined) continue
        const t = Date.now()
        const r = c.direction === 'up' ? await runUp(c, system, o) : await runDown(c, system, o)
        out.push(r)
        o.log(`external-${c.key.padEnd(11)} ${round} ${system.padEnd(21)} ${r.error !== undefined ? `ERROR ${r.error}` : `${fmt.int(r.answersPerS)} answers/s, ${r.answered ?? 0}/${r.expected ?? 0} answered, p99 ${r.p99 ?? '-'} ms`} (${((Date.now() - t) / 1000).toFixed(1)} s)`)
      }
    }
  }
  return out
}

const usPerRt = (r: ExternalResult, ...labels: string[]): number | undefined => {
  if (r.cpu === undefined || r.answersPerS === undefined || r.answersPerS <= 0) return undefined
  let sum = 0
  let any = false
  for (const l of labels) {
    const x = r.cpu.cores[l]
    if (x !== undefined) { sum += x; any = true }
  }
  return any ? sum / r.answersPerS * 1e6 : undefined
}

export function externalTable (cases: ExternalCase[], results: ExternalResult[]): Table {
  const rows: string[][] = []
  for (const c of cases) {
    const mine = results.filter((r) => r.case === c.key)
    for (const r of mine) {
      if (r.error !== undefined) { rows.push([`${c.key} ${r.system}`, `ERROR ${r.error}`]); continue }
      const emb = mine.find((x) => x.system === 'ours-embedded' && x.error === undefined)
      const gw = usPerRt(r, 'server')
      const backend = usPerRt(r, 'backend', 'driver')
      rows.push([
        c.key, r.system, fmt.int(r.answersPerS),
        emb?.answersPerS !== undefined && emb.answersPerS > 0 && r.answersPerS !== undefined ? fmt.n(r.answersPerS / emb.answersPerS, 2) : '-',
        `${fmt.int(r.answered)}/${fmt.int(r.expected)}`, fmt.n(r.p50, 1), fmt.n(r.p99, 1), fmt.int(r.errors),
        fmt.int(gw), fmt.int(usPerRt(r, 'mosquitto')), fmt.int(backend),
        fmt.n(r.cpu?.cores.server, 2), fmt.n(r.cpu?.cores.mosquitto, 2), fmt.n((r.cpu?.cores.backend ?? 0) + (r.cpu?.cores.driver ?? 0), 2),
        fmt.n(r.cpu?.otherCores, 2)
      ])
    }
  }
  return {
    key: 'external',
    title: 'External broker round trips: the same Calls through the embedded broker, a tuned Mosquitto (max_inflight_messages 0, max_queued_messages 0) and a stock one',
    headers: ['case', 'system', 'answers/s', 'x embedded', 'answered', 'p50 ms', 'p99 ms', 'errors', 'gateway us/rt', 'broker us/rt', 'backend us/rt', 'gateway CPU', 'broker CPU', 'backend CPU', 'other load'],
    rows,
    notes: [
      ...cases.map((c) => `${c.key}: ${c.title}`),
      'us/rt: CPU time of that process per answered Call over the run (for ours-embedded the broker is inside the gateway); CPU columns in cores. The backend is the echo backend (up) or the downstream driver with the echo backend (down).'
    ]
  }
}

/**
 * Runs each run of the plan against each system, in the same bench run and with the same
 * load generator (the simulator CLI, as separate processes): a fresh system per run, an
 * optional warm-up, then the measured simulator run while /proc is sampled.
 */
import { type SimSummary } from '../../src/sim/summary.js'
import { type Proc, sleep, spawnNode } from './procs.js'
import { type CpuUse, Sampler, rssBytes } from './sampler.js'
import { type RunDef, type Scale } from './scenarios.js'
import { type Layout, type StartContext, type SystemName, systems } from './systems.js'

export interface RunResult {
  run: string
  system: SystemName
  round: number
  error?: string
  /** Time to start the system's processes, ms. */
  startupMs: number
  /** Date.now() when the server process was spawned. */
  spawnedAt?: number
  sim?: SimSummary
  /** CPU use during the measurement window (after every charger connected). */
  cpu?: CpuUse
  /** CPU use during the connect phase. */
  cpuConnect?: CpuUse
  memory?: { beforeBytes: number, idleBytes: number, connected: number, perChargerBytes: number }
}

export interface RunnerOptions {
  runs: RunDef[]
  systems: SystemName[]
  scale: Scale
  rounds: number
  layout: Layout
  gatewayArgs: string[]
  baselineDist?: string
  log: (line: string) => void
  signal?: AbortSignal
}

/** Start the simulator CLI as its own process (and its workers); its JSON summary comes on stdout. */
function startSimulator (url: string, args: string[], workers: number, cpus: string | undefined): Proc {
  return spawnNode('simulator', 'src/cli/simulate.js', ['--url', url, ...args, '-w', String(workers), '-q', '--json', '-'], { cpus })
}

async function summaryOf (proc: Proc): Promise<SimSummary> {
  const code = await proc.exited
  const out = proc.stdout()
  if (!out.trim().startsWith('{')) throw new Error(`simulator exited with ${String(code)} and no summary: ${proc.stderrTail()}`)
  return JSON.parse(out) as SimSummary
}

const sumValues = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0)

export async function runOne (run: RunDef, system: SystemName, round: number, o: RunnerOptions, extra: Partial<StartContext> = {}): Promise<RunResult> {
  const ctx: StartContext = { layout: o.layout, gatewayArgs: o.gatewayArgs, baselineDist: o.baselineDist, ...extra }
  const t0 = Date.now()
  const sys = await systems[system].start(ctx)
  const result: RunResult = { run: run.key, system, round, startupMs: Date.now() - t0, spawnedAt: sys.spawnedAt }
  try {
    let before: number | undefined
    if (run.memory) {
      // Let the start-up garbage settle: the same pause for every system.
      await sleep(1000)
      before = rssBytes(sys.pids.server ?? 0)
    }
    const proc = startSimulator(sys.url, run.simArgs, run.workers, o.layout.gen)
    const abort = (): void => { void proc.stop() }
    o.signal?.addEventListener('abort', abort, { once: true })
    const sampler = new Sampler({ ...sys.pids, gen: proc.pid }, 250)
    let summary: SimSummary
    try {
      summary = await summaryOf(proc)
    } finally {
      sampler.stop()
      o.signal?.removeEventListener('abort', abort)
    }
    result.sim = summary
    const started = Date.parse(summary.startedAt)
    const windowStart = started + (summary.connect.timeS + summary.warmupS) * 1000
    const windowEnd = windowStart + summary.calls.windowS * 1000
    result.cpu = sampler.cpuBetween(windowStart, windowEnd)
    result.cpuConnect = sampler.cpuBetween(started, started + summary.connect.timeS * 1000)
    if (run.memory && before !== undefined) {
      // The last reading while every charger was still connected and idle.
      const idle = sampler.before(windowEnd - 300).rss.server
      const connected = summary.connect.succeeded - sumValues(summary.connect.disconnects)
      if (idle !== undefined && connected > 0) {
        result.memory = { beforeBytes: before, idleBytes: idle, connected, perChargerBytes: (idle - before) / connected }
      }
    }
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    await sys.stop()
  }
  return result
}

/**
 * Every run against every system, `repeat` times in a row per run, the whole plan `rounds`
 * times; the order of the systems alternates between rounds so that a drift in the
 * machine's load does not always favour the same one.
 */
export async function runAll (o: RunnerOptions): Promise<RunResult[]> {
  const results: RunResult[] = []
  const available = o.systems.filter((s) => {
    const why = systems[s].unavailable?.()
    if (why !== undefined) o.log(`skipping ${s}: ${why}`)
    return why === undefined
  })
  for (let bench = 0; bench < o.rounds; bench++) {
    for (const run of o.runs) {
      for (let k = 1; k <= run.repeat; k++) {
        const round = bench * run.repeat + k
        const order = available.filter((s) => !run.skip.includes(s))
        if (round % 2 === 0) order.reverse()
        for (const system of order) {
          if (o.signal?.aborted === true) return results
          const t = Date.now()
          const r = await runOne(run, system, round, o)
          results.push(r)
          o.log(`${run.key.padEnd(20)} ${String(round).padStart(2)} ${system.padEnd(15)} ${describe(r)} (${((Date.now() - t) / 1000).toFixed(1)} s)`)
        }
      }
    }
  }
  return results
}

function describe (r: RunResult): string {
  if (r.error !== undefined) return `ERROR ${r.error}`
  const s = r.sim
  if (s === undefined) return 'no summary'
  if (r.memory !== undefined) {
    return `${s.connect.succeeded}/${s.connect.attempted} connected in ${s.connect.timeS} s, ${(r.memory.perChargerBytes / 1024).toFixed(1)} KB/charger`
  }
  return `${Math.round(s.calls.roundTripsPerS)} rt/s, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, generator ELU ${s.simulator.maxEventLoopUtilization}`
}

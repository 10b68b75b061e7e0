/**
 * The scenarios, as simulator runs. One run may serve two scenarios: the connect storm and
 * the idle memory are the same 10,000 connections (time and failures while they connect,
 * RSS of the server once they sit idle), so they cost one storm per system, not two.
 */
import { type SystemName } from './systems.js'

export const SCENARIOS = ['throughput', 'latency', 'storm', 'memory', 'size', 'external'] as const
export type ScenarioName = typeof SCENARIOS[number]

export interface Scale {
  /** Chargers of the closed-loop throughput runs. */
  throughputCounts: number[]
  latencyCount: number
  /** Calls per second per charger in the latency run. */
  latencyRate: number
  stormCount: number
  sizeCount: number
  /** Bytes of the big MeterValues. */
  meterSize: number
  /** Measurement window of throughput and size runs, s. */
  durationS: number
  /** Rounds of the throughput runs (the noisiest figures on a shared machine). */
  throughputRepeat: number
  latencyRepeat: number
  sizeRepeat: number
  latencyDurationS: number
  /** How long the storm's chargers stay connected and idle before the RSS is read, s. */
  holdS: number
  /** Simulator --warmup of the throughput, latency and size runs: boots, JIT, s. */
  warmupS: number
  /** The latency run's warm-up: long enough for the connects' boot burst to pass. */
  latencyWarmupS: number
  /** Simulator processes for the storm, and the source addresses they spread over. */
  stormWorkers: number
  stormSources: string[]
  /** Handshakes in progress at most during the storm (below the accept backlog); 0 = no limit. */
  stormMaxPending: number
  /** Boot as they connect (power-on storm); by default boots wait until all connected. */
  stormBootDuring: boolean
}

export const FULL: Scale = {
  throughputCounts: [100, 1000],
  latencyCount: 1000,
  latencyRate: 1,
  stormCount: 10_000,
  sizeCount: 100,
  meterSize: 20_000,
  durationS: 4,
  throughputRepeat: 3,
  latencyRepeat: 3,
  sizeRepeat: 2,
  latencyDurationS: 6,
  holdS: 8,
  warmupS: 1,
  latencyWarmupS: 2,
  stormWorkers: 2,
  stormSources: ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'],
  stormMaxPending: 400,
  stormBootDuring: false
}

export const QUICK: Scale = {
  ...FULL,
  throughputCounts: [10, 100],
  latencyCount: 100,
  stormCount: 1000,
  sizeCount: 10,
  durationS: 2,
  throughputRepeat: 1,
  latencyRepeat: 1,
  sizeRepeat: 1,
  latencyDurationS: 3,
  holdS: 2,
  warmupS: 0.5,
  latencyWarmupS: 1
}

export interface RunDef {
  /** Unique key, e.g. "throughput-1000". */
  key: string
  scenarios: ScenarioName[]
  title: string
  count: number
  /** Simulator flags besides --url, --json and -q. */
  simArgs: string[]
  workers: number
  /** Rounds of this run in one bench round (systems alternate their order between rounds). */
  repeat: number
  /** Read the server's RSS before the run and once the chargers sit idle. */
  memory: boolean
  /** Systems that take no part (e.g. format checking has no cost on idle connections). */
  skip: SystemName[]
}

export function plan (scale: Scale, selected: ScenarioName[]): RunDef[] {
  const want = (s: ScenarioName): boolean => selected.includes(s)
  const runs: RunDef[] = []
  const closedLoop = (key: string, scenarios: ScenarioName[], title: string, count: number, extra: string[]): RunDef => ({
    key, scenarios, title, count, simArgs: ['-n', String(count), '-d', String(scale.durationS), '--warmup', String(scale.warmupS), ...extra], workers: 1, repeat: 1, memory: false, skip: []
  })
  if (want('throughput')) {
    for (const n of scale.throughputCounts) {
      runs.push({ ...closedLoop(`throughput-${n}`, ['throughput'], `${n} chargers, Heartbeat, closed loop (one Call in flight each)`, n, ['-s', 'heartbeat']), repeat: scale.throughputRepeat })
    }
  }
  if (want('latency')) {
    const n = scale.latencyCount
    runs.push({
      key: `latency-${n}`,
      scenarios: ['latency'],
      title: `${n} chargers x ${scale.latencyRate} Heartbeat/s (fixed offered load, random phase)`,
      count: n,
      simArgs: ['-n', String(n), '-s', 'heartbeat', '--rate', String(scale.latencyRate), '-d', String(scale.latencyDurationS), '--warmup', String(scale.latencyWarmupS)],
      workers: 1,
      repeat: scale.latencyRepeat,
      memory: false,
      skip: []
    })
  }
  if (want('storm') || want('memory')) {
    const n = scale.stormCount
    runs.push({
      key: `connect-${n}`,
      scenarios: SCENARIOS.filter((s) => (s === 'storm' || s === 'memory') && want(s)),
      title: `${n} chargers connecting at once (${scale.stormWorkers} simulator processes, ${scale.stormSources.length} source addresses, at most ${scale.stormMaxPending || 'unlimited'} handshakes in progress; ${scale.stormBootDuring ? 'each boots as it connects' : 'boots held until all connected'}), then ${scale.stormBootDuring ? '' : 'boot, status and '}idle for ${scale.holdS} s`,
      count: n,
      simArgs: ['-n', String(n), '-s', 'idle', '-d', String(scale.holdS), '--sources', scale.stormSources.join(','),
        '--max-pending', String(scale.stormMaxPending), ...(scale.stormBootDuring ? [] : ['--boot-after-connect']), '--connect-timeout', '30', '--call-timeout', '30'],
      workers: scale.stormWorkers,
      repeat: 1,
      memory: true,
      skip: ['ours-check-all']
    })
  }
  if (want('size')) {
    const n = scale.sizeCount
    runs.push({ ...closedLoop(`size-heartbeat-${n}`, ['size'], `${n} chargers, Heartbeat (~60 B), closed loop`, n, ['-s', 'heartbeat']), repeat: scale.sizeRepeat })
    runs.push({ ...closedLoop(`size-meter-${n}`, ['size'], `${n} chargers, MeterValues of ~${scale.meterSize} B, closed loop`, n, ['-s', 'metervalues', '--meter-size', String(scale.meterSize)]), repeat: scale.sizeRepeat })
  }
  return runs
}

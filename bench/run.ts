/**
 * `npm run bench`: every scenario against every system, in one run, with the same load
 * generator, on loopback; a table per scenario with ratios, the targets, a JSON results file.
 *
 *   npm run bench                                  # full: about 10 minutes
 *   npm run bench -- --quick                       # small N, about 2 minutes
 *   npm run bench -- --only throughput,latency --systems floor,ours-embedded --rounds 3
 *   npm run bench -- --profile                     # + a CPU profile of the gateway under load
 *
 * Each system runs as its own process(es), the simulator as separate process(es); with
 * taskset and two or more cores they are pinned (generator / server / the rest of a system).
 */
import { mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs'
import { availableParallelism, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { distRoot, hasTaskset, installCleanup, stopAll } from './harness/procs.js'
import { cpuModel, loadAverage } from './harness/sampler.js'
import { FULL, QUICK, SCENARIOS, type Scale, type ScenarioName, plan, type RunDef } from './harness/scenarios.js'
import { DEFAULT_SYSTEMS, type Layout, SYSTEM_NAMES, type SystemName, stopMosquitto, systems } from './harness/systems.js'
import { type RunResult, runAll, runOne } from './harness/runner.js'
import { Results, type Table, type Target, buildTables, formatTable, formatTargets, targets } from './harness/report.js'
import { type ProfileSummary, formatProfile, summarize } from './profile-summary.js'
import { EXTERNAL_SYSTEMS, type ExternalResult, externalCases, externalTable, runExternal } from './harness/external.js'

export const benchUsage = `Usage: npm run bench -- [options]     (or: node dist/bench/run.js [options])

Runs each scenario against each system on loopback and prints a table per scenario with ratios.

Options:
  --quick                small N and short windows (about 2 minutes)
  --only S,S             scenarios: ${SCENARIOS.join(', ')}              [all]
  --systems S,S          systems: ${SYSTEM_NAMES.join(', ')}
                         [all but ours-baseline and ours-plain-backend]
  --repeat N             rounds of each throughput, latency and size run (medians;
                         each ratio taken within a round, then the median)
                                       [throughput 3, latency 3, size 2; quick 1]
  --external-cases C,C   cases of the external scenario (external broker round trips):
                         up, up-q1, up-q0, up-be2, down, down-burst             [all]
                         (systems: ours-embedded, ours-mosquitto, ours-mosquitto-stock;
                         --repeat N repeats them too, default 1)
  --rate M               Calls/s per charger of the latency run (fixed load)    [1]
  --rounds R             repeat the whole plan R times                          [1]
  --duration S           measurement window of throughput and size runs, s      [4; quick 2]
  --warmup S             simulator warm-up before each measurement window, s
                         (twice that for the latency run)            [1; quick 0.5]
  --chargers N,N         chargers of the throughput runs                        [100,1000]
  --storm N              chargers of the connect storm / idle memory run        [10000]
  --storm-workers K      simulator processes of the storm                        [2]
  --storm-pending N      handshakes in progress at most during the storm         [400]
  --storm-boot-during    chargers boot as they connect (a power-on storm) instead of
                         after every charger connected (a reconnect storm)
  --pin MODE             auto: pin generator / server / rest of a system to CPUs
                         with taskset (2 cores: 0 / 1 / 0); off; or G/S/A as CPU
                         lists, e.g. 0/1/0                                       [auto]
  --profile              then profile the gateway (node --cpu-prof) under the
                         largest throughput run, and summarise the profile
  --profile-run S        the same under the largest run of scenario S instead
  --profile-system S     the system whose gateway is profiled            [ours-embedded]
  --baseline DIR         also run ours-baseline: the gateway of another build (a copy
                         of dist/ inside this repository), for before/after figures
  --gateway-arg ARG      extra gateway flag (repeatable), e.g. --gateway-arg=--log-level=error
  --json FILE            results file                                  [.bench-out/bench-<time>.json]
  -h, --help             this text
`

export interface BenchOptions {
  scenarios: ScenarioName[]
  systems: SystemName[]
  scale: Scale
  rounds: number
  layout: Layout
  /** Profile the gateway under the largest run of this scenario afterwards. */
  profile: ScenarioName | undefined
  /** Cases of the external scenario, and its rounds. */
  externalCases: string[] | undefined
  externalRepeat: number
  /** The system whose gateway process is profiled. */
  profileSystem: SystemName
  gatewayArgs: string[]
  baselineDist: string | undefined
  json: string | undefined
  quick: boolean
  log: (line: string) => void
  signal?: AbortSignal
}

export interface Machine {
  nproc: number
  cpuModel: string
  memGB: number
  node: string
  taskset: boolean
  loadBefore: [number, number, number] | undefined
  loadAfter: [number, number, number] | undefined
}

export interface BenchReport {
  command: string
  startedAt: string
  elapsedS: number
  commit: string
  machine: Machine
  layout: Layout
  scale: Scale
  gatewayArgs: string[]
  runs: RunDef[]
  results: RunResult[]
  tables: Table[]
  targets: Target[]
  external?: ExternalResult[]
  profile?: { file: string, run: string, system: SystemName, window: { fromMs: number, toMs: number } | undefined, summary: ProfileSummary }
  text: string
}

function list<T extends string> (flag: string, v: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (v === undefined) return undefined
  const items = v.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const i of items) if (!allowed.includes(i as T)) throw new Error(`--${flag}: "${i}" is not one of ${allowed.join(', ')}`)
  return items as T[]
}

function positiveInts (flag: string, v: string): number[] {
  const xs = v.split(',').map(Number)
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--${flag}: expected positive integers`)
  return xs
}

export function autoLayout (mode: string): Layout {
  const none: Layout = { gen: undefined, server: undefined, aux: undefined }
  if (mode === 'off' || !hasTaskset) return none
  if (mode !== 'auto') {
    const [gen, server, aux] = mode.split('/')
    if (gen === undefined || server === undefined || aux === undefined) throw new Error('--pin: expected auto, off or GEN/SERVER/AUX CPU lists')
    return { gen, server, aux }
  }
  const n = availableParallelism()
  if (n < 2) return none
  // The server alone on its core; the echo backend and Mosquitto share the generator's
  // (on 2 cores): the system under test gets what the floor gets, one whole core.
  return n === 2 ? { gen: '0', server: '1', aux: '0' } : { gen: '0', server: '1', aux: `2-${n - 1}` }
}

export function parseBenchArgs (argv: string[]): BenchOptions & { help: boolean } {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      only: { type: 'string' },
      systems: { type: 'string' },
      rounds: { type: 'string' },
      repeat: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      chargers: { type: 'string' },
      storm: { type: 'string' },
      'storm-workers': { type: 'string' },
      'storm-pending': { type: 'string' },
      'storm-boot-during': { type: 'boolean' },
      pin: { type: 'string' },
      profile: { type: 'boolean' },
      'profile-run': { type: 'string' },
      'profile-system': { type: 'string' },
      'external-cases': { type: 'string' },
      'gateway-arg': { type: 'string', multiple: true },
      baseline: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true,
    allowPositionals: false
  })
  const quick = v.quick === true
  const scale: Scale = { ...(quick ? QUICK : FULL) }
  if (v.duration !== undefined) {
    const d = Number(v.duration)
    if (!(d > 0)) throw new Error('--duration: expected a positive number of seconds')
    scale.durationS = d
  }
  if (v.warmup !== undefined) {
    const w = Number(v.warmup)
    if (!(w >= 0)) throw new Error('--warmup: expected a number of seconds >= 0')
    scale.warmupS = w
    scale.latencyWarmupS = 2 * w
  }
  if (v.chargers !== undefined) scale.throughputCounts = positiveInts('chargers', v.chargers)
  if (v.storm !== undefined) scale.stormCount = positiveInts('storm', v.storm)[0]!
  if (v['storm-workers'] !== undefined) scale.stormWorkers = positiveInts('storm-workers', v['storm-workers'])[0]!
  if (v['storm-boot-during'] === true) scale.stormBootDuring = true
  if (v['storm-pending'] !== undefined) {
    const n = Number(v['storm-pending'])
    if (!Number.isInteger(n) || n < 0) throw new Error('--storm-pending: expected an integer >= 0 (0 = no limit)')
    scale.stormMaxPending = n
  }
  if (v.repeat !== undefined) scale.throughputRepeat = scale.latencyRepeat = scale.sizeRepeat = positiveInts('repeat', v.repeat)[0]!
  if (v.rate !== undefined) {
    const m = Number(v.rate)
    if (!(m > 0)) throw new Error('--rate: expected a positive number of Calls per second')
    scale.latencyRate = m
  }
  const rounds = Number(v.rounds ?? 1)
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: expected a positive integer')
  const baselineDist = v.baseline === undefined ? undefined : resolve(v.baseline)
  let chosen = list('systems', v.systems, SYSTEM_NAMES) ?? [...DEFAULT_SYSTEMS]
  if (baselineDist !== undefined && !chosen.includes('ours-baseline')) chosen = [...chosen, 'ours-baseline']
  if (baselineDist === undefined && chosen.includes('ours-baseline')) throw new Error('--systems ours-baseline needs --baseline DIR')
  return {
    scenarios: list('only', v.only, SCENARIOS) ?? [...SCENARIOS],
    systems: chosen,
    baselineDist,
    scale,
    rounds,
    layout: autoLayout(v.pin ?? 'auto'),
    externalCases: v['external-cases']?.split(',').map((x) => x.trim()),
    externalRepeat: v.repeat === undefined ? 1 : positiveInts('repeat', v.repeat)[0]!,
    profileSystem: list('profile-system', v['profile-system'], SYSTEM_NAMES)?.[0] ?? 'ours-embedded',
    profile: v['profile-run'] !== undefined ? list('profile-run', v['profile-run'], SCENARIOS)![0] : v.profile === true ? 'throughput' : undefined,
    gatewayArgs: v['gateway-arg'] ?? [],
    json: v.json,
    quick,
    log: (line) => process.stderr.write(line + '\n'),
    help: v.help === true
  }
}

/**
 * The auth work limits connection attempts per source address (handshake_limits). In the
 * field each charger has its own address; the bench has four loopback addresses for 10,000
 * chargers, so the limit is turned off when this build of the gateway has it.
 */
function benchGatewayArgs (): string[] {
  const off = ['--set', 'handshake_limits.conn_rate_per_address.enable=false']
  const probe = spawnSync(process.execPath, [distRoot + 'src/cli/main.js', ...off, '--print-config'], { stdio: 'ignore' })
  return probe.status === 0 ? off : []
}

function gitCommit (): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
    return dirty ? `${head} + uncommitted changes` : head
  } catch {
    return 'unknown'
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100

export async function runBench (o: BenchOptions, command: string): Promise<BenchReport> {
  const t0 = Date.now()
  const machine: Machine = {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    memGB: round2(totalmem() / 2 ** 30),
    node: process.version,
    taskset: hasTaskset,
    loadBefore: loadAverage(),
    loadAfter: undefined
  }
  const runs = plan(o.scale, o.scenarios)
  const gatewayArgs = [...benchGatewayArgs(), ...o.gatewayArgs]
  const pinText = o.layout.gen === undefined ? 'not pinned' : `pinned with taskset: generator CPU ${o.layout.gen}, server CPU ${o.layout.server ?? '-'}, echo backend + Mosquitto CPU ${o.layout.aux ?? '-'}`
  o.log(`bench: ${runs.length} runs (repeated: throughput ${o.scale.throughputRepeat}, latency ${o.scale.latencyRepeat}, size ${o.scale.sizeRepeat}) x ${o.systems.length} systems x ${o.rounds} round(s); ${machine.nproc} CPUs (${machine.cpuModel}), ${pinText}; load average ${machine.loadBefore?.join(' ') ?? '?'}`)
  const runnerOptions = { runs, systems: o.systems, scale: o.scale, rounds: o.rounds, layout: o.layout, gatewayArgs, baselineDist: o.baselineDist, log: o.log, signal: o.signal }
  const results = await runAll(runnerOptions)
  let external: { results: ExternalResult[], text: string } | undefined
  if (o.scenarios.includes('external') && o.signal?.aborted !== true) {
    const all = externalCases(o.quick ? 0.1 : 1)
    const cases = o.externalCases === undefined ? all : all.filter((c) => o.externalCases!.includes(c.key))
    const res = await runExternal(cases, EXTERNAL_SYSTEMS, o.externalRepeat, runnerOptions)
    external = { results: res, text: formatTable(externalTable(cases, res)) }
  }

  let profile: BenchReport['profile']
  if (o.profile !== undefined && o.signal?.aborted !== true) {
    // The run to profile: the largest of that scenario (the storm's connect phase for storm).
    const run = plan(o.scale, [o.profile]).sort((a, b) => b.count - a.count || (b.key < a.key ? -1 : 1))[0]!
    const dir = resolve('.bench-out', `profile-${new Date(t0).toISOString().replace(/[:.]/g, '-')}`)
    mkdirSync(dir, { recursive: true })
    o.log(`profiling the gateway (${o.profileSystem}) under ${run.key} into ${dir}`)
    const r = await runOne(run, o.profileSystem, 0, runnerOptions, { profileDir: dir })
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
    if (r.error !== undefined || file === undefined) {
      o.log(`profile run failed: ${r.error ?? 'no .cpuprofile written'}`)
    } else {
      // Only the samples of the measurement window (of the connect phase for the storm):
      // no start-up and no shutdown.
      const s = r.sim
      let window: { fromMs: number, toMs: number } | undefined
      if (s !== undefined && r.spawnedAt !== undefined) {
        const started = Date.parse(s.startedAt) - r.spawnedAt
        window = o.profile === 'storm'
          ? { fromMs: started, toMs: started + s.connect.timeS * 1000 }
          : { fromMs: started + (s.connect.timeS + s.warmupS) * 1000, toMs: started + (s.connect.timeS + s.warmupS + s.calls.windowS) * 1000 }
      }
      profile = { file: join(dir, file), run: run.key, system: o.profileSystem, window, summary: summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')), 25, window) }
      o.log(`profile run: ${Math.round(r.sim?.calls.roundTripsPerS ?? 0)} rt/s, connect ${r.sim?.connect.timeS ?? '?'} s under the profiler`)
    }
  }
  machine.loadAfter = loadAverage()

  const res = new Results(results)
  const tables = buildTables(res, runs, o.systems)
  const ts = targets(res, runs)
  const elapsedS = Math.round((Date.now() - t0) / 1000)
  const text = [
    `command: ${command}`,
    `machine: ${machine.nproc} CPUs, ${machine.cpuModel}, ${machine.memGB} GB, Node ${machine.node}; ${pinText}`,
    `load average (1/5/15 min): before ${machine.loadBefore?.join(' ') ?? '?'}, after ${machine.loadAfter?.join(' ') ?? '?'}; "other load" columns: cores busy with processes outside the bench`,
    `gateway: ${gitCommit()}, extra flags: ${gatewayArgs.join(' ') || 'none'}`,
    `systems: ${o.systems.map((s) => `${s} = ${systems[s].about}`).join('; ')}`,
    'CPU columns are cores (1.00 = one core busy) over the measurement window; gen ELU is the busiest simulator event loop (>= 0.90: the generator, not the system, set the pace).',
    '',
    ...tables.flatMap((t) => [formatTable(t), '']),
    ...(external !== undefined ? [external.text, ''] : []),
    o.quick ? '(quick scale: the targets below are stated for 1,000 / 10,000 chargers)' : '',
    formatTargets(ts),
    ...(profile !== undefined
      ? ['', `CPU profile of the gateway (${profile.system} under ${profile.run}, ${profile.window === undefined ? 'whole process' : `${o.profile === 'storm' ? 'connect phase' : 'measurement window'} only: ${Math.round(profile.window.fromMs)}-${Math.round(profile.window.toMs)} ms after spawn`}): ${profile.file}`, formatProfile(profile.summary)]
      : []),
    '',
    `elapsed ${elapsedS} s`
  ].join('\n')
  return {
    command,
    startedAt: new Date(t0).toISOString(),
    elapsedS,
    commit: gitCommit(),
    machine,
    layout: o.layout,
    scale: o.scale,
    gatewayArgs,
    runs,
    results,
    tables,
    targets: ts,
    external: external?.results,
    profile,
    text
  }
}

async function main (argv: string[]): Promise<number> {
  let o
  try {
    o = parseBenchArgs(argv)
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${benchUsage}`)
    return 2
  }
  if (o.help) { process.stdout.write(benchUsage); return 0 }
  installCleanup(stopMosquitto)
  const command = `node dist/bench/run.js ${argv.join(' ')}`.trim()
  process.stderr.write(`${command}\n`)
  const report = await runBench(o, command)
  await stopAll()
  process.stdout.write(report.text + '\n')
  const file = o.json ?? join('.bench-out', `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`)
  mkdirSync(resolve(file, '..'), { recursive: true })
  writeFileSync(file, JSON.stringify({ ...report, text: undefined }, null, 2) + '\n')
  process.stdout.write(`results: ${file}\n`)
  return report.results.some((r) => r.error !== undefined) || report.external?.some((r) => r.error !== undefined) === true ? 1 : 0
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`)
    void stopAll().finally(() => { process.exitCode = 1 })
  })
}

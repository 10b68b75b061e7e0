/**
 * Tables, ratios and targets from the results of one bench run. With several rounds, each
 * figure is the median over rounds, and each ratio the median of the per-round ratios (the
 * two systems of a ratio always measured in the same round, minutes apart at most).
 */
import { type RunResult } from './runner.js'
import { type RunDef } from './scenarios.js'
import { type SystemName } from './systems.js'

export interface Table {
  key: string
  title: string
  headers: string[]
  rows: string[][]
  notes: string[]
}

export interface Target {
  what: string
  goal: string
  value: string
  met: boolean | undefined
  /** How far from the goal, e.g. "-31 %" or "met with 12 % to spare". */
  gap: string
  /**
   * What else the same run says about it: the same ratio by server CPU per round trip (the
   * cost, which the load generator does not cap), or what the floor did, so that a NO set by
   * the generator or the machine reads as such.
   */
  context?: string
}

type Num = number | undefined
type Pick = (r: RunResult) => Num

const median = (xs: number[]): Num => {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export class Results {
  constructor (readonly all: RunResult[]) {}

  of (run: string, system: SystemName): RunResult[] {
    return this.all.filter((r) => r.run === run && r.system === system && r.error === undefined && r.sim !== undefined)
  }

  has (run: string, system: SystemName): boolean { return this.all.some((r) => r.run === run && r.system === system) }

  error (run: string, system: SystemName): string | undefined {
    return this.all.find((r) => r.run === run && r.system === system && r.error !== undefined)?.error
  }

  value (run: string, system: SystemName, pick: Pick): Num {
    return median(this.of(run, system).map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x)))
  }

  /** Median over rounds of pick(a) / pick(b), each round against itself. */
  ratio (run: string, a: SystemName, b: SystemName, pick: Pick, runB = run): Num {
    const ratios: number[] = []
    for (const ra of this.of(run, a)) {
      const rb = this.of(runB, b).find((r) => r.round === ra.round)
      const x = pick(ra)
      const y = rb === undefined ? undefined : pick(rb)
      if (x !== undefined && y !== undefined && y > 0) ratios.push(x / y)
    }
    return median(ratios)
  }
}

/** How many rounds of a run the results hold. */
function roundsOf (res: Results, run: string): number {
  return new Set(res.all.filter((r) => r.run === run).map((r) => r.round)).size
}

export const fmt = {
  int: (x: Num): string => x === undefined ? '-' : Math.round(x).toLocaleString('en-US'),
  n: (x: Num, d = 1): string => x === undefined ? '-' : x.toFixed(d),
  ratio: (x: Num): string => x === undefined ? '-' : x.toFixed(2),
  ms: (x: Num): string => x === undefined ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0),
  mb: (x: Num): string => x === undefined ? '-' : (x / 1024 / 1024).toFixed(1),
  kb: (x: Num): string => x === undefined ? '-' : (x / 1024).toFixed(1)
}

const rt: Pick = (r) => r.sim?.calls.roundTripsPerS
const p50: Pick = (r) => r.sim?.latencyMs.p50
const p99: Pick = (r) => r.sim?.latencyMs.p99
const serverCpu: Pick = (r) => r.cpu?.cores.server
/** Server CPU per round trip, µs: the cost of one round trip to the server process. */
const serverUs: Pick = (r) => {
  const c = r.cpu?.cores.server
  const x = r.sim?.calls.roundTripsPerS
  return c === undefined || x === undefined || x === 0 ? undefined : c / x * 1e6
}
/** Connect storm: time until every first attempt settled, s; the generator's cores over it. */
const connectTimeS: Pick = (r) => r.sim?.connect.timeS
const genConnectCpu: Pick = (r) => r.cpuConnect?.cores.gen
/** Server CPU per charger connected during a connect storm, µs. */
const serverUsPerConnect: Pick = (r) => {
  const c = r.cpuConnect?.cores.server
  const t = r.sim?.connect.timeS
  const n = r.sim?.connect.succeeded
  return c === undefined || t === undefined || n === undefined || n === 0 ? undefined : c * t / n * 1e6
}
const auxCpu: Pick = (r) => r.cpu === undefined ? undefined : (r.cpu.cores.backend ?? 0) + (r.cpu.cores.mosquitto ?? 0)
const genCpu: Pick = (r) => r.cpu?.cores.gen
const genElu: Pick = (r) => r.sim?.simulator.maxEventLoopUtilization
const other: Pick = (r) => r.cpu?.otherCores
const errors: Pick = (r) => r.sim?.errors.total

function rowsFor (res: Results, run: string, systems: SystemName[], cells: (s: SystemName) => string[]): string[][] {
  const rows: string[][] = []
  for (const s of systems) {
    if (!res.has(run, s)) continue
    const err = res.error(run, s)
    if (err !== undefined && res.of(run, s).length === 0) rows.push([s, `ERROR: ${err.slice(0, 120)}`])
    else rows.push([s, ...cells(s)])
  }
  return rows
}

export function buildTables (res: Results, runs: RunDef[], systems: SystemName[]): Table[] {
  const tables: Table[] = []
  const peerRatio = (run: string, s: SystemName): string => fmt.ratio(res.ratio(run, s, 'peer', rt))
  const floorRatio = (run: string, s: SystemName): string => fmt.ratio(res.ratio(run, s, 'floor', rt))
  for (const run of runs.filter((r) => r.scenarios.includes('throughput'))) {
    tables.push({
      key: run.key,
      title: `Throughput: ${run.title}${roundsOf(res, run.key) > 1 ? `; medians of ${roundsOf(res, run.key)} rounds` : ''}`,
      headers: ['system', 'round trips/s', 'x floor', 'x peer', 'p50 ms', 'p99 ms', 'server CPU', 'server us/rt', 'aux CPU', 'gen CPU', 'gen ELU', 'other load', 'errors'],
      rows: rowsFor(res, run.key, systems, (s) => [
        fmt.int(res.value(run.key, s, rt)), floorRatio(run.key, s), peerRatio(run.key, s),
        fmt.ms(res.value(run.key, s, p50)), fmt.ms(res.value(run.key, s, p99)),
        fmt.n(res.value(run.key, s, serverCpu), 2), fmt.int(res.value(run.key, s, serverUs)), fmt.n(res.value(run.key, s, auxCpu), 2),
        fmt.n(res.value(run.key, s, genCpu), 2), fmt.n(res.value(run.key, s, genElu), 2),
        fmt.n(res.value(run.key, s, other), 2), fmt.int(res.value(run.key, s, errors))
      ]),
      notes: formatCheckingNote(res, run.key)
    })
  }
  for (const run of runs.filter((r) => r.scenarios.includes('latency'))) {
    tables.push({
      key: run.key,
      title: `Latency: ${run.title}${roundsOf(res, run.key) > 1 ? `; medians of ${roundsOf(res, run.key)} rounds` : ''}`,
      headers: ['system', 'round trips/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'late starts', 'server CPU', 'server us/rt', 'aux CPU', 'gen ELU', 'other load', 'errors'],
      rows: rowsFor(res, run.key, systems, (s) => [
        fmt.int(res.value(run.key, s, rt)), fmt.ms(res.value(run.key, s, p50)), fmt.ms(res.value(run.key, s, (r) => r.sim?.latencyMs.p90)),
        fmt.ms(res.value(run.key, s, p99)), fmt.ms(res.value(run.key, s, (r) => r.sim?.latencyMs.p999)), fmt.ms(res.value(run.key, s, (r) => r.sim?.latencyMs.max)),
        fmt.int(res.value(run.key, s, (r) => r.sim?.calls.behind)),
        fmt.n(res.value(run.key, s, serverCpu), 2), fmt.int(res.value(run.key, s, serverUs)), fmt.n(res.value(run.key, s, auxCpu), 2),
        fmt.n(res.value(run.key, s, genElu), 2), fmt.n(res.value(run.key, s, other), 2), fmt.int(res.value(run.key, s, errors))
      ]),
      notes: ['late starts: Calls that could not leave on schedule because the previous one was still unanswered.', ...baselineNote(res, run.key)]
    })
  }
  for (const run of runs.filter((r) => r.scenarios.includes('storm'))) {
    tables.push({
      key: `${run.key}-storm`,
      title: `Connect storm: ${run.title}`,
      headers: ['system', 'connected', 'failed', 'time s', 'connects/s', 'x floor', 'handshake p50 ms', 'handshake p99 ms', 'server CPU', 'server us/connect', 'gen CPU', 'gen ELU', 'other load'],
      rows: rowsFor(res, run.key, systems, (s) => {
        const one = res.of(run.key, s)[0]
        const failed = one?.sim?.connect.failedByKind ?? {}
        const kinds = Object.entries(failed).map(([k, v]) => `${k}=${v}`).join(' ')
        return [
          fmt.int(res.value(run.key, s, (r) => r.sim?.connect.succeeded)),
          fmt.int(res.value(run.key, s, (r) => r.sim?.connect.failed)) + (kinds !== '' ? ` (${kinds})` : ''),
          fmt.n(res.value(run.key, s, connectTimeS), 2),
          fmt.int(res.value(run.key, s, (r) => r.sim?.connect.ratePerS)),
          fmt.ratio(res.ratio(run.key, s, 'floor', (r) => r.sim?.connect.ratePerS)),
          fmt.ms(res.value(run.key, s, (r) => r.sim?.connect.handshakeMs.p50)),
          fmt.ms(res.value(run.key, s, (r) => r.sim?.connect.handshakeMs.p99)),
          fmt.n(res.value(run.key, s, (r) => r.cpuConnect?.cores.server), 2),
          fmt.int(res.value(run.key, s, serverUsPerConnect)),
          fmt.n(res.value(run.key, s, genConnectCpu), 2),
          fmt.n(res.value(run.key, s, genElu), 2),
          fmt.n(res.value(run.key, s, (r) => r.cpuConnect?.otherCores), 2)
        ]
      }),
      notes: [
        'time: from the first attempt until every charger\'s first attempt settled (WebSocket open or failed); CPU over that time.',
        'server us/connect: server CPU over that time per charger connected: what one connection costs the server, however fast the generator offers them.'
      ]
    })
  }
  for (const run of runs.filter((r) => r.scenarios.includes('memory'))) {
    const per: Pick = (r) => r.memory?.perChargerBytes
    tables.push({
      key: `${run.key}-memory`,
      title: `Idle memory: RSS of the server process (the gateway for ours) with ${run.count.toLocaleString('en-US')} idle chargers connected`,
      headers: ['system', 'idle connected', 'RSS before MB', 'RSS idle MB', 'KB per charger', 'x floor'],
      rows: rowsFor(res, run.key, systems, (s) => [
        fmt.int(res.value(run.key, s, (r) => r.memory?.connected)),
        fmt.mb(res.value(run.key, s, (r) => r.memory?.beforeBytes)),
        fmt.mb(res.value(run.key, s, (r) => r.memory?.idleBytes)),
        fmt.kb(res.value(run.key, s, per)),
        fmt.ratio(res.ratio(run.key, s, 'floor', per))
      ]),
      notes: ['KB per charger = (RSS idle - RSS before the first connection) / chargers connected; RSS from /proc/PID/status.']
    })
  }
  const hb = runs.find((r) => r.key.startsWith('size-heartbeat'))
  const mv = runs.find((r) => r.key.startsWith('size-meter'))
  if (hb !== undefined && mv !== undefined) {
    const mbps: Pick = (r) => r.sim === undefined || r.sim.calls.windowS === 0 ? undefined : r.sim.messages.bytesSent / r.sim.elapsedS / 1e6
    tables.push({
      key: 'size',
      title: `Message size: ${hb.title} vs ${mv.title}${roundsOf(res, mv.key) > 1 ? `; medians of ${roundsOf(res, mv.key)} rounds` : ''}`,
      headers: ['system', 'Heartbeat rt/s', 'MeterValues rt/s', 'MV/HB', 'MV x floor', 'MV x peer', 'MV p99 ms', 'MV MB/s up', 'server CPU (MV)', 'gen ELU (MV)', 'other load'],
      rows: rowsFor(res, mv.key, systems, (s) => [
        fmt.int(res.value(hb.key, s, rt)), fmt.int(res.value(mv.key, s, rt)),
        fmt.ratio(res.ratio(mv.key, s, s, rt, hb.key)),
        floorRatio(mv.key, s), peerRatio(mv.key, s),
        fmt.ms(res.value(mv.key, s, p99)), fmt.n(res.value(mv.key, s, mbps), 1),
        fmt.n(res.value(mv.key, s, serverCpu), 2), fmt.n(res.value(mv.key, s, genElu), 2), fmt.n(res.value(mv.key, s, other), 2)
      ]),
      notes: [...formatCheckingNote(res, mv.key), 'MV MB/s up: bytes the simulator sent per second over the whole run (connects included).']
    })
  }
  return tables
}

function formatCheckingNote (res: Results, run: string): string[] {
  const notes: string[] = []
  const r = res.ratio(run, 'ours-check-all', 'ours-embedded', rt)
  if (r !== undefined) notes.push(`format checking: ours-check-all / ours-embedded (disable) round trips/s = ${fmt.ratio(r)} (cost ${fmt.n((1 - r) * 100, 0)} %; the goal is within 15 %).`)
  return [...notes, ...baselineNote(res, run), ...plainBackendNote(res, run)]
}

function plainBackendNote (res: Results, run: string): string[] {
  const r = res.ratio(run, 'ours-embedded', 'ours-plain-backend', rt)
  if (r === undefined) return []
  return [`echo backend write coalescing: ours-embedded / ours-plain-backend round trips/s = ${fmt.ratio(r)}, gateway CPU per round trip ${fmt.ratio(res.ratio(run, 'ours-embedded', 'ours-plain-backend', serverUs))} (medians of per-round ratios).`]
}

function baselineNote (res: Results, run: string): string[] {
  const b = res.ratio(run, 'ours-embedded', 'ours-baseline', rt)
  if (b === undefined) return []
  return [`this build vs the baseline build: ours-embedded / ours-baseline round trips/s = ${fmt.ratio(b)}, server CPU per round trip ${fmt.ratio(cpuPerRt(res, run))} of the baseline's, p99 ${fmt.ratio(res.ratio(run, 'ours-embedded', 'ours-baseline', p99))} of the baseline's (medians of per-round ratios).`]
}

/** CPU per round trip of ours-embedded relative to ours-baseline (median of per-round ratios). */
function cpuPerRt (res: Results, run: string): Num {
  return res.ratio(run, 'ours-embedded', 'ours-baseline', serverUs)
}

export function formatTable (t: Table): string {
  const all = [t.headers, ...t.rows]
  const widths = t.headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]): string => r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join('  ').trimEnd()
  return [
    t.title,
    line(t.headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map((r) => r.length === 2 && r[1]!.startsWith('ERROR') ? `${r[0]!.padEnd(widths[0]!)}  ${r[1]!}` : line(r)),
    ...t.notes.map((n) => `  ${n}`)
  ].join('\n')
}

/** Where we stand against the issue's targets (meaningful at full scale only). */
export function targets (res: Results, runs: RunDef[]): Target[] {
  const out: Target[] = []
  const context = (parts: Array<string | undefined>): string | undefined => {
    const said = parts.filter((p): p is string => p !== undefined)
    return said.length > 0 ? said.join('; ') : undefined
  }
  const atLeast = (what: string, value: Num, goal: number, show: (x: number) => string, notes: Array<string | undefined> = []): void => {
    if (value === undefined) return
    out.push({ what, goal: `>= ${show(goal)}`, value: show(value), met: value >= goal, gap: gapText(value, goal, true), context: context(notes) })
  }
  const atMost = (what: string, value: Num, goal: number, show: (x: number) => string, notes: Array<string | undefined> = []): void => {
    if (value === undefined) return
    out.push({ what, goal: `<= ${show(goal)}`, value: show(value), met: value <= goal, gap: gapText(value, goal, false), context: context(notes) })
  }
  const tp = runs.filter((r) => r.scenarios.includes('throughput')).sort((a, b) => b.count - a.count)[0]
  if (tp !== undefined) {
    // The same ratios by cost: a system's CPU per round trip, inverted (the generator caps a
    // system's round trips/s, not its cost per round trip).
    const byCost = (other: SystemName): string | undefined => {
      const r = res.ratio(tp.key, other, 'ours-embedded', serverUs)
      return r === undefined ? undefined : `${r.toFixed(2)} by CPU per round trip (${other} ${fmt.int(res.value(tp.key, other, serverUs))} us, ours ${fmt.int(res.value(tp.key, 'ours-embedded', serverUs))} us)`
    }
    const floorElu = res.value(tp.key, 'floor', genElu)
    atLeast(`round trips/s ours-embedded / floor, ${tp.count} chargers`, res.ratio(tp.key, 'ours-embedded', 'floor', rt), 0.6, (x) => x.toFixed(2),
      [byCost('floor'), floorElu !== undefined && floorElu >= 0.9 ? `floor generator-bound (gen ELU ${floorElu.toFixed(2)})` : undefined])
    atLeast(`round trips/s ours-embedded / peer, ${tp.count} chargers`, res.ratio(tp.key, 'ours-embedded', 'peer', rt), 1.2, (x) => x.toFixed(2), [byCost('peer')])
    atLeast(`round trips/s check-all / disable (format checking cost), ${tp.count} chargers`, res.ratio(tp.key, 'ours-check-all', 'ours-embedded', rt), 0.85, (x) => x.toFixed(2))
  }
  const lat = runs.find((r) => r.scenarios.includes('latency'))
  if (lat !== undefined) atMost(`p99 latency ours-embedded, ${lat.title.split(' (')[0]!}`, res.value(lat.key, 'ours-embedded', p99), 10, (x) => `${fmt.ms(x)} ms`)
  const conn = runs.find((r) => r.memory)
  if (conn !== undefined && conn.scenarios.includes('memory')) {
    atMost(`RSS per idle charger ours-embedded, ${conn.count} chargers`, res.value(conn.key, 'ours-embedded', (r) => r.memory?.perChargerBytes), 16 * 1024, (x) => `${fmt.kb(x)} KB`)
  }
  if (conn !== undefined && conn.scenarios.includes('storm')) {
    const floorTime = res.value(conn.key, 'floor', connectTimeS)
    const genCores = res.value(conn.key, 'ours-embedded', genConnectCpu)
    const perConnect = res.value(conn.key, 'ours-embedded', serverUsPerConnect)
    atMost(`time to connect ${conn.count} chargers, ours-embedded`, res.value(conn.key, 'ours-embedded', connectTimeS), 5, (x) => `${x.toFixed(2)} s`, [
      floorTime === undefined ? undefined : `floor ${floorTime.toFixed(2)} s in this run`,
      genCores === undefined ? undefined : `generator ${genCores.toFixed(2)} cores${genCores >= 0.9 ? ' (generator-bound)' : ''}`,
      perConnect === undefined ? undefined : `gateway ${fmt.int(perConnect)} us CPU per connect (${(perConnect * conn.count / 1e6).toFixed(2)} s of one core for ${conn.count.toLocaleString('en-US')})`
    ])
    atMost(`connect failures, ${conn.count} chargers, ours-embedded`, res.value(conn.key, 'ours-embedded', (r) => r.sim?.connect.failed), 0, (x) => String(Math.round(x)))
  }
  return out
}

function gapText (value: number, goal: number, higherIsBetter: boolean): string {
  if (goal === 0) return value === 0 ? 'met' : `${value} over`
  const rel = (value - goal) / goal * 100
  const met = higherIsBetter ? value >= goal : value <= goal
  return met ? `met, ${Math.abs(rel).toFixed(0)} % margin` : `${Math.abs(rel).toFixed(0)} % ${higherIsBetter ? 'short' : 'over'}`
}

export function formatTargets (ts: Target[]): string {
  return formatTable({
    key: 'targets',
    title: 'Targets (issue: ours-embedded at 1,000 chargers; 10,000 for memory and the storm)',
    headers: ['target', 'goal', 'measured', 'met', 'gap'],
    rows: ts.map((t) => [t.what, t.goal, t.value, t.met === undefined ? '-' : t.met ? 'yes' : 'NO', t.gap]),
    // The context is long: a line under the table for each target that has one.
    notes: ts.filter((t) => t.context !== undefined).map((t) => `${t.what}: ${t.context!}`)
  })
}

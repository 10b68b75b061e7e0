/**
 * The targets table of `npm run bench` (bench/harness/report.ts), from results made up here:
 * each target line carries what else the run says about it (the ratio by CPU cost, the
 * floor's own figure, the generator's load), so that a NO set by the generator reads as such.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Results, formatTargets, targets } from '../../../bench/harness/report.js'
import type { RunResult } from '../../../bench/harness/runner.js'
import type { RunDef } from '../../../bench/harness/scenarios.js'
import type { SystemName } from '../../../bench/harness/systems.js'
import type { SimSummary } from '../../../src/sim/summary.js'

const run = (key: string, scenarios: RunDef['scenarios'], count: number): RunDef =>
  ({ key, scenarios, title: `${count} chargers`, count, simArgs: [], workers: 1, repeat: 1, memory: scenarios.includes('memory'), skip: [] })

function result (runKey: string, system: SystemName, sim: Record<string, unknown>, server: number, gen: number): RunResult {
  const cpu = { cores: { server, gen }, otherCores: 0, machineCores: 2, seconds: 4 }
  return { run: runKey, system, round: 1, startupMs: 0, sim: sim as unknown as SimSummary, cpu, cpuConnect: cpu }
}

const closedLoop = (rtPerS: number, elu: number): Record<string, unknown> =>
  ({ calls: { roundTripsPerS: rtPerS }, latencyMs: { p50: 1, p99: 2 }, simulator: { maxEventLoopUtilization: elu }, errors: { total: 0 } })
const storm = (timeS: number): Record<string, unknown> =>
  ({ connect: { timeS, succeeded: 10_000, failed: 0 }, calls: { roundTripsPerS: 0 }, simulator: { maxEventLoopUtilization: 0.5 } })

test('the targets say the ratio by CPU per round trip and when the floor was generator-bound', () => {
  const tp = run('throughput-1000', ['throughput'], 1000)
  const res = new Results([
    result(tp.key, 'floor', closedLoop(20_000, 0.97), 1.0, 1.0), // 50 us per round trip
    result(tp.key, 'peer', closedLoop(15_000, 0.7), 0.9, 0.7), // 60 us
    result(tp.key, 'ours-embedded', closedLoop(12_000, 0.8), 0.96, 0.5) // 80 us
  ])
  const ts = targets(res, [tp])
  const floor = ts.find((t) => t.what.includes('/ floor'))
  assert.equal(floor?.value, '0.60')
  assert.equal(floor?.met, true)
  assert.equal(floor?.context, '0.63 by CPU per round trip (floor 50 us, ours 80 us); floor generator-bound (gen ELU 0.97)')
  const peer = ts.find((t) => t.what.includes('/ peer'))
  assert.equal(peer?.value, '0.80')
  assert.equal(peer?.met, false)
  assert.equal(peer?.context, '0.75 by CPU per round trip (peer 60 us, ours 80 us)')
  assert.match(formatTargets(ts), /^ {2}round trips\/s ours-embedded \/ peer, 1000 chargers: 0\.75 by CPU per round trip/m)
})

test('the storm target says the floor\'s time, the generator\'s load and the gateway\'s CPU per connect', () => {
  const conn = run('connect-10000', ['storm', 'memory'], 10_000)
  const res = new Results([
    result(conn.key, 'floor', storm(5.8), 0.6, 0.99),
    result(conn.key, 'ours-embedded', storm(7.5), 0.56, 0.99) // 0.56 cores x 7.5 s / 10,000 = 420 us
  ])
  const t = targets(res, [conn]).find((x) => x.what.startsWith('time to connect'))
  assert.equal(t?.met, false)
  assert.equal(t?.context, 'floor 5.80 s in this run; generator 0.99 cores (generator-bound); gateway 420 us CPU per connect (4.20 s of one core for 10,000)')
})

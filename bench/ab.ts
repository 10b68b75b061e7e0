/**
 * A/B of two gateway builds (ours-embedded against ours-baseline), rounds alternating which
 * goes first, and the medians of the per-round ratios: gateway CPU per round trip, round
 * trips/s, p50, p99. Fixed offered loads measure the cost at the same work for both builds.
 *
 *   node dist/bench/ab.js --baseline DIR [--rounds 5] [--mosquitto] [--new-arg ARG ...] lat hb mv closed
 *
 * --mosquitto: both builds on an external Mosquitto (tuned), ours-mosquitto against
 * ours-mosquitto-baseline, instead of the embedded broker.
 *
 * --new-arg: a gateway flag for the new build only (repeatable); with DIR a copy of the same
 * build, this A/Bs a setting, e.g. --new-arg=--set --new-arg=upstream.qos=1.
 *
 * lat: 1,000 chargers x 1 Heartbeat/s; hb: 1,000 x 6 Heartbeat/s; mv: 100 x 15 MeterValues of
 * 20 KB/s; closed: 1,000 chargers closed loop; closed100: 100 chargers closed loop. DIR: a copy of dist/ inside this repository.
 */
import { realpathSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { autoLayout } from './run.js'
import { installCleanup, stopAll } from './harness/procs.js'
import { type RunDef, FULL } from './harness/scenarios.js'
import { type RunResult, type RunnerOptions, runOne } from './harness/runner.js'
import { stopMosquitto } from './harness/systems.js'

const loads: Record<string, string[]> = {
  lat: ['-n', '1000', '-s', 'heartbeat', '--rate', '1', '-d', '6', '--warmup', '2'],
  hb: ['-n', '1000', '-s', 'heartbeat', '--rate', '6', '-d', '5', '--warmup', '2'],
  mv: ['-n', '100', '-s', 'metervalues', '--meter-size', '20000', '--rate', '15', '-d', '5', '--warmup', '1'],
  closed: ['-n', '1000', '-s', 'heartbeat', '-d', '5', '--warmup', '1'],
  closed100: ['-n', '100', '-s', 'heartbeat', '-d', '5', '--warmup', '1'],
  hb2k: ['-n', '500', '-s', 'heartbeat', '--rate', '4', '-d', '5', '--warmup', '1'],
  // The load: 50,000 Calls from 500 chargers, closed loop.
  calls50k: ['-n', '500', '-s', 'heartbeat', '--calls', '100', '--warmup', '1']
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function figures (r: RunResult): Record<string, number> | undefined {
  const s = r.sim
  const cpu = r.cpu?.cores.server
  if (r.error !== undefined || s === undefined || cpu === undefined) return undefined
  const us = (label: string): number => (r.cpu?.cores[label] ?? 0) / s.calls.roundTripsPerS * 1e6
  return { cpuPerRt: cpu / s.calls.roundTripsPerS, rt: s.calls.roundTripsPerS, p50: s.latencyMs.p50, p99: s.latencyMs.p99, gwUs: us('server'), brokerUs: us('mosquitto'), backendUs: us('backend') }
}

async function main (): Promise<void> {
  const { values, positionals } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string' }, mosquitto: { type: 'boolean' }, 'new-arg': { type: 'string', multiple: true } }, allowPositionals: true })
  if (values.baseline === undefined || positionals.some((p) => loads[p] === undefined)) {
    process.stderr.write(`usage: node dist/bench/ab.js --baseline DIR [--rounds 5] [--new-arg ARG ...] ${Object.keys(loads).join(' ')}\n`)
    process.exitCode = 2
    return
  }
  installCleanup(stopMosquitto)
  const rounds = Number(values.rounds ?? 5)
  const o: RunnerOptions = {
    runs: [],
    systems: [],
    scale: FULL,
    rounds: 1,
    layout: autoLayout('auto'),
    gatewayArgs: ['--set', 'handshake_limits.conn_rate_per_address.enable=false'],
    baselineDist: resolve(values.baseline),
    log: (line) => process.stderr.write(line + '\n')
  }
  // Gateway flags for the new build only: the same build as --baseline then A/Bs a setting.
  const oNew: RunnerOptions = { ...o, gatewayArgs: [...o.gatewayArgs, ...(values['new-arg'] ?? [])] }
  for (const load of positionals.length > 0 ? positionals : Object.keys(loads)) {
    const run: RunDef = { key: load, scenarios: [], title: load, count: 0, simArgs: loads[load]!, workers: 1, repeat: 1, memory: false, skip: [] }
    const ratios: Record<string, number[]> = { cpuPerRt: [], rt: [], p50: [], p99: [], brokerUs: [], backendUs: [] }
    for (let round = 1; round <= rounds; round++) {
      const [sNew, sBase] = values.mosquitto === true ? ['ours-mosquitto', 'ours-mosquitto-baseline'] as const : ['ours-embedded', 'ours-baseline'] as const
      const order = round % 2 === 1 ? [sNew, sBase] : [sBase, sNew]
      const got: Record<string, Record<string, number> | undefined> = {}
      for (const system of order) got[system] = figures(await runOne(run, system, round, system === sNew ? oNew : o))
      const a = got[sNew]
      const b = got[sBase]
      if (a === undefined || b === undefined) continue
      for (const k of Object.keys(ratios)) if (b[k]! > 0) ratios[k]!.push(a[k]! / b[k]!)
      process.stdout.write(`${load} round ${round}: new ${JSON.stringify(a)} baseline ${JSON.stringify(b)}\n`)
    }
    const med = (k: string): string => ratios[k]!.length === 0 ? '-' : median(ratios[k]!).toFixed(3)
    process.stdout.write(`${load}: new / baseline, medians of ${ratios.rt!.length} rounds: CPU per round trip ${med('cpuPerRt')}, round trips/s ${med('rt')}, p50 ${med('p50')}, p99 ${med('p99')}, broker CPU per round trip ${med('brokerUs')}, backend ${med('backendUs')} (per round CPU: ${ratios.cpuPerRt!.map((x) => x.toFixed(2)).join(' ')})\n`)
  }
  await stopAll()
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  main().catch((err: Error) => {
    process.stderr.write(`ab: ${err.stack ?? err.message}\n`)
    void stopAll().finally(() => { process.exitCode = 1 })
  })
}

#!/usr/bin/env node
/**
 * `ocpp-gateway simulate`: a thin shell over runSimulation / startWorkers: flags, progress,
 * signals (first: stop and summarise, second: exit now), JSON summary, exit code.
 */
import { realpathSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseSimArgs, simUsage } from '../sim/cli-options.js'
import { resolveSimOptions } from '../sim/options.js'
import { Progress } from '../sim/progress.js'
import { type SimulationHandle, startSimulation } from '../sim/runner.js'
import { formatSummary } from '../sim/summary.js'
import { startWorkers } from '../sim/workers.js'

/** Chargers per process above which the 20,000-file limit comes near (a socket each, plus slack). */
export const CHARGERS_PER_PROCESS = 9000

export async function simulateMain (argv: string[]): Promise<number> {
  let cli
  let count = 1
  try {
    cli = parseSimArgs(argv)
    if (!cli.help) count = resolveSimOptions(cli.sim).count
  } catch (err) {
    process.stderr.write(`ocpp-gateway simulate: ${(err as Error).message}\n(ocpp-gateway simulate --help lists the options)\n`)
    return 2
  }
  if (cli.help) {
    process.stdout.write(simUsage)
    return 0
  }
  const log = (text: string): void => { if (!cli.quiet) process.stderr.write(text + '\n') }
  if (count / cli.workers > CHARGERS_PER_PROCESS) {
    log(`warning: ${Math.ceil(count / cli.workers)} chargers per process is above ~${CHARGERS_PER_PROCESS}: ` +
      `the open-file limit may refuse sockets; use --workers ${Math.ceil(count / CHARGERS_PER_PROCESS)}`)
  }
  if ((cli.sim.duration ?? 0) === 0 && (cli.sim.calls ?? 0) === 0) log('running until interrupted (Ctrl-C prints the summary)')

  const abort = new AbortController()
  const options = { ...cli.sim, signal: abort.signal }
  const handle: SimulationHandle = cli.workers > 1 ? startWorkers(options, cli.workers) : startSimulation(options)
  const progress = cli.quiet ? undefined : new Progress(handle.snapshot, { count })
  progress?.start()

  let signals = 0
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130)
    log('\nstopping (again to exit now)')
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const summary = await handle.done
    progress?.stop()
    const json = JSON.stringify(summary, null, 2) + '\n'
    if (cli.json === '-') process.stdout.write(json)
    else if (cli.json !== undefined) await writeFile(cli.json, json)
    if (!cli.quiet) (cli.json === '-' ? process.stderr : process.stdout).write(formatSummary(summary) + '\n')
    return summary.connect.succeeded === 0 ? 1 : 0
  } finally {
    progress?.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  simulateMain(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: Error) => {
    process.stderr.write(`ocpp-gateway simulate: ${err.stack ?? err.message}\n`)
    process.exitCode = 1
  })
}

/**
 * Entry of a simulator worker process (forked by workers.ts): runs its share of the chargers
 * and talks to the parent over IPC. Parent -> child: start, stop. Child -> parent: a snapshot
 * every second, then the final report.
 */
import { type SimOptions } from './options.js'
import { type Simulation, startSimulation } from './runner.js'
import { type ProgressSnapshot } from './stats.js'
import { type ProcessReport } from './summary.js'

export type ToWorker = { type: 'start', options: SimOptions } | { type: 'stop' }
export type FromWorker =
  | { type: 'snapshot', snapshot: ProgressSnapshot }
  | { type: 'report', report: ProcessReport }
  | { type: 'error', message: string }

export const SNAPSHOT_MS = 1000

function send (m: FromWorker, then?: () => void): void {
  // The parent may be gone (killed): nothing to report to then.
  if (process.send === undefined || !process.connected) return then?.()
  process.send(m, undefined, {}, () => then?.())
}

function finish (m: FromWorker): void {
  send(m, () => { if (process.connected) process.disconnect() })
}

let sim: Simulation | undefined
let stopRequested = false

process.on('message', (m: ToWorker) => {
  if (m.type === 'stop') {
    stopRequested = true
    sim?.stop()
    return
  }
  if (sim !== undefined) return
  try {
    sim = startSimulation(m.options)
  } catch (err) {
    finish({ type: 'error', message: (err as Error).message })
    return
  }
  if (stopRequested) sim.stop()
  const s = sim
  const timer = setInterval(() => send({ type: 'snapshot', snapshot: s.snapshot() }), SNAPSHOT_MS)
  s.done.then(() => {
    clearInterval(timer)
    finish({ type: 'report', report: s.report() })
  }, (err: Error) => {
    clearInterval(timer)
    finish({ type: 'error', message: err.message })
  })
})

// The parent is gone (killed): stop rather than run unattended.
process.on('disconnect', () => sim?.stop())
// Signals go to the whole process group on Ctrl-C; the parent decides when to stop.
process.on('SIGINT', () => {})

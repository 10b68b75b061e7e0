/**
 * Spread one simulation over K child processes: each gets a contiguous slice of the ids and
 * of the ramp, its own file-descriptor budget and its own core. The summary merges their
 * reports (counters add, histograms merge, rates add).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { Histogram } from './histogram.js'
import { type SimOptions, resolveSimOptions } from './options.js'
import { type SimulationHandle } from './runner.js'
import { type ProgressSnapshot, type SimCounters, addCounters, emptyCounters } from './stats.js'
import { type ProcessReport, buildSummary } from './summary.js'
import type { FromWorker, ToWorker } from './worker-child.js'

const childPath = fileURLToPath(new URL('./worker-child.js', import.meta.url))

/** The share of worker `j` of `k`: how many chargers, and the index of its first one. */
export function slice (count: number, k: number, j: number): { count: number, offset: number } {
  const base = Math.floor(count / k)
  const extra = count % k
  return { count: base + (j < extra ? 1 : 0), offset: j * base + Math.min(j, extra) }
}

interface Child {
  proc: ChildProcess
  latest: SimCounters
  pending: number
  report: ProcessReport | undefined
}

export function startWorkers (options: SimOptions, workers: number): SimulationHandle {
  const opts = resolveSimOptions(options)
  const k = Math.min(workers, opts.count)
  const t0 = performance.now()
  const recent = new Histogram()
  const children: Child[] = []
  let stopped = false
  let resolveDone!: (s: ReturnType<typeof buildSummary>) => void
  let rejectDone!: (e: Error) => void
  const done = new Promise<ReturnType<typeof buildSummary>>((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  let remaining = k
  let failure: string | undefined

  const { signal, ...plain } = options
  for (let j = 0; j < k; j++) {
    const part = slice(opts.count, k, j)
    const proc = fork(childPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
    const child: Child = { proc, latest: emptyCounters(), pending: part.count, report: undefined }
    children.push(child)
    proc.on('message', (m: FromWorker) => {
      if (m.type === 'snapshot') {
        child.latest = m.snapshot.counters
        child.pending = m.snapshot.pendingConnects
        recent.merge(m.snapshot.recent)
      } else if (m.type === 'report') {
        child.report = m.report
        child.latest = m.report.counters
        child.pending = 0
      } else {
        failure ??= `worker ${j}: ${m.message}`
      }
    })
    proc.once('exit', (code) => {
      if (child.report === undefined) failure ??= `worker ${j} exited with code ${String(code)} without a report`
      if (--remaining > 0) return
      signal?.removeEventListener('abort', stop)
      const reports = children.map((c) => c.report).filter((r): r is ProcessReport => r !== undefined)
      if (failure !== undefined && reports.length === 0) rejectDone(new Error(failure))
      else resolveDone(buildSummary(opts, reports))
    })
    const msg: ToWorker = {
      type: 'start',
      options: {
        ...plain,
        count: part.count,
        idStart: opts.idStart + part.offset,
        ...(opts.ids.length > 0 ? { ids: opts.ids.slice(part.offset, part.offset + part.count) } : {}),
        indexOffset: opts.indexOffset + part.offset,
        ramp: opts.ramp / k,
        maxPending: Math.ceil(opts.maxPending / k)
      }
    }
    proc.send(msg)
  }

  function stop (): void {
    if (stopped) return
    stopped = true
    const msg: ToWorker = { type: 'stop' }
    for (const c of children) if (c.proc.connected) c.proc.send(msg)
  }
  signal?.addEventListener('abort', stop, { once: true })
  if (signal?.aborted === true) stop()

  return {
    options: opts,
    done,
    stop,
    snapshot: (): ProgressSnapshot => {
      const counters = emptyCounters()
      let pending = 0
      for (const c of children) {
        addCounters(counters, c.latest)
        pending += c.pending
      }
      const data = recent.toJSON()
      recent.reset()
      return { atMs: performance.now() - t0, counters, recent: data, pendingConnects: pending }
    }
  }
}

/**
 * Runs N chargers in this process: ramps the connections up, sweeps call timeouts and
 * heartbeats with one timer, opens the measurement window once every first connection
 * attempt has settled, and stops after `duration`, when every charger is done, or on demand.
 *
 * @example
 *   const summary = await runSimulation({ url: 'ws://127.0.0.1:33033/ocpp', count: 100, duration: 10 })
 *   console.log(summary.calls.roundTripsPerS, summary.latencyMs.p99)
 */
import { performance } from 'node:perf_hooks'
import { Charger, type ChargerEnv } from './charger.js'
import { type ResolvedSimOptions, type SimOptions, chargerId, resolveSimOptions } from './options.js'
import { profiles } from './profiles.js'
import { type ProgressSnapshot, SimStats, answered } from './stats.js'
import { type ProcessReport, type SimSummary, buildSummary } from './summary.js'

/** A running simulation, in this process or spread over worker processes. */
export interface SimulationHandle {
  readonly options: ResolvedSimOptions
  /** Resolves once stopped and every socket is closed. */
  readonly done: Promise<SimSummary>
  /** Stop: send nothing new, let outstanding Calls finish for `stopGrace`, close. Idempotent. */
  stop: () => void
  /** Counters now, for a progress display; resets the recent-latency histogram. */
  snapshot: () => ProgressSnapshot
}

export interface Simulation extends SimulationHandle {
  /** The raw report (for a parent process merging workers); valid once `done` resolved. */
  report: () => ProcessReport
}

/** One sweep for all chargers: call timeouts and heartbeats (no timer chain per connection). */
const SWEEP_MS = 200
/** Opening connections as fast as possible still yields to the event loop between batches. */
const BATCH = 100

export function startSimulation (options: SimOptions): Simulation {
  const opts = resolveSimOptions(options)
  const stats = new SimStats()
  const t0 = performance.now()
  const startedAt = Date.now()
  const cpu0 = process.cpuUsage()
  const elu0 = performance.eventLoopUtilization()

  let launched = 0
  let settled = 0
  let initialConnects = 0
  let ended = 0
  let sockets = 0
  let connectPhaseEnd: number | undefined
  let windowStart: number | undefined
  let windowRoundTrips0 = 0
  let windowMessages0 = 0
  let windowEnd: number | undefined
  let windowRoundTrips = 0
  let windowMessages = 0
  let stopping = false
  let finalReport: ProcessReport | undefined
  let resolveDone!: (s: SimSummary) => void
  let rejectDone!: (e: unknown) => void
  const done = new Promise<SimSummary>((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  const timers = new Set<NodeJS.Timeout>()
  let socketsGone: (() => void) | undefined

  const env: ChargerEnv = {
    opts,
    profile: profiles[opts.protocol],
    stats,
    settled: (ok) => {
      settled++
      if (ok) initialConnects++
      if (settled === opts.count) openWindow()
      else if (launched < target) launch()
    },
    ended: () => {
      ended++
      if (ended === opts.count) stop()
    },
    holdBoot: (c) => {
      if (!opts.bootAfterConnect || connectPhaseEnd !== undefined) return false
      heldBoots.push(c)
      return true
    },
    socketUp: () => { sockets++ },
    socketGone: () => {
      sockets--
      if (sockets === 0) socketsGone?.()
    }
  }
  const chargers: Charger[] = []
  /** Open chargers whose boot waits for the end of the connect phase (bootAfterConnect). */
  const heldBoots: Charger[] = []
  for (let i = 0; i < opts.count; i++) chargers.push(new Charger(env, chargerId(opts, i), i))

  /** How many chargers may have started by now (the ramp moves it). */
  let target = 0
  let batchQueued = false
  /**
   * Start chargers up to `target`, at most `maxPending` handshakes at a time, in batches that
   * yield to the event loop in between.
   */
  function launch (): void {
    if (stopping) return
    const upTo = Math.min(target, opts.maxPending > 0 ? settled + opts.maxPending : Infinity)
    let n = 0
    while (launched < upTo && n++ < BATCH) chargers[launched++]!.connect()
    if (launched < upTo && !batchQueued) {
      batchQueued = true
      setImmediate(() => { batchQueued = false; launch() })
    }
  }

  /** Every first attempt settled: the connect phase ends; the window opens after the warm-up. */
  function openWindow (): void {
    if (connectPhaseEnd !== undefined) return
    connectPhaseEnd = performance.now()
    for (const c of heldBoots.splice(0)) c.releaseBoot()
    if (opts.warmup > 0) later(startWindow, opts.warmup * 1000)
    else startWindow()
  }

  function startWindow (): void {
    if (windowStart !== undefined || stopping) return
    windowStart = performance.now()
    windowRoundTrips0 = answered(stats.c)
    windowMessages0 = stats.c.messagesIn + stats.c.messagesOut
    stats.openWindow()
    if (opts.duration > 0) later(stop, opts.duration * 1000)
  }

  function later (fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => { timers.delete(t); fn() }, ms)
    timers.add(t)
    return t
  }

  // Ramp: start connections at `ramp` per second, or all as fast as possible.
  if (opts.ramp > 0) {
    const tickMs = Math.max(5, Math.min(100, 1000 / opts.ramp))
    target = 1
    launch()
    const ramp = setInterval(() => {
      target = Math.min(opts.count, Math.floor(((performance.now() - t0) / 1000) * opts.ramp) + 1)
      launch()
      if (target >= opts.count || stopping) clearInterval(ramp)
    }, tickMs)
    timers.add(ramp)
  } else {
    target = opts.count
    launch()
  }

  const sweep = setInterval(() => {
    const t = performance.now()
    for (let i = 0; i < launched; i++) chargers[i]!.tick(t)
  }, SWEEP_MS)

  const onAbort = (): void => stop()
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted === true) queueMicrotask(stop)

  function stop (): void {
    if (stopping) return
    stopping = true
    const t = performance.now()
    if (windowStart === undefined) {
      // Stopped during the ramp or the warm-up: the window is the whole run.
      connectPhaseEnd ??= t
      windowStart = t0
    }
    windowEnd = t
    windowRoundTrips = answered(stats.c) - windowRoundTrips0
    windowMessages = stats.c.messagesIn + stats.c.messagesOut - windowMessages0
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    for (let i = 0; i < launched; i++) chargers[i]!.stop()
    const allGone = new Promise<void>((resolve) => {
      if (sockets === 0) resolve()
      else socketsGone = resolve
    })
    const grace = setTimeout(() => { for (const c of chargers) c.terminate() }, opts.stopGrace * 1000)
    allGone.then(() => {
      clearTimeout(grace)
      clearInterval(sweep)
      opts.signal?.removeEventListener('abort', onAbort)
      finalReport = makeReport()
      resolveDone(buildSummary(opts, [finalReport]))
    }).catch(rejectDone)
  }

  function makeReport (): ProcessReport {
    const end = performance.now()
    const cpu = process.cpuUsage(cpu0)
    return {
      counters: structuredClone(stats.c),
      latency: stats.latency.toJSON(),
      connectLatency: stats.connectLatency.toJSON(),
      startedAt,
      elapsedMs: end - t0,
      connectPhaseMs: (connectPhaseEnd ?? end) - t0,
      initialConnects,
      windowMs: (windowEnd ?? end) - (windowStart ?? t0),
      windowRoundTrips,
      windowMessages,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      eventLoopUtilization: performance.eventLoopUtilization(elu0).utilization,
      rssBytes: process.memoryUsage.rss()
    }
  }

  return {
    options: opts,
    done,
    stop,
    snapshot: () => stats.snapshot(performance.now() - t0, opts.count - settled),
    report: () => {
      if (finalReport === undefined) throw new Error('the simulation has not finished')
      return finalReport
    }
  }
}

/** Run a simulation to its end (duration, all Calls sent, `signal` aborted) and summarise it. */
export async function runSimulation (options: SimOptions): Promise<SimSummary> {
  return await startSimulation(options).done
}

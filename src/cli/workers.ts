/**
 * `ocpp-gateway --workers N` (config `workers`, issue 17): the primary process forks N workers
 * with Node's `cluster`. They share the charge point listeners (the primary accepts and hands
 * the connections round robin), and each is a gateway node of one cluster on the external
 * broker (mqtt.url), with its own node id and MQTT client id. So whatever holds across nodes
 * holds across workers: takeover, offline answers, one answer per message, and a worker that
 * dies is a dead node, its chargers' `node_lost` events published by the others.
 *
 * The primary restarts a worker that dies (after 1 s; more than 10 deaths within a minute stop
 * everything, exit 1). A worker that fails its start exits the whole group with its code (a
 * bad configuration is not retried). SIGTERM/SIGINT stop the workers in order (SIGTERM each,
 * SIGKILL after 30 s); SIGHUP is passed to them.
 *
 * Not in this version: the embedded broker with several workers (config refuses it), and the
 * admin server (off in the workers; the primary says so at start).
 */
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../observability/logger.js'

/** The worker's number (1..N), from the environment the primary gave it; undefined in a lone process. */
export function workerIndex (): number | undefined {
  const v = process.env.OCPPGW_WORKER_INDEX
  return cluster.isWorker && v !== undefined ? Number(v) : undefined
}

/** Told by a worker once its gateway started (the primary then counts it as up). */
export function reportReady (): void {
  process.send?.({ ocppgw: 'ready' })
}

const RESTART_DELAY_MS = 1000
const STOP_GRACE_MS = 30_000
const MAX_DEATHS_PER_MINUTE = 10

export function runPrimary (n: number, log: Logger): Promise<number> {
  const index = new Map<Worker, number>()
  const ready = new Set<number>()
  const deaths: number[] = []
  let stopping = false
  let code = 0
  return new Promise((resolve) => {
    const fork = (i: number): void => {
      const w = cluster.fork({ OCPPGW_WORKER_INDEX: String(i) })
      index.set(w, i)
      w.on('message', (m: { ocppgw?: string }) => {
        if (m?.ocppgw !== 'ready') return
        ready.add(i)
        log.info({ worker: i, pid: w.process.pid }, 'worker started')
        if (ready.size === n) log.info({ workers: n }, 'all workers started')
      })
    }
    const stopAll = (exitCode: number): void => {
      if (stopping) return
      stopping = true
      code = exitCode
      for (const w of index.keys()) w.process.kill('SIGTERM')
      setTimeout(() => { for (const w of index.keys()) w.process.kill('SIGKILL') }, STOP_GRACE_MS).unref()
      if (index.size === 0) resolve(code)
    }
    cluster.on('exit', (w, exitCode, signal) => {
      const i = index.get(w) ?? 0
      index.delete(w)
      if (stopping) {
        if (index.size === 0) resolve(code)
        return
      }
      if (!ready.has(i)) {
        // A start that fails (configuration, a port, a certificate) fails the same way again.
        log.fatal({ worker: i, code: exitCode, signal }, 'worker failed to start: stopping')
        stopAll(exitCode === 0 || exitCode === null ? 1 : exitCode)
        return
      }
      const now = Date.now()
      deaths.push(now)
      while (deaths.length > 0 && (deaths[0] as number) < now - 60_000) deaths.shift()
      if (deaths.length > MAX_DEATHS_PER_MINUTE) {
        log.fatal({ worker: i, deaths: deaths.length }, 'workers keep dying: stopping')
        stopAll(1)
        return
      }
      ready.delete(i)
      log.error({ worker: i, pid: w.process.pid, code: exitCode, signal }, 'worker died: its charge points are a lost node\'s for the others; restarting it')
      setTimeout(() => { if (!stopping) fork(i) }, RESTART_DELAY_MS)
    })
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        log.info({ signal, workers: index.size }, 'stopping the workers')
        stopAll(0)
      })
    }
    process.on('SIGHUP', () => { for (const w of index.keys()) w.process.kill('SIGHUP') })
    log.warn('admin API: not served with several workers in this version (admin.bind is ignored); each worker\'s counters are in its own process')
    for (let i = 1; i <= n; i++) fork(i)
  })
}

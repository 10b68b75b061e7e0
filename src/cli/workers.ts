/**
 * `ocpp-gateway --workers N` (config `workers`, issue 17): the primary process forks N workers
 * with Node's `cluster`. They share the charge point listeners (the primary accepts and hands
 * the connections round robin), and each is a gateway node of one cluster on the external
 * broker (mqtt.url) or on the embedded broker the primary hosts, with its own node id and MQTT
 * client id. So whatever holds across nodes
 * holds across workers: takeover, offline answers, one answer per message, and a worker that
 * dies is a dead node, its chargers' `node_lost` events published by the others.
 *
 * The primary restarts a worker that dies (after 1 s; more than 10 deaths within a minute stop
 * everything, exit 1). A worker that fails its start exits the whole group with its code (a
 * bad configuration is not retried). SIGTERM/SIGINT stop the workers in order (SIGTERM each,
 * SIGKILL after 30 s); SIGHUP is passed to them.
 *
 * With the embedded broker the primary hosts it (nothing else) and the workers connect to it
 * over mqtt.embedded.bind as its internal user (role `gateway`, a password made at each start,
 * given in the workers' environment). Not in this version: the admin server (off in the
 * workers; the primary says so at start).
 */
import cluster, { type Worker } from 'node:cluster'
import type { Logger } from '../observability/logger.js'

/** The worker's number (1..N), from the environment the primary gave it; undefined in a lone process. */
export function workerIndex (): number | undefined {
  const v = process.env.OCPPGW_WORKER_INDEX
  return cluster.isWorker && v !== undefined ? Number(v) : undefined
}

/** The primary's embedded broker, for a worker (how to reach it, as the internal user); undefined otherwise. */
export function workerMqtt (): { url: string, username: string, password: string } | undefined {
  const v = process.env.OCPPGW_WORKER_MQTT
  return workerIndex() !== undefined && v !== undefined ? JSON.parse(v) as { url: string, username: string, password: string } : undefined
}

/** Told by a worker once its gateway started (the primary then counts it as up). */
export function reportReady (): void {
  process.send?.({ ocppgw: 'ready' })
}

const RESTART_DELAY_MS = 1000
const STOP_GRACE_MS = 30_000
const MAX_DEATHS_PER_MINUTE = 10

/**
 * `broker`: the embedded broker the primary hosts (its TCP address and the internal user the
 * workers log in with), closed after the workers; undefined on an external broker.
 */
export function runPrimary (n: number, log: Logger, broker?: { url: string, username: string, password: string, close: () => Promise<void> }): Promise<number> {
  const index = new Map<Worker, number>()
  const ready = new Set<number>()
  const deaths: number[] = []
  let stopping = false
  let code = 0
  return new Promise<number>((resolve) => {
    const fork = (i: number): void => {
      const env: Record<string, string> = { OCPPGW_WORKER_INDEX: String(i) }
      if (broker !== undefined) env.OCPPGW_WORKER_MQTT = JSON.stringify({ url: broker.url, username: broker.username, password: broker.password })
      const w = cluster.fork(env)
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
  }).then(async (exitCode) => {
    await broker?.close().catch((err: Error) => log.error({ err: err.message }, 'embedded broker did not close cleanly'))
    return exitCode
  })
}

/**
 * Child processes of the benchmark: each system, helper and load generator is its own
 * process, optionally pinned to CPUs with `taskset`. Every child is registered so that the
 * benchmark stops them all on exit, on an error and on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'

/** Root of the compiled tree (dist/): scripts are addressed from here, e.g. "bench/floor-server.js". */
export const distRoot = fileURLToPath(new URL('../../', import.meta.url))

export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0

export interface Proc {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Everything written on stdout so far (a system's ready line, a simulator's JSON summary). */
  stdout: () => string
  /** The last lines of stderr, for error messages. */
  stderrTail: () => string
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  readonly exited: Promise<number | string>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once gone. Idempotent. */
  stop: (graceMs?: number) => Promise<void>
}

const live = new Set<Proc>()

export interface SpawnOptions {
  /** CPU list for taskset (e.g. "1" or "0,1"); undefined = not pinned. */
  cpus?: string
  /** Node flags before the script, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** Another compiled tree to take the script from (default: this one). */
  dist?: string
}

function track (name: string, child: ChildProcess): Proc {
  if (child.pid === undefined) throw new Error(`${name}: could not start`)
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-4000) })
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1))
  })
  let stopping: Promise<void> | undefined
  const proc: Proc = {
    name,
    pid: child.pid,
    child,
    stdout: () => out,
    stderrTail: () => err.trim().split('\n').slice(-8).join('\n'),
    exited,
    stop: (graceMs = 5000) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
          await exited
          clearTimeout(timer)
        }
        live.delete(proc)
      })()
      return stopping
    }
  }
  live.add(proc)
  void exited.then(() => live.delete(proc))
  return proc
}

/** Start `node <distRoot>/<script> ...args`, pinned when `cpus` is given and taskset exists. */
export function spawnNode (name: string, script: string, args: string[], o: SpawnOptions = {}): Proc {
  const root = o.dist === undefined ? distRoot : o.dist.endsWith('/') ? o.dist : o.dist + '/'
  const argv = [...(o.nodeArgs ?? []), root + script, ...args]
  return spawnPinned(name, process.execPath, argv, o.cpus)
}

export function spawnPinned (name: string, file: string, args: string[], cpus: string | undefined): Proc {
  const pinned = cpus !== undefined && hasTaskset
  // taskset execs the command: the pid we get is the pid of the process itself.
  const child = spawn(pinned ? 'taskset' : file, pinned ? ['-c', cpus, file, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] })
  return track(name, child)
}

/** Pin an already running process (e.g. Mosquitto started by the test helper). */
export function pin (pid: number, cpus: string | undefined): void {
  if (cpus === undefined || !hasTaskset) return
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

/** Resolve with the first stdout line that parses as JSON (systems print one when ready). */
export async function readyLine (p: Proc, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const line of p.stdout().split('\n')) {
      if (!line.startsWith('{')) continue
      try { return JSON.parse(line) as Record<string, unknown> } catch { /* partial line */ }
    }
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited before it was ready: ${p.stderrTail()}`)
    if (Date.now() > deadline) throw new Error(`${p.name} not ready after ${timeoutMs} ms: ${p.stderrTail()}`)
    await sleep(20)
  }
}

/** Resolve once a TCP connection to the port succeeds (a gateway is ready when its listener is). */
export async function waitForPort (port: number, p: Proc, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited before listening: ${p.stderrTail()}`)
    if (Date.now() > deadline) throw new Error(`${p.name} not listening on ${port} after ${timeoutMs} ms`)
    await sleep(25)
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Stop every child still running (gracefully, then by force). */
export async function stopAll (): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(2000)))
}

let installed = false
/**
 * Children must not outlive the benchmark: stop them on Ctrl-C / SIGTERM (then exit 130),
 * and kill whatever is left when the process exits for any other reason.
 */
export function installCleanup (extra: () => Promise<void> = async () => {}): void {
  if (installed) return
  installed = true
  let signals = 0
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130)
    process.stderr.write('\nbench: stopping children...\n')
    void Promise.all([stopAll(), extra()]).finally(() => process.exit(130))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => { for (const p of live) p.child.kill('SIGKILL') })
}

/**
 * A private network namespace (Linux `unshare -n`) with its own loopback, so that commands that
 * name fixed ports (the README's `npm start` on 33033/1883/8083, `mosquitto_sub -h localhost`)
 * run exactly as printed without meeting anything else on this machine. Commands run in it with
 * `nsenter`, each as its own process group, so a stop reaches the children too (npm -> node).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'

export interface NsProcess {
  readonly child: ChildProcess
  /** Everything written so far, stdout and stderr apart. */
  readonly out: { stdout: string, stderr: string }
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  readonly exited: Promise<number | string>
  /** Resolves when `pattern` has appeared on stdout or stderr; rejects after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs: number, what: string) => Promise<void>
  /** Signal the whole process group, then SIGKILL it if it has not ended after 3 s. */
  stop: (signal?: NodeJS.Signals) => Promise<number | string>
}

export interface NetNs {
  /** `sh -c 'exec command'` in the namespace: one simple command, which gets the signals itself. */
  run: (command: string, opts?: { cwd?: string, env?: NodeJS.ProcessEnv }) => NsProcess
  close: () => Promise<void>
}

const unprivileged = typeof process.getuid === 'function' && process.getuid() !== 0
/** iproute2's `ip`, to bring the namespace's loopback up. */
const ipBinary = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p))

/** undefined when a namespace can be made here; else why not (the tests that need one skip). */
export function netnsSkip (): string | undefined {
  // To try the host fallback where namespaces work.
  if (process.env.TEST_NO_NETNS === '1') return 'TEST_NO_NETNS=1'
  if (process.platform !== 'linux') return 'network namespaces are Linux only'
  for (const bin of ['/usr/bin/unshare', '/usr/bin/nsenter']) if (!existsSync(bin)) return `${bin} not found (util-linux)`
  if (ipBinary === undefined) return 'ip not found (iproute2)'
  try {
    execFileSync('unshare', [...(unprivileged ? ['-r'] : []), '-n', 'true'], { stdio: 'ignore', timeout: 5000 })
  } catch {
    return 'unshare -n is not permitted here (no user namespaces)'
  }
  return undefined
}

/** Whether nothing listens on these loopback ports (the host fallback needs them free). */
export async function portsFree (ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const taken = await new Promise<boolean>((resolve) => {
      const c = connect({ host: '127.0.0.1', port })
      c.once('connect', () => { c.destroy(); resolve(true) })
      c.once('error', () => resolve(false))
    })
    if (taken) return false
  }
  return true
}

/**
 * Where no namespace can be made (no user namespaces in a container): the same runner on this
 * machine's own network. Only for ports known to be free (portsFree); nothing else here binds
 * fixed ports (every other test uses port 0).
 */
export function openHostNs (): NetNs {
  return runner(undefined, () => {})
}

export async function openNetNs (): Promise<NetNs> {
  // The holder keeps the namespace alive; lo comes up before it says so.
  // It reads stdin until EOF, so it also ends with this process, however that ends.
  const holder = spawn('unshare', [...(unprivileged ? ['-r'] : []), '-n', 'sh', '-c', `${ipBinary!} link set lo up && echo up && exec cat >/dev/null`], { stdio: ['pipe', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let err = ''
    holder.stderr.on('data', (d: Buffer) => { err += String(d) })
    holder.stdout.once('data', () => resolve())
    holder.once('exit', (code) => reject(new Error(`network namespace holder exited ${String(code)}: ${err}`)))
  })
  const nsArgs = ['-t', String(holder.pid), '-n', ...(unprivileged ? ['-U', '--preserve-credentials'] : [])]
  return runner(nsArgs, () => holder.kill('SIGKILL'))
}

/** Commands in the namespace entered with `nsArgs` (nsenter), or on this machine's network (undefined). */
function runner (nsArgs: string[] | undefined, release: () => void): NetNs {
  const procs = new Set<NsProcess>()

  function run (command: string, opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): NsProcess {
    const [bin, args] = nsArgs === undefined ? ['sh', ['-c', `exec ${command}`]] as const : ['nsenter', [...nsArgs, '--', 'sh', '-c', `exec ${command}`]] as const
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const out = { stdout: '', stderr: '' }
    const waiters = new Set<() => void>()
    const seen = (): void => { for (const w of waiters) w() }
    child.stdout!.on('data', (d: Buffer) => { out.stdout += String(d); seen() })
    child.stderr!.on('data', (d: Buffer) => { out.stderr += String(d); seen() })
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
    let ended = false
    void exited.then(() => { ended = true; seen() })
    const p: NsProcess = {
      child,
      out,
      exited,
      waitFor: async (pattern, timeoutMs, what) => await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out.stdout) || pattern.test(out.stderr)) done(resolve)
          else if (ended) done(() => reject(new Error(`${what}: the command ended first\n--- command: ${command}\n--- stdout:\n${out.stdout}\n--- stderr:\n${out.stderr}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`${what}: not seen within ${timeoutMs} ms\n--- command: ${command}\n--- stdout:\n${out.stdout}\n--- stderr:\n${out.stderr}`))), timeoutMs)
        const done = (f: () => void): void => { clearTimeout(timer); waiters.delete(check); f() }
        waiters.add(check)
        check()
      }),
      stop: async (signal = 'SIGTERM') => {
        if (!ended) {
          try { process.kill(-child.pid!, signal) } catch { /* already gone */ }
          const t = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ } }, 3000)
          await exited
          clearTimeout(t)
        }
        procs.delete(p)
        return await exited
      }
    }
    procs.add(p)
    return p
  }

  return {
    run,
    close: async () => {
      await Promise.all([...procs].map(async (p) => await p.stop('SIGKILL')))
      release()
    }
  }
}

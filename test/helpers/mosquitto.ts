/**
 * A real Mosquitto for external-broker tests, started on a free loopback port and stopped
 * after. Outside CI the tests skip (saying why) when the binary is absent; in CI it must run.
 * It can be killed and started again on the same port (a broker outage), with or without
 * persistence, and with Mosquitto's stock limits or the tuned ones the README recommends.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, connect } from 'node:net'

const candidates = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']
export const mosquittoBinary = candidates.find((p) => existsSync(p))

/** undefined = run; a string = why the Mosquitto variant is skipped. */
export function mosquittoSkip (): string | undefined {
  if (mosquittoBinary !== undefined) return undefined
  if (process.env.CI === 'true') throw new Error('mosquitto is required in CI (apt-get install -y mosquitto) but was not found')
  return 'mosquitto not installed (apt-get install -y mosquitto); external-broker variant skipped'
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

export interface MosquittoOptions {
  /**
   * Mosquitto's own defaults for the per-client limits (max_inflight_messages 20,
   * max_queued_messages 1000) instead of the unlimited ones the README recommends.
   */
  stock?: boolean
  /** Sessions, subscriptions and queued messages kept across a restart (saved on SIGTERM). */
  persistence?: boolean
}

export interface Mosquitto {
  url: string
  port: number
  pid: number | undefined
  /** Stop the process (SIGKILL: nothing saved; SIGTERM: persistence saved), keep its files. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
  /** Start it again on the same port with the same configuration (after kill()). */
  restart: () => Promise<void>
  stop: () => Promise<void>
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

interface Running { proc: ChildProcess, exited: () => boolean, stderr: () => string }

/** Spawn and wait until it accepts connections; undefined when it exited (port taken...). */
async function spawnOn (conf: string, port: number): Promise<Running | { failed: string }> {
  if (mosquittoBinary === undefined) throw new Error('mosquitto not installed')
  const proc: ChildProcess = spawn(mosquittoBinary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  let exited = false
  proc.once('exit', () => { exited = true })
  // eslint-disable-next-line no-unmodified-loop-condition -- set by the 'exit' listener while the loop awaits
  for (let i = 0; i < 100 && !exited; i++) {
    if (await canConnect(port)) return { proc, exited: () => exited, stderr: () => stderr }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  proc.kill('SIGKILL')
  return { failed: stderr }
}

async function killProc (r: Running, signal: NodeJS.Signals): Promise<void> {
  if (r.exited()) return
  const gone = new Promise((resolve) => r.proc.once('exit', resolve))
  r.proc.kill(signal)
  await gone
}

/** `extraConfig`: more mosquitto.conf lines, e.g. `set_tcp_nodelay true` for the benchmark. */
export async function startMosquitto (extraConfig: string[] = [], opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'ocppgw-mosq-'))
  // Started as root, Mosquitto runs as the user "mosquitto": it must be able to save there.
  if (opts.persistence === true) chmodSync(dir, 0o777)
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    writeFileSync(conf, [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      ...(opts.persistence === true ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
      // The gateway's one MQTT connection carries every charge point's downstream traffic:
      // the per-client queue must not drop it (the README recommends the same in production).
      ...(opts.stock === true ? [] : ['max_queued_messages 0', 'max_inflight_messages 0']),
      'log_type error',
      ...extraConfig,
      ''
    ].join('\n'))
    const first = await spawnOn(conf, port)
    if ('failed' in first) {
      if (!/Address already in use/i.test(first.failed)) throw new Error(`mosquitto did not start: ${first.failed}`)
      continue
    }
    let running: Running | undefined = first
    return {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      pid: first.proc.pid,
      kill: async (signal = 'SIGKILL') => {
        if (running !== undefined) await killProc(running, signal)
        running = undefined
      },
      restart: async () => {
        if (running !== undefined) throw new Error('mosquitto is running')
        // The port was ours a moment ago; another process may take it meanwhile (rare): retry.
        for (let i = 0; i < 20 && running === undefined; i++) {
          const r = await spawnOn(conf, port)
          if (!('failed' in r)) running = r
          else await new Promise((resolve) => setTimeout(resolve, 100))
        }
        if (running === undefined) throw new Error(`mosquitto did not restart on port ${port}`)
      },
      stop: async () => {
        if (running !== undefined) await killProc(running, 'SIGTERM')
        running = undefined
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  throw new Error('mosquitto: no free port after 5 attempts')
}

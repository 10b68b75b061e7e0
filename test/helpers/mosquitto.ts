/**
 * A real Mosquitto for external-broker tests, started on a free loopback port and stopped
 * after. Outside CI the tests skip (saying why) when the binary is absent; in CI it must run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
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

export interface Mosquitto { url: string, port: number, pid: number | undefined, stop: () => Promise<void> }

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

/** `extraConfig`: more mosquitto.conf lines, e.g. `set_tcp_nodelay true` for the benchmark. */
export async function startMosquitto (extraConfig: string[] = []): Promise<Mosquitto> {
  if (mosquittoBinary === undefined) throw new Error('mosquitto not installed')
  const dir = mkdtempSync(join(tmpdir(), 'ocppgw-mosq-'))
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    const conf = join(dir, 'mosquitto.conf')
    writeFileSync(conf, [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // The gateway's one MQTT connection carries every charge point's downstream traffic:
      // the per-client queue must not drop it (the README recommends the same in production).
      'max_queued_messages 0',
      'max_inflight_messages 0',
      'log_type error',
      ...extraConfig,
      ''
    ].join('\n'))
    const proc: ChildProcess = spawn(mosquittoBinary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    let exited = false
    proc.once('exit', () => { exited = true })
    // eslint-disable-next-line no-unmodified-loop-condition -- set by the 'exit' listener while the loop awaits
    for (let i = 0; i < 100 && !exited; i++) {
      if (await canConnect(port)) {
        return {
          url: `mqtt://127.0.0.1:${port}`,
          port,
          pid: proc.pid,
          stop: async () => {
            if (!exited) {
              const gone = new Promise((resolve) => proc.once('exit', resolve))
              proc.kill('SIGTERM')
              await gone
            }
            rmSync(dir, { recursive: true, force: true })
          }
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    proc.kill('SIGKILL')
    if (!/Address already in use/i.test(stderr)) throw new Error(`mosquitto did not start: ${stderr}`)
  }
  throw new Error('mosquitto: no free port after 5 attempts')
}

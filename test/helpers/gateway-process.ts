/**
 * A gateway node as its own process (the CLI with a config file), for cluster tests that
 * kill nodes: `kill -9` must look to the broker exactly as a crash does.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from 'node:net'
import { freePort } from './mosquitto.js'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

export interface GatewayProcess {
  nodeId: string
  port: number
  /** ws://127.0.0.1:<port>/ocpp */
  url: string
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
  /** SIGKILL: no goodbye to the broker, its will is published. */
  kill: () => Promise<void>
  /** SIGTERM: an orderly stop. */
  stop: () => Promise<void>
}

function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port })
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
}

/** Start a node on `mqttUrl` and wait until its OCPP listener accepts connections. */
export async function startGatewayProcess (nodeId: string, mqttUrl: string, extra: Record<string, unknown> = {}): Promise<GatewayProcess> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), `ocppgw-${nodeId}-`))
  const file = join(dir, 'gateway.json')
  writeFileSync(file, JSON.stringify({
    node_id: nodeId,
    allow_anonymous: true,
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: `127.0.0.1:${port}` } } },
    mqtt: { url: mqttUrl },
    log: { level: process.env.TEST_LOG_LEVEL ?? 'warn' },
    ...extra
  }))
  const child = spawn(process.execPath, [cli, '--config', file, '--admin-bind', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let gone = false
  void exited.then(() => { gone = true })
  for (const deadline = Date.now() + 15_000; !(await accepts(port));) {
    if (gone || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`gateway ${nodeId} did not start:\n${out}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (!gone) child.kill(signal)
    await exited
  }
  return { nodeId, port, url: `ws://127.0.0.1:${port}/ocpp`, child, output: () => out, exited, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') }
}

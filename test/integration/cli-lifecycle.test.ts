/**
 * The CLI's start and signals as an operator meets them: a start that fails exits non-zero
 * with a coded error and leaves no port open; SIGHUP never ends a gateway.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connectChargePoint } from '../helpers/clients.js'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))

/** A loopback port free right now (the kernel's pick for port 0). */
async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const a = s.address()
  await new Promise((resolve) => s.close(resolve))
  if (a === null || typeof a !== 'object') throw new Error('no port')
  return a.port
}

/** Whether something accepts TCP connections on the port. */
function accepts (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port })
    c.once('connect', () => { c.destroy(); resolve(true) })
    c.once('error', () => resolve(false))
  })
}

function start (config: Record<string, unknown>): { child: ChildProcess, output: () => string, exited: Promise<{ code: number | null, ms: number }> } {
  const dir = mkdtempSync(join(tmpdir(), 'ocppgw-cli-'))
  const file = join(dir, 'gateway.json')
  writeFileSync(file, JSON.stringify(config))
  const t0 = Date.now()
  const child = spawn(process.execPath, [cli, '--config', file, '--admin-bind', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<{ code: number | null, ms: number }>((resolve) => child.once('exit', (code) => resolve({ code, ms: Date.now() - t0 })))
  return { child, output: () => out, exited }
}

async function within<T> (p: Promise<T>, ms: number, what: string, child: ChildProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${what}: not within ${ms} ms`)) }, ms) })
  try { return await Promise.race([p, late]) } finally { clearTimeout(timer) }
}

describe('CLI: a start that fails', () => {
  const cases: Array<{ name: string, code: string, config: (dir: string) => Record<string, unknown> }> = [
    {
      name: 'a wss listener whose certfile is missing',
      code: 'OCPPGW_ERR_TLS_CONFIG',
      config: (dir) => ({ listeners: { ws: { default: { bind: '127.0.0.1:0' } }, wss: { default: { bind: '127.0.0.1:0', ssl_options: { certfile: join(dir, 'missing.pem'), keyfile: join(dir, 'missing.key') } } } } })
    },
    {
      name: 'a credentials file that does not exist',
      code: 'OCPPGW_ERR_CREDENTIALS_FILE',
      config: (dir) => ({ listeners: { ws: { default: { bind: '127.0.0.1:0' } } }, authentication: [{ backend: 'file', path: join(dir, 'no-such-credentials') }] })
    }
  ]
  for (const c of cases) {
    test(`${c.name}: exits non-zero within 5 s with ${c.code}, and the embedded MQTT port is closed`, async () => {
      const mqttPort = await freePort()
      const dir = mkdtempSync(join(tmpdir(), 'ocppgw-missing-'))
      const g = start({ ...c.config(dir), mqtt: { embedded: { bind: `127.0.0.1:${mqttPort}`, ws_bind: 'off' } } })
      const { code, ms } = await within(g.exited, 5000, 'exit', g.child)
      assert.notEqual(code, 0, g.output())
      assert.ok(ms < 5000, `took ${ms} ms`)
      assert.match(g.output(), new RegExp(c.code))
      assert.equal(await accepts(mqttPort), false, 'the embedded broker still listens after the failed start')
    })
  }
})

describe('CLI: SIGHUP', () => {
  test('without a wss listener, the gateway keeps running and serving', async () => {
    const g = start({ listeners: { ws: { default: { bind: '127.0.0.1:0' } } }, mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } } })
    const url = await within(new Promise<string>((resolve, reject) => {
      const poll = setInterval(() => {
        const m = /"ocpp":\["(ws:\/\/[^"]+)\/\{id\}"\]/.exec(g.output())
        if (m !== null) { clearInterval(poll); resolve(m[1] as string) }
      }, 20)
      void g.exited.then(() => { clearInterval(poll); reject(new Error(`exited early: ${g.output()}`)) })
    }), 10_000, 'start', g.child)
    g.child.kill('SIGHUP')
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(g.child.exitCode, null, `the gateway ended on SIGHUP: ${g.output()}`)
    assert.match(g.output(), /"reloading"/)
    const cp = await connectChargePoint(`${url}/after-hup`)
    await cp.close()
    g.child.kill('SIGTERM')
    assert.equal((await g.exited).code, 0)
  })
})

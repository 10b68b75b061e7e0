/**
 * `ocpp-gateway --workers 2` (issue 17), on the embedded broker the primary hosts and on a real
 * Mosquitto: two worker processes share the listener, each a node of one cluster. Charge points land on both; every backend Call is
 * answered once; a worker killed with SIGKILL is a lost node (its charge points' `node_lost`
 * events come from the other) and the primary starts it again; SIGTERM stops all, exit 0.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { startMosquitto, mosquittoSkip, freePort, type Mosquitto } from '../helpers/mosquitto.js'
import { connectBackend, connectChargePoint, waitFor, type Backend, type ChargePoint } from '../helpers/clients.js'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const skip = mosquittoSkip()

for (const kind of ['embedded', 'mosquitto'] as const) {
  describe(`--workers 2 (${kind} broker)`, { skip: kind === 'mosquitto' ? skip : undefined }, () => {
    let mosquitto: Mosquitto | undefined
    let primary: ChildProcess
    let out = ''
    let backend: Backend
    let url = ''
    const exited: { code?: number | null } = {}

    before(async () => {
      let mqttArgs: string[]
      let mqttUrl: string
      if (kind === 'mosquitto') {
        mosquitto = await startMosquitto()
        mqttUrl = mosquitto.url
        mqttArgs = ['--mqtt-url', mosquitto.url]
      } else {
      // The primary hosts the embedded broker; the workers are its nodes.
        const mqttPort = await freePort()
        mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
        mqttArgs = ['--mqtt-bind', `127.0.0.1:${mqttPort}`, '--mqtt-ws-bind', 'off']
      }
      const port = await freePort()
      url = `ws://127.0.0.1:${port}/ocpp`
      primary = spawn(process.execPath, [cli, '--workers', '2', ...mqttArgs, '--bind', `127.0.0.1:${port}`, '--set', 'handshake_limits.conn_rate_per_address.enable=false'], { stdio: ['ignore', 'pipe', 'pipe'] })
      primary.stdout?.on('data', (d: Buffer) => { out += d.toString() })
      primary.stderr?.on('data', (d: Buffer) => { out += d.toString() })
      primary.once('exit', (code) => { exited.code = code })
      await waitFor(() => out.includes('"all workers started"'), 20_000).catch(() => assert.fail(`workers did not start:\n${out}`))
      backend = await connectBackend(mqttUrl, ['ocpp/#'])
    })

    after(async () => {
      if (exited.code === undefined) primary?.kill('SIGKILL')
      await backend?.close()
      await mosquitto?.stop()
    })

    const nodeOf = (cid: string): string | undefined => [...backend.inbox.items].reverse().find((m) => m.topic === `ocpp/events/${cid}` && m.json?.event === 'connected')?.json.node

    test('charge points land on both workers; every backend Call answered once', async () => {
      const cps: ChargePoint[] = []
      for (let i = 0; i < 12; i++) cps.push(await connectChargePoint(`${url}/W-${i}`))
      await waitFor(() => cps.every((_, i) => nodeOf(`W-${i}`) !== undefined), 5000)
      const nodes = new Set(cps.map((_, i) => nodeOf(`W-${i}`)))
      assert.equal(nodes.size, 2, `both workers hold some: ${[...nodes].join(', ')}`)
      for (const [i, cp] of cps.entries()) {
        cp.ws.on('message', (d) => { const f = JSON.parse(String(d)) as unknown[]; if (f[0] === 2) cp.send([3, f[1], { status: 'Accepted' }]) })
        await backend.publish(`ocpp/cs/W-${i}`, { MessageTypeId: 2, UniqueId: `wc-${i}`, Action: 'Reset', Payload: { type: 'Soft' } })
      }
      const answered = (i: number): number => backend.inbox.items.filter((m) => m.topic === `ocpp/cp/W-${i}/Reply` && m.json?.UniqueId === `wc-${i}`).length
      await waitFor(() => cps.every((_, i) => answered(i) >= 1), 5000)
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.deepEqual(cps.map((_, i) => answered(i)), cps.map(() => 1))
      for (const cp of cps) await cp.close()
    })

    test('a worker killed with SIGKILL: its charge points get node_lost from the other, and the primary starts it again', async () => {
      const cps: ChargePoint[] = []
      for (let i = 0; i < 8; i++) cps.push(await connectChargePoint(`${url}/K-${i}`))
      await waitFor(() => cps.every((_, i) => nodeOf(`K-${i}`) !== undefined), 5000)
      const victim = nodeOf('K-0') as string
      const pid = Number(/-(\d+)$/.exec(victim)?.[1])
      const onVictim = cps.map((_, i) => `K-${i}`).filter((cid) => nodeOf(cid) === victim)
      const started = (out.match(/"worker started"/g) ?? []).length
      const killedAt = Date.now()
      process.kill(pid, 'SIGKILL')
      const lost = (cid: string): boolean => backend.inbox.items.some((m) => m.topic === `ocpp/events/${cid}` && m.json?.event === 'disconnected' && m.json?.reason === 'node_lost')
      await waitFor(() => onVictim.every(lost), 10_000)
      console.log(`# worker ${pid} killed: node_lost for its ${onVictim.length} charge points within ${Date.now() - killedAt} ms`)
      await waitFor(() => (out.match(/"worker started"/g) ?? []).length > started, 10_000)
      assert.match(out, /worker died: its charge points are a lost node's for the others; restarting it/)
      // The charge points come back (to either worker) and are served.
      for (const cp of cps) await cp.close()
      const again = await connectChargePoint(`${url}/K-0`)
      again.ws.on('message', (d) => { const f = JSON.parse(String(d)) as unknown[]; if (f[0] === 2) again.send([3, f[1], { status: 'Accepted' }]) })
      await waitFor(() => backend.inbox.items.filter((m) => m.topic === 'ocpp/events/K-0' && m.json?.event === 'connected').length >= 2, 5000)
      await new Promise((resolve) => setTimeout(resolve, 600))
      await backend.publish('ocpp/cs/K-0', { MessageTypeId: 2, UniqueId: 'k-again', Action: 'Reset', Payload: { type: 'Soft' } })
      await waitFor(() => backend.inbox.items.some((m) => m.topic === 'ocpp/cp/K-0/Reply' && m.json?.UniqueId === 'k-again'), 5000)
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/K-0/Reply' && m.json?.UniqueId === 'k-again').length, 1)
      await again.close()
    })

    test('the internal user cannot be guessed: its name with another password is refused', { skip: kind !== 'embedded' }, async () => {
      const mqttUrl = (backend.client.options as { href?: string }).href ?? `mqtt://127.0.0.1:${String(backend.client.options.port)}`
      await assert.rejects(mqtt.connectAsync(mqttUrl, { username: 'ocpp-gateway-worker', password: 'guess', reconnectPeriod: 0 }), /Bad username or password|Not authorized/)
    })

    test('SIGTERM: the workers stop, the primary exits 0', async () => {
      primary.kill('SIGTERM')
      await waitFor(() => exited.code !== undefined, 15_000)
      assert.equal(exited.code, 0)
    })
  })
}

describe('--workers: refused or failed starts', () => {
  test('with the embedded broker\'s TCP listener off: a configuration error, exit 2', async () => {
    const child = spawn(process.execPath, [cli, '--workers', '2', '--mqtt-bind', 'off', '--print-config'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    assert.equal(code, 2)
    assert.match(err, /workers: with the embedded broker the workers connect to it over mqtt\.embedded\.bind, which is off/)
  })

  test('a worker that cannot start (no broker): the group stops with its code, not restarted', async () => {
    const child = spawn(process.execPath, [cli, '--workers', '2', '--mqtt-url', 'mqtt://127.0.0.1:1', '--bind', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    assert.equal(code, 1)
    assert.match(out, /worker failed to start: stopping/)
    assert.doesNotMatch(out, /restarting it/)
  })
})

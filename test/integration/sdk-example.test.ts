/**
 * examples/minimal-csms.ts as a user runs it (`node dist/examples/minimal-csms.js --mqtt-url …`,
 * a child process) against the gateway and the simulator: the simulator's charging session
 * completes for 1.6, 2.0.1 and 2.1 (with its periodic event stream SENDs; and a 2.1 WebSocket
 * charger), and commands typed on its
 * stdin reach the chargers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { METER_VALUES_PER_SESSION } from '../../src/sim/model.js'
import { runSimulation, startSimulation } from '../../src/sim/runner.js'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint, Inbox } from '../helpers/clients.js'

const example = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'minimal-csms.js')

test('the example CSMS runs the simulator\'s sessions for 1.6, 2.0.1 and 2.1 (and a 2.1 WebSocket charger), and sends commands', { timeout: 45_000 }, async () => {
  const t = await startTestGateway()
  const child = spawn(process.execPath, [example, '--mqtt-url', t.mqttUrl, '--interval', '120'], { stdio: ['pipe', 'pipe', 'pipe'] })
  const lines = new Inbox<string>()
  let stderr = ''
  let buffered = ''
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString()
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const l of parts) lines.push(l)
  })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  try {
    await lines.wait((l) => l.includes('CSMS connected'), 10_000, 'the CSMS start line')
    // One full session each: boot, statuses, then authorize, start, meter values, stop.
    const s16 = await runSimulation({ url: t.url, protocol: 'ocpp1.6', ids: ['ex-16'], scenario: 'session', calls: 3 + 6 + METER_VALUES_PER_SESSION })
    const s201 = await runSimulation({ url: t.url, protocol: 'ocpp2.0.1', ids: ['ex-201'], scenario: 'session', calls: 2 + 5 + METER_VALUES_PER_SESSION })
    const s21 = await runSimulation({ url: t.url, protocol: 'ocpp2.1', ids: ['ex-21s'], scenario: 'session', calls: 2 + 5 + METER_VALUES_PER_SESSION + 2 })
    for (const s of [s16, s201, s21]) {
      assert.equal(s.errors.total, 0, JSON.stringify(s.errors))
      assert.equal(s.calls.results, s.calls.sent, 'every Call got a CallResult')
    }
    assert.equal(s16.calls.byAction.StopTransaction, 1)
    assert.equal(s201.calls.byAction.TransactionEvent, 2 + METER_VALUES_PER_SESSION)
    // 2.1: the transaction, and the meter streamed as NotifyPeriodicEventStream SENDs.
    assert.equal(s21.calls.byAction.TransactionEvent, 2 + METER_VALUES_PER_SESSION)
    assert.deepEqual([s21.calls.byAction.OpenPeriodicEventStream, s21.calls.byAction.ClosePeriodicEventStream], [1, 1])
    assert.ok(s21.oneWay.sendsSent >= 1, JSON.stringify(s21.oneWay))
    await lines.wait((l) => /ex-16 transaction \d+ stopped at \d+ Wh/.test(l))
    await lines.wait((l) => /ex-201 transaction .+ ended \(\d+ Wh\)/.test(l))
    // A 2.1 charger: the gateway accepts ocpp2.1; the example answers in its version.
    const cp21 = await connectChargePoint(`${t.url}/ex-21`, ['ocpp2.1'])
    await lines.wait((l) => l.includes('ex-21 connected (OCPP 2.1)'))
    cp21.send([2, 'b', 'BootNotification', { chargingStation: { model: 'm', vendorName: 'v' }, reason: 'PowerUp' }])
    const boot = await cp21.frames.wait((f) => f[1] === 'b')
    assert.equal((boot[2] as { interval: number }).interval, 120)
    // Commands on stdin reach a connected charger, in its version.
    const sim = startSimulation({ url: t.url, protocol: 'ocpp2.0.1', ids: ['ex-cmd'], scenario: 'idle' })
    await lines.wait((l) => l.includes('ex-cmd boot accepted'))
    child.stdin.write('get ex-cmd HeartbeatInterval\nset ex-cmd HeartbeatInterval 30\nreset ex-cmd\ntrigger ex-cmd StatusNotification\nlist\n')
    assert.match(await lines.wait((l) => l.includes('get ex-cmd →')), /"attributeValue":"120"/)
    assert.match(await lines.wait((l) => l.includes('set ex-cmd →')), /"attributeStatus":"Accepted"/)
    assert.match(await lines.wait((l) => l.includes('reset ex-cmd →')), /"status":"Accepted"/)
    assert.match(await lines.wait((l) => l.includes('trigger ex-cmd →')), /"status":"Accepted"/)
    await lines.wait((l) => /ex-cmd OCPP 2\.0\.1 since/.test(l))
    child.stdin.write('reset nobody\n')
    assert.match(await lines.wait((l) => l.includes('reset failed')), /offline/)
    sim.stop()
    await sim.done
    await cp21.close()
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit') as [number | null]
    assert.equal(code, 0, stderr)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    await t.stop()
  }
})

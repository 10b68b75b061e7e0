/**
 * The seed document's walk-through (EMQX 5 OCPP gateway article) with this gateway in EMQX's
 * place: as the README prints it (its commands run by a shell, in a network namespace of their
 * own so the fixed ports meet nothing else), and frame by frame with ocpp-go's ids; and the
 * README's library snippet as printed.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brokerKinds, startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'
import { mosquittoBinary } from '../helpers/mosquitto.js'
import { type NetNs, type NsProcess, netnsSkip, openHostNs, openNetNs, portsFree } from '../helpers/netns.js'
import { type Block, fencedBlocks, linePattern, readme, repoRoot, section } from '../helpers/readme.js'

const README = readme()
const walkBlocks = fencedBlocks(section(README, 'The walk-through, by hand'))
/** The quick start's way to use a broker already on 1883, as printed there. */
const externalStart = /`(npm start -- --mqtt-url mqtt:\/\/localhost:1883)`/.exec(README)?.[1]

/** The fixed ports the walk-through's commands use (README: 33033, 1883, 8083, 18083). */
const WALK_PORTS = [33033, 1883, 8083, 18083]
const noNamespace = netnsSkip()
/**
 * In a namespace of its own when one can be made; else on this machine's network when the
 * README's ports are free (in CI it must run one way or the other); else skipped, saying why.
 */
const useHost = noNamespace !== undefined && await portsFree(WALK_PORTS)
const nsSkip = noNamespace === undefined || useHost ? undefined : `${noNamespace}, and ports ${WALK_PORTS.join('/')} are not all free`
if (nsSkip !== undefined && process.env.CI === 'true') throw new Error(`the README walk-through cannot run in CI: ${nsSkip}`)

/** The one command of a `sh` block (comment lines and blank lines left out). */
function command (b: Block): string {
  const lines = b.body.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  assert.equal(lines.length, 1, `one command per sh block of the walk-through: ${b.body}`)
  return lines[0]!
}

/** The subscriber's output lines from `from` on; the index after the first matching `pattern`. */
function findLine (out: string, pattern: RegExp, from: number): number {
  const lines = out.split('\n')
  for (let i = from; i < lines.length - 1; i++) if (pattern.test(lines[i]!)) return i + 1
  return -1
}

async function waitLine (sub: NsProcess, expected: string, from: number, timeoutMs = 10_000): Promise<number> {
  const pattern = linePattern(expected)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const at = findLine(sub.out.stdout, pattern, from)
    if (at >= 0) return at
    if (Date.now() > deadline) assert.fail(`README line not seen by mosquitto_sub within ${timeoutMs} ms:\n${expected}\n--- mosquitto_sub saw:\n${sub.out.stdout}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * mosquitto_sub says nothing once subscribed: send a Call to a charge point that is not
 * connected until the gateway's `offline` answer to it shows (the embedded broker lets a
 * backend publish only on the contract's downstream and control topics).
 */
const PROBE = 'walkthrough-probe'
async function subscribed (ns: NetNs, sub: NsProcess): Promise<void> {
  for (let i = 0; i < 100 && !sub.out.stdout.includes(`ocpp/cp/${PROBE}/Reply`); i++) {
    await ns.run(`mosquitto_pub -h localhost -t ocpp/cs/${PROBE} -m '{"MessageTypeId":2,"UniqueId":"p${i}","Action":"Reset","Payload":{"type":"Soft"}}'`).exited
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.ok(sub.out.stdout.includes(`ocpp/cp/${PROBE}/Reply`), `mosquitto_sub did not subscribe: ${sub.out.stderr}`)
}

const variants = [
  { broker: 'embedded', skip: nsSkip },
  { broker: 'mosquitto', skip: nsSkip ?? brokerKinds.find((k) => k.kind === 'mosquitto')?.skip }
]

describe('README walk-through, run as printed', () => {
  test('the section has its steps: gateway, subscriber, simulator, answers, expected lines', () => {
    const cmds = walkBlocks.filter((b) => b.lang === 'sh').map(command)
    assert.equal(cmds[0], 'npm start')
    assert.match(cmds[1]!, /^mosquitto_sub /)
    assert.match(cmds[2]!, /^node dist\/src\/cli\/main\.js simulate .*--first-id 19223201/)
    assert.ok(cmds.slice(3).every((c) => c.startsWith('mosquitto_pub ')), cmds.join('\n'))
    assert.ok(walkBlocks.some((b) => b.lang === 'text' && b.body.includes('"UniqueId":"19223201","Action":"BootNotification"')))
    assert.equal(externalStart, 'npm start -- --mqtt-url mqtt://localhost:1883')
  })

  for (const { broker, skip } of variants) {
    test(`every step, ${broker} broker`, { skip, timeout: 60_000 }, async (t) => {
      const ns = useHost ? openHostNs() : await openNetNs()
      t.after(ns.close)
      const opts = { cwd: repoRoot }
      if (broker === 'mosquitto') {
        // A broker already on localhost:1883, the gateway pointed at it as the quick start says.
        const mosquitto = ns.run(`${mosquittoBinary!} -p 1883`, opts)
        await mosquitto.waitFor(/running/, 10_000, 'mosquitto start')
      }
      let sub: NsProcess | undefined
      let sim: NsProcess | undefined
      let from = 0
      let bootInterval = 0
      for (const block of walkBlocks) {
        if (block.lang === 'text') {
          for (const line of block.body.split('\n').filter((l) => l.trim() !== '')) {
            assert.ok(sub !== undefined, 'an expected line before the subscriber runs')
            if (line.includes('"Action":"Heartbeat"')) {
              // Only after the interval of the boot answer (300 s): none may come before.
              assert.ok(bootInterval >= 60, `the walk-through's interval is long: ${bootInterval}`)
              await new Promise((resolve) => setTimeout(resolve, 2000))
              const topic = line.slice(0, line.indexOf(' '))
              assert.equal(findLine(sub.out.stdout, linePattern(`${topic} …"Action":"Heartbeat"…`), 0), -1, 'a Heartbeat before the interval')
              continue
            }
            from = await waitLine(sub, line, from)
          }
          continue
        }
        if (block.lang !== 'sh') continue
        const cmd = command(block)
        if (cmd === 'npm start') {
          const gw = ns.run(broker === 'mosquitto' ? externalStart! : cmd, opts)
          await gw.waitFor(/"msg":"ocpp-gateway started"/, 20_000, 'gateway start')
        } else if (cmd.startsWith('mosquitto_sub ')) {
          sub = ns.run(cmd, opts)
          await subscribed(ns, sub)
        } else if (/ simulate /.test(cmd)) {
          sim = ns.run(cmd, opts)
        } else if (cmd.startsWith('mosquitto_pub ')) {
          const interval = /"interval":(\d+)/.exec(cmd)
          if (interval !== null) bootInterval = Number(interval[1])
          const pub = ns.run(cmd, opts)
          assert.equal(await pub.exited, 0, `${cmd}: ${pub.out.stderr}`)
        } else {
          assert.fail(`a step the test does not know: ${cmd}`)
        }
      }
      assert.ok(sub !== undefined && sim !== undefined)
      // Nothing went wrong on the way: no gateway report (unmatched_answer, …), no error in the simulator.
      assert.deepEqual(sub.out.stdout.split('\n').filter((l) => l.startsWith('ocpp/errors/') && !l.includes(PROBE)), [])
      assert.equal(await sim.stop('SIGINT'), 0, sim.out.stderr)
      assert.match(sim.out.stdout, /^1 x ocpp1\.6 idle -> ws:\/\/localhost:33033\/ocpp/m)
      assert.match(sim.out.stdout, /^calls: 3 sent, 2 answered/m)
      assert.match(sim.out.stdout, /^errors: 0 /m)
    })
  }
})

test('README library snippet runs as printed, from a package that depends on this one', { timeout: 30_000 }, async (t) => {
  const ts = fencedBlocks(section(README, 'Library use')).filter((b) => b.lang === 'ts')
  assert.equal(ts.length, 1)
  const dir = await mkdtemp(join(tmpdir(), 'readme-lib-'))
  t.after(async () => await rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'node_modules'))
  await symlink(repoRoot, join(dir, 'node_modules', 'ocpp-mqtt-gateway'), 'dir')
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'readme-user', type: 'module', private: true }))
  // No type annotation in it: the TypeScript of the README is JavaScript as well.
  await writeFile(join(dir, 'snippet.js'), ts[0]!.body)
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
    execFile(process.execPath, ['snippet.js'], { cwd: dir, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr })
    })
  })
  assert.equal(code, 0, stderr + stdout)
  assert.match(stdout, /^charge points: ws:\/\/127\.0\.0\.1:\d+\/ocpp\/\{id\}, MQTT: mqtt:\/\/127\.0\.0\.1:\d+$/m)
  assert.match(stdout, /"msg":"stopped"/)
})

for (const { kind, skip } of brokerKinds) {
  describe(`seed walk-through, frame by frame with ocpp-go's ids (${kind} broker)`, { skip }, () => {
    test('BootNotification up, CallResult down, StatusNotification up', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        // ocpp-go: CLIENT_ID=chargePointSim CENTRAL_SYSTEM_URL=ws://<host>:33033/ocpp
        const cp = await connectChargePoint(`${t.url}/chargePointSim`, ['ocpp1.6'])
        assert.equal(cp.protocol, 'ocpp1.6')
        cp.send([2, '1200012677', 'BootNotification', { chargePointVendor: 'vendor1', chargePointModel: 'model1' }])

        const boot = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/chargePointSim', 5000, 'BootNotification on ocpp/cp/chargePointSim')
        assert.deepEqual(boot.json, {
          MessageTypeId: 2,
          UniqueId: '1200012677',
          Action: 'BootNotification',
          Payload: { chargePointVendor: 'vendor1', chargePointModel: 'model1' }
        })

        await t.backend.publish('ocpp/cs/chargePointSim', {
          MessageTypeId: 3,
          UniqueId: boot.json.UniqueId,
          Payload: { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' },
          Action: 'BootNotification'
        })
        const reply = await cp.frames.wait(() => true, 5000, 'BootNotification CallResult')
        assert.deepEqual(reply, [3, '1200012677', { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' }])

        cp.send([2, '3062609974', 'StatusNotification', { status: 'Available', errorCode: 'NoError', connectorId: 0 }])
        const status = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/chargePointSim' && m.json?.Action === 'StatusNotification', 5000, 'StatusNotification')
        assert.deepEqual(status.json, {
          UniqueId: '3062609974',
          Payload: { status: 'Available', errorCode: 'NoError', connectorId: 0 },
          MessageTypeId: 2,
          Action: 'StatusNotification'
        })
        // The accepted BootNotification's interval became this charge point's heartbeat interval.
        assert.equal(t.gw.sessions.get('chargePointSim')?.heartbeatIntervalMs, 300_000)
        await cp.close()
      } finally {
        await t.stop()
      }
    })
  })
}

/**
 * Security profile upgrades through the bridge (issue 15 item 3), end to end on real sockets:
 * the CSMS moves a charge point up (1.6 ChangeConfiguration SecurityProfile, 2.0.1
 * SetNetworkProfile), the charge point accepts, connects on the new profile, and from then on
 * the lower profile is refused with 403 below_min_profile. Before it has used the new profile,
 * the old one still works (a charge point that cannot connect on the new profile falls back).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { hashPassword } from '../../src/auth/password-hash.js'
import { passwdMain } from '../../src/cli/passwd.js'
import { makeTestCerts, type TestCerts } from '../helpers/certs.js'
import { connectChargePoint, expectRejected, waitFor, type ChargePoint } from '../helpers/clients.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

const FAST = { N: 1024, r: 8, p: 1 }
const basic = (id: string, pw: string): Record<string, string> => ({ authorization: 'Basic ' + Buffer.from(`${id}:${pw}`).toString('base64') })

let dir: string
let file: string
let certs: TestCerts
let t: TestGateway
let ca: Buffer

const port = (name: string): number => {
  const l = t.gw.listeners.find((x) => x.config.name === name)
  assert.ok(l !== undefined, name)
  return l.port
}
const ws = (cid: string): string => `ws://127.0.0.1:${port('default')}/ocpp/${cid}`
const wss = (name: string, cid: string): string => `wss://localhost:${port(name)}/ocpp/${cid}`
const counter = (name: string, reason: string): number => t.gw.metrics.labelled.get(`${name}{reason="${reason}"}`) ?? 0

before(async () => {
  certs = makeTestCerts('CP-P3')
  ca = readFileSync(certs.ca.cert)
  dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-profile-'))
  file = join(dir, 'credentials')
  await writeFile(file, [
    `CP-P2:${await hashPassword('password-p2-123', FAST)}`,
    `CP-P3:${await hashPassword('password-p3-123', FAST)}`,
    `CP-OP:${await hashPassword('password-op-123', FAST)}`
  ].join('\n') + '\n')
  const ssl = { certfile: certs.server.cert, keyfile: certs.server.key }
  t = await startTestGateway({
    config: {
      allow_anonymous: false,
      authentication: [{ backend: 'file', path: file }],
      handshake_limits: { auth_failure_per_cid: { enable: false }, auth_failure_per_address: { enable: false } },
      listeners: {
        ws: { default: { bind: '127.0.0.1:0' } },
        wss: {
          basic: { bind: '127.0.0.1:0', ssl_options: ssl },
          certs: { bind: '127.0.0.1:0', ssl_options: { ...ssl, cacertfile: certs.ca.cert, verify: 'verify_peer' } }
        }
      }
    }
  })
})

after(async () => {
  await t?.stop()
  certs?.cleanup()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

async function exchange (cp: ChargePoint, cid: string, id: string, action: string, payload: unknown, result: unknown): Promise<void> {
  await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: id, Action: action, Payload: payload })
  await cp.frames.wait((f) => f[0] === 2 && f[1] === id, 5000, `${action} at the charge point`)
  cp.send([3, id, result])
  await t.backend.inbox.wait((m) => m.topic === `ocpp/cp/${cid}/Reply` && m.json?.UniqueId === id, 5000, 'the answer on MQTT')
}

const entry = async (cid: string): Promise<string> => (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith(`${cid}:`)) ?? ''

describe('security profile upgrades through the gateway', () => {
  test('1.6 ChangeConfiguration SecurityProfile 2 accepted: profile 1 still works until the charge point has connected on 2, then 403', async () => {
    const cp = await connectChargePoint(ws('CP-P2'), ['ocpp1.6'], { headers: basic('CP-P2', 'password-p2-123') })
    await exchange(cp, 'CP-P2', 'up-1', 'ChangeConfiguration', { key: 'SecurityProfile', value: '2' }, { status: 'Accepted' })
    await waitFor(() => counter('credential_changes_total', 'profile_upgrade_stored') >= 1)
    assert.match(await entry('CP-P2'), / upgrade=2$/)
    await cp.close()
    // Fallback still allowed: the charge point has not used profile 2 yet.
    await (await connectChargePoint(ws('CP-P2'), ['ocpp1.6'], { headers: basic('CP-P2', 'password-p2-123') })).close()
    await (await connectChargePoint(wss('basic', 'CP-P2'), ['ocpp1.6'], { headers: basic('CP-P2', 'password-p2-123'), ca })).close()
    await waitFor(() => counter('credential_changes_total', 'profile_raised') >= 1)
    assert.match(await entry('CP-P2'), / min_profile=2$/)
    const refusedBefore = counter('connections_rejected_total', 'below_min_profile')
    assert.equal((await expectRejected(ws('CP-P2'), ['ocpp1.6'], basic('CP-P2', 'password-p2-123'))).status, 403)
    assert.equal(counter('connections_rejected_total', 'below_min_profile'), refusedBefore + 1)
    await (await connectChargePoint(wss('basic', 'CP-P2'), ['ocpp1.6'], { headers: basic('CP-P2', 'password-p2-123'), ca })).close()
  })

  test('2.0.1 SetNetworkProfile to profile 3 accepted, then a client-certificate connection: Basic on profile 2 is refused after', async () => {
    const cp = await connectChargePoint(wss('basic', 'CP-P3'), ['ocpp2.0.1'], { headers: basic('CP-P3', 'password-p3-123'), ca })
    await exchange(cp, 'CP-P3', 'up-2', 'SetNetworkProfile',
      { configurationSlot: 2, connectionData: { ocppVersion: 'OCPP20', ocppTransport: 'JSON', ocppCsmsUrl: 'wss://gw/ocpp', messageTimeout: 30, securityProfile: 3, ocppInterface: 'Wired0' } },
      { status: 'Accepted' })
    await waitFor(() => counter('credential_changes_total', 'profile_upgrade_stored') >= 2)
    assert.match(await entry('CP-P3'), / upgrade=3$/)
    await cp.close()
    await (await connectChargePoint(wss('certs', 'CP-P3'), ['ocpp2.0.1'], { ca, cert: readFileSync(certs.clientGood.cert), key: readFileSync(certs.clientGood.key) })).close()
    await waitFor(() => counter('credential_changes_total', 'profile_raised') >= 2)
    assert.match(await entry('CP-P3'), / min_profile=3$/)
    await assert.rejects(connectChargePoint(wss('basic', 'CP-P3'), ['ocpp2.0.1'], { headers: basic('CP-P3', 'password-p3-123'), ca }), (e: { status?: number }) => e.status === 403)
  })

  test('a rejected upgrade stores nothing', async () => {
    const cp = await connectChargePoint(ws('CP-OP'), ['ocpp1.6'], { headers: basic('CP-OP', 'password-op-123') })
    const before = await entry('CP-OP')
    await exchange(cp, 'CP-OP', 'up-3', 'ChangeConfiguration', { key: 'SecurityProfile', value: '3' }, { status: 'Rejected' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(await entry('CP-OP'), before)
    await cp.close()
  })

  test('the operator sets a minimum with `passwd profile`; the gateway picks the file up and refuses below it', async () => {
    const out = new PassThrough()
    const err = new PassThrough()
    let text = ''
    out.on('data', (c: Buffer) => { text += c.toString() })
    assert.equal(await passwdMain(['profile', '--file', file, '--id', 'CP-OP', '--min', '2'], { stdin: Readable.from([]), stdout: out, stderr: err }), 0)
    assert.equal(text, 'CP-OP: min_profile 2\n')
    assert.match(await entry('CP-OP'), / min_profile=2$/)
    const deadline = Date.now() + 5000
    let status = 0
    while (Date.now() < deadline) {
      try {
        await (await connectChargePoint(ws('CP-OP'), ['ocpp1.6'], { headers: basic('CP-OP', 'password-op-123') })).close()
      } catch (e) {
        status = (e as { status?: number }).status ?? 0
        if (status === 403) break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.equal(status, 403, 'refused once the file is reloaded')
    await (await connectChargePoint(wss('basic', 'CP-OP'), ['ocpp1.6'], { headers: basic('CP-OP', 'password-op-123'), ca })).close()
    // `passwd add` (a new password) keeps the entry's minimum.
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP-OP', '--password-stdin', '--scrypt-n', '1024'], { stdin: Readable.from([Buffer.from('password-op-456\n')]), stdout: new PassThrough(), stderr: new PassThrough() }), 0)
    assert.match(await entry('CP-OP'), /^CP-OP:scrypt\$[^ ,]+ min_profile=2$/)
  })
})

/**
 * Password rotation through the bridge (issue 15 item 2), end to end on real sockets: a
 * backend on MQTT sets a charge point's new Basic password (2.0.1 SetVariables of
 * SecurityCtrlr.BasicAuthPassword, 1.6 ChangeConfiguration of AuthorizationKey), the charge
 * point accepts, and the gateway's credentials file keeps up: the new password gets in, the old
 * one keeps working until the new one has been used once, then stops.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { hashPassword } from '../../src/auth/password-hash.js'
import { connectChargePoint, expectRejected, waitFor, type ChargePoint } from '../helpers/clients.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

const FAST = { N: 1024, r: 8, p: 1 }
const basic = (id: string, pw: string | Buffer): Record<string, string> => ({ authorization: 'Basic ' + Buffer.concat([Buffer.from(`${id}:`), Buffer.from(pw)]).toString('base64') })

let dir: string
let file: string
let t: TestGateway

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-rotation-'))
  file = join(dir, 'credentials')
  await writeFile(file, [
    `CP201:${await hashPassword('old-password-201', FAST)}`,
    `CP202:${await hashPassword('old-password-202', FAST)}`,
    `CP16:${await hashPassword('old-password-16', FAST)}`
  ].join('\n') + '\n')
  t = await startTestGateway({
    config: {
      allow_anonymous: false,
      authentication: [{ backend: 'file', path: file }],
      handshake_limits: { auth_failure_per_cid: { enable: false }, auth_failure_per_address: { enable: false } }
    }
  })
})

after(async () => {
  await t?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const counter = (reason: string): number => t.gw.metrics.labelled.get(`credential_changes_total{reason="${reason}"}`) ?? 0

/** The backend sends `action` to `cid` over MQTT; the charge point answers with `result`; resolves when the backend has the answer. */
async function exchange (cp: ChargePoint, cid: string, id: string, action: string, payload: unknown, result: unknown): Promise<void> {
  await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: id, Action: action, Payload: payload })
  const call = await cp.frames.wait((f) => f[0] === 2 && f[1] === id, 5000, `${action} at the charge point`)
  assert.equal(call[2], action)
  cp.send([3, id, result])
  await t.backend.inbox.wait((m) => m.topic === `ocpp/cp/${cid}/Reply` && m.json?.UniqueId === id, 5000, 'the answer on MQTT')
}

const setPassword = (value: string): unknown => ({ setVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, attributeValue: value }] })
const setResult = (status: string): unknown => ({ setVariableResult: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, attributeStatus: status }] })

describe('password rotation through the gateway', () => {
  test('2.0.1 SetVariables BasicAuthPassword accepted: old and new both valid until the new one is used, then only the new', async () => {
    const cp = await connectChargePoint(`${t.url}/CP201`, ['ocpp2.0.1'], { headers: basic('CP201', 'old-password-201') })
    const before = await readFile(file, 'utf8')
    await exchange(cp, 'CP201', 'rot-1', 'SetVariables', setPassword('new-password-201x'), setResult('Accepted'))
    await waitFor(() => counter('password_stored') >= 1)
    const during = await readFile(file, 'utf8')
    assert.notEqual(during, before)
    assert.doesNotMatch(during, /new-password/, 'hashes only')
    assert.match(during, /^CP201:scrypt\$[^,\n]+,scrypt\$[^,\n]+$/m, 'new hash, then the current one')
    await cp.close()

    // Until the charge point has used the new password, the old one still gets in.
    await (await connectChargePoint(`${t.url}/CP201`, ['ocpp2.0.1'], { headers: basic('CP201', 'old-password-201') })).close()
    await (await connectChargePoint(`${t.url}/CP201`, ['ocpp2.0.1'], { headers: basic('CP201', 'new-password-201x') })).close()
    await waitFor(() => counter('password_completed') >= 1)
    assert.match(await readFile(file, 'utf8'), /^CP201:scrypt\$[^,\n]+$/m, 'one hash left')
    assert.equal((await expectRejected(`${t.url}/CP201`, ['ocpp2.0.1'], basic('CP201', 'old-password-201'))).status, 401)
    await (await connectChargePoint(`${t.url}/CP201`, ['ocpp2.0.1'], { headers: basic('CP201', 'new-password-201x') })).close()
  })

  test('a rejected change stores nothing; another variable stores nothing', async () => {
    const cp = await connectChargePoint(`${t.url}/CP202`, ['ocpp2.0.1'], { headers: basic('CP202', 'old-password-202') })
    const before = await readFile(file, 'utf8')
    const stored = counter('password_stored')
    await exchange(cp, 'CP202', 'rot-2', 'SetVariables', setPassword('never-used-password'), setResult('Rejected'))
    await exchange(cp, 'CP202', 'rot-3', 'SetVariables',
      { setVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: '300' }] },
      { setVariableResult: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeStatus: 'Accepted' }] })
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(await readFile(file, 'utf8'), before)
    assert.equal(counter('password_stored'), stored)
    await cp.close()
    assert.equal((await expectRejected(`${t.url}/CP202`, ['ocpp2.0.1'], basic('CP202', 'never-used-password'))).status, 401)
  })

  test('1.6 ChangeConfiguration AuthorizationKey (hex) accepted: the charge point\'s decoded binary key gets in, then the old one is refused', async () => {
    const key = Buffer.from('9f1c00ff3a7e5512c0c1f5f6f7f8f9fafbfcfdfe', 'hex') // 20 random bytes, not UTF-8
    const cp = await connectChargePoint(`${t.url}/CP16`, ['ocpp1.6'], { headers: basic('CP16', 'old-password-16') })
    await exchange(cp, 'CP16', 'rot-16', 'ChangeConfiguration', { key: 'AuthorizationKey', value: key.toString('hex') }, { status: 'Accepted' })
    await waitFor(() => /^CP16:scrypt\$[^,\n]+,scrypt\$[^,\n]+,scrypt\$[^,\n]+$/m.test(readFileSyncText()))
    await cp.close()
    await (await connectChargePoint(`${t.url}/CP16`, ['ocpp1.6'], { headers: basic('CP16', key) })).close()
    await waitFor(() => /^CP16:scrypt\$[^,\n]+$/m.test(readFileSyncText()))
    assert.equal((await expectRejected(`${t.url}/CP16`, ['ocpp1.6'], basic('CP16', 'old-password-16'))).status, 401)
    assert.equal((await expectRejected(`${t.url}/CP16`, ['ocpp1.6'], basic('CP16', key.toString('hex')))).status, 401, 'the other reading went with the old password')
  })

  test('a charge point no credentials file has: counted as not stored, nothing written', async () => {
    // CP201 is in the file; a charge point let in anonymously is not. Use a second gateway with anonymous access.
    const g = await startTestGateway({ config: { allow_anonymous: true } })
    try {
      const cp = await connectChargePoint(`${g.url}/ANON1`, ['ocpp2.0.1'])
      await g.backend.publish('ocpp/cs/ANON1', { MessageTypeId: 2, UniqueId: 'anon-1', Action: 'SetVariables', Payload: setPassword('whatever-password-1') })
      await cp.frames.wait((f) => f[0] === 2 && f[1] === 'anon-1')
      cp.send([3, 'anon-1', setResult('Accepted')])
      await waitFor(() => (g.gw.metrics.labelled.get('credential_changes_total{reason="password_not_stored"}') ?? 0) === 1)
      await cp.close()
    } finally {
      await g.stop()
    }
  })
})

/** waitFor polls synchronously: the file read without awaiting. */
function readFileSyncText (): string {
  return readFileSync(file, 'utf8')
}

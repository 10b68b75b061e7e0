/** Unknown-charger policy and the handshake timeout, through startGateway. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword } from '../../src/auth/password-hash.js'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint, expectRejected } from '../helpers/clients.js'

const basic = (user: string, pw: string): Record<string, string> => ({ Authorization: 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64') })

async function credentialsFile (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-policy-'))
  const file = join(dir, 'credentials')
  await writeFile(file, `KNOWN1:${await hashPassword('right', { N: 1024, r: 8, p: 1 })}\n`)
  return file
}

describe('unknown_charger', () => {
  test('reject (default): an unknown id gets 401', async () => {
    const t = await startTestGateway({ config: { allow_anonymous: false, authentication: [{ backend: 'file', path: await credentialsFile() }] } })
    try {
      assert.equal((await expectRejected(`${t.url}/STRANGER`, ['ocpp1.6'], basic('STRANGER', 'x'))).status, 401)
      const cp = await connectChargePoint(`${t.url}/KNOWN1`, ['ocpp1.6'], { headers: basic('KNOWN1', 'right') })
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('accept: an unknown id gets in and an unknown_charger event is published; a known id still needs its password', async () => {
    const t = await startTestGateway({ config: { allow_anonymous: false, unknown_charger: 'accept', authentication: [{ backend: 'file', path: await credentialsFile() }] } })
    try {
      const cp = await connectChargePoint(`${t.url}/STRANGER`, ['ocpp1.6'], { headers: basic('STRANGER', 'whatever') })
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/STRANGER' && m.json.event === 'unknown_charger')
      assert.equal(ev.json.cid, 'STRANGER')
      assert.equal(t.gw.metrics.counters.unknown_chargers_total, 1)
      assert.equal((await expectRejected(`${t.url}/KNOWN1`, ['ocpp1.6'], basic('KNOWN1', 'wrong'))).status, 401)
      await cp.close()
    } finally {
      await t.stop()
    }
  })
})

describe('handshake_timeout', () => {
  test('a client that never completes its upgrade request is dropped', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { handshake_timeout: '1s' } } } } })
    try {
      const port = t.gw.listeners[0]?.port ?? 0
      const socket = connect(port, '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write('GET /ocpp/slow HTTP/1.1\r\nHost: x\r\n') // headers never finished
      let answer = ''
      socket.on('data', (d: Buffer) => { answer += d.toString() })
      const started = Date.now()
      await new Promise((resolve) => socket.once('close', resolve))
      assert.ok(Date.now() - started < 8000, 'closed by the handshake timeout, not some other limit')
      assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/)
      assert.equal(t.gw.metrics.get('connections_rejected_total', 'handshake_timeout'), 1)
    } finally {
      await t.stop()
    }
  })
})

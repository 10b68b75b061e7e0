/**
 * OCPP's four TLS 1.2 cipher suites on one wss listener (OCPP 2.0.1 Part 2 A00.FR.318, the
 * 1.6 security whitepaper): two need an ECDSA certificate, two an RSA one, so the listener
 * holds both (`ssl_options.certificates`). Checked with the openssl CLI (`s_client -tls1_2
 * -cipher …`), with a real charge point over each suite, and through a reload of both files.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { WebSocket } from 'ws'
import { makeTestCerts, type TestCerts } from '../helpers/certs.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

const OCPP_SUITES = [
  { suite: 'ECDHE-ECDSA-AES128-GCM-SHA256', key: 'ec' },
  { suite: 'ECDHE-ECDSA-AES256-GCM-SHA384', key: 'ec' },
  { suite: 'AES128-GCM-SHA256', key: 'rsa' },
  { suite: 'AES256-GCM-SHA384', key: 'rsa' }
] as const

/** One TLS 1.2 handshake by the openssl CLI with a single suite offered: what it negotiated and the server's certificate subject. */
async function sClient (port: number, suite: string, ca: string): Promise<{ cipher: string | undefined, subject: string | undefined, out: string }> {
  const out = await new Promise<string>((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', suite, '-CAfile', ca, '-servername', 'localhost'],
      { timeout: 10_000 }, (_err, stdout, stderr) => { resolve(`${stdout}\n${stderr}`) })
    child.stdin?.end()
  })
  return {
    cipher: /Cipher is (\S+)/.exec(out)?.[1],
    subject: /subject=.*CN\s*=\s*([^,\n]+)/.exec(out)?.[1]?.trim(),
    out
  }
}

let certs: TestCerts
let live: { ecCert: string, ecKey: string, rsaCert: string, rsaKey: string }
let t: TestGateway
let port: number
let strictPort: number
const ONLY_OCPP = OCPP_SUITES.map((s) => s.suite).join(':')

before(async () => {
  certs = makeTestCerts('CP001')
  // Copies the test may replace, to see a reload of both pairs.
  const dir = join(certs.dir, 'live')
  mkdirSync(dir)
  live = { ecCert: join(dir, 'ec.pem'), ecKey: join(dir, 'ec.key'), rsaCert: join(dir, 'rsa.pem'), rsaKey: join(dir, 'rsa.key') }
  copyFileSync(certs.server.cert, live.ecCert)
  copyFileSync(certs.server.key, live.ecKey)
  copyFileSync(certs.serverRsa.cert, live.rsaCert)
  copyFileSync(certs.serverRsa.key, live.rsaKey)
  t = await startTestGateway({
    config: {
      listeners: {
        wss: {
          default: {
            bind: '127.0.0.1:0',
            ssl_options: { certificates: [{ certfile: live.ecCert, keyfile: live.ecKey }, { certfile: live.rsaCert, keyfile: live.rsaKey }] }
          },
          strict: {
            bind: '127.0.0.1:0',
            ssl_options: { certfile: certs.server.cert, keyfile: certs.server.key, certificates: [{ certfile: certs.serverRsa.cert, keyfile: certs.serverRsa.key }], ciphers: ONLY_OCPP }
          }
        }
      }
    }
  })
  const wss = t.gw.listeners.filter((l) => l.config.security.tls !== undefined)
  const byName = (name: string): number => {
    const l = wss.find((x) => x.config.name === name)
    assert.ok(l !== undefined, `wss listener ${name}`)
    return l.port
  }
  port = byName('default')
  strictPort = byName('strict')
})

after(async () => {
  await t?.stop()
  certs?.cleanup()
})

describe('the four OCPP TLS 1.2 suites on one listener with an RSA and an ECDSA certificate', () => {
  for (const { suite, key } of OCPP_SUITES) {
    test(`${suite}: negotiated by openssl s_client -tls1_2, with the ${key} certificate`, async () => {
      const r = await sClient(port, suite, certs.ca.cert)
      assert.equal(r.cipher, suite, r.out)
      assert.equal(r.subject, 'localhost', r.out)
      assert.match(r.out, key === 'rsa' ? /Server public key is 2048 bit/ : /Server public key is 256 bit/)
      assert.match(r.out, /Verify return code: 0 \(ok\)/)
    })

    test(`${suite}: a charge point that offers only this suite connects and is answered`, async () => {
      const ws = new WebSocket(`wss://localhost:${port}/ocpp/CP-${suite}`, 'ocpp1.6', {
        ca: readFileSync(certs.ca.cert), ciphers: suite, maxVersion: 'TLSv1.2'
      })
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
      const negotiated = (ws as unknown as { _socket: import('node:tls').TLSSocket })._socket.getCipher()
      assert.equal(negotiated.standardName.length > 0, true)
      assert.equal(negotiated.name, suite)
      ws.close()
      await new Promise((resolve) => ws.once('close', resolve))
    })
  }

  test('Node\'s default list offers more than these four; `ciphers` narrows a listener to exactly them for TLS 1.2', async () => {
    const other = 'ECDHE-RSA-AES128-GCM-SHA256'
    assert.equal((await sClient(port, other, certs.ca.cert)).cipher, other)
    const refused = await sClient(strictPort, other, certs.ca.cert)
    assert.equal(refused.cipher === undefined || refused.cipher === '(NONE)', true, refused.out)
    assert.match(refused.out, /handshake failure|no shared cipher|alert/)
    for (const { suite } of OCPP_SUITES) assert.equal((await sClient(strictPort, suite, certs.ca.cert)).cipher, suite)
  })

  test('reload: replacing the RSA pair is picked up for new handshakes, the ECDSA one stays', async () => {
    copyFileSync(certs.serverRsa2.key, live.rsaKey)
    copyFileSync(certs.serverRsa2.cert, live.rsaCert)
    await t.gw.reload()
    const rsa = await sClient(port, 'AES128-GCM-SHA256', certs.ca.cert)
    assert.equal(rsa.subject, 'localhost-rsa-renewed', rsa.out)
    const ec = await sClient(port, 'ECDHE-ECDSA-AES128-GCM-SHA256', certs.ca.cert)
    assert.equal(ec.subject, 'localhost', ec.out)
  })
})

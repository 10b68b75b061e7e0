/**
 * Security profiles end to end through startGateway: a ws listener (profile 1) and two wss
 * listeners (profiles 2 and 3) with certificates made for this run. Skipped until the gateway
 * config knows the security keys (allow_anonymous, authentication, listeners.wss, …).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { hashPassword } from '../../src/auth/password-hash.js'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { makeTestCerts, type CertPair, type TestCerts } from '../helpers/certs.js'

function securityConfigSupported (): boolean {
  try {
    buildConfig([{ allow_anonymous: false, authentication: [], handshake_limits: {} }])
    return true
  } catch {
    return false
  }
}

const supported = securityConfigSupported()

/** A 1.6 AuthorizationKey as the security whitepaper has it: 20 random-looking bytes, not UTF-8, with a ':' inside. */
const BINARY_KEY = Buffer.from('ff00fe3a8081c0c1f5f6f7f8f9fafbfcfdfe3aff', 'hex')

type Outcome = { open: WebSocket } | { status: number, headers: IncomingMessage['headers'] } | { error: string }

async function attempt (url: string, opts: { auth?: [string, string | Buffer], client?: CertPair, ca?: Buffer } = {}): Promise<Outcome> {
  const ws = new WebSocket(url, 'ocpp1.6', {
    headers: opts.auth === undefined ? {} : { authorization: 'Basic ' + Buffer.concat([Buffer.from(`${opts.auth[0]}:`), Buffer.from(opts.auth[1])]).toString('base64') },
    ca: opts.ca,
    cert: opts.client === undefined ? undefined : readFileSync(opts.client.cert),
    key: opts.client === undefined ? undefined : readFileSync(opts.client.key)
  })
  return await new Promise(resolve => {
    ws.on('open', () => resolve({ open: ws }))
    ws.on('unexpected-response', (_req, res) => { res.resume(); resolve({ status: res.statusCode ?? 0, headers: res.headers }) })
    ws.on('error', e => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }))
  })
}

function opened (o: Outcome): WebSocket {
  assert.ok('open' in o, JSON.stringify(o))
  return o.open
}

function status (o: Outcome): number | string {
  if ('open' in o) { o.open.terminate(); return 101 }
  return 'status' in o ? o.status : 'tls-error'
}

describe('security profiles through the gateway', { skip: supported ? false : 'security config keys not wired into the gateway config yet' }, () => {
  let dir: string
  let certs: TestCerts
  let gw: Gateway
  let ca: Buffer
  const url = (name: string, cid: string): string => {
    const l = gw.listeners.find(x => x.config.name === name)
    assert.ok(l !== undefined, name)
    return `${name === 'plain' ? 'ws' : 'wss'}://localhost:${l.port}/ocpp/${cid}`
  }

  before(async () => {
    certs = makeTestCerts('CP001')
    ca = readFileSync(certs.ca.cert)
    dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-e2e-'))
    const credentials = join(dir, 'credentials')
    await writeFile(credentials, `CP001:${await hashPassword('pw-1', { N: 1024, r: 8, p: 1 })}\nCP16BIN:${await hashPassword(BINARY_KEY, { N: 1024, r: 8, p: 1 })}\n`)
    const ssl = { certfile: certs.server.cert, keyfile: certs.server.key }
    gw = await startGateway(buildConfig([{ admin: { bind: 'off' } }, {
      authentication: [{ backend: 'file', path: credentials }],
      // The tests refuse CP001 on purpose more often than the default per-id lockout allows.
      handshake_limits: { auth_failure_per_cid: { max_count: 50 } },
      listeners: {
        ws: { default: { enable: false }, plain: { bind: '127.0.0.1:0' } },
        wss: {
          basic: { bind: '127.0.0.1:0', ssl_options: ssl },
          certs: { bind: '127.0.0.1:0', ssl_options: { ...ssl, cacertfile: certs.ca.cert, verify: 'verify_peer' } },
          operator: { bind: '127.0.0.1:0', ssl_options: { ...ssl, cacertfile: certs.ca.cert, verify: 'verify_peer', client_organization: ['My CPO', 'My CPO Services'] } }
        }
      },
      mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } },
      log: { level: 'silent' }
    }]), { logger: pino({ level: 'silent' }), shutdownGraceMs: 200 })
  })
  after(async () => {
    await gw?.close()
    certs?.cleanup()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  test('profile 1: right credentials in, wrong password / wrong id / none: 401', async () => {
    opened(await attempt(url('plain', 'CP001'), { auth: ['CP001', 'pw-1'] })).close()
    assert.equal(status(await attempt(url('plain', 'CP001'), { auth: ['CP001', 'nope'] })), 401)
    assert.equal(status(await attempt(url('plain', 'CP002'), { auth: ['CP002', 'pw-1'] })), 401)
    assert.equal(status(await attempt(url('plain', 'CP001'))), 401)
  })

  test('1.6 binary AuthorizationKey: the charger\'s raw bytes get in over a real socket; the same bytes but one do not', async () => {
    opened(await attempt(url('plain', 'CP16BIN'), { auth: ['CP16BIN', BINARY_KEY] })).close()
    const other = Buffer.from(BINARY_KEY)
    other[0] = 0xfe // the same text once decoded as UTF-8, other bytes
    assert.equal(other.toString('utf8'), BINARY_KEY.toString('utf8'))
    assert.equal(status(await attempt(url('plain', 'CP16BIN'), { auth: ['CP16BIN', other] })), 401)
    assert.equal(status(await attempt(url('basic', 'CP16BIN'), { auth: ['CP16BIN', BINARY_KEY], ca })), 101)
  })

  test('profile 2: Basic over TLS; a 401 challenges; plain ws to the wss port fails', async () => {
    opened(await attempt(url('basic', 'CP001'), { auth: ['CP001', 'pw-1'], ca })).close()
    const o = await attempt(url('basic', 'CP001'), { ca })
    assert.ok('status' in o && o.status === 401 && /^Basic realm=/.test(String(o.headers['www-authenticate'])), JSON.stringify(o))
    assert.equal(status(await attempt(url('basic', 'CP001').replace('wss:', 'ws:'), { auth: ['CP001', 'pw-1'] })), 'tls-error')
  })

  test('profile 3: the certificate is the credential; CN mismatch 403; foreign CA and expired fail in TLS', async () => {
    opened(await attempt(url('certs', 'CP001'), { client: certs.clientGood, ca })).close()
    assert.equal(status(await attempt(url('certs', 'CP001'), { client: certs.clientOtherCn, ca })), 403)
    assert.equal(status(await attempt(url('certs', 'CP009'), { client: certs.clientGood, ca })), 403)
    assert.equal(status(await attempt(url('certs', 'CP001'), { client: certs.clientOtherCa, ca })), 'tls-error')
    assert.equal(status(await attempt(url('certs', 'CP001'), { client: certs.clientExpired, ca })), 'tls-error')
    assert.equal(status(await attempt(url('certs', 'CP001'), { ca, auth: ['CP001', 'pw-1'] })), 'tls-error')
  })

  test('profile 3 with client_organization: the certificate\'s O must be the operator\'s; none or another is 403, counted and logged as cert_organization_mismatch', async () => {
    const before = gw.metrics.labelled.get('connections_rejected_total{reason="cert_organization_mismatch"}') ?? 0
    opened(await attempt(url('operator', 'CP001'), { client: certs.clientOrg, ca })).close()
    assert.equal(status(await attempt(url('operator', 'CP001'), { client: certs.clientOtherOrg, ca })), 403)
    assert.equal(status(await attempt(url('operator', 'CP001'), { client: certs.clientGood, ca })), 403, 'no O at all')
    assert.equal(gw.metrics.labelled.get('connections_rejected_total{reason="cert_organization_mismatch"}'), before + 2)
    // The listener without the setting does not look at O.
    opened(await attempt(url('certs', 'CP001'), { client: certs.clientOtherOrg, ca })).close()
  })

  test('takeover needs credentials', async () => {
    const first = opened(await attempt(url('plain', 'CP001'), { auth: ['CP001', 'pw-1'] }))
    assert.equal(status(await attempt(url('plain', 'CP001'), { auth: ['CP001', 'hijack'] })), 401)
    await new Promise<void>((resolve, reject) => { first.once('pong', () => resolve()); first.once('close', () => reject(new Error('the first connection was dropped'))); first.ping() })
    const gone = new Promise<void>(resolve => first.once('close', () => resolve()))
    const second = opened(await attempt(url('certs', 'CP001'), { client: certs.clientGood, ca }))
    await gone
    second.close()
  })
})

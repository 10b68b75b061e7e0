/**
 * The guard end to end over real sockets: profile 1 through the gateway's own WsListener,
 * profiles 2 and 3 through an https upgrade handler built from the same parts, with
 * certificates made for this run.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer as createHttpsServer, type Server } from 'node:https'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { TLSSocket } from 'node:tls'
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { WebSocket, WebSocketServer } from 'ws'
import { Ajv } from 'ajv'
import { authSchemaProperties, buildAuthConfig } from '../../src/config/security.js'
import { hashPassword } from '../../src/auth/password-hash.js'
import { openGatewayAuth, type GatewayAuth } from '../../src/auth/setup.js'
import type { GuardResult } from '../../src/auth/guard.js'
import type { SecurityProfile } from '../../src/auth/types.js'
import { buildConfig } from '../../src/config/load.js'
import { Metrics } from '../../src/observability/metrics.js'
import { chargePointIdFromUrl, parseBasicAuth } from '../../src/transport/handshake.js'
import { loadTlsOptions } from '../../src/transport/tls-context.js'
import { peerCertificateCN } from '../../src/transport/tls-errors.js'
import type { ChargePointSocket } from '../../src/transport/socket.js'
import { WsListener, type UpgradeInfo } from '../../src/transport/ws-listener.js'
import { makeTestCerts, type CertPair, type TestCerts } from '../helpers/certs.js'

const FAST = { N: 1024, r: 8, p: 1 }
const silent = pino({ level: 'silent' })
let dir: string
let credentials: string
let certs: TestCerts

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-guard-'))
  credentials = join(dir, 'credentials')
  await writeFile(credentials, `CP001:${await hashPassword('right-pw', FAST)}\nCP002:${await hashPassword('other-pw', FAST)}\n`)
  certs = makeTestCerts('CP001')
})
after(async () => {
  certs.cleanup()
  await rm(dir, { recursive: true, force: true })
})

const validate = new Ajv({ useDefaults: true, strict: false }).compile({ type: 'object', properties: authSchemaProperties })

async function makeAuth (tree: Record<string, unknown> = {}, now?: () => number): Promise<GatewayAuth> {
  const t = structuredClone({ authentication: [{ backend: 'file', path: credentials }], ...tree })
  assert.ok(validate(t))
  return await openGatewayAuth(buildAuthConfig(t), now === undefined ? {} : { now })
}

const basic = (user: string, pw: string): string => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64')

type Outcome = { open: WebSocket } | { status: number, headers: IncomingMessage['headers'], body: string } | { error: string }

/** Try to open a WebSocket; say how it went. */
async function attempt (url: string, opts: { auth?: string, ca?: boolean, client?: CertPair } = {}): Promise<Outcome> {
  const ws = new WebSocket(url, 'ocpp1.6', {
    headers: opts.auth === undefined ? {} : { authorization: opts.auth },
    ca: opts.ca === true ? readFileSync(certs.ca.cert) : undefined,
    cert: opts.client === undefined ? undefined : readFileSync(opts.client.cert),
    key: opts.client === undefined ? undefined : readFileSync(opts.client.key)
  })
  return await new Promise(resolve => {
    ws.on('open', () => resolve({ open: ws }))
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    ws.on('error', e => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }))
  })
}

function isOpen (o: Outcome): WebSocket {
  assert.ok('open' in o, `expected an open connection, got ${JSON.stringify(o)}`)
  return o.open
}

function statusOf (o: Outcome): number {
  if ('open' in o) { o.open.terminate(); return 101 }
  return 'status' in o ? o.status : -1
}

async function closed (ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return -1
  return await new Promise(resolve => ws.once('close', (code: number) => resolve(code)))
}

/**
 * Wires the guard into the gateway's WsListener the way src/gateway.ts should: guard in
 * prepare (before any takeover), release on abort or close, newest authenticated connection
 * replaces the old one.
 */
async function profile1Listener (auth: GatewayAuth): Promise<{ listener: WsListener, url: (cid: string) => string, metrics: Metrics, decisions: GuardResult[] }> {
  const config = buildConfig([{ listeners: { ws: { default: { bind: '127.0.0.1:0' } } } }])
  const lc = config.listeners[0]
  assert.ok(lc !== undefined)
  const metrics = new Metrics()
  const slots = new WeakMap<UpgradeInfo, () => void>()
  const current = new Map<string, ChargePointSocket>()
  const decisions: GuardResult[] = []
  const listener = new WsListener(lc, silent, metrics, {
    prepare: async (info) => {
      const r = await auth.guard.check({
        cid: info.cid,
        ...(info.username !== undefined ? { username: info.username } : {}),
        ...(info.password !== undefined ? { password: info.password } : {}),
        address: info.request.socket.remoteAddress ?? '',
        peer: info.peer,
        listener: `ws:${info.listener.name}`,
        profile: 1
      })
      decisions.push(r)
      if (!r.ok) return { status: r.status, reason: r.body, code: r.code }
      slots.set(info, r.release)
      return undefined
    },
    abort: (info) => slots.get(info)?.(),
    connect: (socket, info) => {
      const old = current.get(info.cid)
      current.set(info.cid, socket)
      old?.close(1000, 'replaced')
      socket.listen({
        message: () => {},
        pong: () => {},
        error: () => {},
        close: () => {
          slots.get(info)?.()
          if (current.get(info.cid) === socket) current.delete(info.cid)
        }
      })
    }
  })
  await listener.listen()
  return { listener, metrics, decisions, url: (cid) => `ws://127.0.0.1:${listener.port}/ocpp/${encodeURIComponent(cid)}` }
}

async function stop (l: WsListener): Promise<void> {
  l.terminateAll()
  await l.stopAccepting()
}

describe('profile 1 through the gateway listener', () => {
  test('right credentials accepted; wrong password, wrong id, wrong user-id, missing credentials: 401', async () => {
    const auth = await makeAuth()
    const { listener, url, metrics } = await profile1Listener(auth)
    try {
      isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })).close()
      for (const [cid, auth_] of [
        ['CP001', basic('CP001', 'wrong')],
        ['CP003', basic('CP003', 'right-pw')], // unknown id
        ['CP002', basic('CP002', 'right-pw')], // another charger's password
        ['CP001', basic('CP002', 'right-pw')], // user-id is not the charge point id
        ['CP001', undefined]
      ] as const) {
        const o = await attempt(url(cid), auth_ === undefined ? {} : { auth: auth_ })
        assert.equal(statusOf(o), 401, `${cid} ${String(auth_)}`)
        assert.ok('body' in o && !/password|unknown|mismatch/i.test(o.body), 'no detail that helps an attacker')
      }
      for (const code of ['bad_password', 'unknown_id', 'username_mismatch', 'missing_credentials']) {
        assert.ok(metrics.get('connections_rejected_total', code) >= 1, code)
      }
    } finally {
      await stop(listener)
      await auth.close()
    }
  })

  test('takeover needs credentials: a refused second connection leaves the first open; an authenticated one replaces it', async () => {
    const auth = await makeAuth()
    const { listener, url } = await profile1Listener(auth)
    try {
      const first = isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') }))
      assert.equal(statusOf(await attempt(url('CP001'), { auth: basic('CP001', 'hijack') })), 401)
      assert.equal(statusOf(await attempt(url('CP001'))), 401)
      // Still open: it answers a ping.
      await new Promise<void>((resolve, reject) => { first.once('pong', () => resolve()); first.once('close', () => reject(new Error('closed'))); first.ping() })
      const gone = closed(first)
      const second = isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') }))
      assert.equal(await gone, 1000)
      second.close()
    } finally {
      await stop(listener)
      await auth.close()
    }
  })

  test('failed-auth lockout: after max_count wrong passwords even the right one is refused (403) until the ban ends', async () => {
    let now = 1_000_000
    const auth = await makeAuth({
      handshake_limits: { auth_failure_per_cid: { max_count: 3, window_time: '1m', ban_time: '30s' }, auth_failure_per_address: { enable: false } }
    }, () => now)
    const { listener, url, decisions } = await profile1Listener(auth)
    try {
      for (let i = 0; i < 3; i++) assert.equal(statusOf(await attempt(url('CP001'), { auth: basic('CP001', `guess${i}`) })), 401)
      assert.equal(statusOf(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })), 403)
      assert.deepEqual(decisions.map(d => d.ok ? 'ok' : d.code).at(-1), 'locked_out')
      // Other chargers are not affected.
      isOpen(await attempt(url('CP002'), { auth: basic('CP002', 'other-pw') })).close()
      now += 30_000
      isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })).close()
    } finally {
      await stop(listener)
      await auth.close()
    }
  })

  test('per-address attempt rate: successful handshakes do not spend it; failed ones do, then 429 with Retry-After', async () => {
    let now = 5_000_000
    const auth = await makeAuth({ handshake_limits: { conn_rate_per_address: { burst: 2, rate: 0.5 } } }, () => now)
    const { listener, url, decisions } = await profile1Listener(auth)
    try {
      // Chargers that authenticate give their token back: more than the burst get in.
      for (let i = 0; i < 5; i++) isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })).close()
      isOpen(await attempt(url('CP002'), { auth: basic('CP002', 'other-pw') })).close()
      // Two wrong passwords spend the burst; then even the right one waits.
      assert.equal(statusOf(await attempt(url('CP001'), { auth: basic('CP001', 'guess1') })), 401)
      assert.equal(statusOf(await attempt(url('CP002'), { auth: basic('CP002', 'guess2') })), 401)
      assert.equal(statusOf(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })), 429)
      const last = decisions.at(-1)
      assert.ok(last !== undefined && !last.ok)
      assert.equal(last.headers['Retry-After'], '2')
      now += 2000
      isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') })).close()
    } finally {
      await stop(listener)
      await auth.close()
    }
  })

  test('maximum concurrent connections: slots come back when sockets close', async () => {
    const auth = await makeAuth({ handshake_limits: { max_connections: 1 } })
    const { listener, url } = await profile1Listener(auth)
    try {
      const a = isOpen(await attempt(url('CP001'), { auth: basic('CP001', 'right-pw') }))
      assert.equal(statusOf(await attempt(url('CP002'), { auth: basic('CP002', 'other-pw') })), 503)
      const closeAndWait = async (ws: WebSocket): Promise<void> => {
        const c = closed(ws)
        ws.close()
        await c
        // The server side notices the close a moment later.
        const deadline = Date.now() + 5000
        while (auth.limits.connections > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
      }
      await closeAndWait(a)
      await closeAndWait(isOpen(await attempt(url('CP002'), { auth: basic('CP002', 'other-pw') })))
      // Refused attempts give their slot back too.
      assert.equal(statusOf(await attempt(url('CP002'), { auth: basic('CP002', 'nope') })), 401)
      assert.equal(auth.limits.connections, 0)
    } finally {
      await stop(listener)
      await auth.close()
    }
  })
})

/** What a wss listener does: TLS, id, Basic, guard (with the certificate CN), then upgrade. */
async function secureListener (auth: GatewayAuth, profile: SecurityProfile): Promise<{ server: Server, wss: WebSocketServer, url: (cid: string) => string }> {
  const server = createHttpsServer(await loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca.cert }, profile))
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    socket.on('error', () => socket.destroy())
    const id = chargePointIdFromUrl(req.url ?? '/', '/ocpp')
    if (!id.ok) { socket.end(`HTTP/1.1 ${id.error.status} Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`); return }
    const creds = parseBasicAuth(req.headers.authorization)
    const certCN = profile === 3 ? peerCertificateCN(req.socket as TLSSocket) : undefined
    void auth.guard.check({
      cid: id.value,
      ...(creds !== undefined ? { username: creds.username, password: creds.password } : {}),
      ...(certCN !== undefined ? { certCN } : {}),
      address: req.socket.remoteAddress ?? '',
      peer: req.socket.remoteAddress ?? '',
      listener: `wss:p${profile}`,
      profile
    }).then(r => {
      if (!r.ok) {
        const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
        socket.end(`HTTP/1.1 ${r.status} ${r.body}\r\nConnection: close\r\n${headers}Content-Type: text/plain\r\nContent-Length: ${r.body.length}\r\n\r\n${r.body}`)
        return
      }
      wss.handleUpgrade(req, socket, head, ws => { ws.once('close', r.release); ws.on('message', m => ws.send(m)) })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { server, wss, url: (cid) => `wss://localhost:${port}/ocpp/${encodeURIComponent(cid)}` }
}

async function stopSecure (s: { server: Server, wss: WebSocketServer }): Promise<void> {
  for (const c of s.wss.clients) c.terminate()
  s.wss.close()
  s.server.closeAllConnections()
  await new Promise(resolve => s.server.close(resolve))
}

describe('profile 2 (Basic over TLS)', () => {
  test('right credentials accepted; wrong password, wrong id, missing: 401 with a Basic challenge; plain ws refused', async () => {
    const auth = await makeAuth()
    const s = await secureListener(auth, 2)
    try {
      isOpen(await attempt(s.url('CP001'), { auth: basic('CP001', 'right-pw'), ca: true })).close()
      for (const [cid, a] of [['CP001', basic('CP001', 'wrong')], ['CP009', basic('CP009', 'right-pw')], ['CP001', undefined]] as const) {
        const o = await attempt(s.url(cid), { ca: true, ...(a !== undefined ? { auth: a } : {}) })
        assert.ok('status' in o, JSON.stringify(o))
        assert.equal(o.status, 401)
        assert.equal(o.headers['www-authenticate'], 'Basic realm="ocpp-gateway", charset="UTF-8"')
        assert.equal(o.body, 'Unauthorized')
      }
      const plain = await attempt(s.url('CP001').replace('wss://', 'ws://'), { auth: basic('CP001', 'right-pw') })
      assert.ok('error' in plain, JSON.stringify(plain))
    } finally {
      await stopSecure(s)
      await auth.close()
    }
  })
})

describe('profile 3 (client certificates)', () => {
  test('the right certificate is enough; CN mismatch is 403; wrong CA, expired and missing certificates fail the TLS handshake', async () => {
    const auth = await makeAuth()
    const s = await secureListener(auth, 3)
    try {
      const ws = isOpen(await attempt(s.url('CP001'), { ca: true, client: certs.clientGood }))
      ws.close()
      const mismatch = await attempt(s.url('CP002'), { ca: true, client: certs.clientGood })
      assert.ok('status' in mismatch && mismatch.status === 403 && mismatch.headers['www-authenticate'] === undefined, JSON.stringify(mismatch))
      assert.equal(statusOf(await attempt(s.url('CP001'), { ca: true, client: certs.clientOtherCn })), 403)
      for (const client of [certs.clientOtherCa, certs.clientExpired, undefined]) {
        const o = await attempt(s.url('CP001'), { ca: true, ...(client !== undefined ? { client } : {}) })
        assert.ok('error' in o, JSON.stringify(o))
      }
      // Basic credentials do not replace a certificate.
      assert.ok('error' in await attempt(s.url('CP001'), { ca: true, auth: basic('CP001', 'right-pw') }))
    } finally {
      await stopSecure(s)
      await auth.close()
    }
  })
})

describe('start-up line', () => {
  test('names the authenticators per listener', async () => {
    const auth = await makeAuth()
    try {
      assert.deepEqual(auth.describe([{ name: 'ws:default', profile: 1 }]), [
        'listener ws:default (security profile 1): authenticators [credentials-file]; chargers without credentials are refused with 401 (WARNING: plain ws, credentials travel unencrypted)'
      ])
    } finally {
      await auth.close()
    }
  })
})

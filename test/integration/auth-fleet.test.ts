/**
 * Issue 12 item 6 over real sockets, through the gateway's WsListener and admission: a burst of
 * wrong passwords from many addresses does not keep a right one out (the hash limiter refuses
 * the excess with 503 `overloaded`; a charger seen before skips the hash), and nothing wrong
 * ever gets in.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { Ajv } from 'ajv'
import { authSchemaProperties, buildAuthConfig } from '../../src/config/security.js'
import { hashPassword } from '../../src/auth/password-hash.js'
import { openGatewayAuth, type GatewayAuth } from '../../src/auth/setup.js'
import { buildConfig } from '../../src/config/load.js'
import { Metrics } from '../../src/observability/metrics.js'
import { createAdmission } from '../../src/transport/admission.js'
import { WsListener } from '../../src/transport/ws-listener.js'

// The production cost, so a hash takes what it takes in the field (tens of ms).
const COST = { N: 16384, r: 8, p: 1 }
const silent = pino({ level: 'silent' })
let dir: string
let credentials: string

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-fleet-'))
  credentials = join(dir, 'credentials')
  await writeFile(credentials, `CP001:${await hashPassword('right-pw', COST)}\nCP002:${await hashPassword('new-pw', COST)}\n`)
})
after(async () => { await rm(dir, { recursive: true, force: true }) })

const validate = new Ajv({ useDefaults: true, strict: false }).compile({ type: 'object', properties: authSchemaProperties })

async function makeAuth (tree: Record<string, unknown>): Promise<GatewayAuth> {
  const t = structuredClone({ authentication: [{ backend: 'file', path: credentials }], ...tree })
  assert.ok(validate(t))
  return await openGatewayAuth(buildAuthConfig(t))
}

const basic = (user: string, pw: string): string => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64')

type Outcome = { status: number, retryAfter?: string | undefined }

/** Open a WebSocket (closed again at once when it opens); 101 or the refusal's status. */
async function attempt (url: string, auth: string, localAddress?: string): Promise<Outcome> {
  const ws = new WebSocket(url, 'ocpp1.6', { headers: { authorization: auth }, ...(localAddress !== undefined ? { localAddress } : {}) })
  return await new Promise(resolve => {
    ws.on('open', () => { ws.terminate(); resolve({ status: 101 }) })
    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] })
    })
    ws.on('error', e => resolve({ status: -1, retryAfter: e.message }))
  })
}

async function listenerFor (auth: GatewayAuth): Promise<{ listener: WsListener, metrics: Metrics, url: (cid: string) => string }> {
  const lc = buildConfig([{ listeners: { ws: { default: { bind: '127.0.0.1:0' } } } }]).listeners[0]
  assert.ok(lc !== undefined)
  const metrics = new Metrics()
  const listener = new WsListener(lc, silent, metrics, createAdmission({
    guard: auth.guard,
    listener: lc,
    acquire: async () => {},
    release: () => {},
    onConnect: (socket) => socket.listen({ message: () => {}, pong: () => {}, error: () => {}, close: () => {} })
  }))
  await listener.listen()
  return { listener, metrics, url: (cid) => `ws://127.0.0.1:${listener.port}/ocpp/${encodeURIComponent(cid)}` }
}

describe('a burst of wrong passwords', () => {
  test('does not keep a right one out; excess refused 503 overloaded with Retry-After, counted; nothing wrong gets in', async () => {
    const auth = await makeAuth({ handshake_limits: { max_concurrent_hashes: 1, max_queued_hashes: 4 } })
    const { listener, metrics, url } = await listenerFor(auth)
    try {
      // CP001 logged in before (the gateway remembers the verified password).
      assert.equal((await attempt(url('CP001'), basic('CP001', 'right-pw'))).status, 101)

      // 200 wrong attempts at once with random ids (each costs a dummy hash) from 40 addresses
      // (5 each: under the per-address lockout, so only the hash limiter stands in the way).
      // Not CP001 itself: five wrong passwords for an id lock it out (auth_failure_per_cid), as
      // designed and tested in auth-guard.test.ts.
      const flood: Array<Promise<Outcome>> = []
      for (let i = 0; i < 200; i++) {
        const cid = `rnd-${i}-${Math.random().toString(36).slice(2)}`
        flood.push(attempt(url(cid), basic(cid, `guess-${i}`), `127.0.0.${2 + (i % 40)}`))
      }
      const deadline = Date.now() + 5000
      while (auth.hashes.queued < 4 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 2))
      assert.equal(auth.hashes.queued, 4, 'the flood filled the hash queue')

      const known = await attempt(url('CP001'), basic('CP001', 'right-pw'))
      assert.equal(known.status, 101)
      // It did not wait for the hashes in front of it: they are still running.
      assert.ok(auth.hashes.active + auth.hashes.queued > 0, 'the known charger got in while the flood was being hashed')

      // A charger never seen needs a hash: while the queue is full it is asked to come back.
      const fresh = await attempt(url('CP002'), basic('CP002', 'new-pw'))
      assert.ok(fresh.status === 503 || fresh.status === 101, JSON.stringify(fresh))

      const results = await Promise.all(flood)
      const by = new Map<number, number>()
      for (const r of results) by.set(r.status, (by.get(r.status) ?? 0) + 1)
      assert.equal(by.get(101), undefined, `no wrong password got in: ${JSON.stringify([...by])}`)
      assert.ok((by.get(503) ?? 0) > 150, `most were refused without hashing: ${JSON.stringify([...by])}`)
      assert.equal((by.get(401) ?? 0) + (by.get(503) ?? 0), 200, JSON.stringify([...by]))
      assert.ok(results.filter(r => r.status === 503).every(r => r.retryAfter === '1'))
      assert.equal(metrics.get('connections_rejected_total', 'overloaded'), (by.get(503) ?? 0) + (fresh.status === 503 ? 1 : 0))
      // Overload is not a failed guess: nobody got locked out by it.
      assert.equal(auth.limits.cidBanLeft('CP002'), 0)

      // Once the flood is over, the charger never seen gets in.
      while (auth.hashes.active > 0) await new Promise(resolve => setTimeout(resolve, 5))
      assert.equal((await attempt(url('CP002'), basic('CP002', 'new-pw'))).status, 101)
    } finally {
      listener.terminateAll()
      await listener.stopAccepting()
      await auth.close()
    }
  })
})

describe('trusted proxies', () => {
  async function recorder (extra: Record<string, unknown>): Promise<{ listener: WsListener, seen: Array<{ address: string, peer: string }>, url: string }> {
    const lc = buildConfig([{ listeners: { ws: { default: { bind: '127.0.0.1:0', ...extra } } } }]).listeners[0]
    assert.ok(lc !== undefined)
    const seen: Array<{ address: string, peer: string }> = []
    const listener = new WsListener(lc, silent, new Metrics(), {
      prepare: async (info) => { seen.push({ address: info.address, peer: info.peer }); return { status: 403, reason: 'Forbidden', code: 'forbidden' } },
      abort: () => {},
      connect: () => {}
    })
    await listener.listen()
    return { listener, seen, url: `ws://127.0.0.1:${listener.port}/ocpp/CP001` }
  }

  async function via (url: string, header: Record<string, string>): Promise<void> {
    const ws = new WebSocket(url, 'ocpp1.6', { headers: header })
    await new Promise<void>(resolve => { ws.on('unexpected-response', (_q, res: IncomingMessage) => { res.resume(); resolve() }); ws.on('error', () => resolve()) })
  }

  test('from a trusted proxy the limits see the charger; from anyone else the header is ignored', async () => {
    const trusted = await recorder({ trusted_proxies: ['127.0.0.0/8'] })
    const untrusted = await recorder({ trusted_proxies: ['10.0.0.0/8'] })
    const other = await recorder({ trusted_proxies: ['127.0.0.1'], websocket: { proxy_address_header: 'X-Real-Chain' } })
    try {
      await via(trusted.url, { 'x-forwarded-for': '1.1.1.1, 203.0.113.9' })
      await via(trusted.url, {})
      await via(untrusted.url, { 'x-forwarded-for': '203.0.113.9' })
      await via(other.url, { 'x-forwarded-for': '203.0.113.1', 'x-real-chain': '203.0.113.2' })
      assert.deepEqual(trusted.seen[0], { address: '203.0.113.9', peer: '203.0.113.9' })
      assert.equal(trusted.seen[1]?.address, '127.0.0.1')
      assert.equal(untrusted.seen[0]?.address, '127.0.0.1', 'spoofed header from an untrusted peer')
      assert.match(untrusted.seen[0]?.peer ?? '', /^127\.0\.0\.1:\d+$/)
      assert.equal(other.seen[0]?.address, '203.0.113.2', 'the configured header, not X-Forwarded-For')
    } finally {
      for (const r of [trusted, untrusted, other]) await r.listener.stopAccepting()
    }
  })
})

import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { DecisionCache } from '../../src/auth/decision-cache.js'
import { HttpAuthenticator } from '../../src/auth/http-authenticator.js'
import type { AuthRequest } from '../../src/auth/types.js'

type Handler = (body: Record<string, unknown>, res: ServerResponse, req: IncomingMessage) => void

/** A real auth service on port 0; the handler is chosen per charge point id. */
let server: Server
let base: string
const handlers = new Map<string, Handler>()
const seen: Array<{ body: Record<string, unknown>, headers: IncomingMessage['headers'] }> = []

before(async () => {
  server = createServer((req, res) => {
    let data = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { data += c })
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>
      seen.push({ body, headers: req.headers })
      const h = handlers.get(String(body.cid))
      if (h === undefined) { res.writeHead(500).end(); return }
      h(body, res, req)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`
})
after(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const json = (status: number, v: unknown): Handler => (_b, res) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v))
}

function req (cid: string, password: string | undefined = 'pw', extra: Partial<AuthRequest> = {}): AuthRequest {
  return { cid, username: cid, password, peer: '198.51.100.7', listener: 'wss:default', profile: 2, ...extra }
}

describe('HTTP authenticator', () => {
  test('posts the documented body and headers; {"result":"allow"} allows', async () => {
    handlers.set('allow1', json(200, { result: 'allow' }))
    const a = new HttpAuthenticator({ url: base, headers: { 'x-api-key': 'k1' }, cache: false })
    seen.length = 0
    assert.deepEqual(await a.authenticate(req('allow1', 'secret', { certCN: 'allow1' })), { ok: true, reason: 'authenticated' })
    assert.equal(seen.length, 1)
    assert.deepEqual(seen[0]?.body, {
      cid: 'allow1',
      clientid: 'allow1',
      username: 'allow1',
      password: 'secret',
      peer: '198.51.100.7',
      peerhost: '198.51.100.7',
      cert_cn: 'allow1',
      listener: 'wss:default',
      profile: 2
    })
    assert.equal(seen[0]?.headers['content-type'], 'application/json')
    assert.equal(seen[0]?.headers['x-api-key'], 'k1')
  })

  test('peerhost is the address without the port (EMQX); peer keeps the port', async () => {
    handlers.set('port1', json(200, { result: 'allow' }))
    const a = new HttpAuthenticator({ url: base, cache: false })
    seen.length = 0
    await a.authenticate(req('port1', 'pw', { peer: '198.51.100.7:50312' }))
    await a.authenticate(req('port1', 'pw', { peer: '[2001:db8::1]:50312' }))
    assert.deepEqual(seen.map((s) => [s.body.peer, s.body.peerhost]), [['198.51.100.7:50312', '198.51.100.7'], ['[2001:db8::1]:50312', '2001:db8::1']])
  })

  test('a binary password (1.6 AuthorizationKey) also goes as password_hex; two with the same lossy text are two cache entries', async () => {
    const key = Buffer.from('ff00fe3a8081c0c1f5f6f7f8f9fafbfcfdfe3aff', 'hex')
    const other = Buffer.from(key)
    other[0] = 0xfe
    handlers.set('bin1', (body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: body.password_hex === key.toString('hex') ? 'allow' : 'deny' }))
    })
    const a = new HttpAuthenticator({ url: base, cache: { maxSize: 10, allowTtlMs: 60_000, denyTtlMs: 60_000 } })
    seen.length = 0
    const lossy = key.toString('utf8')
    assert.equal(other.toString('utf8'), lossy)
    assert.deepEqual(await a.authenticate(req('bin1', lossy, { passwordBytes: key })), { ok: true, reason: 'authenticated' })
    assert.equal(seen[0]?.body.password_hex, key.toString('hex'))
    assert.equal((await a.authenticate(req('bin1', lossy, { passwordBytes: other }))).ok, false, 'not the cached allow of the other key')
    assert.equal(seen.length, 2)
    // A text password sends no password_hex.
    handlers.set('txt1', json(200, { result: 'allow' }))
    await a.authenticate(req('txt1', 'secret', { passwordBytes: Buffer.from('secret') }))
    assert.equal('password_hex' in (seen[2]?.body ?? {}), false)
  })

  test('plain 204 and 200 with an empty body allow', async () => {
    handlers.set('e204', (_b, res) => { res.writeHead(204).end() })
    handlers.set('e200', (_b, res) => { res.writeHead(200).end() })
    const a = new HttpAuthenticator({ url: base, cache: false })
    assert.equal((await a.authenticate(req('e204'))).ok, true)
    assert.equal((await a.authenticate(req('e200'))).ok, true)
  })

  test('deny, ignore, 401, 403, other 4xx', async () => {
    handlers.set('deny', json(200, { result: 'deny' }))
    handlers.set('ignore', json(200, { result: 'ignore' }))
    handlers.set('s401', json(401, {}))
    handlers.set('s403', json(403, { result: 'allow' })) // the status wins over the body
    handlers.set('s404', (_b, res) => { res.writeHead(404).end('not found') })
    const a = new HttpAuthenticator({ url: base, cache: false })
    assert.deepEqual(await a.authenticate(req('deny')), { ok: false, status: 401, reason: 'denied' })
    assert.deepEqual(await a.authenticate(req('ignore')), { ok: false, status: 401, reason: 'ignored', ignore: true })
    assert.deepEqual(await a.authenticate(req('s401')), { ok: false, status: 401, reason: 'denied' })
    assert.deepEqual(await a.authenticate(req('s403')), { ok: false, status: 403, reason: 'forbidden' })
    assert.deepEqual(await a.authenticate(req('s404')), { ok: false, status: 401, reason: 'denied' })
  })

  test('a 200 that is not an answer (an HTML page, unknown result, a huge body) does not allow', async () => {
    handlers.set('html', (_b, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>welcome</html>') })
    handlers.set('weird', json(200, { result: 'maybe' }))
    handlers.set('huge', (_b, res) => { res.writeHead(200).end(JSON.stringify({ result: 'allow', pad: 'x'.repeat(100_000) })) })
    const errors: Error[] = []
    const a = new HttpAuthenticator({ url: base, cache: false, maxBodyBytes: 1024, onError: e => errors.push(e) })
    for (const cid of ['html', 'weird', 'huge']) {
      assert.deepEqual(await a.authenticate(req(cid)), { ok: false, status: 403, reason: 'auth_bad_response' }, cid)
    }
    assert.equal(errors.length, 3)
  })

  test('5xx and redirects are auth_unavailable (403), not followed', async () => {
    handlers.set('s500', (_b, res) => { res.writeHead(500).end() })
    handlers.set('s302', (_b, res) => { res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end() })
    const a = new HttpAuthenticator({ url: base, cache: false, onError: () => {} })
    assert.deepEqual(await a.authenticate(req('s500')), { ok: false, status: 403, reason: 'auth_unavailable' })
    assert.deepEqual(await a.authenticate(req('s302')), { ok: false, status: 403, reason: 'auth_unavailable' })
  })

  test('a service that does not answer in time is a denial', async () => {
    handlers.set('slow', () => { /* never answers */ })
    const errors: Error[] = []
    const a = new HttpAuthenticator({ url: base, requestTimeoutMs: 150, onError: e => errors.push(e) })
    assert.deepEqual(await a.authenticate(req('slow')), { ok: false, status: 403, reason: 'auth_unavailable' })
    assert.match(errors[0]?.message ?? '', /no answer within 150 ms/)
    // Not cached: the next attempt asks again.
    await a.authenticate(req('slow'))
    assert.equal(a.requests, 2)
  })

  test('a service that is down is a denial, and the error names neither password nor URL credentials', async () => {
    // A port that was just free: bind, read, close.
    const probe = createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise(resolve => probe.close(resolve))
    const errors: Error[] = []
    const a = new HttpAuthenticator({ url: `http://user:urlsecret@127.0.0.1:${port}/auth?token=qsecret`, onError: e => errors.push(e) })
    assert.deepEqual(await a.authenticate(req('down', 'pwsecret')), { ok: false, status: 403, reason: 'auth_unavailable' })
    assert.match(errors[0]?.message ?? '', /ECONNREFUSED/)
    assert.doesNotMatch(errors[0]?.message ?? '', /secret/)
  })

  test('cache: a hit avoids a second request; different password or peer is a miss; allow and deny TTLs differ', async () => {
    let now = 1_000_000
    handlers.set('cached', (b, res) => { json(200, { result: b.password === 'good' ? 'allow' : 'deny' })(b, res, undefined as never) })
    const a = new HttpAuthenticator({ url: base, cache: { allowTtlMs: 60_000, denyTtlMs: 5_000, now: () => now } })
    assert.equal((await a.authenticate(req('cached', 'good'))).ok, true)
    assert.equal((await a.authenticate(req('cached', 'good'))).ok, true)
    assert.equal(a.requests, 1, 'second answer from the cache')
    assert.equal((await a.authenticate(req('cached', 'bad'))).ok, false)
    assert.equal((await a.authenticate(req('cached', 'bad'))).ok, false)
    assert.equal(a.requests, 2)
    assert.equal((await a.authenticate(req('cached', 'good', { peer: '203.0.113.9' }))).ok, true)
    assert.equal(a.requests, 3, 'another peer is another request')

    now += 6_000 // deny expired, allow not
    assert.equal((await a.authenticate(req('cached', 'bad'))).ok, false)
    assert.equal((await a.authenticate(req('cached', 'good'))).ok, true)
    assert.equal(a.requests, 4)
    now += 60_000
    assert.equal((await a.authenticate(req('cached', 'good'))).ok, true)
    assert.equal(a.requests, 5)
  })

  test('identical requests in flight share one HTTP request', async () => {
    const waiting: ServerResponse[] = []
    handlers.set('storm', (_b, res) => { waiting.push(res) })
    const a = new HttpAuthenticator({ url: base })
    const all = Promise.all(Array.from({ length: 10 }, async () => await a.authenticate(req('storm'))))
    while (waiting.length === 0) await new Promise(resolve => setTimeout(resolve, 5))
    waiting[0]?.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"allow"}')
    const ds = await all
    assert.ok(ds.every(d => d.ok))
    assert.equal(a.requests, 1)
  })

  test('URL credentials are sent as a Basic Authorization header', async () => {
    handlers.set('urlcred', json(200, { result: 'allow' }))
    const a = new HttpAuthenticator({ url: base.replace('http://', 'http://svc:p%40ss@'), cache: false })
    seen.length = 0
    assert.equal((await a.authenticate(req('urlcred'))).ok, true)
    assert.equal(seen[0]?.headers.authorization, 'Basic ' + Buffer.from('svc:p@ss').toString('base64'))
  })

  test('only http(s) URLs', () => {
    assert.throws(() => new HttpAuthenticator({ url: 'file:///etc/passwd' }), TypeError)
  })
})

describe('decision cache', () => {
  test('bounded LRU: the least recently used entry goes first', () => {
    const c = new DecisionCache({ maxSize: 2, now: () => 0 })
    const allow = { ok: true } as const
    c.set('a', allow)
    c.set('b', allow)
    assert.ok(c.get('a') !== undefined) // a is now most recent
    c.set('c', allow)
    assert.equal(c.size, 2)
    assert.equal(c.get('b'), undefined)
    assert.ok(c.get('a') !== undefined)
    assert.ok(c.get('c') !== undefined)
  })

  test('keys are keyed digests, unambiguous across part boundaries, never the password', () => {
    const c = new DecisionCache()
    const k = c.keyOf(['cp', 'user', 'hunter2'])
    assert.doesNotMatch(k, /hunter2/)
    assert.equal(k, c.keyOf(['cp', 'user', 'hunter2']))
    assert.notEqual(c.keyOf(['ab', 'c']), c.keyOf(['a', 'bc']))
    assert.notEqual(c.keyOf(['a', undefined]), c.keyOf(['a', '']))
    assert.notEqual(new DecisionCache().keyOf(['cp', 'user', 'hunter2']), k, 'per-process key')
  })

  test('TTL 0 disables caching of that kind', () => {
    const c = new DecisionCache({ denyTtlMs: 0 })
    c.set('d', { ok: false, status: 401, reason: 'denied' })
    assert.equal(c.size, 0)
  })
})

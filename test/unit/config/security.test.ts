import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Ajv } from 'ajv'
import { authSchemaProperties, buildAuthConfig, buildListenerSecurity, listenerSecuritySchemaProperties } from '../../../src/config/security.js'

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false })
const validateTop = ajv.compile({ type: 'object', additionalProperties: false, properties: authSchemaProperties })
const validateListener = ajv.compile({ type: 'object', additionalProperties: false, properties: { bind: { type: 'string' }, ...listenerSecuritySchemaProperties } })

function top (tree: Record<string, unknown>): Record<string, unknown> {
  const t = structuredClone(tree)
  assert.equal(validateTop(t), true, JSON.stringify(validateTop.errors))
  return t
}

function listener (tree: Record<string, unknown>): Record<string, unknown> {
  const t = structuredClone(tree)
  assert.equal(validateListener(t), true, JSON.stringify(validateListener.errors))
  return t
}

describe('auth config', () => {
  test('defaults: no authenticator means authentication off (as EMQX), limits on', () => {
    const c = buildAuthConfig(top({}))
    assert.equal(c.allowAnonymous, true)
    assert.equal(c.allowUsernameMismatch, false)
    assert.deepEqual(c.authentication, [])
    assert.deepEqual(c.limits, {
      connRate: { burst: 60, perSecond: 10 },
      addressLockout: { maxFailures: 30, windowMs: 60_000, banMs: 60_000 },
      cidLockout: { maxFailures: 5, windowMs: 60_000, banMs: 60_000 },
      maxConnections: 0,
      maxTracked: 100000
    })
    assert.deepEqual(c.hashes, { maxConcurrent: 0, maxQueued: 100 })
    assert.ok(Object.isFrozen(c))
  })

  test('with an authenticator configured, anonymous is refused unless allow_anonymous: true', () => {
    assert.equal(buildAuthConfig(top({ authentication: [{ backend: 'file', path: '/x' }] })).allowAnonymous, false)
    assert.equal(buildAuthConfig(top({ allow_anonymous: false })).allowAnonymous, false)
  })

  test('an EMQX-style authenticator chain, durations, disabled parts', () => {
    const c = buildAuthConfig(top({
      allow_anonymous: true,
      authentication: [
        { backend: 'file', path: '/etc/ocpp/credentials', reload_interval: '500ms', password_rotation: false },
        { mechanism: 'password_based', backend: 'http', method: 'post', url: 'https://auth.example/ocpp', headers: { 'x-api-key': 'k' }, request_timeout: '2s', cache: { max_size: 5, allow_ttl: '10m', deny_ttl: 0 } },
        { backend: 'http', url: 'http://off.example', enable: false },
        { backend: 'http', url: 'http://nocache.example', cache: { enable: false } }
      ],
      handshake_limits: { conn_rate_per_address: { enable: false }, auth_failure_per_cid: { enable: false }, auth_failure_per_address: { max_count: 3, window_time: 30, ban_time: '2h' } }
    }))
    assert.equal(c.allowAnonymous, true)
    assert.deepEqual(c.authentication, [
      { backend: 'file', path: '/etc/ocpp/credentials', pollIntervalMs: 500, passwordRotation: false },
      { backend: 'http', url: 'https://auth.example/ocpp', headers: { 'x-api-key': 'k' }, requestTimeoutMs: 2000, cache: { maxSize: 5, allowTtlMs: 600_000, denyTtlMs: 0 } },
      { backend: 'http', url: 'http://nocache.example', headers: {}, requestTimeoutMs: 5000, cache: false }
    ])
    assert.equal(c.limits.connRate, false)
    assert.equal(c.limits.cidLockout, false)
    assert.deepEqual(c.limits.addressLockout, { maxFailures: 3, windowMs: 30_000, banMs: 7_200_000 })
  })

  test('the schema refuses what cannot work', () => {
    for (const bad of [
      { authentication: [{ backend: 'ldap' }] },
      { authentication: [{ backend: 'file' }] },
      { authentication: [{ backend: 'http', url: 'ftp://x' }] },
      { authentication: [{ backend: 'http', url: 'http://x', method: 'get' }] },
      { allow_anonymous: 'yes' },
      { handshake_limits: { conn_rate_per_address: { rate: 0 } } },
      { handshake_limits: { auth_failure_per_cid: { max_count: 0 } } }
    ]) assert.equal(validateTop(structuredClone(bad)), false, JSON.stringify(bad))
  })

  test('an infinite lockout window is refused with the key named', () => {
    assert.throws(() => buildAuthConfig(top({ handshake_limits: { auth_failure_per_cid: { ban_time: 'infinity' } } })), /handshake_limits\.auth_failure_per_cid\.ban_time/)
  })
})

describe('listener security', () => {
  const ssl = { certfile: '/c.pem', keyfile: '/k.pem' }
  test('profiles follow the listener type and ssl_options.verify', () => {
    assert.deepEqual(buildListenerSecurity('ws', listener({}), 'listeners.ws.default'), { profile: 1 })
    assert.deepEqual(buildListenerSecurity('ws', listener({ security_profile: 0 }), 'listeners.ws.default'), { profile: 0 })
    assert.deepEqual(buildListenerSecurity('wss', listener({ ssl_options: ssl }), 'listeners.wss.default'), { profile: 2, tls: { certfile: '/c.pem', keyfile: '/k.pem', minVersion: 'TLSv1.2' } })
    assert.deepEqual(
      buildListenerSecurity('wss', listener({ ssl_options: { ...ssl, cacertfile: '/ca.pem', verify: 'verify_peer', versions: ['tlsv1.3'], password: 'pw' } }), 'listeners.wss.p3'),
      { profile: 3, tls: { certfile: '/c.pem', keyfile: '/k.pem', cacertfile: '/ca.pem', password: 'pw', minVersion: 'TLSv1.3' } }
    )
  })

  test('inconsistent settings are refused, naming the key', () => {
    const cases: Array<['ws' | 'wss', Record<string, unknown>, RegExp]> = [
      ['ws', { security_profile: 2 }, /listeners\.x\.security_profile: 2 needs TLS/],
      ['ws', { ssl_options: ssl }, /listeners\.x\.ssl_options: a ws listener has no TLS/],
      ['wss', {}, /listeners\.x\.ssl_options: certfile and keyfile are required/],
      ['wss', { security_profile: 1, ssl_options: ssl }, /is for ws listeners/],
      ['wss', { security_profile: 3, ssl_options: { ...ssl, cacertfile: '/ca.pem' } }, /needs ssl_options\.verify: verify_peer/],
      ['wss', { security_profile: 2, ssl_options: { ...ssl, verify: 'verify_peer', cacertfile: '/ca.pem' } }, /verify_peer means security_profile 3/],
      ['wss', { ssl_options: { ...ssl, verify: 'verify_peer' } }, /cacertfile: required for security profile 3/],
      ['wss', { ssl_options: { ...ssl, verify: 'verify_peer', cacertfile: '/ca.pem', fail_if_no_peer_cert: false } }, /fail_if_no_peer_cert: must be true/]
    ]
    for (const [type, tree, re] of cases) {
      assert.throws(() => buildListenerSecurity(type, listener(tree), 'listeners.x'), re, JSON.stringify(tree))
    }
  })

  test('certificates: more pairs after certfile/keyfile, or instead of them; a pair without a password takes ssl_options.password', () => {
    const ec = { certfile: '/ec.pem', keyfile: '/ec.key' }
    assert.deepEqual(
      buildListenerSecurity('wss', listener({ ssl_options: { ...ssl, certificates: [ec] } }), 'listeners.wss.both'),
      { profile: 2, tls: { certfile: '/c.pem', keyfile: '/k.pem', minVersion: 'TLSv1.2', more: [ec] } }
    )
    assert.deepEqual(
      buildListenerSecurity('wss', listener({ ssl_options: { certificates: [ec, { certfile: '/r.pem', keyfile: '/r.key', password: 'own' }], password: 'pw' } }), 'listeners.wss.list'),
      { profile: 2, tls: { certfile: '/ec.pem', keyfile: '/ec.key', password: 'pw', minVersion: 'TLSv1.2', more: [{ certfile: '/r.pem', keyfile: '/r.key', password: 'own' }] } }
    )
  })

  test('client_organization: a string or a list, profile 3 only', () => {
    const p3 = { ...ssl, cacertfile: '/ca.pem', verify: 'verify_peer' }
    assert.deepEqual(buildListenerSecurity('wss', listener({ ssl_options: { ...p3, client_organization: 'My CPO' } }), 'listeners.wss.x').organizations, ['My CPO'])
    assert.deepEqual(buildListenerSecurity('wss', listener({ ssl_options: { ...p3, client_organization: ['A', 'B'] } }), 'listeners.wss.x').organizations, ['A', 'B'])
    assert.equal(buildListenerSecurity('wss', listener({ ssl_options: p3 }), 'listeners.wss.x').organizations, undefined)
    assert.throws(() => buildListenerSecurity('wss', listener({ ssl_options: { ...ssl, client_organization: 'My CPO' } }), 'listeners.wss.x'), /listeners\.wss\.x\.ssl_options\.client_organization: checks client certificates, so it needs verify: verify_peer/)
    for (const bad of ['', [], [''], ['A', 'A'], 7]) assert.equal(validateListener(structuredClone({ ssl_options: { ...p3, client_organization: bad } })), false, JSON.stringify(bad))
  })

  test('the schema refuses half a pair and an empty or malformed certificates list', () => {
    for (const ssl of [{ certfile: '/c.pem' }, { keyfile: '/k.pem' }, { certificates: [] }, { certificates: [{ certfile: '/c.pem' }] }, { certificates: [{ certfile: '/c.pem', keyfile: '/k.pem', verify: 'verify_peer' }] }]) {
      assert.equal(validateListener(structuredClone({ ssl_options: ssl })), false, JSON.stringify(ssl))
    }
    // Neither a pair nor a list: valid JSON-wise, refused with a message naming the key.
    assert.throws(() => buildListenerSecurity('wss', listener({ ssl_options: { cacertfile: '/ca.pem' } }), 'listeners.wss.x'), /listeners\.wss\.x\.ssl_options: certfile and keyfile \(or certificates\) are required/)
  })
})

describe('trusted proxies and hashing in the gateway config', () => {
  test('defaults: no trusted proxy, X-Forwarded-For; a CIDR list and a header are normalised', async () => {
    const { buildConfig } = await import('../../../src/config/load.js')
    const d = buildConfig([]).listeners[0]
    assert.deepEqual([d?.trustedProxies, d?.proxyAddressHeader], [[], 'x-forwarded-for'])
    const c = buildConfig([{ listeners: { ws: { default: { trusted_proxies: ['10.0.0.0/8', '::1'], websocket: { proxy_address_header: 'X-Real-IP' } } } } }]).listeners[0]
    assert.deepEqual([c?.trustedProxies, c?.proxyAddressHeader], [['10.0.0.0/8', '::1'], 'x-real-ip'])
    const h = buildConfig([{ handshake_limits: { max_concurrent_hashes: 3, max_queued_hashes: 0 } }]).auth.hashes
    assert.deepEqual(h, { maxConcurrent: 3, maxQueued: 0 })
  })

  test('a bad CIDR and a bad header name are refused naming the key', async () => {
    const { buildConfig, ConfigError } = await import('../../../src/config/load.js')
    for (const [layer, message] of [
      [{ listeners: { ws: { default: { trusted_proxies: ['10.0.0.0/33'] } } } }, /listeners\.ws\.default\.trusted_proxies: "10\.0\.0\.0\/33"/],
      [{ listeners: { ws: { default: { websocket: { proxy_address_header: 'X Forwarded' } } } } }, /proxy_address_header/],
      [{ handshake_limits: { max_concurrent_hashes: -1 } }, /max_concurrent_hashes/]
    ] as Array<[Record<string, unknown>, RegExp]>) {
      assert.throws(() => buildConfig([layer]), (err: Error) => err instanceof ConfigError && message.test(err.message), JSON.stringify(layer))
    }
  })
})

/** The one defaults object: frozen, what the schema fills in, and what the constructors use. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { defaults } from '../../../src/config/defaults.js'
import { buildConfig } from '../../../src/config/load.js'
import { durationMs } from '../../../src/config/duration.js'
import { ConnectionLimits, DEFAULT_LIMITS } from '../../../src/auth/limits.js'

describe('config defaults', () => {
  test('deep-frozen', () => {
    assert.throws(() => { (defaults.dnstream as any).max_mqueue_len = 1 }, TypeError)
    assert.throws(() => { (defaults.listener.websocket.supported_subprotocols as any).push('ocpp1.5') }, TypeError)
    assert.throws(() => { (defaults.authentication as any).push({}) }, TypeError)
    assert.equal(defaults.dnstream.max_mqueue_len, 100)
  })

  test('an empty config is the defaults object, key for key', () => {
    const r = buildConfig([]).redacted as any
    const { ssl_options: _tlsOnly, ...listener } = defaults.listener
    assert.deepEqual(r.listeners.ws.default, { bind: defaults.listeners.ws.bind, ...listener })
    for (const k of ['upstream', 'dnstream', 'events', 'mqtt', 'log', 'handshake_limits'] as const) {
      assert.deepEqual(r[k], defaults[k], k)
    }
    for (const k of ['mountpoint', 'default_heartbeat_interval', 'heartbeat_checking_times_backoff', 'idle_timeout', 'message_format_checking', 'message_format_warn_only', 'message_format_overrides', 'node_id', 'unknown_charger', 'allow_username_mismatch', 'authentication'] as const) {
      assert.deepEqual(r[k], defaults[k], k)
    }
  })

  test('a wss listener and each authenticator get the defaults of their kind', () => {
    const c = buildConfig([{
      listeners: { wss: { s: { ssl_options: { certfile: '/c', keyfile: '/k' } } } },
      authentication: [{ backend: 'file', path: '/f' }, { backend: 'http', url: 'http://a' }]
    }])
    const r = c.redacted as any
    assert.equal(r.listeners.wss.s.bind, defaults.listeners.wss.bind)
    assert.deepEqual(r.listeners.wss.s.ssl_options, { certfile: '/c', keyfile: '/k', ...defaults.listener.ssl_options })
    // Ajv fills in no defaults under oneOf (the authenticator kinds), so buildAuthConfig's
    // fallbacks are what apply them: they read the same object.
    const http = defaults.authenticator.http
    assert.deepEqual(c.auth.authentication, [
      { backend: 'file', path: '/f', pollIntervalMs: durationMs(defaults.authenticator.file.reload_interval, 'x'), passwordRotation: true },
      {
        backend: 'http',
        url: 'http://a',
        headers: {},
        requestTimeoutMs: durationMs(http.request_timeout, 'x'),
        cache: { maxSize: http.cache.max_size, allowTtlMs: durationMs(http.cache.allow_ttl, 'x'), denyTtlMs: durationMs(http.cache.deny_ttl, 'x') }
      }
    ])
  })

  test('ConnectionLimits with no options enforces what the config defaults to (60 at once per address)', () => {
    assert.deepEqual(DEFAULT_LIMITS, buildConfig([]).auth.limits)
    const limits = new ConnectionLimits({ now: () => 0 })
    for (let i = 0; i < defaults.handshake_limits.conn_rate_per_address.burst; i++) {
      assert.equal(limits.admit('192.0.2.1').ok, true, `attempt ${i + 1}`)
    }
    const over = limits.admit('192.0.2.1')
    assert.equal(over.ok, false)
    assert.equal(over.ok ? undefined : over.status, 429)
    // refilled at `rate` per second: one token after 1/10 s
    assert.equal(over.ok ? undefined : over.retryAfterMs, 1000 / defaults.handshake_limits.conn_rate_per_address.rate)
  })
})

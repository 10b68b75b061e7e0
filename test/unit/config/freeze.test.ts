/** buildConfig's result is deep-frozen and carries no secret: only a redacted copy of the tree. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { buildConfig } from '../../../src/config/load.js'
import { REDACTED } from '../../../src/observability/redact.js'

const secrets = ['s3cretpw', 'mqttpass', 'Bearer tok123', 'tok123', 'k-abc', 'keypass']

const layer = {
  mqtt: { url: 'mqtt://user:s3cretpw@broker.example:1883', username: 'gw', password: 'mqttpass' },
  authentication: [{ backend: 'http', url: 'https://auth.example/ocpp', headers: { authorization: 'Bearer tok123', 'x-api-key': 'k-abc', 'content-type': 'application/json' } }],
  listeners: { wss: { tls: { bind: '127.0.0.1:0', ssl_options: { certfile: '/c.pem', keyfile: '/k.pem', password: 'keypass' } } } }
}

describe('config: validated once, deep-frozen', () => {
  test('a write at any depth throws (ESM is strict mode) and changes nothing', () => {
    const c = buildConfig([layer])
    assert.throws(() => { (c as any).mountpoint = 'x/' }, TypeError)
    assert.throws(() => { (c.upstream as any).qos = 0 }, TypeError)
    assert.throws(() => { (c.listeners[0] as any).port = 1 }, TypeError)
    assert.throws(() => { (c.listeners as any).push({}) }, TypeError)
    assert.throws(() => { (c.auth.limits.connRate as any).burst = 1 }, TypeError)
    assert.throws(() => { (c.auth.authentication[0] as any).headers.authorization = 'x' }, TypeError)
    assert.throws(() => { (c.formatChecking.overrides as any).Heartbeat = 'skip' }, TypeError)
    assert.throws(() => { (c.redacted as any).mqtt.url = 'x' }, TypeError)
    assert.equal(c.upstream.qos, 2)
    assert.equal(c.listeners.length, 2)
    assert.deepEqual(c.auth.limits.connRate, { burst: 60, perSecond: 10 })
  })

  test('two configs share nothing: freezing one leaves the next buildConfig usable', () => {
    const a = buildConfig([{ dnstream: { max_mqueue_len: 7 } }])
    const b = buildConfig([{ dnstream: { max_mqueue_len: 9 } }])
    assert.equal(a.dnstream.maxMqueueLen, 7)
    assert.equal(b.dnstream.maxMqueueLen, 9)
  })

  test('the config has no `raw` tree; `redacted` holds no secret value and keeps the rest', () => {
    const c = buildConfig([layer])
    assert.equal('raw' in c, false)
    const text = JSON.stringify(c.redacted)
    for (const s of secrets) assert.ok(!text.includes(s), `redacted holds ${s}`)
    const r = c.redacted as any
    assert.equal(r.mqtt.password, REDACTED)
    assert.equal(r.mqtt.url, `mqtt://user:${REDACTED}@broker.example:1883`)
    assert.equal(r.mqtt.username, 'gw')
    assert.equal(r.authentication[0].headers.authorization, REDACTED)
    assert.equal(r.authentication[0].headers['x-api-key'], REDACTED)
    assert.equal(r.authentication[0].headers['content-type'], 'application/json')
    assert.equal(r.authentication[0].url, 'https://auth.example/ocpp')
    assert.equal(r.listeners.wss.tls.ssl_options.password, REDACTED)
    assert.equal(r.listeners.wss.tls.ssl_options.keyfile, '/k.pem')
    // the defaults the schema filled in are there too
    assert.equal(r.dnstream.max_mqueue_len, 100)
    assert.equal(r.listeners.ws.default.websocket.ping_interval, '30s')
  })

  test('the normalised values still carry what the gateway needs (secrets included)', () => {
    const c = buildConfig([layer])
    assert.equal(c.mqtt.password, 'mqttpass')
    assert.equal(c.mqtt.url, 'mqtt://user:s3cretpw@broker.example:1883')
    const http = c.auth.authentication[0]
    assert.equal(http?.backend === 'http' ? http.headers.authorization : undefined, 'Bearer tok123')
  })
})

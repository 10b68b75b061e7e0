/**
 * Who can reach the embedded broker: loopback recognised, a non-loopback bind without users
 * refused with OCPPGW_ERR_MQTT_OPEN unless allow_anonymous, and the start-up line for each case.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkExposure, isLoopback } from '../../../src/bridge/adapters/exposure.js'
import { isGatewayError } from '../../../src/errors.js'

const binds = (tcp: string | undefined, ws?: string): Parameters<typeof checkExposure>[0]['binds'] => [
  { key: 'mqtt.embedded.bind', what: 'TCP', bind: tcp === undefined ? undefined : { host: tcp, port: 1883 } },
  { key: 'mqtt.embedded.ws_bind', what: 'WebSocket', bind: ws === undefined ? undefined : { host: ws, port: 8083 } }
]

test('isLoopback: 127/8, ::1 and localhost only', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h)
  for (const h of ['0.0.0.0', '::', '', '10.0.0.7', '192.168.1.2', '128.0.0.1', '::ffff:10.0.0.1', 'example.org']) assert.equal(isLoopback(h), false, h)
})

test('loopback without users: an info line that says how to open it', () => {
  const note = checkExposure({ binds: binds('127.0.0.1', '127.0.0.1'), authenticated: false, allowAnonymous: false })
  assert.equal(note?.level, 'info')
  assert.match(note?.message ?? '', /127\.0\.0\.1:1883 \(TCP\), 127\.0\.0\.1:8083 \(WebSocket\): loopback only/)
  assert.match(note?.message ?? '', /mqtt\.embedded\.users_file/)
})

test('a non-loopback bind without users: OCPPGW_ERR_MQTT_OPEN naming the key', () => {
  for (const [tcp, ws, key] of [['0.0.0.0', undefined, 'mqtt.embedded.bind'], ['127.0.0.1', '::', 'mqtt.embedded.ws_bind'], ['10.0.0.7', '0.0.0.0', 'mqtt.embedded.bind']] as const) {
    assert.throws(() => checkExposure({ binds: binds(tcp, ws), authenticated: false, allowAnonymous: false }), (err: unknown) => {
      assert.ok(isGatewayError(err, 'OCPPGW_ERR_MQTT_OPEN'), String(err))
      assert.ok((err as Error).message.startsWith(`${key}: `), (err as Error).message)
      assert.match((err as Error).message, /allow_anonymous: true/)
      return true
    })
  }
})

test('a non-loopback bind with allow_anonymous: a WARNING, not an error', () => {
  const note = checkExposure({ binds: binds('0.0.0.0'), authenticated: false, allowAnonymous: true })
  assert.equal(note?.level, 'warn')
  assert.match(note?.message ?? '', /^WARNING: .*0\.0\.0\.0:1883.*without authentication/)
})

test('with users any bind is fine; allow_anonymous next to users is a warning', () => {
  assert.equal(checkExposure({ binds: binds('0.0.0.0', '::'), authenticated: true, allowAnonymous: false })?.level, 'info')
  assert.equal(checkExposure({ binds: binds('0.0.0.0'), authenticated: true, allowAnonymous: true })?.level, 'warn')
})

test('both listeners off: nothing to say', () => {
  assert.equal(checkExposure({ binds: binds(undefined), authenticated: false, allowAnonymous: false }), undefined)
})

test('the secure WebSocket listener counts like any other: non-loopback without users refused, with an HTTP authenticator fine', () => {
  const wss = [...binds('127.0.0.1'), { key: 'mqtt.embedded.wss_bind', what: 'secure WebSocket', bind: { host: '0.0.0.0', port: 8084 } }]
  assert.throws(() => checkExposure({ binds: wss, authenticated: false, allowAnonymous: false }), (err: unknown) => {
    assert.ok(isGatewayError(err, 'OCPPGW_ERR_MQTT_OPEN'), String(err))
    assert.ok((err as Error).message.startsWith('mqtt.embedded.wss_bind: 0.0.0.0:8084 is reachable'), (err as Error).message)
    return true
  })
  assert.equal(checkExposure({ binds: wss, authenticated: false, allowAnonymous: true })?.level, 'warn')
  const note = checkExposure({ binds: wss, authenticated: true, by: 'mqtt.embedded.authentication', allowAnonymous: false })
  assert.equal(note?.level, 'info')
  assert.match(note?.message ?? '', /0\.0\.0\.0:8084 \(secure WebSocket\): clients authenticate \(mqtt\.embedded\.authentication\)/)
})

/**
 * The ACL's aedes hooks (src/bridge/adapters/embedded-acl.ts) on fake clients and packets:
 * what each hook hands its callback or returns, which role and topic reach the rule, the
 * fail-closed cases (no identity, a null client), counters and the refusal logs. The rules
 * themselves are test/unit/bridge/mqtt-acl.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes'
import { pino } from 'pino'
import { aclHooks } from '../../../src/bridge/adapters/embedded-acl.js'
import type { EmbeddedAuth, MqttIdentity } from '../../../src/bridge/adapters/embedded-auth.js'
import { compileAcl, type MqttAcl, type MqttRole } from '../../../src/bridge/mqtt-acl.js'
import { buildConfig } from '../../../src/config/load.js'
import { Metrics } from '../../../src/observability/metrics.js'

const client = (id: string): Client => ({ id }) as unknown as Client
const publish = (topic: string): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }) as PublishPacket
const forward = (topic: string): AedesPublishPacket => ({ ...publish(topic), brokerId: 'b', brokerCounter: 1 }) as AedesPublishPacket

/** Only what the hooks call: identity(client). */
function fakeAuth (ids: Map<Client, MqttIdentity>): EmbeddedAuth {
  return { identity: (c: Client) => ids.get(c) } as unknown as EmbeddedAuth
}

/** An ACL that records its questions and allows the topics given. */
function recordingAcl (allowed: readonly string[]): { acl: MqttAcl, calls: Array<[string, MqttRole, string]> } {
  const calls: Array<[string, MqttRole, string]> = []
  const answer = (kind: string) => (role: MqttRole, topic: string): boolean => { calls.push([kind, role, topic]); return allowed.includes(topic) }
  return { acl: { canPublish: answer('publish'), canSubscribe: answer('subscribe'), canRead: answer('read'), readable: [], writable: [] }, calls }
}

function setup (allowed: readonly string[]) {
  const backend = client('be')
  const observer = client('ob')
  const stranger = client('st')
  const ids = new Map<Client, MqttIdentity>([[backend, { role: 'backend', username: 'alice' }], [observer, { role: 'observer', username: 'bob' }]])
  const { acl, calls } = recordingAcl(allowed)
  const metrics = new Metrics()
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  return { hooks: aclHooks(acl, fakeAuth(ids), logger, metrics), calls, metrics, lines, backend, observer, stranger }
}

function publishResult (hooks: ReturnType<typeof aclHooks>, c: Client | null, topic: string): Array<Error | null | undefined> {
  const got: Array<Error | null | undefined> = []
  hooks.authorizePublish?.(c, publish(topic), (err) => { got.push(err) })
  return got
}

function subscribeResult (hooks: ReturnType<typeof aclHooks>, c: Client, topic: string): Array<[Error | null, Subscription | null | undefined]> {
  const got: Array<[Error | null, Subscription | null | undefined]> = []
  hooks.authorizeSubscribe?.(c, { topic, qos: 1 }, (err, sub) => { got.push([err, sub]) })
  return got
}

test('authorizePublish: an allowed topic calls back null once, with the identity\'s role asked', () => {
  const { hooks, calls, metrics, lines, backend } = setup(['ocpp/cs/CP1'])
  assert.deepEqual(publishResult(hooks, backend, 'ocpp/cs/CP1'), [null])
  assert.deepEqual(calls, [['publish', 'backend', 'ocpp/cs/CP1']])
  assert.equal(metrics.get('mqtt_publish_denied_total'), 0)
  assert.deepEqual(lines, [])
})

test('authorizePublish: a refused topic calls back an error (aedes closes the client), counted by role and logged', () => {
  const { hooks, calls, metrics, lines, observer } = setup([])
  const got = publishResult(hooks, observer, 'ocpp/cp/CP1')
  assert.equal(got.length, 1)
  assert.ok(got[0] instanceof Error)
  assert.equal(got[0].message, 'publish to ocpp/cp/CP1 not allowed')
  assert.deepEqual(calls, [['publish', 'observer', 'ocpp/cp/CP1']])
  assert.equal(metrics.get('mqtt_publish_denied_total'), 1)
  assert.equal(metrics.get('mqtt_publish_denied_total', 'observer'), 1)
  assert.deepEqual(lines.map((l) => [l.level, l.client, l.username, l.role, l.topic]), [[40, 'ob', 'bob', 'observer', 'ocpp/cp/CP1']])
})

test('authorizePublish: no identity and a null client (a Will from elsewhere) fail closed without asking the rule', () => {
  const { hooks, calls, metrics, lines, stranger } = setup(['ocpp/cs/CP1'])
  const a = publishResult(hooks, stranger, 'ocpp/cs/CP1')
  const b = publishResult(hooks, null, 'ocpp/cs/CP1')
  assert.equal(a.length, 1)
  assert.ok(a[0] instanceof Error)
  assert.equal(b.length, 1)
  assert.ok(b[0] instanceof Error)
  assert.deepEqual(calls, [])
  assert.equal(metrics.get('mqtt_publish_denied_total', 'unknown'), 2)
  assert.deepEqual(lines.map((l) => [l.client, l.role]), [['st', undefined], [undefined, undefined]])
})

test('authorizeSubscribe: an allowed filter is granted as it came; a refused one gets (null, null) = SUBACK 0x80', () => {
  const { hooks, calls, metrics, lines, backend, observer } = setup(['ocpp/#'])
  const sub = { topic: 'ocpp/#', qos: 1 as const }
  const granted: Array<[Error | null, Subscription | null | undefined]> = []
  hooks.authorizeSubscribe?.(observer, sub, (err, s) => { granted.push([err, s]) })
  assert.equal(granted.length, 1)
  assert.equal(granted[0]?.[0], null)
  assert.equal(granted[0]?.[1], sub, 'the same subscription object')
  assert.deepEqual(subscribeResult(hooks, backend, 'ocpp/cs/+'), [[null, null]])
  assert.deepEqual(calls, [['subscribe', 'observer', 'ocpp/#'], ['subscribe', 'backend', 'ocpp/cs/+']])
  assert.equal(metrics.get('mqtt_subscribe_denied_total'), 1)
  assert.equal(metrics.get('mqtt_subscribe_denied_total', 'backend'), 1)
  assert.deepEqual(lines.map((l) => [l.client, l.username, l.role, l.filter]), [['be', 'alice', 'backend', 'ocpp/cs/+']])
})

test('authorizeSubscribe: a client without an identity gets SUBACK 0x80, counted as unknown', () => {
  const { hooks, calls, metrics, stranger } = setup(['ocpp/#'])
  assert.deepEqual(subscribeResult(hooks, stranger, 'ocpp/#'), [[null, null]])
  assert.deepEqual(calls, [])
  assert.equal(metrics.get('mqtt_subscribe_denied_total', 'unknown'), 1)
})

test('authorizeForward: the packet itself when readable, null when not or without an identity; nothing counted', () => {
  const { hooks, calls, metrics, lines, observer, stranger } = setup(['ocpp/cp/CP1'])
  const ok = forward('ocpp/cp/CP1')
  assert.equal(hooks.authorizeForward?.(observer, ok), ok)
  assert.equal(hooks.authorizeForward?.(observer, forward('ocpp/cs/CP1')), null)
  assert.equal(hooks.authorizeForward?.(stranger, forward('ocpp/cp/CP1')), null)
  assert.deepEqual(calls, [['read', 'observer', 'ocpp/cp/CP1'], ['read', 'observer', 'ocpp/cs/CP1']])
  assert.deepEqual(metrics.snapshot(), new Metrics().snapshot())
  assert.deepEqual(lines, [])
})

test('with the default config\'s rules: a backend publishes downstream, an observer may not; # is granted but forwards only readable topics', () => {
  const acl = compileAcl(buildConfig([]))
  const be = client('be')
  const ob = client('ob')
  const ids = new Map<Client, MqttIdentity>([[be, { role: 'backend', username: undefined }], [ob, { role: 'observer', username: 'o' }]])
  const hooks = aclHooks(acl, fakeAuth(ids), pino({ level: 'silent' }))
  assert.deepEqual(publishResult(hooks, be, 'ocpp/cs/CP1'), [null])
  assert.equal(publishResult(hooks, ob, 'ocpp/cs/CP1')[0]?.message, 'publish to ocpp/cs/CP1 not allowed')
  assert.equal(publishResult(hooks, be, 'ocpp/cp/CP1')[0]?.message, 'publish to ocpp/cp/CP1 not allowed')
  assert.deepEqual(subscribeResult(hooks, ob, '#'), [[null, { topic: '#', qos: 1 }]])
  assert.deepEqual(subscribeResult(hooks, ob, 'other/#'), [[null, null]])
  const up = forward('ocpp/cp/CP1')
  assert.equal(hooks.authorizeForward?.(ob, up), up)
  assert.equal(hooks.authorizeForward?.(ob, forward('ocpp/cs/CP1')), null)
  assert.equal(hooks.authorizeForward?.(be, forward('ocpp/presence/CP1/node-a')), null)
})

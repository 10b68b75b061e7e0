/**
 * The embedded broker's ACL rule (pure): filters derived from the configured templates and
 * mountpoint, what each role may read and publish, deny-first for the gateway's own topics,
 * and MQTT 3.1.1 §4.7 matching and filter overlap.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildConfig } from '../../../src/config/load.js'
import { compileAcl, filtersOverlap, topicMatches } from '../../../src/bridge/mqtt-acl.js'

const L = (s: string): string[] => s.split('/')
const acl = compileAcl(buildConfig([]))

test('topicMatches: + one level, # this level and below, $ topics not under a leading wildcard', () => {
  assert.equal(topicMatches(L('ocpp/cp/+'), L('ocpp/cp/CP1')), true)
  assert.equal(topicMatches(L('ocpp/cp/+'), L('ocpp/cp/CP1/Reply')), false)
  assert.equal(topicMatches(L('ocpp/cp/+'), L('ocpp/cp')), false)
  assert.equal(topicMatches(L('ocpp/#'), L('ocpp')), true)
  assert.equal(topicMatches(L('ocpp/#'), L('ocpp/cs/X')), true)
  assert.equal(topicMatches(L('#'), L('$SYS/x')), false)
  assert.equal(topicMatches(L('+/x'), L('$SYS/x')), false)
  assert.equal(topicMatches(L('$SYS/#'), L('$SYS/x')), true)
  assert.equal(topicMatches(L('ocpp/cp/+'), L('ocpp/cp/')), true) // an empty level is a level
})

test('filtersOverlap: some topic matches both', () => {
  for (const [a, b, want] of [
    ['#', 'ocpp/cp/+', true],
    ['ocpp/#', 'ocpp/cp/+', true],
    ['ocpp/+/CP1', 'ocpp/cp/+', true],
    ['+/+/+', 'ocpp/cp/+', true],
    ['ocpp/cs/+', 'ocpp/cp/+', false],
    ['ocpp/cp/+/+', 'ocpp/cp/+', false],
    ['ocpp/cp', 'ocpp/cp/+', false],
    ['ocpp/cp/#', 'ocpp/cp/+', true],
    ['$SYS/#', 'ocpp/cp/+', false],
    ['#', '$SYS/x', false],
    ['other/#', 'ocpp/cp/+', false]
  ] as const) {
    assert.equal(filtersOverlap(L(a), L(b)), want, `${a} ~ ${b}`)
    assert.equal(filtersOverlap(L(b), L(a)), want, `${b} ~ ${a}`)
  }
})

test('default topics: the filters read and written', () => {
  assert.deepEqual(acl.readable, ['ocpp/cp/+', 'ocpp/cp/+/Reply', 'ocpp/events/+', 'ocpp/errors/+', 'ocpp/ctl/+/Reply', 'ocpp/responses/#'])
  // Answers on MQTT 5 response topics are read there, and published by the gateway alone.
  assert.equal(acl.canRead('observer', 'ocpp/responses/csms/7'), true)
  assert.equal(acl.canPublish('backend', 'ocpp/responses/csms/7'), false)
  assert.deepEqual(acl.writable, ['ocpp/cs/+', 'ocpp/ctl/+'])
})

test('backend: publishes downstream only; never upstream, replies, events, errors, presence or anything else', () => {
  assert.equal(acl.canPublish('backend', 'ocpp/cs/CP1'), true)
  for (const t of ['ocpp/cp/CP1', 'ocpp/cp/CP1/Reply', 'ocpp/events/CP1', 'ocpp/errors/CP1', 'ocpp/presence/CP1/node-a', 'ocpp/cs/CP1/extra', 'ocpp/cs', 'other/topic', '$SYS/x']) {
    assert.equal(acl.canPublish('backend', t), false, t)
  }
})

test('gateway (the worker processes\' internal user): reads, subscribes and publishes everything', () => {
  for (const t of ['ocpp/cp/CP1', 'ocpp/presence/CP1/n1', 'ocpp/nodes/n1', 'ocpp/cs/CP1', 'other/topic']) {
    assert.equal(acl.canPublish('gateway', t), true, t)
    assert.equal(acl.canRead('gateway', t), true, t)
  }
  assert.equal(acl.canSubscribe('gateway', '$share/ocpp-gateway/ocpp/cs/+'), true)
})

test('observer: publishes nothing', () => {
  for (const t of ['ocpp/cs/CP1', 'ocpp/cp/CP1', 'ocpp/ctl/CP1', 'x']) assert.equal(acl.canPublish('observer', t), false, t)
})

test('control topic: a backend sends commands on ctl/{cid}, never the answers on ctl/{cid}/Reply; both roles read the answers', () => {
  assert.equal(acl.canPublish('backend', 'ocpp/ctl/CP1'), true)
  for (const t of ['ocpp/ctl/CP1/Reply', 'ocpp/ctl/CP1/x', 'ocpp/ctl']) assert.equal(acl.canPublish('backend', t), false, t)
  for (const role of ['backend', 'observer'] as const) {
    assert.equal(acl.canRead(role, 'ocpp/ctl/CP1/Reply'), true, role)
    assert.equal(acl.canRead(role, 'ocpp/ctl/CP1'), false, `${role}: the commands themselves are not readable`)
  }
})

test('both roles read upstream, replies, events and errors; not downstream, presence or other topics', () => {
  for (const role of ['backend', 'observer'] as const) {
    for (const t of ['ocpp/cp/CP1', 'ocpp/cp/CP1/Reply', 'ocpp/events/CP1', 'ocpp/errors/CP1']) assert.equal(acl.canRead(role, t), true, `${role} ${t}`)
    for (const t of ['ocpp/cs/CP1', 'ocpp/presence/CP1/n', 'other', '$SYS/broker/x']) assert.equal(acl.canRead(role, t), false, `${role} ${t}`)
  }
})

test('subscribe: granted when the filter can match a readable topic (#, ocpp/#), refused otherwise', () => {
  for (const f of ['#', 'ocpp/#', 'ocpp/cp/+', 'ocpp/cp/CP1', 'ocpp/+/CP1', 'ocpp/events/#']) assert.equal(acl.canSubscribe('observer', f), true, f)
  for (const f of ['ocpp/cs/+', 'ocpp/cs/#', 'ocpp/presence/#', '$SYS/#', 'other/#']) assert.equal(acl.canSubscribe('observer', f), false, f)
})

test('derived from the configured templates and mountpoint, overrides included', () => {
  const c = compileAcl(buildConfig([{
    mountpoint: 'site/${cid}/',
    upstream: { topic: 'up', topic_override_mapping: { MeterValues: 'meter/${action}' }, reply_topic: 'reply', error_topic: 'err' },
    dnstream: { topic: 'down/${version}' },
    events: { topic: 'ev', error_topic: 'gwerr' }
  }]))
  assert.deepEqual(c.readable, ['site/+/up', 'site/+/meter/+', 'site/+/reply', 'site/+/err', 'site/+/ev', 'site/+/gwerr', 'site/+/ctl/+/Reply', 'site/+/responses/#'])
  assert.deepEqual(c.writable, ['site/+/down/+', 'site/+/ctl/+'])
  assert.equal(c.canPublish('backend', 'site/CP1/down/2.0.1'), true)
  assert.equal(c.canPublish('backend', 'site/CP1/up'), false)
  assert.equal(c.canRead('observer', 'site/CP1/meter/MeterValues'), true)
})

test('deny first: a downstream template overlapping an upstream one does not open the overlap', () => {
  const c = compileAcl(buildConfig([{ upstream: { topic: 'cp/${cid}/${action}' }, dnstream: { topic: 'cp/${cid}/down' } }]))
  assert.equal(c.canPublish('backend', 'ocpp/cp/CP1/down'), false)
})

/**
 * The adapters' shared parts (src/bridge/adapters/mqtt-port.ts): HandlerTable (first and
 * last handler of a subscription, dispatchTo and dispatch, filters matched by their plain
 * filter), topicMatches (MQTT 3.1.1 §4.7) and stripShare.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HandlerTable, type MessageHandler, stripShare, topicMatches } from '../../../src/bridge/adapters/mqtt-port.js'

/** A handler that records what it is given, under a name. */
function recorder (log: Array<[string, string, string]>, name: string): MessageHandler {
  return (topic, payload) => { log.push([name, topic, payload.toString()]) }
}

const buf = (s: string): Buffer => Buffer.from(s)

// ---- stripShare ----

test('stripShare: $share/group/ goes, the rest stays', () => {
  assert.equal(stripShare('$share/grp/ocpp/cs/+'), 'ocpp/cs/+')
  assert.equal(stripShare('$share/g/a'), 'a')
  assert.equal(stripShare('$share/g/#'), '#')
  assert.equal(stripShare('$share/g/'), '')
  assert.equal(stripShare('ocpp/cs/+'), 'ocpp/cs/+')
  assert.equal(stripShare('a/$share/g/b'), 'a/$share/g/b')
  assert.equal(stripShare('$shared/g/a'), '$shared/g/a')
  assert.equal(stripShare('$share'), '$share')
})

// ---- topicMatches ----

test('topicMatches: exact filters match only the same topic', () => {
  assert.equal(topicMatches('a/b', 'a/b'), true)
  assert.equal(topicMatches('a/b', 'a/c'), false)
  assert.equal(topicMatches('a/b', 'a'), false)
  assert.equal(topicMatches('a/b', 'a/b/c'), false)
  assert.equal(topicMatches('a/b', 'A/b'), false, 'case-sensitive')
  assert.equal(topicMatches('a/b', 'a/b/'), false, 'a trailing empty level is a level')
})

test('topicMatches: + is exactly one level, empty levels included', () => {
  assert.equal(topicMatches('a/+', 'a/b'), true)
  assert.equal(topicMatches('a/+', 'a/'), true, 'an empty level')
  assert.equal(topicMatches('a/+', 'a'), false, 'shallower')
  assert.equal(topicMatches('a/+', 'a/b/c'), false, 'deeper')
  assert.equal(topicMatches('+/+', '/x'), true, 'a leading empty level')
  assert.equal(topicMatches('+', 'a'), true)
  assert.equal(topicMatches('+', 'a/b'), false)
  assert.equal(topicMatches('+', ''), true)
  assert.equal(topicMatches('a/+/c', 'a/b/c'), true)
  assert.equal(topicMatches('a/+/c', 'a/b/d'), false)
  assert.equal(topicMatches('a/+/c', 'a//c'), true)
  assert.equal(topicMatches('ocpp/cs/+', 'ocpp/cs/CP-1'), true)
  assert.equal(topicMatches('ocpp/cs/+', 'ocpp/cp/CP-1'), false)
})

test('topicMatches: # at the end matches the rest, and the parent level (§4.7.1.2)', () => {
  assert.equal(topicMatches('a/#', 'a/b'), true)
  assert.equal(topicMatches('a/#', 'a/b/c/d'), true)
  assert.equal(topicMatches('a/#', 'a/'), true)
  assert.equal(topicMatches('a/#', 'a'), true, '"sport/#" also matches "sport"')
  assert.equal(topicMatches('a/#', 'b/a'), false)
  assert.equal(topicMatches('a/#', 'ab'), false)
  assert.equal(topicMatches('a/b/#', 'a'), false, 'only the parent level, not the grandparent')
  assert.equal(topicMatches('a/+/#', 'a/x'), true)
  assert.equal(topicMatches('a/+/#', 'a'), false)
})

test('topicMatches: # alone matches every topic', () => {
  for (const topic of ['a', 'a/b/c', '/', '', 'ocpp/cs/CP-1']) assert.equal(topicMatches('#', topic), true, topic)
})

// ---- HandlerTable ----

test('add: true for the first handler of a subscription only', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  const h1 = recorder(log, 'h1')
  const h2 = recorder(log, 'h2')
  assert.equal(t.add('a/b', h1), true)
  assert.equal(t.add('a/b', h2), false)
  assert.equal(t.add('a/c', h1), true, 'another subscription: its own first')
  assert.equal(t.size, 2)
})

test('remove: true when the last handler goes; false before, and for unknown ones', () => {
  const t = new HandlerTable()
  const h1: MessageHandler = () => {}
  const h2: MessageHandler = () => {}
  const other: MessageHandler = () => {}
  assert.equal(t.remove('a/b', h1), false, 'no such subscription')
  t.add('a/b', h1)
  t.add('a/b', h2)
  assert.equal(t.remove('a/b', other), false, 'not one of its handlers')
  assert.equal(t.remove('a/b', h1), false)
  assert.equal(t.size, 1)
  assert.equal(t.remove('a/b', h2), true)
  assert.equal(t.size, 0)
  assert.equal(t.remove('a/b', h2), false, 'already gone')
  assert.equal(t.add('a/b', h1), true, 'first again after the last went')
})

test('the same handler added twice is one handler: one remove is the last', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  const h = recorder(log, 'h')
  assert.equal(t.add('a/b', h), true)
  assert.equal(t.add('a/b', h), false)
  t.dispatch('a/b', buf('x'))
  assert.deepEqual(log, [['h', 'a/b', 'x']], 'called once')
  assert.equal(t.remove('a/b', h), true)
})

test('dispatch: every handler of an exact subscription, in the order added; others not', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('a/b', recorder(log, 'h1'))
  t.add('a/b', recorder(log, 'h2'))
  t.add('a/c', recorder(log, 'h3'))
  t.dispatch('a/b', buf('p'))
  assert.deepEqual(log, [['h1', 'a/b', 'p'], ['h2', 'a/b', 'p']])
  log.length = 0
  t.dispatch('a/x', buf('q'))
  assert.deepEqual(log, [])
})

test('dispatch: wildcard filters matched against the topic, the topic passed to the handler', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('ocpp/cs/+', recorder(log, 'plus'))
  t.add('ocpp/#', recorder(log, 'hash'))
  t.add('ocpp/cs/CP-1', recorder(log, 'exact'))
  t.dispatch('ocpp/cs/CP-1', buf('1'))
  assert.deepEqual(log, [['exact', 'ocpp/cs/CP-1', '1'], ['plus', 'ocpp/cs/CP-1', '1'], ['hash', 'ocpp/cs/CP-1', '1']])
  log.length = 0
  t.dispatch('ocpp/cs/CP-2', buf('2'))
  assert.deepEqual(log, [['plus', 'ocpp/cs/CP-2', '2'], ['hash', 'ocpp/cs/CP-2', '2']])
  log.length = 0
  t.dispatch('ocpp/cp/CP-2/Reply', buf('3'))
  assert.deepEqual(log, [['hash', 'ocpp/cp/CP-2/Reply', '3']])
  log.length = 0
  t.dispatch('other', buf('4'))
  assert.deepEqual(log, [])
})

test('dispatch: a $share/group/... filter is matched by its plain filter', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('$share/grp/ocpp/cs/+', recorder(log, 'shared'))
  t.add('$share/grp/exact/topic', recorder(log, 'shared-exact'))
  t.dispatch('ocpp/cs/CP-9', buf('a'))
  t.dispatch('exact/topic', buf('b'))
  t.dispatch('$share/grp/ocpp/cs/CP-9', buf('c'))
  assert.deepEqual(log, [['shared', 'ocpp/cs/CP-9', 'a'], ['shared-exact', 'exact/topic', 'b']])
})

test('dispatch: an exact subscription and a shared one on the same plain topic both get it, once each', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('a/b', recorder(log, 'exact'))
  t.add('$share/g/a/b', recorder(log, 'shared'))
  t.dispatch('a/b', buf('x'))
  assert.deepEqual(log, [['exact', 'a/b', 'x'], ['shared', 'a/b', 'x']])
})

test('dispatch: a topic that is itself a subscribed filter is delivered once, by the filter', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('a/+', recorder(log, 'f'))
  t.dispatch('a/+', buf('x'))
  assert.deepEqual(log, [['f', 'a/+', 'x']])
})

test('dispatch: a removed filter no longer matches; a filter added again matches again', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  const h = recorder(log, 'f')
  t.add('a/+', h)
  t.remove('a/+', h)
  t.dispatch('a/b', buf('1'))
  assert.deepEqual(log, [])
  t.add('a/+', h)
  t.dispatch('a/b', buf('2'))
  assert.deepEqual(log, [['f', 'a/b', '2']])
})

test('dispatch: a filter with two handlers, one removed: the other still matches', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  const h1 = recorder(log, 'h1')
  t.add('a/#', h1)
  t.add('a/#', recorder(log, 'h2'))
  assert.equal(t.remove('a/#', h1), false)
  t.dispatch('a/b/c', buf('x'))
  assert.deepEqual(log, [['h2', 'a/b/c', 'x']])
})

test('dispatchTo: only the named subscription\'s handlers, with the message\'s topic; no matching', () => {
  const t = new HandlerTable()
  const log: Array<[string, string, string]> = []
  t.add('ocpp/cs/+', recorder(log, 'wild'))
  t.add('ocpp/cs/CP-1', recorder(log, 'exact'))
  t.add('$share/g/ocpp/cs/+', recorder(log, 'shared'))
  t.dispatchTo('ocpp/cs/+', 'ocpp/cs/CP-1', buf('1'))
  assert.deepEqual(log, [['wild', 'ocpp/cs/CP-1', '1']])
  log.length = 0
  t.dispatchTo('$share/g/ocpp/cs/+', 'ocpp/cs/CP-1', buf('2'))
  assert.deepEqual(log, [['shared', 'ocpp/cs/CP-1', '2']])
  log.length = 0
  // The embedded broker names the subscription; dispatchTo does not check the topic matches it.
  t.dispatchTo('ocpp/cs/CP-1', 'something/else', buf('3'))
  assert.deepEqual(log, [['exact', 'something/else', '3']])
  log.length = 0
  t.dispatchTo('ocpp/cs/CP-2', 'ocpp/cs/CP-2', buf('4'))
  t.dispatchTo('ocpp/cs/#', 'ocpp/cs/CP-2', buf('5'))
  assert.deepEqual(log, [], 'no such subscription')
})

test('size counts subscriptions, not handlers', () => {
  const t = new HandlerTable()
  assert.equal(t.size, 0)
  const h1: MessageHandler = () => {}
  const h2: MessageHandler = () => {}
  t.add('a', h1)
  t.add('a', h2)
  t.add('b/+', h1)
  t.add('$share/g/b/+', h1)
  assert.equal(t.size, 3)
  t.remove('a', h1)
  assert.equal(t.size, 3)
  t.remove('a', h2)
  t.remove('b/+', h1)
  assert.equal(t.size, 1)
})

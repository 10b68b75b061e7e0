/** The SDK's pure parts: envelopes, UniqueId correlation with driven timers, topics, options, generated types. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseUpstream, callEnvelope, errorEnvelope } from '../../../src/backend/envelope.js'
import { PendingCalls, type Timers, type PendingCall, type Answer } from '../../../src/backend/pending.js'
import { backendTopics } from '../../../src/backend/topics.js'
import { resolveOptions } from '../../../src/backend/options.js'
import { BackendOptionError } from '../../../src/backend/errors.js'
import { schemasDigest, typesFiles } from '../../../src/backend/types/digest.js'
import type { OcppVersion } from '../../../src/ocpp/dialect.js'

describe('envelopes', () => {
  test('parses every upstream type; Origin marks the gateway\'s answers; ErrorDetails optional (EMQX)', () => {
    assert.deepEqual(parseUpstream('{"MessageTypeId":2,"UniqueId":"1","Action":"Heartbeat","Payload":{}}'), { ok: true, msg: { type: 2, id: '1', action: 'Heartbeat', payload: {} } })
    assert.deepEqual(parseUpstream(Buffer.from('{"MessageTypeId":3,"UniqueId":"1","Payload":{"a":1}}')), { ok: true, msg: { type: 3, id: '1', action: undefined, payload: { a: 1 } } })
    assert.deepEqual(parseUpstream('{"MessageTypeId":4,"UniqueId":"1","ErrorCode":"X","ErrorDescription":"d"}'), { ok: true, msg: { type: 4, id: '1', action: undefined, code: 'X', description: 'd', details: {}, gateway: false } })
    const g = parseUpstream('{"MessageTypeId":4,"UniqueId":"1","Action":"Reset","ErrorCode":"GenericError","ErrorDescription":"","ErrorDetails":{"reason":"timeout"},"Origin":"gateway"}')
    assert.ok(g.ok && g.msg.type === 4 && g.msg.gateway && g.msg.action === 'Reset')
    const s = parseUpstream('{"MessageTypeId":6,"UniqueId":"1","Action":"NotifyPeriodicEventStream","Payload":{}}')
    assert.ok(s.ok && s.msg.type === 6)
  })

  test('is total: bad input is a result, with the UniqueId when it can be read', () => {
    for (const bad of ['', 'null', '[]', '{"MessageTypeId":2}', '{"MessageTypeId":9,"UniqueId":"z"}', '{"MessageTypeId":2,"UniqueId":"z","Payload":{}}', '{"MessageTypeId":3,"UniqueId":"z","Payload":1}', '{"MessageTypeId":4,"UniqueId":"z"}']) {
      const r = parseUpstream(bad)
      assert.equal(r.ok, false, bad)
    }
    const r = parseUpstream('{"MessageTypeId":3,"UniqueId":"z"}')
    assert.ok(!r.ok && r.id === 'z')
  })

  test('builds the downstream envelopes', () => {
    assert.deepEqual(JSON.parse(callEnvelope('i', 'Reset', { type: 'Soft' })), { MessageTypeId: 2, UniqueId: 'i', Action: 'Reset', Payload: { type: 'Soft' } })
    assert.deepEqual(JSON.parse(errorEnvelope('i', 'Reset', 'NotImplemented', 'no')), { MessageTypeId: 4, UniqueId: 'i', Action: 'Reset', ErrorCode: 'NotImplemented', ErrorDescription: 'no', ErrorDetails: {} })
  })
})

/** Timers a test fires by hand. */
function manualTimers (): Timers & { fire: () => void, count: () => number } {
  const live = new Map<number, () => void>()
  let n = 0
  return {
    setTimeout: (fn) => { live.set(++n, fn); return n },
    clearTimeout: (h) => { live.delete(h as number) },
    fire: () => { const fns = [...live.values()]; live.clear(); for (const f of fns) f() },
    count: () => live.size
  }
}

function call (id: string, cid: string, out: unknown[]): PendingCall {
  return { cid, action: 'Reset', id, version: '1.6', sentAt: 0, settle: (a) => out.push(['settled', id, a.type]), fail: (e) => out.push(['failed', id, e.message]) }
}

const result = (id: string): Answer => ({ type: 3, id, action: undefined, payload: {} })

describe('pending Calls', () => {
  test('UniqueIds are the instance prefix and a counter, at most 36 characters, unique across instances', () => {
    const a = new PendingCalls()
    const b = new PendingCalls()
    assert.notEqual(a.prefix, b.prefix)
    const ids = [a.nextId(), a.nextId(), b.nextId()]
    assert.equal(new Set(ids).size, 3)
    assert.ok(ids.every((id) => id.length <= 36))
    assert.ok(a.ours(ids[0] as string) && !a.ours(ids[2] as string))
  })

  test('an answer settles once and stops its timer; a timeout fires once; unknown answers are not ours', () => {
    const timers = manualTimers()
    const p = new PendingCalls('pfx', timers)
    const out: unknown[] = []
    const timedOut: string[] = []
    p.add(call('pfx-0', 'CP1', out), 100, (c) => timedOut.push(c.id))
    p.add(call('pfx-1', 'CP1', out), 100, (c) => timedOut.push(c.id))
    assert.equal(p.answer('CP1', result('pfx-0'))?.id, 'pfx-0')
    assert.equal(p.answer('CP1', result('pfx-0')), undefined, 'a second answer settles nothing')
    assert.equal(p.answer('CP2', result('pfx-1')), undefined, 'wrong charger')
    assert.equal(p.answer('CP1', result('other-7')), undefined, 'another instance\'s')
    assert.equal(timers.count(), 1)
    timers.fire()
    assert.deepEqual(timedOut, ['pfx-1'])
    assert.equal(p.answer('CP1', result('pfx-1')), undefined, 'late')
    assert.deepEqual(out, [['settled', 'pfx-0', 3]])
    assert.equal(p.size, 0)
  })

  test('failAll fails every Call in flight and clears their timers', () => {
    const timers = manualTimers()
    const p = new PendingCalls('q', timers)
    const out: unknown[] = []
    p.add(call('q-0', 'A', out), 10, () => out.push('timeout'))
    p.add(call('q-1', 'B', out), 10, () => out.push('timeout'))
    p.failAll((c) => new Error(`closed ${c.cid}`))
    assert.equal(timers.count(), 0)
    assert.deepEqual(out, [['failed', 'q-0', 'closed A'], ['failed', 'q-1', 'closed B']])
  })
})

describe('topics and options', () => {
  test('default topics: filters and parsing', () => {
    const t = backendTopics('ocpp/')
    assert.deepEqual([t.callFilters, t.replyFilters, t.eventFilter, t.errorFilter], [['ocpp/cp/+'], ['ocpp/cp/+/Reply'], 'ocpp/events/+', 'ocpp/errors/+'])
    assert.deepEqual(t.parseCall('ocpp/cp/CP-1'), { cid: 'CP-1', version: undefined })
    assert.equal(t.parseCall('ocpp/cp/CP-1/Reply'), undefined)
    assert.equal(t.dnstream({ cid: 'CP-1' }), 'ocpp/cs/CP-1')
    assert.equal(t.dnstreamNeedsVersion, false)
  })

  test('options are checked once and frozen', () => {
    assert.throws(() => resolveOptions({}), (e: unknown) => e instanceof BackendOptionError && e.option === 'url' && e.code === 'OCPPGW_ERR_BACKEND_OPTION')
    assert.throws(() => resolveOptions({ url: 'mqtt://x', shareGroup: 'a/b' }), /shareGroup/)
    assert.throws(() => resolveOptions({ url: 'mqtt://x', callTimeoutMs: 0 }), /callTimeoutMs/)
    assert.throws(() => resolveOptions({ url: 'mqtt://x', defaultVersion: '2.0' as never }), /defaultVersion/)
    const o = resolveOptions({ url: 'mqtt://x', validate: { incoming: true } })
    assert.ok(Object.isFrozen(o) && o.validateIncoming && !o.validateOutgoing && o.mountpoint === 'ocpp/')
  })
})

test('the generated payload types are those of the schemas in use (else: npm run gen:types)', () => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  for (const [version, file] of Object.entries(typesFiles) as Array<[OcppVersion, string]>) {
    const head = readFileSync(join(dir, 'src', 'backend', 'types', file), 'utf8').slice(0, 400)
    assert.match(head, new RegExp(`schemas sha256: ${schemasDigest(version)}`), `${file} is stale: run npm run gen:types`)
  }
})

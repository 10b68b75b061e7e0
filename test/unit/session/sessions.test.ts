/** sessions.ts: the SessionTable (newest wins, lifecycle hooks, the sweep, closeAll). */
import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { fakeSession } from '../../helpers/fake-backend.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { SessionTable } from '../../../src/session/sessions.js'
import type { Session } from '../../../src/session/session.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'

const reset = (id: string): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type: 'Hard' } })

type HookCall =
  | ['connected', Session, Session | undefined]
  | ['disconnected', Session, string, number, string, boolean]

const tables: SessionTable[] = []

/** A table whose timer never fires during a test (and is unref'd anyway), with its hooks recorded. */
function table (): { t: SessionTable, metrics: Metrics, hooks: HookCall[] } {
  const metrics = new Metrics()
  const t = new SessionTable({ metrics, log: pino({ level: 'silent' }), sweepPeriodMs: 3_600_000 })
  const hooks: HookCall[] = []
  t.observe({
    connected: (s, replaced) => { hooks.push(['connected', s, replaced]) },
    disconnected: (s, reason, code, detail, current) => { hooks.push(['disconnected', s, reason, code, detail, current]) }
  })
  tables.push(t)
  return { t, metrics, hooks }
}

/** The hooks with each session replaced by its name, so sessions compare by identity. */
function named (hooks: HookCall[], names: Record<string, Session>): unknown[] {
  const nameOf = (x: unknown): unknown => Object.keys(names).find((n) => names[n] === x) ?? x
  return hooks.map((h) => h.map((x) => (typeof x === 'object' && x !== null ? nameOf(x) : x)))
}

afterEach(() => {
  for (const t of tables.splice(0)) t.closeAll()
})

describe('SessionTable: attach and detach', () => {
  test('attach adds the session, counts it and tells connected', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    t.attach(a.session)
    assert.equal(t.size, 1)
    assert.equal(t.get('CP-1'), a.session)
    const all = [...t.all()]
    assert.equal(all.length, 1)
    assert.equal(all[0], a.session)
    assert.equal(metrics.sessions, 1)
    assert.deepEqual(named(hooks, { A: a.session }), [['connected', 'A', undefined]])
  })

  test('a session that ends is removed, counted by reason and told disconnected with current=true', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-2' })
    t.attach(a.session)
    t.attach(b.session)
    assert.equal(metrics.sessions, 2)
    a.socket.peerClose(1000, 'bye')
    assert.equal(t.size, 1)
    assert.equal(t.get('CP-1'), undefined)
    assert.equal(metrics.sessions, 1)
    assert.equal(metrics.get('disconnections_total', 'closed_by_charger'), 1)
    assert.deepEqual(named(hooks.slice(2), { A: a.session }), [['disconnected', 'A', 'closed_by_charger', 1000, 'bye', true]])
  })
})

describe('SessionTable: takeover (newest wins)', () => {
  test('the old session is closed 4002; its queued Calls move to the new one, the one in flight is answered disconnected', () => {
    const { t, metrics } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-1' })
    t.attach(a.session)
    for (const id of ['d1', 'd2', 'd3']) a.session.fromBackend(reset(id))
    assert.deepEqual(a.socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])

    t.attach(b.session)

    assert.deepEqual(a.socket.closedWith, { code: 4002, reason: 'replaced by a newer connection' })
    assert.equal(a.session.closed, true)
    assert.deepEqual(a.backend.records, [{
      kind: 'answer',
      to: reset('d1'),
      code: 'GenericError',
      description: 'gateway: the charge point disconnected (takeover) before answering',
      details: { reason: 'disconnected' }
    }])
    // d2 goes out on the new socket at once, d3 waits behind it.
    assert.deepEqual(b.socket.sent, [[2, 'd2', 'Reset', { type: 'Hard' }]])
    assert.equal(b.session.calls.inflight?.frame.id, 'd2')
    assert.deepEqual(b.session.calls.drain().map((f) => f.id), ['d2', 'd3'])
    assert.deepEqual(b.backend.records, [])

    assert.equal(t.size, 1)
    assert.equal(t.get('CP-1'), b.session)
    assert.equal(metrics.sessions, 1)
    assert.equal(metrics.get('takeovers_total'), 1)
    assert.equal(metrics.get('disconnections_total', 'takeover'), 1)
  })

  test('hooks: the old one\'s disconnected (current=false) comes before the new one\'s connected', () => {
    const { t, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-1' })
    t.attach(a.session)
    t.attach(b.session)
    assert.deepEqual(named(hooks, { A: a.session, B: b.session }), [
      ['connected', 'A', undefined],
      ['disconnected', 'A', 'takeover', 4002, 'replaced by a newer connection', false],
      ['connected', 'B', 'A']
    ])
  })

  test('the old socket\'s close event afterwards changes nothing; the new session stays', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-1' })
    t.attach(a.session)
    t.attach(b.session)
    a.socket.peerClose(4002, 'replaced by a newer connection')
    assert.equal(hooks.length, 3)
    assert.equal(t.get('CP-1'), b.session)
    assert.equal(metrics.sessions, 1)
    assert.equal(metrics.get('disconnections_total'), 1)
  })

  test('the new session ending later is the current one: removed, current=true', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-1' })
    t.attach(a.session)
    t.attach(b.session)
    b.socket.peerClose(1000, '')
    assert.deepEqual(named(hooks.slice(3), { A: a.session, B: b.session }), [['disconnected', 'B', 'closed_by_charger', 1000, '', true]])
    assert.equal(t.size, 0)
    assert.equal(metrics.sessions, 0)
  })
})

describe('SessionTable: sweep and closeAll', () => {
  test('sweep(now) runs every session\'s liveness checks', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-2' })
    t.attach(a.session)
    t.attach(b.session)
    t.sweep(Date.now() + 91_000) // default_heartbeat_interval 60 s x (1 + 1/2)
    assert.deepEqual(a.socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
    assert.deepEqual(b.socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
    assert.equal(t.size, 0)
    assert.equal(metrics.get('disconnections_total', 'keepalive_timeout'), 2)
    assert.deepEqual(named(hooks.slice(2), { A: a.session, B: b.session }).map((h) => (h as unknown[]).slice(0, 3)), [['disconnected', 'A', 'keepalive_timeout'], ['disconnected', 'B', 'keepalive_timeout']])
  })

  test('closeAll closes every session with 1001; owed Calls are answered shutdown', () => {
    const { t, metrics, hooks } = table()
    const a = fakeSession({ cid: 'CP-1' })
    const b = fakeSession({ cid: 'CP-2' })
    t.attach(a.session)
    t.attach(b.session)
    a.session.fromBackend(reset('d1'))
    a.session.fromBackend(reset('d2'))
    t.closeAll()
    assert.deepEqual(a.socket.closedWith, { code: 1001, reason: 'gateway shutting down' })
    assert.deepEqual(b.socket.closedWith, { code: 1001, reason: 'gateway shutting down' })
    assert.deepEqual(a.backend.of('answer').map((r) => [r.to.id, r.details.reason]), [['d1', 'shutdown'], ['d2', 'shutdown']])
    assert.equal(t.size, 0)
    assert.equal(metrics.sessions, 0)
    assert.equal(metrics.get('disconnections_total', 'shutdown'), 2)
    assert.deepEqual(named(hooks.slice(2), { A: a.session, B: b.session }), [
      ['disconnected', 'A', 'shutdown', 1001, 'gateway shutting down', true],
      ['disconnected', 'B', 'shutdown', 1001, 'gateway shutting down', true]
    ])
  })
})

/**
 * The gateway's own Calls (session/local-calls.ts) and the frame trace (session/trace.ts),
 * on a session with a fake socket and backend: a local Call shares the backends' queue and
 * rules, its answer goes to its caller and never to the backend port.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession } from '../../helpers/fake-backend.js'
import type { LocalOutcome } from '../../../src/session/local-calls.js'
import { FrameTrace, MAX_TRACED_CHARS, type TracedFrame } from '../../../src/session/trace.js'
import { SessionTable } from '../../../src/session/sessions.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { pino } from 'pino'

const reset = (id: string): { type: 2, id: string, action: string, payload: { type: string } } => ({ type: 2, id, action: 'Reset', payload: { type: 'Hard' } })

function collect (): { outcomes: LocalOutcome[], settle: (o: LocalOutcome) => void } {
  const outcomes: LocalOutcome[] = []
  return { outcomes, settle: (o) => outcomes.push(o) }
}

describe('local Calls', () => {
  test('a CallResult and a CallError go to the caller, not to the backend', () => {
    const { session, socket, backend } = fakeSession()
    const c = collect()
    session.callLocal(reset('adm-1'), c.settle)
    assert.deepEqual(socket.sent, [[2, 'adm-1', 'Reset', { type: 'Hard' }]])
    socket.receive([3, 'adm-1', { status: 'Accepted' }])
    session.callLocal(reset('adm-2'), c.settle)
    socket.receive([4, 'adm-2', 'NotSupported', 'no', { a: 1 }])
    assert.deepEqual(c.outcomes, [
      { kind: 'result', payload: { status: 'Accepted' } },
      { kind: 'call_error', code: 'NotSupported', description: 'no', details: { a: 1 } }
    ])
    assert.deepEqual(backend.records, [])
    assert.equal(session.localCalls, 0)
  })

  test('queued behind a backend Call; the backend still gets its own answer', () => {
    const { session, socket, backend } = fakeSession()
    const c = collect()
    session.fromBackend(reset('be-1'))
    session.callLocal(reset('adm-1'), c.settle)
    assert.equal(session.calls.length, 1)
    socket.receive([3, 'be-1', { status: 'Accepted' }])
    assert.equal(backend.records.length, 1)
    assert.equal((socket.sent[1] as unknown[])[1], 'adm-1')
    socket.receive([3, 'adm-1', { status: 'Rejected' }])
    assert.equal(backend.records.length, 1)
    assert.deepEqual(c.outcomes, [{ kind: 'result', payload: { status: 'Rejected' } }])
  })

  test('queue full, invalid payload (validation on) and disconnect answer the caller with the gateway reason', () => {
    const { session, socket, backend } = fakeSession({ config: { dnstream: { max_mqueue_len: 1 }, message_format_checking: 'all' } })
    const c = collect()
    session.callLocal({ type: 2, id: 'adm-bad', action: 'Reset', payload: { type: 'Sideways' } }, c.settle)
    session.callLocal(reset('adm-1'), c.settle)
    session.callLocal(reset('adm-2'), c.settle)
    session.callLocal(reset('adm-3'), c.settle)
    socket.peerClose()
    assert.deepEqual(c.outcomes.map((o) => o.kind === 'gateway' ? o.reason : o.kind), ['invalid_payload', 'queue_full', 'disconnected', 'disconnected'])
    assert.deepEqual(backend.records, [])
    const late = collect()
    session.callLocal(reset('adm-4'), late.settle)
    assert.deepEqual(late.outcomes.map((o) => o.kind === 'gateway' ? o.reason : o.kind), ['disconnected'])
  })

  test('abandoned: a queued Call is taken out; one in flight stays owed and its answer is dropped', () => {
    const { session, socket, backend } = fakeSession()
    const c = collect()
    session.callLocal(reset('adm-1'), c.settle)
    session.callLocal(reset('adm-2'), c.settle)
    assert.equal(session.abandonLocal('adm-2'), false)
    assert.equal(session.calls.length, 0)
    assert.equal(session.abandonLocal('adm-1'), true)
    socket.receive([3, 'adm-1', { status: 'Accepted' }])
    assert.deepEqual(c.outcomes, [])
    assert.deepEqual(backend.records, [])
    assert.equal(session.calls.inflight, undefined)
    assert.equal(socket.sent.length, 1, 'the abandoned queued Call was never sent')
  })

  test('dnstream.awaiting_timeout answers the caller timeout', () => {
    const { session, backend } = fakeSession({ config: { dnstream: { awaiting_timeout: '1s' } } })
    const c = collect()
    session.callLocal(reset('adm-1'), c.settle)
    session.tick(Date.now() + 5000)
    assert.deepEqual(c.outcomes.map((o) => o.kind === 'gateway' ? o.reason : o.kind), ['timeout'])
    assert.deepEqual(backend.records, [])
  })

  test('a takeover hands queued local Calls to the new connection, still owed to their caller', () => {
    const table = new SessionTable({ metrics: new Metrics(), log: pino({ level: 'silent' }), sweepPeriodMs: 60_000 })
    const a = fakeSession()
    const b = fakeSession()
    const c = collect()
    table.attach(a.session)
    a.session.callLocal(reset('adm-1'), c.settle)
    a.session.callLocal(reset('adm-2'), c.settle)
    table.attach(b.session)
    assert.deepEqual(c.outcomes.map((o) => o.kind === 'gateway' ? o.reason : o.kind), ['disconnected'], 'the one in flight on the old connection')
    assert.equal((b.socket.sent[0] as unknown[])[1], 'adm-2')
    b.socket.receive([3, 'adm-2', { status: 'Accepted' }])
    assert.deepEqual(c.outcomes[1], { kind: 'result', payload: { status: 'Accepted' } })
    assert.deepEqual([...a.backend.records, ...b.backend.records], [])
    table.closeAll()
  })
})

describe('frame trace', () => {
  test('none until asked; then both directions, bounded, oldest first', () => {
    const { session, socket } = fakeSession()
    socket.receive([2, 'h0', 'Heartbeat', {}])
    assert.equal(session.trace, undefined)
    const t = session.traceFrames(3, 60_000)
    socket.receive([2, 'h1', 'Heartbeat', {}])
    session.fromBackend(reset('d1'))
    socket.receive([3, 'd1', {}])
    socket.receive([2, 'h2', 'Heartbeat', {}])
    assert.deepEqual(t.last(10).map((f) => [f.dir, f.text]), [['out', '[2,"d1","Reset",{"type":"Hard"}]'], ['in', '[3,"d1",{}]'], ['in', '[2,"h2","Heartbeat",{}]']])
    assert.deepEqual(t.last(1).map((f) => f.text), ['[2,"h2","Heartbeat",{}]'])
    assert.equal(session.traceFrames(3, 60_000), t, 'asking again keeps the same trace')
  })

  test('followers get each frame and the end once; an unwatched trace idle too long is dropped', () => {
    const { session, socket } = fakeSession()
    const t = session.traceFrames(5, 60_000)
    const seen: Array<TracedFrame | undefined> = []
    t.followers.add((f) => seen.push(f))
    t.lastAskedAt = 0 // long ago, but followed: kept
    socket.receive([2, 'h1', 'Heartbeat', {}])
    assert.equal(session.trace, t)
    socket.peerClose()
    assert.equal(seen.length, 2)
    assert.equal(seen[1], undefined)
    assert.equal(t.followers.size, 0)

    const other = fakeSession()
    other.session.traceFrames(5, 1000).lastAskedAt = Date.now() - 2000
    other.socket.receive([2, 'h1', 'Heartbeat', {}])
    assert.equal(other.session.trace, undefined, 'dropped at its next frame')
  })

  test('a frame over the cap is kept cut and marked', () => {
    const t = new FrameTrace(2, 60_000)
    t.push('in', 'x'.repeat(MAX_TRACED_CHARS + 10), Date.now())
    const [f] = t.last(1)
    assert.equal(f?.text.length, MAX_TRACED_CHARS)
    assert.equal(f?.truncated, true)
  })
})

/** How a session ends: owed backend Calls answered, the end reason, told once, silent after. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession, recordEnds } from '../../helpers/fake-backend.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'

const reset = (id: string, type = 'Hard'): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type } })

/** A session with d1 in flight and d2, d3 queued. */
function withOwedCalls (): ReturnType<typeof fakeSession> {
  const f = fakeSession()
  for (const id of ['d1', 'd2', 'd3']) f.session.fromBackend(reset(id))
  return f
}

describe('session end: owed backend Calls', () => {
  test('on peer close every owed Call (in flight first, then queued) is answered disconnected', () => {
    const { session, socket, backend, metrics } = withOwedCalls()
    const ends = recordEnds(session)
    socket.peerClose(1000, 'bye')
    const description = 'gateway: the charge point disconnected (closed_by_charger) before answering'
    assert.deepEqual(backend.records, ['d1', 'd2', 'd3'].map((id) => ({
      kind: 'answer', to: reset(id), code: 'GenericError', description, details: { reason: 'disconnected' }
    })))
    assert.equal(metrics.get('gateway_answers_total', 'disconnected'), 3)
    assert.deepEqual(ends, [{ reason: 'closed_by_charger', code: 1000, detail: 'bye' }])
    assert.equal(session.closed, true)
    assert.equal(session.calls.inflight, undefined)
    assert.equal(session.calls.length, 0)
    assert.equal(socket.closedWith, undefined, 'the peer closed: the session does not close again')
  })

  test('on close with reason shutdown they are answered shutdown', () => {
    const { session, socket, backend, metrics } = withOwedCalls()
    const ends = recordEnds(session)
    session.close(1001, 'gateway shutting down', 'shutdown')
    const description = 'gateway: the charge point disconnected (shutdown) before answering'
    assert.deepEqual(backend.records, ['d1', 'd2', 'd3'].map((id) => ({
      kind: 'answer', to: reset(id), code: 'GenericError', description, details: { reason: 'shutdown' }
    })))
    assert.equal(metrics.get('gateway_answers_total', 'shutdown'), 3)
    assert.equal(metrics.get('gateway_answers_total', 'disconnected'), 0)
    assert.deepEqual(socket.closedWith, { code: 1001, reason: 'gateway shutting down' })
    assert.deepEqual(ends, [{ reason: 'shutdown', code: 1001, detail: 'gateway shutting down' }])
  })

  test('a charger Call pending at the end gets nothing (the charge point is gone)', () => {
    const { session, socket, backend } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    socket.peerClose()
    assert.deepEqual(socket.sent, [])
    assert.deepEqual(backend.records.map((r) => r.kind), ['forward'])
    assert.equal(session.closed, true)
  })
})

describe('session end: reasons', () => {
  for (const [code, reason, closeCode] of [
    ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'frame_too_large', 1009],
    ['WS_ERR_INVALID_UTF8', 'invalid_utf8', 1007],
    ['ECONNRESET', 'socket_error', 1006]
  ] as const) {
    test(`ws error ${code} then close: end reason ${reason}`, () => {
      const { session, socket, backend, metrics } = withOwedCalls()
      const ends = recordEnds(session)
      socket.error(code)
      assert.equal(session.closed, false, 'the error alone does not end it: the close follows')
      assert.deepEqual(ends, [])
      socket.peerClose(closeCode, '')
      assert.deepEqual(ends, [{ reason, code: closeCode, detail: '' }])
      assert.equal(metrics.get('frames_malformed_total', reason), 1)
      assert.deepEqual(backend.of('answer').map((r) => r.description), ['d1', 'd2', 'd3'].map(() => `gateway: the charge point disconnected (${reason}) before answering`))
      assert.deepEqual(backend.of('answer').map((r) => r.details.reason), ['disconnected', 'disconnected', 'disconnected'])
    })
  }

  test('the first ws error names the end', () => {
    const { session, socket } = fakeSession()
    const ends = recordEnds(session)
    socket.error('WS_ERR_INVALID_UTF8')
    socket.error('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
    socket.peerClose(1007, '')
    assert.deepEqual(ends.map((e) => e.reason), ['invalid_utf8'])
  })
})

describe('session end: once, and silent after', () => {
  test('the end listener is called once, however many ways it ends', () => {
    const { session, socket, backend } = withOwedCalls()
    const ends = recordEnds(session)
    session.close(4001, 'keepalive timeout', 'keepalive_timeout')
    session.close(1000, 'again', 'closed_by_charger')
    session.terminate('ping_timeout')
    socket.peerClose(4001, 'keepalive timeout')
    assert.deepEqual(ends, [{ reason: 'keepalive_timeout', code: 4001, detail: 'keepalive timeout' }])
    assert.deepEqual(socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
    assert.equal(backend.of('answer').length, 3, 'each owed Call answered once')
  })

  test('terminate ends with code 1006 and the reason as detail', () => {
    const { session, socket } = fakeSession()
    const ends = recordEnds(session)
    session.terminate('slow_consumer')
    assert.equal(socket.closedWith, 'terminated')
    assert.deepEqual(ends, [{ reason: 'slow_consumer', code: 1006, detail: 'slow_consumer' }])
  })

  test('nothing is sent after close', () => {
    const { session, socket, metrics } = fakeSession({ version: '2.1' })
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.close(1000, 'bye', 'closed_by_charger')
    const out = metrics.get('frames_out_total')
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: '2026-01-01T00:00:00Z' } })
    session.fromBackend({ type: 6, id: 's1', action: 'NotifyPeriodicEventStream', payload: {} })
    session.fromBackend({ type: 5, id: 'r1', code: 'GenericError', description: '', details: {} })
    session.fromBackend(reset('d1'))
    session.refuse('m1', 'InternalError', 'late')
    session.tick(Date.now() + 600_000)
    assert.deepEqual(socket.sent, [])
    assert.equal(socket.pings, 0)
    assert.equal(metrics.get('frames_out_total'), out)
  })
})

test('a backend Call reaching a session that has ended is answered disconnected, not lost', () => {
  const { session, socket, backend } = fakeSession()
  socket.peerClose(1000, 'bye')
  session.fromBackend({ type: 2, id: 'late-1', action: 'Reset', payload: { type: 'Soft' } })
  assert.deepEqual(socket.sent, [])
  assert.deepEqual(backend.of('answer').map((r) => [r.to.id, r.details.reason]), [['late-1', 'disconnected']])
})

test('the end reports the close code ws sent after a protocol error, not the 1006 of its close event', () => {
  for (const [code, sent] of [['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009], ['WS_ERR_INVALID_UTF8', 1007]] as const) {
    const { session, socket } = fakeSession()
    const ends = recordEnds(session)
    socket.error(code)
    socket.peerClose(1006, '')
    assert.deepEqual(ends.map((e) => e.code), [sent])
  }
})

/** A forwarded Call the bridge could not publish (broker away past its bound) comes back as a CallError. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession } from '../../helpers/fake-backend.js'

describe('upstream: a Call never published', () => {
  test('is answered InternalError once, counted, and no longer pending', () => {
    const { session, socket, backend, metrics } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    const told = backend.undelivered.get('m1')
    assert.ok(told !== undefined, 'a Call is forwarded with an undelivered callback')
    told('timeout', 'not published within 15000 ms')
    assert.equal(socket.sent.length, 1)
    const [type, id, code, description] = socket.sent[0] as [number, string, string, string]
    assert.deepEqual([type, id, code], [4, 'm1', 'InternalError'])
    assert.match(description, /could not be forwarded to the backends: not published within 15000 ms/)
    assert.equal(session.pendingUp.size, 0)
    assert.equal(metrics.get('calls_answered_with_error_total', 'mqtt_timeout'), 1)
    // told again (it cannot be, but): nothing more is sent
    told('timeout', 'again')
    assert.equal(socket.sent.length, 1)
  })

  test('a Call the backend already answered is not answered again', () => {
    const { session, socket, backend } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: '2026-01-01T00:00:00Z' } })
    assert.equal(socket.sent.length, 1)
    backend.undelivered.get('m1')?.('queue_full', 'full')
    assert.equal(socket.sent.length, 1)
  })

  test('answers (CallResult to a backend Call) carry no callback: nothing to answer', () => {
    const { session, socket, backend } = fakeSession()
    session.fromBackend({ type: 2, id: 'b1', action: 'Reset', payload: { type: 'Soft' } })
    socket.receive([3, 'b1', { status: 'Accepted' }])
    assert.equal(backend.undelivered.has('b1'), false)
  })
})

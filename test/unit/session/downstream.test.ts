/** downstream.ts: what the session does with each frame from the backends. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession } from '../../helpers/fake-backend.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'

const reset = (id: string, type = 'Hard'): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type } })
const now = '2026-01-01T00:00:00Z'

describe('downstream: backend Calls', () => {
  test('a Call is sent when none is in flight', () => {
    const { session, socket, backend, metrics } = fakeSession()
    session.fromBackend(reset('d1'))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.deepEqual(session.calls.inflight?.frame, reset('d1'))
    assert.equal(metrics.get('frames_out_total'), 1)
    assert.deepEqual(backend.records, [])
  })

  test('a Call is queued while another is in flight, and sent in order', () => {
    const { session, socket } = fakeSession()
    session.fromBackend(reset('d1'))
    session.fromBackend(reset('d2'))
    session.fromBackend(reset('d3'))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.equal(session.calls.length, 2)
    socket.receive([3, 'd1', { status: 'Accepted' }])
    socket.receive([3, 'd2', { status: 'Accepted' }])
    assert.deepEqual(socket.sent.map((f) => (f as unknown[])[1]), ['d1', 'd2', 'd3'])
    assert.equal(session.calls.length, 0)
  })

  test('past dnstream.max_mqueue_len the Call is answered queue_full', () => {
    const { session, socket, backend, metrics } = fakeSession({ config: { dnstream: { max_mqueue_len: 2 } } })
    for (const id of ['d1', 'd2', 'd3', 'd4']) session.fromBackend(reset(id))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.equal(session.calls.length, 2)
    assert.deepEqual(backend.records, [{
      kind: 'answer',
      to: reset('d4'),
      code: 'GenericError',
      description: 'gateway: 2 Calls already queued for this charge point (dnstream.max_mqueue_len)',
      details: { reason: 'queue_full' }
    }])
    assert.equal(metrics.get('calls_rejected_total', 'queue_full'), 1)
    assert.equal(metrics.get('gateway_answers_total', 'queue_full'), 1)
  })

  test('a Call with the id of one in flight or queued is answered duplicate_id', () => {
    const { session, socket, backend, metrics } = fakeSession()
    session.fromBackend(reset('d1'))
    session.fromBackend(reset('d2'))
    session.fromBackend(reset('d1', 'Soft'))
    session.fromBackend(reset('d2', 'Soft'))
    const description = 'gateway: a Call with this UniqueId is already in flight or queued for this charge point'
    assert.deepEqual(backend.records, [
      { kind: 'answer', to: reset('d1', 'Soft'), code: 'GenericError', description, details: { reason: 'duplicate_id' } },
      { kind: 'answer', to: reset('d2', 'Soft'), code: 'GenericError', description, details: { reason: 'duplicate_id' } }
    ])
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.equal(session.calls.length, 1)
    assert.equal(metrics.get('calls_rejected_total', 'duplicate_id'), 2)
  })

  test('checking on: an invalid Call is answered invalid_payload and not sent', () => {
    const { session, socket, backend, metrics } = fakeSession({ config: { message_format_checking: 'all' } })
    session.fromBackend(reset('d1', 'Sideways'))
    const error = '/type: must be one of "Hard", "Soft" (enum)'
    assert.deepEqual(socket.sent, [])
    assert.equal(session.calls.inflight, undefined)
    const [answer, ...rest] = backend.records
    assert.deepEqual(rest, [])
    assert.equal(answer?.kind, 'answer')
    if (answer?.kind !== 'answer') return
    assert.deepEqual(answer.to, reset('d1', 'Sideways'))
    assert.equal(answer.description, `gateway: not sent, the Call is invalid: ${error}`)
    // The version's code as ErrorCode (README), and in ErrorDetails.code as before.
    assert.equal(answer.code, 'PropertyConstraintViolation')
    assert.deepEqual(answer.details, { reason: 'invalid_payload', error, code: 'PropertyConstraintViolation' })
    assert.equal(metrics.get('validation_failures_total', 'dnstream_check'), 1)
    assert.equal(metrics.get('gateway_answers_total', 'invalid_payload'), 1)
  })

  test('2.0.1, checking on: the invalid Call\'s ErrorCode is the 2.x spelling', () => {
    const { session, backend } = fakeSession({ version: '2.0.1', config: { message_format_checking: 'all' } })
    session.fromBackend({ type: 2, id: 'd1', action: 'Heartbeat', payload: { extra: 1 } })
    assert.deepEqual(backend.of('answer').map((r) => r.code), ['FormatViolation'])
    assert.deepEqual(backend.of('answer').map((r) => r.details), [{
      reason: 'invalid_payload', error: '/extra: property is not allowed by the schema (additionalProperties)', code: 'FormatViolation'
    }])
  })

  test('upstream_only: an invalid backend Call is sent as it is', () => {
    const { session, socket, backend } = fakeSession({ config: { message_format_checking: 'upstream_only' } })
    session.fromBackend(reset('d1', 'Sideways'))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Sideways' }]])
    assert.deepEqual(backend.records, [])
  })
})

describe('downstream: backend answers to charger Calls', () => {
  test('a CallResult to a pending charger Call is sent and the Call is no longer pending', () => {
    const { session, socket, backend } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: now } })
    assert.deepEqual(socket.sent, [[3, 'm1', { currentTime: now }]])
    assert.equal(session.pendingUp.size, 0)
    assert.deepEqual(backend.of('report'), [])
  })

  test('a CallError to a pending charger Call is sent and the Call is no longer pending', () => {
    const { session, socket } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.fromBackend({ type: 4, id: 'm1', code: 'InternalError', description: 'backend down', details: { a: 1 } })
    assert.deepEqual(socket.sent, [[4, 'm1', 'InternalError', 'backend down', { a: 1 }]])
    assert.equal(session.pendingUp.size, 0)
  })

  test('answers to concurrent charger Calls go in the order the backend sends them', () => {
    const { session, socket } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    socket.receive([2, 'm2', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'm2', payload: { currentTime: now } })
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: now } })
    assert.deepEqual(socket.sent, [[3, 'm2', { currentTime: now }], [3, 'm1', { currentTime: now }]])
  })

  test('an answer to no pending charger Call (or a second answer) is reported, not sent', () => {
    const { session, socket, backend, metrics } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: now } })
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: now } })
    session.fromBackend({ type: 4, id: 'zz', code: 'GenericError', description: '', details: {} })
    assert.deepEqual(socket.sent, [[3, 'm1', { currentTime: now }]])
    const description = 'the backend answered a Call the charge point did not send or that was already answered'
    assert.deepEqual(backend.of('report'), [
      { kind: 'report', error: 'unmatched_answer', description, extra: { UniqueId: 'm1' } },
      { kind: 'report', error: 'unmatched_answer', description, extra: { UniqueId: 'zz' } }
    ])
    assert.equal(metrics.get('envelopes_unmatched_total'), 2)
  })

  test('an Accepted BootNotification interval becomes the heartbeat interval', () => {
    const { session, socket } = fakeSession()
    assert.equal(session.heartbeatIntervalMs, 60_000)
    socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
    session.fromBackend({ type: 3, id: 'b1', payload: { status: 'Accepted', currentTime: now, interval: 300 } })
    assert.equal(session.heartbeatIntervalMs, 300_000)
    assert.deepEqual(socket.sent, [[3, 'b1', { status: 'Accepted', currentTime: now, interval: 300 }]])
  })

  test('a Rejected, negative or non-numeric BootNotification interval leaves the heartbeat interval', () => {
    const { session, socket } = fakeSession()
    const payloads = [
      { status: 'Rejected', currentTime: now, interval: 300 },
      { status: 'Accepted', currentTime: now, interval: -5 },
      { status: 'Accepted', currentTime: now, interval: '300' }
    ]
    payloads.forEach((payload, i) => {
      socket.receive([2, `b${i}`, 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
      session.fromBackend({ type: 3, id: `b${i}`, payload })
    })
    assert.equal(session.heartbeatIntervalMs, 60_000)
    assert.equal(socket.sent.length, 3)
  })

  test('an interval in the answer to another action is not a heartbeat interval', () => {
    const { session, socket } = fakeSession()
    socket.receive([2, 'h1', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'h1', payload: { status: 'Accepted', interval: 5 } })
    assert.equal(session.heartbeatIntervalMs, 60_000)
  })

  test('checking on: an invalid CallResult is answered invalid_payload with the version\'s code; the charger Call stays pending', () => {
    const { session, socket, backend, metrics } = fakeSession({ config: { message_format_checking: 'all' } })
    socket.receive([2, 'h1', 'Heartbeat', {}])
    session.fromBackend({ type: 3, id: 'h1', payload: { currentTime: 42 } })
    const error = '/currentTime: must be string (type)'
    assert.deepEqual(backend.of('answer'), [{
      kind: 'answer',
      to: { id: 'h1', action: 'Heartbeat' },
      code: 'TypeConstraintViolation',
      description: `gateway: not sent, the CallResult is invalid: ${error}`,
      details: { reason: 'invalid_payload', error }
    }])
    assert.deepEqual(socket.sent, [])
    assert.equal(session.pendingUp.has('h1'), true)
    assert.equal(metrics.get('validation_failures_total', 'dnstream_check'), 1)
    // A corrected answer goes through.
    session.fromBackend({ type: 3, id: 'h1', payload: { currentTime: now } })
    assert.deepEqual(socket.sent, [[3, 'h1', { currentTime: now }]])
    assert.equal(session.pendingUp.size, 0)
    assert.equal(backend.of('answer').length, 1)
  })

  for (const [version, code] of [['1.6', 'OccurenceConstraintViolation'], ['2.0.1', 'OccurrenceConstraintViolation']] as const) {
    test(`${version}, checking on: a refused CallResult is answered ${code}`, () => {
      const { session, socket, backend } = fakeSession({ version, config: { message_format_checking: 'all' } })
      socket.receive([2, 'h1', 'Heartbeat', {}])
      session.fromBackend({ type: 3, id: 'h1', payload: {} })
      assert.deepEqual(backend.of('answer').map((r) => r.code), [code])
      assert.deepEqual(socket.sent, [])
    })
  }

  test('checking on: a refused BootNotification CallResult does not set the heartbeat interval', () => {
    const { session, socket } = fakeSession({ config: { message_format_checking: 'all' } })
    socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
    session.fromBackend({ type: 3, id: 'b1', payload: { status: 'Accepted', interval: 300 } }) // no currentTime
    assert.equal(session.heartbeatIntervalMs, 60_000)
    assert.deepEqual(socket.sent, [])
  })

  test('checking on: a backend CallError is sent unchecked', () => {
    const { session, socket, backend } = fakeSession({ config: { message_format_checking: 'all' } })
    socket.receive([2, 'h1', 'Heartbeat', {}])
    session.fromBackend({ type: 4, id: 'h1', code: 'Whatever', description: 'x', details: {} })
    assert.deepEqual(socket.sent, [[4, 'h1', 'Whatever', 'x', {}]])
    assert.deepEqual(backend.records.filter((r) => r.kind !== 'forward'), [])
  })
})

describe('downstream: 2.1 SEND and CALLRESULTERROR', () => {
  test('a SEND is sent as it comes, even while a Call is in flight', () => {
    const { session, socket } = fakeSession({ version: '2.1' })
    session.fromBackend({ type: 2, id: 'd1', action: 'ClearCache', payload: {} })
    const payload = { id: 1, pending: 0, basetime: now, data: [{ t: 0, v: '1' }] }
    session.fromBackend({ type: 6, id: 's1', action: 'NotifyPeriodicEventStream', payload })
    assert.deepEqual(socket.sent, [[2, 'd1', 'ClearCache', {}], [6, 's1', 'NotifyPeriodicEventStream', payload]])
    assert.equal(session.calls.inflight?.frame.id, 'd1')
    assert.equal(session.calls.length, 0)
  })

  test('a CALLRESULTERROR is sent as it comes', () => {
    const { session, socket, backend } = fakeSession({ version: '2.1' })
    session.fromBackend({ type: 5, id: 'r1', code: 'FormatViolation', description: 'bad result', details: { x: 1 } })
    assert.deepEqual(socket.sent, [[5, 'r1', 'FormatViolation', 'bad result', { x: 1 }]])
    assert.deepEqual(backend.records, [])
  })

  test('checking on: an invalid SEND is reported invalid_send, not sent', () => {
    const { session, socket, backend } = fakeSession({ version: '2.1', config: { message_format_checking: 'all' } })
    session.fromBackend({ type: 6, id: 's1', action: 'NotifyPeriodicEventStream', payload: { id: 1, pending: 0, basetime: now, data: [] } })
    assert.deepEqual(socket.sent, [])
    assert.deepEqual(backend.records, [{
      kind: 'report',
      error: 'invalid_send',
      description: 'not sent: /data: must NOT have fewer than 1 items (minItems)',
      extra: { UniqueId: 's1', Action: 'NotifyPeriodicEventStream' }
    }])
  })
})

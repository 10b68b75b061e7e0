/** upstream.ts: what the session does with each frame from the charge point. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession, recordEnds } from '../../helpers/fake-backend.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'

const reset = (id: string, type = 'Hard'): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type } })

describe('upstream: Calls and SENDs', () => {
  test('a Call is forwarded with its text and action and remembered as pending', () => {
    const { session, socket, backend, metrics } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 2, id: 'm1', action: 'Heartbeat', payload: {} },
      text: '[2,"m1","Heartbeat",{}]',
      action: 'Heartbeat',
      validationError: undefined
    }])
    assert.deepEqual(socket.sent, [])
    assert.deepEqual([...session.pendingUp.keys()], ['m1'])
    assert.equal(session.pendingUp.get('m1')?.action, 'Heartbeat')
    assert.equal(metrics.get('frames_in_total'), 1)
    assert.equal(session.receivedFrames, 1)
  })

  test('the text forwarded is the frame as received, not re-serialised', () => {
    const { socket, backend } = fakeSession()
    const text = '[2, "m1", "Heartbeat", { }]'
    socket.receive(text)
    assert.equal(backend.of('forward')[0]?.text, text)
  })

  test('2.1: a SEND is forwarded with its action and is not pending', () => {
    const { session, socket, backend } = fakeSession({ version: '2.1' })
    const payload = { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] }
    socket.receive([6, 's1', 'NotifyPeriodicEventStream', payload])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 6, id: 's1', action: 'NotifyPeriodicEventStream', payload },
      text: JSON.stringify([6, 's1', 'NotifyPeriodicEventStream', payload]),
      action: 'NotifyPeriodicEventStream',
      validationError: undefined
    }])
    assert.equal(session.pendingUp.size, 0)
    assert.deepEqual(socket.sent, [])
  })

  test('2.1: a CALLRESULTERROR is forwarded without an action', () => {
    const { socket, backend } = fakeSession({ version: '2.1' })
    socket.receive([5, 'r1', 'FormatViolation', 'bad result', {}])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 5, id: 'r1', code: 'FormatViolation', description: 'bad result', details: {} },
      text: '[5,"r1","FormatViolation","bad result",{}]',
      action: undefined,
      validationError: undefined
    }])
  })

  test('a second Call before the first is answered is forwarded and counted', () => {
    const { session, socket, backend, metrics } = fakeSession()
    socket.receive([2, 'm1', 'Heartbeat', {}])
    assert.equal(metrics.get('calls_concurrent_from_charger_total'), 0)
    socket.receive([2, 'm2', 'Heartbeat', {}])
    assert.deepEqual(backend.of('forward').map((r) => r.frame.id), ['m1', 'm2'])
    assert.equal(metrics.get('calls_concurrent_from_charger_total'), 1)
    assert.deepEqual([...session.pendingUp.keys()], ['m1', 'm2'])
    assert.deepEqual(socket.sent, [])
  })

  test('past upstream.max_pending_calls (32) a charger Call is answered, and every remembered one keeps its answer', () => {
    const MAX = 32
    const { session, socket, backend, metrics } = fakeSession()
    for (let i = 0; i <= MAX; i++) socket.receive([2, `m${i}`, 'Heartbeat', {}])
    assert.equal(backend.of('forward').length, MAX, 'the one past the limit is not forwarded')
    assert.equal(session.pendingUp.size, MAX)
    assert.deepEqual(socket.sent, [[4, `m${MAX}`, 'GenericError', `gateway: ${MAX} Calls from this charge point already await the backend's answer (upstream.max_pending_calls); OCPP-J allows one at a time`, {}]])
    assert.equal(metrics.get('calls_answered_with_error_total', 'too_many_pending'), 1)
    // The oldest is still remembered: its answer goes out (it used to be dropped).
    session.fromBackend({ type: 3, id: 'm0', payload: { currentTime: '2026-01-01T00:00:00Z' } })
    assert.deepEqual(socket.last, [3, 'm0', { currentTime: '2026-01-01T00:00:00Z' }])
    assert.equal(metrics.get('envelopes_unmatched_total'), 0)
  })

  test('upstream.max_pending_calls is a key', () => {
    const { socket, backend } = fakeSession({ config: { upstream: { max_pending_calls: 2 } } })
    for (let i = 0; i < 3; i++) socket.receive([2, `k${i}`, 'Heartbeat', {}])
    assert.equal(backend.of('forward').length, 2)
    assert.equal((socket.last as unknown[])[1], 'k2')
  })
})

describe('upstream: answers to backend Calls', () => {
  test('a CallResult to the Call in flight is forwarded with its action, and the next queued Call is sent', () => {
    const { session, socket, backend } = fakeSession()
    session.fromBackend(reset('d1'))
    session.fromBackend(reset('d2', 'Soft'))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    socket.receive([3, 'd1', { status: 'Accepted' }])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 3, id: 'd1', payload: { status: 'Accepted' } },
      text: '[3,"d1",{"status":"Accepted"}]',
      action: 'Reset',
      validationError: undefined
    }])
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }], [2, 'd2', 'Reset', { type: 'Soft' }]])
    assert.equal(session.calls.inflight?.frame.id, 'd2')
    assert.equal(session.calls.length, 0)
  })

  test('a CallError to the Call in flight is forwarded with its action, and the next queued Call is sent', () => {
    const { session, socket, backend } = fakeSession()
    session.fromBackend(reset('d1'))
    session.fromBackend({ type: 2, id: 'd2', action: 'ClearCache', payload: {} })
    socket.receive([4, 'd1', 'NotSupported', 'no reset here', {}])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 4, id: 'd1', code: 'NotSupported', description: 'no reset here', details: {} },
      text: '[4,"d1","NotSupported","no reset here",{}]',
      action: 'Reset',
      validationError: undefined
    }])
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }], [2, 'd2', 'ClearCache', {}]])
  })

  test('a CallError without ErrorDetails (4 elements) is accepted', () => {
    const { session, socket, backend } = fakeSession()
    session.fromBackend(reset('d1'))
    socket.receive([4, 'd1', 'InternalError', 'oops'])
    assert.deepEqual(backend.of('forward').map((r) => r.frame), [{ type: 4, id: 'd1', code: 'InternalError', description: 'oops', details: {} }])
    assert.equal(session.calls.inflight, undefined)
  })

  test('an answer to no Call in flight is reported unmatched_answer, not forwarded', () => {
    const { session, socket, backend, metrics } = fakeSession()
    session.fromBackend(reset('d1'))
    socket.receive([3, 'x9', {}])
    assert.deepEqual(backend.records, [{
      kind: 'report',
      error: 'unmatched_answer',
      description: 'the charge point answered a Call that is not in flight',
      extra: { UniqueId: 'x9', Frame: '[3,"x9",{}]' }
    }])
    assert.equal(metrics.get('frames_unmatched_total', 'unmatched_answer'), 1)
    assert.equal(session.calls.inflight?.frame.id, 'd1', 'the Call in flight stays in flight')
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
  })

  test('an answer after the Call timed out is reported late_answer, not forwarded', () => {
    const { session, socket, backend, metrics } = fakeSession()
    session.fromBackend(reset('d1'))
    session.tick(Date.now() + 31_000) // dnstream.awaiting_timeout: 30 s
    assert.deepEqual(backend.of('answer').map((r) => r.details.reason), ['timeout'])
    socket.receive([4, 'd1', 'InternalError', 'too slow', {}])
    assert.deepEqual(backend.of('report'), [{
      kind: 'report',
      error: 'late_answer',
      description: 'the charge point answered after dnstream.awaiting_timeout; the backend already got a timeout error',
      extra: { UniqueId: 'd1', Frame: '[4,"d1","InternalError","too slow",{}]' }
    }])
    assert.equal(metrics.get('frames_unmatched_total', 'late_answer'), 1)
    assert.equal(metrics.get('frames_unmatched_total', 'unmatched_answer'), 0)
    assert.equal(backend.of('forward').length, 0)
  })
})

describe('upstream: malformed frames', () => {
  for (const [version, code] of [['1.6', 'FormationViolation'], ['2.0.1', 'RpcFrameworkError'], ['2.1', 'RpcFrameworkError']] as const) {
    test(`${version}: a frame that is not JSON is answered ${code} with id "-1"`, () => {
      const { session, socket, backend, metrics } = fakeSession({ version })
      socket.receive('[2,"m1","Heartbeat",')
      assert.deepEqual(socket.sent, [[4, '-1', code, 'message is not valid JSON', {}]])
      assert.deepEqual(backend.records, [])
      assert.equal(session.pendingUp.size, 0)
      assert.equal(metrics.get('frames_malformed_total', 'rpcFramework'), 1)
      assert.equal(metrics.get('calls_answered_with_error_total', code), 1)
    })
  }

  for (const [version, code] of [['1.6', 'FormationViolation'], ['2.0.1', 'FormatViolation']] as const) {
    test(`${version}: a Call whose payload is not an object is answered ${code} with its id`, () => {
      const { socket, backend, metrics } = fakeSession({ version })
      socket.receive([2, 'm2', 'Heartbeat', []])
      assert.deepEqual(socket.sent, [[4, 'm2', code, 'Payload is not a JSON object', {}]])
      assert.deepEqual(backend.records, [])
      assert.equal(metrics.get('frames_malformed_total', 'formatViolation'), 1)
    })
  }

  for (const [version, code] of [['1.6', 'FormationViolation'], ['2.0.1', 'MessageTypeNotSupported']] as const) {
    test(`${version}: an unknown MessageTypeId is answered ${code} with its id`, () => {
      const { socket, backend } = fakeSession({ version })
      socket.receive([7, 'm3', 'Heartbeat', {}])
      assert.deepEqual(socket.sent, [[4, 'm3', code, `MessageTypeId 7 is not supported by OCPP ${version}`, {}]])
      assert.deepEqual(backend.records, [])
    })
  }

  test('an id over 36 characters is unreadable: answered with id "-1"', () => {
    const { socket } = fakeSession({ version: '2.0.1' })
    socket.receive([2, 'x'.repeat(37), 'Heartbeat', {}])
    assert.deepEqual(socket.sent, [[4, '-1', 'RpcFrameworkError', 'MessageId must be 1 to 36 characters', {}]])
  })

  test('a malformed CallResult is reported malformed_frame, never answered', () => {
    const { session, socket, backend, metrics } = fakeSession()
    session.fromBackend(reset('d1'))
    socket.receive('[3,"d1","yes"]')
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.deepEqual(backend.records, [{
      kind: 'report',
      error: 'malformed_frame',
      description: 'Payload is not a JSON object',
      extra: { ErrorCode: 'FormationViolation', UniqueId: 'd1', Frame: '[3,"d1","yes"]' }
    }])
    assert.equal(metrics.get('frames_malformed_total', 'formatViolation'), 1)
    assert.equal(metrics.get('calls_answered_with_error_total'), 0)
  })

  test('a malformed CallError (2.0.1) is reported with the 2.x code, never answered', () => {
    const { socket, backend } = fakeSession({ version: '2.0.1' })
    socket.receive('[4,"d1","InternalError","x","details"]')
    assert.deepEqual(socket.sent, [])
    assert.deepEqual(backend.records, [{
      kind: 'report',
      error: 'malformed_frame',
      description: 'ErrorDetails is not a JSON object',
      extra: { ErrorCode: 'FormatViolation', UniqueId: 'd1', Frame: '[4,"d1","InternalError","x","details"]' }
    }])
  })

  test('more than max_malformed_frames within the window closes with 1008', () => {
    const { session, socket, backend } = fakeSession({ limits: { maxMalformedFrames: 2 } })
    const ends = recordEnds(session)
    session.fromBackend(reset('d1'))
    socket.receive('nope')
    socket.receive('nope')
    assert.equal(socket.closedWith, undefined)
    assert.equal(socket.sent.length, 3)
    socket.receive('nope')
    assert.deepEqual(socket.closedWith, { code: 1008, reason: 'too many malformed frames' })
    assert.equal(socket.sent.length, 3, 'the third is not answered')
    assert.deepEqual(ends, [{ reason: 'too_many_malformed', code: 1008, detail: 'too many malformed frames' }])
    assert.equal(session.closed, true)
    assert.deepEqual(backend.of('answer').map((r) => [r.to.id, r.details.reason]), [['d1', 'disconnected']])
  })

  test('the malformed count starts again once the window has passed', () => {
    const { session, socket } = fakeSession({ limits: { maxMalformedFrames: 2 } })
    socket.receive('nope')
    socket.receive('nope')
    session.malformed.since -= 61_000 // the window (60 s) began 61 s ago
    socket.receive('nope')
    assert.equal(socket.closedWith, undefined)
    assert.equal(session.malformed.count, 1)
    assert.equal(socket.sent.length, 3)
  })

  test('a binary frame closes with 1003', () => {
    const { session, socket, backend, metrics } = fakeSession()
    const ends = recordEnds(session)
    socket.receiveBinary(Buffer.from([2, 0, 1]))
    assert.deepEqual(socket.closedWith, { code: 1003, reason: 'binary frames are not supported' })
    assert.deepEqual(ends, [{ reason: 'binary_frame', code: 1003, detail: 'binary frames are not supported' }])
    assert.equal(metrics.get('frames_malformed_total', 'binary'), 1)
    assert.equal(metrics.get('frames_in_total'), 0)
    assert.equal(session.receivedFrames, 0)
    assert.deepEqual(socket.sent, [])
    assert.deepEqual(backend.records, [])
  })
})

describe('upstream: message_format_checking', () => {
  for (const [version, code] of [['1.6', 'OccurenceConstraintViolation'], ['2.0.1', 'OccurrenceConstraintViolation']] as const) {
    test(`all, ${version}: an invalid Call is answered ${code} and not forwarded`, () => {
      const { session, socket, backend, metrics } = fakeSession({ version, config: { message_format_checking: 'all' } })
      socket.receive([2, 'b1', 'BootNotification', {}])
      const field = version === '1.6' ? 'chargePointVendor' : 'reason'
      assert.deepEqual(socket.sent, [[4, 'b1', code, `/${field}: required property is missing (required)`, {}]])
      assert.deepEqual(backend.records, [])
      assert.equal(session.pendingUp.size, 0)
      assert.equal(metrics.get('validation_failures_total', 'upstream_check'), 1)
      assert.equal(metrics.get('calls_answered_with_error_total', code), 1)
    })
  }

  test('all: a Call of an unknown action is answered NotImplemented', () => {
    const { socket, backend } = fakeSession({ config: { message_format_checking: 'all' } })
    socket.receive([2, 'u1', 'NoSuchAction', {}])
    assert.deepEqual(socket.sent, [[4, 'u1', 'NotImplemented', 'action "NoSuchAction" is not an OCPP 1.6 action', {}]])
    assert.deepEqual(backend.records, [])
  })

  test('all: a valid Call is forwarded without validationError', () => {
    const { socket, backend } = fakeSession({ config: { message_format_checking: 'all' } })
    socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
    assert.deepEqual(backend.of('forward').map((r) => [r.frame.id, r.validationError]), [['b1', undefined]])
    assert.deepEqual(socket.sent, [])
  })

  test('warn only: an invalid Call is forwarded with validationError', () => {
    const { session, socket, backend, metrics } = fakeSession({ config: { message_format_checking: 'all', message_format_warn_only: true } })
    socket.receive([2, 'b1', 'BootNotification', {}])
    assert.deepEqual(backend.records, [{
      kind: 'forward',
      frame: { type: 2, id: 'b1', action: 'BootNotification', payload: {} },
      text: '[2,"b1","BootNotification",{}]',
      action: 'BootNotification',
      validationError: '/chargePointVendor: required property is missing (required)'
    }])
    assert.deepEqual(socket.sent, [])
    assert.equal(session.pendingUp.has('b1'), true)
    assert.equal(metrics.get('validation_failures_total', 'upstream_warn'), 1)
    assert.equal(metrics.get('validation_failures_total', 'upstream_check'), 0)
  })

  test('dnstream_only: an invalid Call from the charge point is forwarded unmarked', () => {
    const { socket, backend, metrics } = fakeSession({ config: { message_format_checking: 'dnstream_only' } })
    socket.receive([2, 'b1', 'BootNotification', {}])
    assert.deepEqual(backend.of('forward').map((r) => [r.frame.id, r.validationError]), [['b1', undefined]])
    assert.equal(metrics.get('validation_failures_total'), 0)
  })

  test('all: an invalid CallResult to a backend Call is answered invalid_charger_answer, not forwarded; the next Call goes', () => {
    const { session, socket, backend } = fakeSession({ config: { message_format_checking: 'all' } })
    session.fromBackend(reset('d1'))
    session.fromBackend(reset('d2', 'Soft'))
    socket.receive([3, 'd1', { status: 'Maybe' }])
    const error = '/status: must be one of "Accepted", "Rejected" (enum)'
    assert.deepEqual(backend.records, [{
      kind: 'answer',
      to: reset('d1'),
      code: 'GenericError',
      description: `gateway: the charge point's CallResult is invalid: ${error}`,
      details: { reason: 'invalid_charger_answer', payload: { status: 'Maybe' }, error }
    }])
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }], [2, 'd2', 'Reset', { type: 'Soft' }]])
  })

  test('2.1, all: an invalid SEND is reported invalid_send, never answered', () => {
    const { socket, backend } = fakeSession({ version: '2.1', config: { message_format_checking: 'all' } })
    socket.receive([6, 's1', 'NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] }])
    assert.deepEqual(socket.sent, [])
    assert.deepEqual(backend.records, [{
      kind: 'report',
      error: 'invalid_send',
      description: '/data: must NOT have fewer than 1 items (minItems)',
      extra: { UniqueId: 's1', Action: 'NotifyPeriodicEventStream' }
    }])
  })
})

describe('max_json_depth: frames nested too deep never reach anything recursive', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)

  test('a deep Call is answered with its id and the version\'s code, not forwarded', () => {
    for (const version of ['1.6', '2.0.1'] as const) {
      const { socket, backend, metrics } = fakeSession({ version })
      socket.receive(`[2,"d1","DataTransfer",{"vendorId":"v","data":${deep(5000)}}]`)
      const code = version === '1.6' ? 'FormationViolation' : 'FormatViolation'
      assert.deepEqual(socket.sent, [[4, 'd1', code, 'message nests deeper than 64 levels (max_json_depth)', {}]])
      assert.deepEqual(backend.of('forward'), [])
      assert.equal(metrics.get('frames_malformed_total', 'formatViolation'), 1)
    }
  })

  test('a deep CallError answering a backend Call, and a deep 2.1 CALLRESULTERROR, are reported, not forwarded', () => {
    const { session, socket, backend } = fakeSession({ version: '2.1' })
    session.fromBackend({ type: 2, id: 'b1', action: 'Reset', payload: { type: 'Immediate' } })
    socket.receive(`[4,"b1","InternalError","x",{"d":${deep(5000)}}]`)
    socket.receive(`[5,"b2","InternalError","x",{"d":${deep(5000)}}]`)
    assert.deepEqual(backend.of('forward'), [])
    assert.deepEqual(backend.of('report').map((r) => [r.error, r.extra.UniqueId]), [['malformed_frame', 'b1'], ['malformed_frame', 'b2']])
  })
})

describe('the last-resort guard of a frame', () => {
  test('a bug while handling a Call costs that Call an InternalError, not the process', () => {
    const { socket, backend, metrics } = fakeSession()
    backend.forward = () => { throw new Error('boom') }
    socket.receive([2, 'g1', 'Heartbeat', {}])
    assert.deepEqual(socket.sent, [[4, 'g1', 'InternalError', 'gateway: internal error while handling this message', {}]])
    assert.equal(metrics.get('internal_errors_total', 'upstream'), 1)
    socket.receive([3, 'nothing', {}]) // and the session goes on
    assert.equal(backend.of('report').length, 1)
  })
})

describe('an Action outside the OCPP grammar never reaches a topic', () => {
  for (const action of ['#', 'a/+/b', 'Nul\u0000', 'x'.repeat(65), 'Spa ce']) {
    test(`Action ${JSON.stringify(action.slice(0, 12))} is answered the version's RPC framework error`, () => {
      const { socket, backend } = fakeSession({ version: '2.0.1' })
      socket.receive([2, 'a1', action, {}])
      assert.deepEqual(socket.sent, [[4, 'a1', 'RpcFrameworkError', 'Action must be 1 to 64 letters, digits, "_", "-" or "."', {}]])
      assert.deepEqual(backend.of('forward'), [])
    })
  }
})

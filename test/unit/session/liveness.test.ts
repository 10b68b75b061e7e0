/** liveness.ts: everything time-driven, with time given to tick() / checkLiveness(). */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeSession, recordEnds } from '../../helpers/fake-backend.js'
import { checkLiveness } from '../../../src/session/liveness.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'
import type { Session } from '../../../src/session/session.js'

const reset = (id: string, type = 'Hard'): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type } })

/** As if the socket's last sign of life and last ping were `ms` ago. */
function quietFor (s: Session, ms: number): void {
  const t = Date.now() - ms
  s.lastActivityAt = t
  s.lastPingAt = t
}

describe('liveness: backend Calls not answered in time', () => {
  test('after dnstream.awaiting_timeout the backend is answered timeout and the next queued Call is sent', () => {
    const t0 = Date.now()
    const { session, socket, backend, metrics } = fakeSession({ config: { dnstream: { awaiting_timeout: '5s' } } })
    session.fromBackend(reset('d1'))
    session.fromBackend(reset('d2'))
    session.tick(t0 + 4_000)
    assert.deepEqual(backend.records, [])
    assert.equal(socket.sent.length, 1)
    session.tick(t0 + 6_000)
    assert.deepEqual(backend.records, [{
      kind: 'answer',
      to: reset('d1'),
      code: 'GenericError',
      description: 'gateway: the charge point did not answer within 5000 ms (dnstream.awaiting_timeout)',
      details: { reason: 'timeout' }
    }])
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }], [2, 'd2', 'Reset', { type: 'Hard' }]])
    assert.equal(metrics.get('gateway_answers_total', 'timeout'), 1)
    // d2 was sent at t0 + 6 s: its own timeout counts from then.
    session.tick(t0 + 10_000)
    assert.equal(backend.records.length, 1)
    checkLiveness(session, t0 + 11_000)
    assert.deepEqual(backend.of('answer').map((r) => [r.to.id, r.details.reason]), [['d1', 'timeout'], ['d2', 'timeout']])
    assert.equal(session.calls.inflight, undefined)
    assert.equal(session.closed, false)
  })

  test('a timed-out Call does not close the session', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { dnstream: { awaiting_timeout: '5s' } } })
    session.fromBackend(reset('d1'))
    session.tick(t0 + 6_000)
    assert.equal(socket.closedWith, undefined)
  })
})

describe('liveness: charger Calls the backend does not answer', () => {
  test('after upstream.awaiting_timeout the charger gets an InternalError, counted backend_timeout', () => {
    const t0 = Date.now()
    const { session, socket, backend, metrics } = fakeSession({ config: { upstream: { awaiting_timeout: '10s' } } })
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.tick(t0 + 9_000)
    assert.deepEqual(socket.sent, [])
    session.tick(t0 + 11_000)
    assert.deepEqual(socket.sent, [[4, 'm1', 'InternalError', 'the backend did not answer Heartbeat within 10000 ms', {}]])
    assert.equal(session.pendingUp.size, 0)
    assert.equal(metrics.get('calls_answered_with_error_total', 'backend_timeout'), 1)
    assert.equal(metrics.get('calls_answered_with_error_total', 'InternalError'), 0)
    // The backend's late answer is not sent.
    session.fromBackend({ type: 3, id: 'm1', payload: { currentTime: '2026-01-01T00:00:00Z' } })
    assert.equal(socket.sent.length, 1)
    assert.deepEqual(backend.of('report').map((r) => r.error), ['unmatched_answer'])
  })

  test('2.0.1: the same InternalError spelling', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ version: '2.0.1', config: { upstream: { awaiting_timeout: '10s' } } })
    socket.receive([2, 'm1', 'Heartbeat', {}])
    socket.receive([2, 'm2', 'StatusNotification', {}])
    session.tick(t0 + 11_000)
    assert.deepEqual(socket.sent, [
      [4, 'm1', 'InternalError', 'the backend did not answer Heartbeat within 10000 ms', {}],
      [4, 'm2', 'InternalError', 'the backend did not answer StatusNotification within 10000 ms', {}]
    ])
  })

  test('upstream.awaiting_timeout is off by default: a charger Call waits', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { default_heartbeat_interval: '1h' }, limits: { pingIntervalMs: 0 } })
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.tick(t0 + 600_000)
    assert.deepEqual(socket.sent, [])
    assert.equal(session.pendingUp.has('m1'), true)
  })
})

describe('liveness: keepalive and idle timeout', () => {
  test('no text frame within heartbeat interval x (backoff + 1/2) closes with 4001', () => {
    const t0 = Date.now()
    const { session, socket, metrics } = fakeSession({
      config: { default_heartbeat_interval: '10s', heartbeat_checking_times_backoff: 2 },
      limits: { pingIntervalMs: 0 }
    })
    const ends = recordEnds(session)
    session.tick(t0 + 24_000) // 10 s x 2.5 = 25 s
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 26_000)
    assert.deepEqual(socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
    assert.deepEqual(ends, [{ reason: 'keepalive_timeout', code: 4001, detail: 'keepalive timeout' }])
    assert.equal(metrics.get('keepalive_timeouts_total'), 1)
  })

  test('the keepalive uses the interval of an Accepted BootNotification', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({
      config: { default_heartbeat_interval: '10s', heartbeat_checking_times_backoff: 2 },
      limits: { pingIntervalMs: 0 }
    })
    socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
    session.fromBackend({ type: 3, id: 'b1', payload: { status: 'Accepted', currentTime: '2026-01-01T00:00:00Z', interval: 30 } })
    session.tick(t0 + 74_000) // 30 s x 2.5 = 75 s
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 76_000)
    assert.deepEqual(socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
  })

  test('idle_timeout closes with 4003 when no frame came', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { idle_timeout: '5s' } })
    const ends = recordEnds(session)
    session.tick(t0 + 4_000)
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 6_000)
    assert.deepEqual(socket.closedWith, { code: 4003, reason: 'no message within idle_timeout' })
    assert.deepEqual(ends, [{ reason: 'idle_timeout', code: 4003, detail: 'no message within idle_timeout' }])
  })

  test('idle_timeout does not close once a frame came (even a malformed one)', () => {
    const t0 = Date.now()
    const a = fakeSession({ config: { idle_timeout: '5s' } })
    a.socket.receive([2, 'm1', 'Heartbeat', {}])
    a.session.tick(t0 + 6_000)
    assert.equal(a.socket.closedWith, undefined)
    const b = fakeSession({ config: { idle_timeout: '5s' } })
    b.socket.receive('not json')
    b.session.tick(t0 + 6_000)
    assert.equal(b.socket.closedWith, undefined)
  })
})

describe('liveness: pings', () => {
  test('a ping goes out after the ping interval, once per interval', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { default_heartbeat_interval: '10m' } })
    session.tick(t0 + 29_000)
    assert.equal(socket.pings, 0)
    session.tick(t0 + 30_500)
    assert.equal(socket.pings, 1)
    session.tick(t0 + 31_000)
    assert.equal(socket.pings, 1)
    assert.equal(socket.closedWith, undefined)
  })

  test('no pong (nor frame) for 2 ping intervals terminates', () => {
    const t0 = Date.now()
    const { session, socket, metrics } = fakeSession({ config: { default_heartbeat_interval: '10m' } })
    const ends = recordEnds(session)
    session.tick(t0 + 30_500)
    session.tick(t0 + 59_000)
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 60_600)
    assert.equal(socket.closedWith, 'terminated')
    assert.deepEqual(ends, [{ reason: 'ping_timeout', code: 1006, detail: 'ping_timeout' }])
    assert.equal(metrics.get('ping_timeouts_total'), 1)
  })

  test('a pong keeps it alive', () => {
    const quiet = fakeSession({ config: { default_heartbeat_interval: '10m' } })
    const ponged = fakeSession({ config: { default_heartbeat_interval: '10m' } })
    quietFor(quiet.session, 50_000)
    quietFor(ponged.session, 50_000)
    ponged.socket.pong()
    const t = Date.now() + 20_000
    quiet.session.tick(t)
    ponged.session.tick(t)
    assert.equal(quiet.socket.closedWith, 'terminated')
    assert.equal(ponged.socket.closedWith, undefined)
    assert.equal(ponged.socket.pings, 1, 'the ping is still due')
  })

  test('a text frame keeps it alive too', () => {
    const { session, socket } = fakeSession({ config: { default_heartbeat_interval: '10m' } })
    quietFor(session, 50_000)
    socket.receive([2, 'm1', 'Heartbeat', {}])
    session.tick(Date.now() + 20_000)
    assert.equal(socket.closedWith, undefined)
  })

  test('ping interval 0: no ping, no ping timeout', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { default_heartbeat_interval: '10m' }, limits: { pingIntervalMs: 0 } })
    session.tick(t0 + 300_000)
    assert.equal(socket.pings, 0)
    assert.equal(socket.closedWith, undefined)
  })
})

describe('liveness: slow consumer', () => {
  const limits = { highWatermark: 1024, slowConsumerTimeoutMs: 5_000 }

  test('over high_watermark for longer than slow_consumer_timeout terminates', () => {
    const t0 = Date.now()
    const { session, socket, metrics } = fakeSession({ limits })
    const ends = recordEnds(session)
    socket.bufferedAmount = 1025
    session.tick(t0 + 1_000)
    assert.equal(session.overWatermarkSince, t0 + 1_000)
    session.tick(t0 + 6_000)
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 6_001)
    assert.equal(socket.closedWith, 'terminated')
    assert.deepEqual(ends, [{ reason: 'slow_consumer', code: 1006, detail: 'slow_consumer' }])
    assert.equal(metrics.get('slow_consumers_closed_total'), 1)
  })

  test('falling back under high_watermark starts the count again', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ limits })
    socket.bufferedAmount = 1025
    session.tick(t0 + 1_000)
    socket.bufferedAmount = 1024
    session.tick(t0 + 2_000)
    assert.equal(session.overWatermarkSince, 0)
    socket.bufferedAmount = 1025
    session.tick(t0 + 3_000)
    session.tick(t0 + 7_000)
    assert.equal(socket.closedWith, undefined)
    session.tick(t0 + 8_001)
    assert.equal(socket.closedWith, 'terminated')
  })

  test('far over (more than 4x) at a send terminates at once; the Call sent is answered disconnected', () => {
    const { session, socket, backend, metrics } = fakeSession({ limits })
    const ends = recordEnds(session)
    socket.bufferedAmount = 4 * 1024 + 1
    session.fromBackend(reset('d1'))
    assert.deepEqual(socket.sent, [[2, 'd1', 'Reset', { type: 'Hard' }]])
    assert.equal(socket.closedWith, 'terminated')
    assert.deepEqual(ends, [{ reason: 'slow_consumer', code: 1006, detail: 'slow_consumer' }])
    assert.equal(metrics.get('slow_consumers_closed_total'), 1)
    assert.deepEqual(backend.records, [{
      kind: 'answer',
      to: reset('d1'),
      code: 'GenericError',
      description: 'gateway: the charge point disconnected (slow_consumer) before answering',
      details: { reason: 'disconnected' }
    }])
  })

  test('exactly 4x at a send does not terminate', () => {
    const { session, socket } = fakeSession({ limits })
    socket.bufferedAmount = 4 * 1024
    session.fromBackend(reset('d1'))
    assert.equal(socket.closedWith, undefined)
  })
})

test('a closed session is not checked', () => {
  const t0 = Date.now()
  const { session, socket, backend } = fakeSession({ config: { dnstream: { awaiting_timeout: '5s' } } })
  session.fromBackend(reset('d1'))
  session.close(1000, 'bye', 'closed_by_charger')
  const records = backend.records.length
  session.tick(t0 + 600_000)
  assert.equal(backend.records.length, records)
  assert.equal(socket.pings, 0)
  assert.deepEqual(socket.closedWith, { code: 1000, reason: 'bye' })
})

describe('liveness: the keepalive rule (issue 12 item 5)', () => {
  test('a charger that keeps its interval is never closed for jitter; one interval and a half of silence is', () => {
    const t0 = Date.now()
    const { session, socket } = fakeSession({ config: { default_heartbeat_interval: '10s' }, limits: { pingIntervalMs: 0 } })
    // Heartbeats every 10 s, each up to 2 s late, the sweep checking every 100 ms in between.
    let last = t0
    for (let k = 1; k <= 10; k++) {
      const at = t0 + k * 10_000 + (k % 2 === 0 ? 2000 : -2000)
      for (let now = last; now < at; now += 100) session.tick(now)
      session.lastFrameAt = at
      last = at
    }
    assert.equal(socket.closedWith, undefined)
    session.tick(last + 15_001)
    assert.deepEqual(socket.closedWith, { code: 4001, reason: 'keepalive timeout' })
  })

  test('a heartbeat interval of 0 (config or an Accepted BootNotification) is no keepalive check', () => {
    const t0 = Date.now()
    const zero = fakeSession({ config: { default_heartbeat_interval: 0 }, limits: { pingIntervalMs: 0 } })
    zero.session.tick(t0 + 250)
    zero.session.tick(t0 + 86_400_000)
    assert.equal(zero.socket.closedWith, undefined)
    const boot = fakeSession({ limits: { pingIntervalMs: 0 } })
    boot.socket.receive([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }])
    boot.session.fromBackend({ type: 3, id: 'b1', payload: { status: 'Accepted', currentTime: '2026-01-01T00:00:00Z', interval: 0 } })
    boot.session.tick(t0 + 86_400_000)
    assert.equal(boot.socket.closedWith, undefined)
  })
})

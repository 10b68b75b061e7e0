/** call-queue.ts alone: one backend Call in flight, a bounded FIFO behind it. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { CallQueue } from '../../../src/session/call-queue.js'
import type { CallFrame } from '../../../src/ocpp/frame.js'

const call = (id: string): CallFrame => ({ type: 2, id, action: 'Reset', payload: { type: 'Hard' } })

/** A queue with `id` sent at `at`. */
function withInflight (id = 'a', at = 1000, max = 3): CallQueue {
  const q = new CallQueue(max)
  assert.equal(q.offer(call(id)), 'send')
  q.sent(call(id), at)
  return q
}

describe('CallQueue: offer and sent', () => {
  test('an empty queue says send, and holds nothing until sent()', () => {
    const q = new CallQueue(3)
    assert.equal(q.offer(call('a')), 'send')
    assert.equal(q.inflight, undefined)
    assert.equal(q.length, 0)
    q.sent(call('a'), 1000)
    assert.deepEqual(q.inflight, { frame: call('a'), sentAt: 1000 })
  })

  test('while one is in flight, Calls are queued up to max, then full', () => {
    const q = withInflight('a', 1000, 2)
    assert.equal(q.offer(call('b')), 'queued')
    assert.equal(q.offer(call('c')), 'queued')
    assert.equal(q.length, 2)
    assert.equal(q.offer(call('d')), 'full')
    assert.equal(q.length, 2)
  })

  test('the id of the Call in flight or of a queued one is a duplicate, even when full', () => {
    const q = withInflight('a', 1000, 1)
    assert.equal(q.offer(call('a')), 'duplicate')
    assert.equal(q.offer(call('b')), 'queued')
    assert.equal(q.offer(call('b')), 'duplicate')
    assert.equal(q.offer(call('a')), 'duplicate')
    assert.equal(q.offer(call('c')), 'full')
    assert.equal(q.length, 1)
  })
})

describe('CallQueue: answer and next', () => {
  test('answer(id) of the Call in flight returns it and frees the slot', () => {
    const q = withInflight('a')
    assert.deepEqual(q.answer('a'), call('a'))
    assert.equal(q.inflight, undefined)
    assert.equal(q.answer('a'), undefined, 'answered once')
  })

  test('answer(id) of another id returns undefined and keeps the Call in flight', () => {
    const q = withInflight('a')
    q.offer(call('b'))
    assert.equal(q.answer('b'), undefined, 'a queued Call is not in flight')
    assert.equal(q.answer('zz'), undefined)
    assert.equal(q.inflight?.frame.id, 'a')
    assert.equal(new CallQueue(3).answer('a'), undefined)
  })

  test('next() is undefined while one is in flight, then the queue in FIFO order', () => {
    const q = withInflight('a')
    q.offer(call('b'))
    q.offer(call('c'))
    assert.equal(q.next(), undefined)
    q.answer('a')
    assert.deepEqual(q.next(), call('b'))
    // next() takes it off the queue but does not make it in flight: sent() does.
    assert.equal(q.inflight, undefined)
    assert.equal(q.length, 1)
    q.sent(call('b'), 2000)
    assert.equal(q.next(), undefined)
    q.answer('b')
    assert.deepEqual(q.next(), call('c'))
    assert.equal(q.next(), undefined)
    assert.equal(q.length, 0)
  })
})

describe('CallQueue: expire and wasTimedOut', () => {
  test('the Call in flight expires once timeoutMs have passed since sentAt', () => {
    const q = withInflight('a', 1000)
    assert.equal(q.expire(5999, 5000), undefined)
    assert.equal(q.inflight?.frame.id, 'a')
    assert.equal(q.wasTimedOut('a'), false)
    assert.deepEqual(q.expire(6000, 5000), call('a'))
    assert.equal(q.inflight, undefined)
    assert.equal(q.wasTimedOut('a'), true)
    assert.equal(q.expire(99_999, 5000), undefined, 'nothing in flight')
  })

  test('an answered Call is not timed out', () => {
    const q = withInflight('a', 1000)
    q.answer('a')
    assert.equal(q.wasTimedOut('a'), false)
  })

  test('the last 8 timed-out ids are remembered, the oldest forgotten first', () => {
    const q = new CallQueue(3)
    for (let i = 1; i <= 9; i++) {
      q.sent(call(`t${i}`), i * 1000)
      assert.equal(q.expire(i * 1000 + 5000, 5000)?.id, `t${i}`)
    }
    assert.equal(q.wasTimedOut('t1'), false)
    for (let i = 2; i <= 9; i++) assert.equal(q.wasTimedOut(`t${i}`), true, `t${i}`)
  })

  test('expire() does not send the next one: next() does', () => {
    const q = withInflight('a', 1000)
    q.offer(call('b'))
    q.expire(10_000, 5000)
    assert.equal(q.inflight, undefined)
    assert.equal(q.length, 1)
    assert.deepEqual(q.next(), call('b'))
  })
})

describe('CallQueue: drain and takeWaiting', () => {
  test('drain() returns the Call in flight first, then the queue, and empties both', () => {
    const q = withInflight('a')
    q.offer(call('b'))
    q.offer(call('c'))
    assert.deepEqual(q.drain(), [call('a'), call('b'), call('c')])
    assert.equal(q.inflight, undefined)
    assert.equal(q.length, 0)
    assert.deepEqual(q.drain(), [])
  })

  test('drain() with nothing in flight returns the queue', () => {
    const q = withInflight('a')
    q.offer(call('b'))
    q.answer('a')
    assert.deepEqual(q.drain(), [call('b')])
  })

  test('takeWaiting() returns the queue and leaves the Call in flight', () => {
    const q = withInflight('a')
    q.offer(call('b'))
    q.offer(call('c'))
    assert.deepEqual(q.takeWaiting(), [call('b'), call('c')])
    assert.equal(q.length, 0)
    assert.equal(q.inflight?.frame.id, 'a')
    assert.deepEqual(q.takeWaiting(), [])
    assert.equal(q.offer(call('b')), 'queued', 'b is no longer a duplicate')
  })
})

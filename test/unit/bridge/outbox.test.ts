/** The external broker's outbox: held while closed, within the window, bounded, every message told once. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Outbox, OutboxError, type Outgoing } from '../../../src/bridge/adapters/outbox.js'
import type { QoS } from '../../../src/bridge/adapters/mqtt-port.js'

function harness (limits = { maxMessages: 100, maxAgeMs: 1000 }) {
  const sent: Outgoing[] = []
  const acks: Array<(err?: Error, withdrawn?: boolean) => void> = []
  const outcome = new Map<string, string>()
  const box = new Outbox((m, acked) => { sent.push(m); acks.push(acked) }, limits)
  const msg = (topic: string, qos: QoS = 1, at = 0): Outgoing => ({
    topic,
    payload: topic,
    qos,
    retain: false,
    at,
    done: (err) => {
      assert.equal(outcome.has(topic), false, `${topic} told twice`)
      outcome.set(topic, err === undefined ? 'ok' : err instanceof OutboxError ? err.reason : err.message)
    }
  })
  return { box, sent, acks, outcome, msg }
}

describe('Outbox', () => {
  test('holds everything until opened, then sends in order', () => {
    const { box, sent, msg } = harness()
    box.push(msg('a'))
    box.push(msg('b', 0))
    assert.equal(sent.length, 0)
    assert.equal(box.waiting, 2)
    box.opened(10)
    assert.deepEqual(sent.map((m) => m.topic), ['a', 'b'])
  })

  test('never more QoS 1/2 in flight than the window; QoS 0 behind them waits its turn', () => {
    const { box, sent, acks, msg, outcome } = harness()
    box.opened(2)
    for (const t of ['a', 'b', 'c', 'd']) box.push(msg(t))
    assert.deepEqual(sent.map((m) => m.topic), ['a', 'b'])
    assert.equal(box.inFlight, 2)
    acks[0]?.()
    assert.deepEqual(sent.map((m) => m.topic), ['a', 'b', 'c'])
    assert.equal(outcome.get('a'), 'ok')
    acks[1]?.()
    acks[2]?.()
    assert.deepEqual(sent.map((m) => m.topic), ['a', 'b', 'c', 'd'])
    assert.equal(box.inFlight, 1)
  })

  test('over max_messages a message is refused at once (queue_full)', () => {
    const { box, outcome, msg } = harness({ maxMessages: 2, maxAgeMs: 1000 })
    box.push(msg('a'))
    box.push(msg('b'))
    box.push(msg('c'))
    assert.equal(outcome.get('c'), 'queue_full')
    assert.equal(box.waiting, 2)
  })

  test('past max_age a waiting message is dropped, never sent (timeout)', () => {
    const { box, sent, outcome, msg } = harness({ maxMessages: 10, maxAgeMs: 1000 })
    box.push(msg('old', 1, 0))
    box.push(msg('new', 1, 900))
    assert.equal(box.expire(1000), 1)
    assert.equal(outcome.get('old'), 'timeout')
    box.opened(10)
    assert.deepEqual(sent.map((m) => m.topic), ['new'])
  })

  test('withdrawn messages go back in front, in order, and are not told', () => {
    const { box, sent, acks, outcome, msg } = harness()
    box.opened(10)
    box.push(msg('a'))
    box.push(msg('b'))
    box.closed()
    box.push(msg('c'))
    acks[0]?.(undefined, true)
    acks[1]?.(undefined, true)
    assert.equal(box.requeueWithdrawn(), 2)
    assert.equal(outcome.size, 0)
    assert.equal(box.inFlight, 0)
    box.opened(10)
    assert.deepEqual(sent.slice(2).map((m) => m.topic), ['a', 'b', 'c'])
  })

  test('failAll tells every waiting message', () => {
    const { box, outcome, msg } = harness()
    box.push(msg('a'))
    box.push(msg('b'))
    box.failAll('closed', 'closing')
    assert.deepEqual([...outcome.values()], ['closed', 'closed'])
    assert.equal(box.waiting, 0)
  })
})

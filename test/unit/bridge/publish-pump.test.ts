import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Aedes, type AedesPublishPacket } from 'aedes'
import { PublishPump } from '../../../src/bridge/adapters/publish-pump.js'

const packet = (i: number): AedesPublishPacket => ({ cmd: 'publish', topic: `ocpp/events/CP${i}`, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false } as AedesPublishPacket)

/**
 * The burst that overflowed the stack: mqemitter's 100 slots taken by slow handlers, then
 * thousands of messages queued behind them whose handlers finish at once. Published straight
 * into aedes, the queue is drained recursively and throws RangeError from a timer callback.
 */
test('20,000 publishes in one turn behind 100 slow deliveries: all delivered in order, no stack overflow', async () => {
  const aedes = await Aedes.createBroker()
  try {
    const seen: number[] = []
    await new Promise<void>((resolve) => aedes.subscribe('ocpp/events/+', (p, cb) => {
      seen.push(Number((p.payload as Buffer).toString()))
      if (seen.length <= 100) setImmediate(cb)
      else cb()
    }, () => resolve()))
    const pump = new PublishPump<AedesPublishPacket>((p, done) => { aedes.publish(p, done) })
    const n = 20_000
    let done = 0
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < n; i++) {
        pump.publish(packet(i), (err) => {
          if (err !== undefined && err !== null) reject(err)
          else if (++done === n) resolve()
        })
      }
    })
    assert.equal(seen.length, n)
    assert.deepEqual(seen.slice(0, 5), [0, 1, 2, 3, 4])
    assert.ok(seen.every((v, i) => v === i), 'in publish order')
    assert.ok(pump.peak > 10_000, `most waited in the pump, not in mqemitter (peak ${pump.peak})`)
    assert.equal(pump.queued, 0)
  } finally {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
  }
})

test('below the bound nothing waits: a publish goes straight through', () => {
  const sent: number[] = []
  const pending: Array<() => void> = []
  const pump = new PublishPump<number>((p, done) => { sent.push(p); pending.push(() => done()) }, 2)
  pump.publish(1, () => {})
  pump.publish(2, () => {})
  pump.publish(3, () => {})
  assert.deepEqual(sent, [1, 2])
  assert.equal(pump.queued, 1)
})

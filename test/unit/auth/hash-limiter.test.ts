import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { describe, test } from 'node:test'
import { HashLimiter } from '../../../src/auth/hash-limiter.js'

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('hash limiter', () => {
  test('at most maxConcurrent slots at once; the next waits until one is released', async () => {
    const h = new HashLimiter({ maxConcurrent: 2, maxQueued: 10 })
    const r1 = await h.acquire()
    const r2 = await h.acquire()
    assert.ok(r1 !== undefined && r2 !== undefined)
    let third: (() => void) | undefined
    void h.acquire()?.then(r => { third = r })
    // Read through a function: an assertion on the variable would narrow it for good.
    const got = (): (() => void) | undefined => third
    await tick()
    assert.equal(got(), undefined, 'no third slot while two are held')
    assert.equal(h.active, 2)
    assert.equal(h.queued, 1)
    r1()
    await tick()
    const r3 = got()
    assert.ok(r3 !== undefined, 'the released slot went to the waiting one')
    assert.equal(h.active, 2)
    assert.equal(h.queued, 0)
    r2()
    r3()
    assert.equal(h.active, 0)
  })

  test('queue full: acquire() refuses at once (undefined), and accepts again once there is room', async () => {
    const h = new HashLimiter({ maxConcurrent: 1, maxQueued: 2 })
    const r = await h.acquire()
    assert.ok(r !== undefined)
    const q1 = h.acquire()
    const q2 = h.acquire()
    assert.ok(q1 !== undefined && q2 !== undefined)
    assert.equal(h.acquire(), undefined)
    assert.equal(h.queued, 2)
    r()
    const r1 = await q1
    assert.ok(h.acquire() !== undefined, 'one waiting place was freed')
    r1()
  })

  test('maxQueued 0: no waiting, refused whenever every slot is busy', async () => {
    const h = new HashLimiter({ maxConcurrent: 1, maxQueued: 0 })
    const r = await h.acquire()
    assert.equal(h.acquire(), undefined)
    r?.()
    assert.ok(h.acquire() !== undefined)
  })

  test('slots are handed out in the order they were asked for (FIFO), over many rounds', async () => {
    const h = new HashLimiter({ maxConcurrent: 1, maxQueued: 5000 })
    const first = await h.acquire()
    const order: number[] = []
    const all: Array<Promise<void>> = []
    for (let i = 0; i < 3000; i++) {
      const p = h.acquire()
      assert.ok(p !== undefined)
      all.push(p.then(release => { order.push(i); release() }))
    }
    first?.()
    await Promise.all(all)
    assert.deepEqual(order, Array.from({ length: 3000 }, (_, i) => i))
    assert.equal(h.active, 0)
    assert.equal(h.queued, 0)
  })

  test('release is idempotent: a second call frees nothing', async () => {
    const h = new HashLimiter({ maxConcurrent: 1, maxQueued: 1 })
    const r = await h.acquire()
    const second: { release?: () => void } = {}
    void h.acquire()?.then(x => { second.release = x })
    r?.()
    r?.()
    await tick()
    assert.equal(h.active, 1, 'the waiting one holds the only slot')
    assert.equal(h.acquire() !== undefined, true, 'queue has room again')
    second.release?.()
  })

  test('maxConcurrent 0 is one per core; bad options throw', () => {
    assert.equal(new HashLimiter({ maxConcurrent: 0, maxQueued: 1 }).maxConcurrent, Math.max(1, availableParallelism()))
    assert.throws(() => new HashLimiter({ maxConcurrent: -1, maxQueued: 1 }), RangeError)
    assert.throws(() => new HashLimiter({ maxConcurrent: 1, maxQueued: 1.5 }), RangeError)
  })
})

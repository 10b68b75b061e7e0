import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Histogram } from '../../../src/sim/histogram.js'

const near = (actual: number, expected: number, rel: number): void => {
  assert.ok(Math.abs(actual - expected) <= expected * rel, `${actual} is not within ${rel * 100} % of ${expected}`)
}

test('an empty histogram reports zeros', () => {
  const h = new Histogram()
  assert.equal(h.percentile(50), 0)
  assert.equal(h.mean(), 0)
  assert.deepEqual(h.toJSON(), { buckets: [], count: 0, sum: 0, min: 0, max: 0 })
})

test('small values are exact', () => {
  const h = new Histogram()
  for (let v = 0; v < 100; v++) h.record(v)
  assert.equal(h.percentile(50), 49)
  assert.equal(h.percentile(100), 99)
  assert.equal(h.min, 0)
})

test('percentiles of a uniform spread are within 1.6 %', () => {
  const h = new Histogram()
  for (let v = 1; v <= 1_000_000; v += 7) h.record(v)
  near(h.percentile(50), 500_000, 0.016)
  near(h.percentile(99), 990_000, 0.016)
  near(h.percentile(99.9), 999_000, 0.016)
  assert.equal(h.percentile(100), h.max)
  near(h.mean(), 500_000, 0.001)
})

test('percentiles are clamped to the exact extremes', () => {
  const h = new Histogram()
  h.record(123_457)
  assert.equal(h.percentile(1), 123_457)
  assert.equal(h.percentile(99), 123_457)
})

test('negative and huge values are clamped, fractions rounded', () => {
  const h = new Histogram()
  h.record(-5)
  h.record(1e12)
  h.record(2.6)
  assert.equal(h.min, 0)
  assert.equal(h.max, 2 ** 31 - 1)
  assert.equal(h.count, 3)
  assert.equal(h.percentile(50), 3)
})

test('merging equals recording everything in one', () => {
  const a = new Histogram()
  const b = new Histogram()
  const all = new Histogram()
  for (let i = 0; i < 5000; i++) {
    const v = (i * 7919) % 250_000
    ;(i % 2 === 0 ? a : b).record(v)
    all.record(v)
  }
  const merged = Histogram.from(a.toJSON())
  merged.merge(b)
  assert.deepEqual(merged.toJSON(), all.toJSON())
  for (const p of [50, 90, 99, 99.9]) assert.equal(merged.percentile(p), all.percentile(p))
})

test('reset empties it', () => {
  const h = new Histogram()
  h.record(10)
  h.reset()
  assert.equal(h.count, 0)
  assert.equal(h.percentile(50), 0)
})

test('survives structured clone and JSON', () => {
  const h = new Histogram()
  for (const v of [1, 10, 100, 1000, 10_000]) h.record(v)
  const back = Histogram.from(JSON.parse(JSON.stringify(structuredClone(h.toJSON()))))
  assert.deepEqual(back.toJSON(), h.toJSON())
})

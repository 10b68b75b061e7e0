import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RECENT_MS, RecentIds } from '../../../src/bridge/handoff.js'

test('RecentIds: remembers ids for RECENT_MS, forgets from the oldest, a re-noted id counts from its last time', () => {
  const r = new RecentIds()
  r.note('a', 0)
  r.note('b', 1000)
  r.note('a', 2000)
  assert.deepEqual(r.ids(), ['b', 'a'])
  r.prune(1000 + RECENT_MS + 1)
  assert.deepEqual(r.ids(), ['a'])
  assert.equal(r.has('b'), false)
  assert.equal(r.has('a'), true)
  r.note('c', 2000 + RECENT_MS + 1)
  assert.deepEqual(r.ids(), ['c'])
  assert.equal(r.size, 1)
})

test('RecentIds: 50,000 distinct ids of one charge point are all kept and found', () => {
  const r = new RecentIds()
  for (let i = 0; i < 50_000; i++) {
    assert.equal(r.has(`id${i}`), false)
    r.note(`id${i}`, 1)
  }
  assert.equal(r.size, 50_000)
  assert.equal(r.has('id49999'), true)
})

/** bench/heap.ts on a few chargers, so that it cannot rot: it counts what the heap holds, not how fast. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { measureHeap } from '../../bench/heap.js'

test('heap per idle charger, and the objects by constructor', { timeout: 60_000 }, async () => {
  const file = join(tmpdir(), `ocpp-gw-heap-${process.pid}.heapsnapshot`)
  try {
    const f = await measureHeap({ count: 20, snapshot: file, top: 1000, settleMs: 500 })
    assert.equal(f.chargers, 20)
    assert.ok(Number.isFinite(f.heapPerCharger) && Number.isFinite(f.rssPerCharger))
    const count = (name: string): number => f.byConstructor?.find((r) => r.name === name)?.count ?? 0
    assert.equal(count('Session'), 20, 'one Session per connected charger')
    assert.ok(count('WebSocket') >= 20)
    assert.ok(count('IncomingMessage') < 20, `upgrade requests kept: ${count('IncomingMessage')}`)
  } finally {
    rmSync(file, { force: true })
  }
})

/** FrameTracing without an OpenTelemetry SDK (no exporter): traceparents made and continued (no network). */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { FrameTracing } from '../../../src/observability/tracing.js'

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

describe('FrameTracing', () => {
  test('a frame of its own gets a new trace: W3C form, fresh ids each time', () => {
    const t = new FrameTracing(true)
    const a = t.upstream('BootNotification', 'CP1', '1')?.traceparent ?? ''
    const b = t.upstream('BootNotification', 'CP1', '2')?.traceparent ?? ''
    assert.match(a, TRACEPARENT)
    assert.match(b, TRACEPARENT)
    assert.notEqual(TRACEPARENT.exec(a)?.[1], TRACEPARENT.exec(b)?.[1])
    // Hundreds of ids, across refills of the random pool, all distinct.
    const ids = new Set<string>()
    for (let i = 0; i < 600; i++) ids.add(TRACEPARENT.exec(t.upstream('Heartbeat', 'CP1', String(i))?.traceparent ?? '')?.[2] ?? '')
    assert.equal(ids.size, 600)
  })

  test('an answer to a backend Call continues its trace: same trace id and flags, a new span id', () => {
    const t = new FrameTracing(true)
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'
    const child = t.upstream('Reset', 'CP1', 'c1', parent)?.traceparent ?? ''
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(\d\d)$/.exec(child)
    assert.deepEqual([m?.[1], m?.[3]], ['0af7651916cd43dd8448eb211c80319c', '00'])
    assert.notEqual(m?.[2], 'b7ad6b7169203331')
  })

  test('off: nothing made; downstream traceparents validated', () => {
    assert.equal(new FrameTracing(false).upstream('Heartbeat', 'CP1', '1'), undefined)
    const t = new FrameTracing(true)
    assert.equal(t.downstream(undefined, 'Reset', 'CP1', '1'), undefined)
    assert.equal(t.downstream('00-00000000000000000000000000000000-b7ad6b7169203331-01', 'Reset', 'CP1', '1'), undefined)
    assert.equal(t.downstream(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], 'Reset', 'CP1', '1'), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
  })
})

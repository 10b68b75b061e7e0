/** The hot-path metrics (frames by type and action, answer-time histograms) and their Prometheus form. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../src/admin/prometheus.js'
import { Metrics, OTHER_ACTION, PlainHistogram } from '../../../src/observability/metrics.js'

test('frames by action: a known set labels its actions, the rest is other; without a set, 64 labels at most', () => {
  const m = new Metrics({ actions: new Set(['Heartbeat']) })
  m.frame('in', 2, 'Heartbeat')
  m.frame('in', 2, 'Heartbeat')
  m.frame('in', 2, 'Bogus')
  m.frame('out', 3, undefined)
  m.frame('out', 9, 'Heartbeat') // no such message type: ignored
  assert.deepEqual([...m.frames.in[2] ?? []], [['Heartbeat', 2], [OTHER_ACTION, 1]])
  assert.deepEqual([...m.frames.out[3] ?? []], [[OTHER_ACTION, 1]])
  const open = new Metrics()
  for (let i = 0; i < 100; i++) open.frame('in', 2, `A${i}`)
  assert.equal(open.frames.in[2]?.size, 65)
  assert.equal(open.frames.in[2]?.get(OTHER_ACTION), 36)
})

test('PlainHistogram: le buckets, +Inf, sum and count', () => {
  const h = new PlainHistogram([0.1, 1])
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v)
  assert.deepEqual(h.counts, [2, 1, 1])
  assert.equal(h.count, 4)
  assert.ok(Math.abs(h.sum - 3.65) < 1e-9)
})

test('the registry exports frames_total, call_answer_seconds (cumulative), queue gauges and event-loop lag', async () => {
  const metrics = new Metrics({ actions: new Set(['Reset']) })
  metrics.frame('out', 2, 'Reset')
  metrics.callSeconds.charger.observe(0.003)
  metrics.callSeconds.charger.observe(0.2)
  metrics.callSeconds.backend.observe(100)
  metrics.inc('admin_calls_total', 'result')
  const registry = createRegistry({
    metrics,
    chargers: () => [],
    calls: () => [{ queuedToCharger: 2, inFlightToCharger: 1, inFlightFromCharger: 0 }, { queuedToCharger: 1, inFlightToCharger: 1, inFlightFromCharger: 3 }]
  })
  const text = await registry.metrics()
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), line)
  has('ocpp_gateway_frames_total{direction="out",type="CALL",action="Reset"} 1')
  has('# TYPE ocpp_gateway_call_answer_seconds histogram')
  has('ocpp_gateway_call_answer_seconds_bucket{answered_by="charger",le="0.005"} 1')
  has('ocpp_gateway_call_answer_seconds_bucket{answered_by="charger",le="0.25"} 2')
  has('ocpp_gateway_call_answer_seconds_bucket{answered_by="charger",le="+Inf"} 2')
  has('ocpp_gateway_call_answer_seconds_count{answered_by="charger"} 2')
  has('ocpp_gateway_call_answer_seconds_bucket{answered_by="backend",le="60"} 0')
  has('ocpp_gateway_call_answer_seconds_count{answered_by="backend"} 1')
  has('ocpp_gateway_calls_queued{direction="to_charger"} 3')
  has('ocpp_gateway_calls_in_flight{direction="to_charger"} 2')
  has('ocpp_gateway_calls_in_flight{direction="from_charger"} 3')
  has('ocpp_gateway_admin_calls_total{reason="result"} 1')
  assert.match(text, /^ocpp_gateway_nodejs_eventloop_lag_seconds /m)
})

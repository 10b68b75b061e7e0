/**
 * GET /api/v1/stats: the counters as one snapshot (every counter, the labelled ones by reason,
 * the connected count), served through the admin server with its key check; and which paths
 * need a key now that the dashboard's files are served too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { pino } from 'pino'
import { addStatsRoute, statsOf } from '../../../src/admin/stats.js'
import { buildAdminServer } from '../../../src/admin/server.js'
import { needsKey } from '../../../src/admin/auth.js'
import { hashApiKey } from '../../../src/admin/api-keys.js'
import { counterNames, Metrics } from '../../../src/observability/metrics.js'
import { SessionTable } from '../../../src/session/sessions.js'

test('statsOf: every counter, the labelled ones by reason, connected, time and uptime', () => {
  const metrics = new Metrics()
  metrics.inc('frames_in_total', undefined, 7)
  metrics.inc('connections_rejected_total', 'bad_password', 2)
  metrics.inc('connections_rejected_total', 'unknown_id')
  metrics.inc('disconnections_total', 'reason with "quotes"')
  const s = statsOf({ metrics, connected: () => 42, startedAt: 1000 }, 61000)
  assert.equal(s.at, new Date(61000).toISOString())
  assert.equal(s.uptime_ms, 60000)
  assert.equal(s.connected, 42)
  assert.deepEqual(Object.keys(s.counters), [...counterNames])
  assert.equal(s.counters.frames_in_total, 7)
  assert.equal(s.counters.connections_rejected_total, 3)
  assert.deepEqual(s.by_reason, {
    connections_rejected_total: { bad_password: 2, unknown_id: 1 },
    disconnections_total: { 'reason with "quotes"': 1 }
  })
  // A snapshot, not a view: later counts do not change it.
  metrics.inc('frames_in_total')
  assert.equal(s.counters.frames_in_total, 7)
})

test('the route answers the snapshot as JSON', async () => {
  const app = Fastify()
  const metrics = new Metrics()
  metrics.inc('frames_out_total', undefined, 3)
  let n = 5
  addStatsRoute(app, { metrics, connected: () => n, startedAt: Date.now() })
  const a = await app.inject('/api/v1/stats')
  assert.equal(a.statusCode, 200)
  assert.match(String(a.headers['content-type']), /^application\/json/)
  assert.deepEqual([a.json().connected, a.json().counters.frames_out_total], [5, 3])
  n = 6
  metrics.inc('frames_out_total')
  assert.deepEqual([(await app.inject('/api/v1/stats')).json().connected, (await app.inject('/api/v1/stats')).json().counters.frames_out_total], [6, 4])
  await app.close()
})

test('on the admin server, /api/v1/stats needs a key; the dashboard\'s files do not', async () => {
  const metrics = new Metrics()
  const log = pino({ level: 'silent' })
  const sessions = new SessionTable({ metrics, log, sweepPeriodMs: 60000 })
  const keys = new Map([['ops', { digest: Buffer.from(hashApiKey('k3y').slice(7), 'base64url'), role: 'admin' as const }]])
  const app = buildAdminServer({
    log,
    metrics,
    chargers: () => [],
    keys: () => keys,
    metricsAuth: false,
    sessions,
    listeners: () => [],
    mqttConnected: () => true,
    status: { version: '0', nodeId: 'n', startedAt: Date.now(), listeners: () => [], broker: () => ({ kind: 'embedded', connected: true }), config: {} }
  })
  try {
    assert.equal((await app.inject('/api/v1/stats')).statusCode, 401)
    assert.equal((await app.inject({ url: '/api/v1/stats', headers: { authorization: 'Bearer nope' } })).statusCode, 401)
    const ok = await app.inject({ url: '/api/v1/stats', headers: { authorization: 'Bearer k3y' } })
    assert.deepEqual([ok.statusCode, ok.json().connected], [200, 0])
    for (const path of ['/', '/assets/app.js', '/vendor/preact.mjs']) assert.equal((await app.inject(path)).statusCode, 200, path)
  } finally {
    await app.close()
    sessions.closeAll()
  }
})

test('needsKey: the dashboard\'s page and files are open, /api is closed however it is spelled', () => {
  for (const open of ['/', '/index.html', '/assets/app.js', '/assets/style.css', '/vendor/preact.mjs', '/favicon.ico', '/apiary', '/assets/api/x']) {
    assert.equal(needsKey(open, false), false, open)
    assert.equal(needsKey(open, true), false, `${open} with metrics_auth`)
  }
  for (const closed of ['/api', '/api/', '/api/v1/stats', '/api/v1/chargers/X/frames', '/API/v1/stats', '/Api/V1/status', '/%61pi/v1/stats', '/%2561pi/v1/stats',
    '//api/v1/stats', '/./api/v1/stats', '/assets/../api/v1/stats', '/vendor/%2e%2e/api/v1/stats', '/api%2Fv1%2Fstats']) {
    assert.equal(needsKey(closed, false), true, closed)
  }
  assert.equal(needsKey('/metrics', false), false)
  assert.equal(needsKey('/metrics/', true), true)
  assert.equal(needsKey('/%6detrics', true), true)
  assert.equal(needsKey('/api/%zz', false), true, 'an escape that does not decode stays closed')
})

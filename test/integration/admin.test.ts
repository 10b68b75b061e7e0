/**
 * The admin HTTP server over real HTTP on port 0: health, readiness (the external broker
 * killed and restarted), and Prometheus metrics that move with a real charge point's traffic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { hashApiKey, newApiKey } from '../../src/admin/api-keys.js'
import { buildConfig } from '../../src/config/load.js'
import { startGateway } from '../../src/gateway.js'
import { isGatewayError } from '../../src/errors.js'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor } from '../helpers/clients.js'
import { startMosquitto, mosquittoSkip } from '../helpers/mosquitto.js'

async function get (port: number, path: string): Promise<{ status: number, body: string, type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' }
}

/** `name{labels} value` lines of a Prometheus text exposition -> value by `name{labels}`. */
function parseMetrics (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line)
    if (m !== null) out.set(m[1] as string, Number(m[2]))
  }
  return out
}

async function scrape (port: number): Promise<Map<string, number>> {
  const r = await get(port, '/metrics')
  assert.equal(r.status, 200)
  return parseMetrics(r.body)
}

test('healthz, readyz with the embedded broker, 404 as JSON, off disables the server', async () => {
  const t = await startTestGateway()
  try {
    const port = t.gw.adminPort ?? 0
    assert.ok(port > 0)
    const health = await get(port, '/healthz')
    assert.deepEqual([health.status, JSON.parse(health.body)], [200, { status: 'ok' }])
    const ready = await get(port, '/readyz')
    assert.equal(ready.status, 200)
    assert.deepEqual(JSON.parse(ready.body), { status: 'ready', listeners: { 'ws:default': true }, mqtt: true })
    const missing = await get(port, '/nope')
    assert.equal(missing.status, 404)
    assert.equal(JSON.parse(missing.body).error, 'not_found')
    assert.equal(t.gw.metrics.get('admin_requests_rejected_total', 'not_found'), 1)
  } finally {
    await t.stop()
  }
  const off = await startTestGateway({ config: { admin: { bind: 'off' } } })
  try {
    assert.equal(off.gw.adminPort, undefined)
  } finally {
    await off.stop()
  }
})

test('an admin port in use fails the start with a coded error', async () => {
  const t = await startTestGateway()
  try {
    const config = buildConfig([{
      allow_anonymous: true,
      listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
      mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } },
      admin: { bind: `127.0.0.1:${t.gw.adminPort ?? 0}` },
      log: { level: 'silent' }
    }])
    await assert.rejects(startGateway(config, { logger: pino({ level: 'silent' }) }), (err: unknown) => isGatewayError(err, 'OCPPGW_ERR_PORT_IN_USE') && /admin\.bind/.test(err.message))
  } finally {
    await t.stop()
  }
})

test('/metrics: process metrics, gateway counters by reason, chargers by version and listener', async () => {
  const t = await startTestGateway()
  try {
    const port = t.gw.adminPort ?? 0
    const res = await get(port, '/metrics')
    assert.match(res.type, /^text\/plain/)
    assert.match(res.body, /^# TYPE ocpp_gateway_process_cpu_user_seconds_total counter$/m)
    assert.match(res.body, /^# TYPE ocpp_gateway_frames_in_total counter$/m)
    assert.match(res.body, /^# TYPE ocpp_gateway_chargers_connected gauge$/m)
    const before = await scrape(port)
    assert.equal(before.get('ocpp_gateway_frames_in_total'), 0)
    assert.equal(before.get('ocpp_gateway_chargers_connected{version="1.6",listener="default"}'), undefined)

    const cp = await connectChargePoint(`${t.url}/CP-METRICS`)
    cp.send([2, 'm1', 'Heartbeat', {}])
    const during = await (async () => {
      let m = await scrape(port)
      for (let i = 0; i < 50 && (m.get('ocpp_gateway_frames_in_total') ?? 0) < 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        m = await scrape(port)
      }
      return m
    })()
    assert.equal(during.get('ocpp_gateway_chargers_connected{version="1.6",listener="default"}'), 1)
    assert.equal(during.get('ocpp_gateway_connections_accepted_total'), 1)
    assert.equal(during.get('ocpp_gateway_frames_in_total'), 1)
    assert.ok(![...during.keys()].some((k) => k.includes('CP-METRICS')), 'no charge point id as a label')

    await cp.close()
    await waitFor(() => t.gw.sessions.size === 0)
    const after = await scrape(port)
    assert.equal(after.get('ocpp_gateway_chargers_connected{version="1.6",listener="default"}'), undefined)
    // By reason, and the family sums to the total.
    assert.equal(after.get('ocpp_gateway_disconnections_total{reason="closed_by_charger"}'), 1)
    assert.equal(after.get('ocpp_gateway_disconnections_total'), 0)
  } finally {
    await t.stop()
  }
})

test('two gateways in one process each have their own registry', async () => {
  const a = await startTestGateway()
  const b = await startTestGateway()
  try {
    const cp = await connectChargePoint(`${a.url}/CP-A`)
    await waitFor(() => a.gw.sessions.size === 1)
    assert.equal((await scrape(a.gw.adminPort ?? 0)).get('ocpp_gateway_connections_accepted_total'), 1)
    assert.equal((await scrape(b.gw.adminPort ?? 0)).get('ocpp_gateway_connections_accepted_total'), 0)
    await cp.close()
  } finally {
    await a.stop()
    await b.stop()
  }
})

test('/readyz turns 503 when the external broker is killed, and 200 after it restarts', { skip: mosquittoSkip() }, async () => {
  const mosquitto = await startMosquitto()
  const gw = await startGateway(buildConfig([{
    allow_anonymous: true,
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { url: mosquitto.url },
    admin: { bind: '127.0.0.1:0' },
    log: { level: 'silent' }
  }]), { logger: pino({ level: 'silent' }), shutdownGraceMs: 500 })
  try {
    const port = gw.adminPort ?? 0
    assert.equal((await get(port, '/readyz')).status, 200)
    await mosquitto.kill()
    let r = await get(port, '/readyz')
    for (let i = 0; i < 100 && r.status !== 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      r = await get(port, '/readyz')
    }
    assert.equal(r.status, 503)
    assert.deepEqual(JSON.parse(r.body), { status: 'not_ready', listeners: { 'ws:default': true }, mqtt: false, not_ready: ['mqtt'] })
    // Health is about the process, not its broker.
    assert.equal((await get(port, '/healthz')).status, 200)
    await mosquitto.restart()
    for (let i = 0; i < 200 && r.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      r = await get(port, '/readyz')
    }
    assert.equal(r.status, 200)
  } finally {
    await gw.close()
    await mosquitto.stop()
  }
})

test('API keys: /api needs one (401 without or with a wrong one, counted), metrics open unless metrics_auth, SIGHUP re-reads the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-admin-'))
  const file = join(dir, 'keys')
  const key = newApiKey()
  await writeFile(file, `grafana:${hashApiKey(key)}\n`)
  const t = await startTestGateway({ config: { admin: { bind: '127.0.0.1:0', api_keys_file: file } } })
  try {
    const port = t.gw.adminPort ?? 0
    const call = async (path: string, auth?: string): Promise<{ status: number, body: any, www: string | null }> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: auth === undefined ? {} : { authorization: auth } })
      return { status: res.status, body: await res.json(), www: res.headers.get('www-authenticate') }
    }
    const none = await call('/api/v1/anything')
    assert.equal(none.status, 401)
    assert.equal(none.body.error, 'unauthorized')
    assert.match(none.www ?? '', /^Bearer/)
    assert.equal((await call('/api/v1/anything', 'Bearer wrong')).status, 401)
    assert.equal((await call('/api/v1/anything?x=1', `Basic ${key}`)).status, 401)
    assert.equal(t.gw.metrics.get('admin_requests_rejected_total', 'unauthorized'), 3)
    // With the key the request gets through to routing (no /api route in this slice yet).
    assert.equal((await call('/api/v1/anything', `Bearer ${key}`)).status, 404)
    assert.equal((await get(port, '/metrics')).status, 200)
    assert.equal((await get(port, '/healthz')).status, 200)

    const newer = newApiKey()
    await writeFile(file, `ops:${hashApiKey(newer)}\n`)
    await t.gw.reload()
    assert.equal((await call('/api/v1/anything', `Bearer ${key}`)).status, 401)
    assert.equal((await call('/api/v1/anything', `Bearer ${newer}`)).status, 404)
    // A broken file on reload keeps the keys in use.
    await writeFile(file, 'broken\n')
    await t.gw.reload()
    assert.equal((await call('/api/v1/anything', `Bearer ${newer}`)).status, 404)
  } finally {
    await t.stop()
  }

  await writeFile(file, `grafana:${hashApiKey(key)}\n`)
  const closed = await startTestGateway({ config: { admin: { bind: '127.0.0.1:0', api_keys_file: file, metrics_auth: true } } })
  try {
    const port = closed.gw.adminPort ?? 0
    assert.equal((await get(port, '/metrics')).status, 401)
    assert.equal((await get(port, '/readyz')).status, 401)
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${key}` } })
    assert.equal(res.status, 200)
    await res.text()
  } finally {
    await closed.stop()
  }
})

test('a non-loopback admin bind without keys refuses to start; a missing keys file too', async () => {
  const base = {
    allow_anonymous: true,
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } },
    log: { level: 'silent' }
  }
  await assert.rejects(startGateway(buildConfig([base, { admin: { bind: '0.0.0.0:0' } }]), { logger: pino({ level: 'silent' }) }), (err: unknown) => isGatewayError(err, 'OCPPGW_ERR_ADMIN_OPEN'))
  await assert.rejects(startGateway(buildConfig([base, { admin: { bind: '127.0.0.1:0', api_keys_file: join(tmpdir(), 'no-such-dir-ocppgw', 'keys') } }]), { logger: pino({ level: 'silent' }) }), (err: unknown) => isGatewayError(err, 'OCPPGW_ERR_API_KEYS_FILE'))
})

/**
 * The admin REST API over real HTTP with real charge points: status, list, filters,
 * pagination, one charger, 404, kick (close code 4004, the event says `kicked`), EMQX's paths.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashApiKey, newApiKey } from '../../src/admin/api-keys.js'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor, type ChargePoint } from '../helpers/clients.js'

test('status, chargers list/filter/pagination/get/404/kick, EMQX client paths, 401', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-api-'))
  const file = join(dir, 'keys')
  const key = newApiKey()
  await writeFile(file, `ops:${hashApiKey(key)}\n`)
  const t = await startTestGateway({ config: { admin: { bind: '127.0.0.1:0', api_keys_file: file }, mqtt: { password: 'hunter2' } } })
  const cps: ChargePoint[] = []
  try {
    const port = t.gw.adminPort ?? 0
    const api = async (path: string, method = 'GET', auth = `Bearer ${key}`): Promise<{ status: number, body: any }> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: auth } })
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
    }
    for (const id of ['A-1', 'A-2', 'A-3', 'B-1']) cps.push(await connectChargePoint(`${t.url}/${id}`, ['ocpp1.6']))
    cps.push(await connectChargePoint(`${t.url}/C-1`, ['ocpp2.0.1']))
    await waitFor(() => t.gw.sessions.size === 5)

    assert.equal((await api('/api/v1/chargers', 'GET', 'Bearer nope')).status, 401)
    assert.equal((await api('/api/v1/status', 'GET', '')).status, 401)

    const status = await api('/api/v1/status')
    assert.equal(status.status, 200)
    assert.equal(status.body.version, '0.1.0')
    assert.equal(typeof status.body.node_id, 'string')
    assert.equal(typeof status.body.uptime_s, 'number')
    assert.deepEqual(status.body.broker, { kind: 'embedded', connected: true })
    assert.equal(status.body.listeners.length, 1)
    assert.equal(status.body.listeners[0].name, 'ws:default')
    assert.equal(status.body.listeners[0].connections, 5)
    assert.match(status.body.listeners[0].bound, /^127\.0\.0\.1:\d+$/)
    assert.ok(!JSON.stringify(status.body.config).includes('hunter2'), 'configuration redacted')

    const all = await api('/api/v1/chargers')
    assert.equal(all.status, 200)
    assert.deepEqual(all.body.data.map((c: any) => c.id), ['A-1', 'A-2', 'A-3', 'B-1', 'C-1'])
    assert.equal(all.body.next_cursor, null)
    const a1 = all.body.data[0]
    assert.equal(a1.version, '1.6')
    assert.equal(a1.subprotocol, 'ocpp1.6')
    assert.equal(a1.listener, 'default')
    assert.match(a1.peer, /127\.0\.0\.1/)
    assert.ok(!Number.isNaN(Date.parse(a1.connected_at)) && !Number.isNaN(Date.parse(a1.last_frame_at)))

    assert.deepEqual((await api('/api/v1/chargers?prefix=A-')).body.data.map((c: any) => c.id), ['A-1', 'A-2', 'A-3'])
    assert.deepEqual((await api('/api/v1/chargers?version=2.0.1')).body.data.map((c: any) => c.id), ['C-1'])
    assert.equal((await api('/api/v1/chargers?listener=other')).body.data.length, 0)

    const p1 = await api('/api/v1/chargers?limit=2')
    assert.deepEqual(p1.body.data.map((c: any) => c.id), ['A-1', 'A-2'])
    const p2 = await api(`/api/v1/chargers?limit=2&cursor=${String(p1.body.next_cursor)}`)
    assert.deepEqual(p2.body.data.map((c: any) => c.id), ['A-3', 'B-1'])
    const p3 = await api(`/api/v1/chargers?limit=2&cursor=${String(p2.body.next_cursor)}`)
    assert.deepEqual([p3.body.data.map((c: any) => c.id), p3.body.next_cursor], [['C-1'], null])
    for (const bad of ['limit=0', 'limit=1001', 'limit=x', 'cursor=%%%']) {
      const r = await api(`/api/v1/chargers?${bad}`)
      assert.equal(r.status, 400, bad)
      assert.equal(r.body.error, 'bad_request')
    }

    const one = await api('/api/v1/chargers/B-1')
    assert.deepEqual([one.status, one.body.id, one.body.version], [200, 'B-1', '1.6'])
    const missing = await api('/api/v1/chargers/NOPE')
    assert.deepEqual([missing.status, missing.body.error], [404, 'not_found'])
    assert.equal((await api('/api/v1/chargers/NOPE', 'DELETE')).status, 404)

    const emqx = await api('/api/v5/gateways/ocpp/clients?like_clientid=A-&limit=1')
    assert.equal(emqx.status, 200)
    assert.deepEqual([emqx.body.data[0].clientid, emqx.body.meta.count], ['A-1', 1])

    // Kick: the charger sees 4004, the event says kicked.
    const b1 = cps[3] as ChargePoint
    const kicked = await api('/api/v1/chargers/B-1', 'DELETE')
    assert.equal(kicked.status, 204)
    assert.equal((await b1.closed).code, 4004)
    const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/B-1' && m.json.event === 'disconnected')
    assert.equal(ev.json.reason, 'kicked')
    assert.equal(ev.json.code, 4004)
    await waitFor(() => t.gw.sessions.get('B-1') === undefined)
    assert.equal(t.gw.metrics.get('disconnections_total', 'kicked'), 1)

    // The EMQX path kicks the same way.
    const c1 = cps[4] as ChargePoint
    assert.equal((await api('/api/v5/gateways/ocpp/clients/C-1', 'DELETE')).status, 204)
    assert.equal((await c1.closed).code, 4004)
  } finally {
    for (const cp of cps) await cp.close()
    await t.stop()
  }
})

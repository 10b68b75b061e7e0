/**
 * The admin API's frame trace (list, and the SSE stream read with fetch + Authorization as a
 * dashboard does), the OpenAPI document and Swagger UI, and HTTPS with its reload, over real
 * HTTP with real charge points.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { connectChargePoint, waitFor } from '../helpers/clients.js'
import { makeTestCerts } from '../helpers/certs.js'
import { startTestGateway } from '../helpers/gateway.js'
import { startAdminGateway } from '../helpers/admin.js'

const certs = makeTestCerts()
after(() => { certs.cleanup() })

interface SseEvent { event: string, data: any }

/** Read an event stream with fetch (as a browser dashboard does): events as they come. */
async function follow (url: string, key: string): Promise<{ status: number, type: string | null, next: (pred: (e: SseEvent) => boolean) => Promise<SseEvent>, events: SseEvent[], done: Promise<void>, abort: () => void }> {
  const ac = new AbortController()
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: ac.signal })
  const events: SseEvent[] = []
  const waiters: Array<{ pred: (e: SseEvent) => boolean, resolve: (e: SseEvent) => void }> = []
  const push = (e: SseEvent): void => {
    events.push(e)
    for (const w of [...waiters]) if (w.pred(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e) }
  }
  const done = (async () => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buf += decoder.decode(value, { stream: true })
        let i
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const lines = block.split('\n').filter((l) => !l.startsWith(':'))
          if (lines.length === 0) continue
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message'
          const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')
          push({ event, data: JSON.parse(data) })
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err
    }
  })()
  const next = async (pred: (e: SseEvent) => boolean): Promise<SseEvent> => {
    const found = events.find(pred)
    if (found !== undefined) return found
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such event within 5 s; got ${JSON.stringify(events)}`)), 5000)
      waiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e) } })
    })
  }
  return { status: res.status, type: res.headers.get('content-type'), next, events, done, abort: () => ac.abort() }
}

test('frames: traced from the first ask, both directions, limit, redacted; follow streams live and ends with the charger', async () => {
  const { t, admin, adminKey, viewerKey } = await startAdminGateway({ admin: { trace_frames: 5 } })
  try {
    const cp = await connectChargePoint(`${t.url}/CP-F`, ['ocpp1.6'])
    await waitFor(() => t.gw.sessions.size === 1)
    assert.equal((await admin.api('/api/v1/chargers/CP-F')).body.tracing, false)
    assert.equal(t.gw.sessions.get('CP-F')?.trace, undefined, 'no trace kept before anyone asks')

    const empty = await admin.api('/api/v1/chargers/CP-F/frames', { key: viewerKey })
    assert.equal(empty.status, 200)
    assert.deepEqual(empty.body.data, [])
    assert.ok(!Number.isNaN(Date.parse(empty.body.tracing_since)))
    assert.equal((await admin.api('/api/v1/chargers/CP-F')).body.tracing, true)

    cp.send([2, 'hb-1', 'Heartbeat', {}])
    await t.backend.inbox.wait((m) => m.json?.UniqueId === 'hb-1')
    await t.backend.publish('ocpp/cs/CP-F', { MessageTypeId: 3, UniqueId: 'hb-1', Payload: { currentTime: '2026-01-01T00:00:00Z' } })
    await cp.frames.wait((f) => f[1] === 'hb-1')
    // A secret in a frame is not shown (1.6 AuthorizationKey set through ChangeConfiguration).
    const setKey = admin.api('/api/v1/chargers/CP-F/calls', { body: { action: 'ChangeConfiguration', payload: { key: 'AuthorizationKey', value: 'hunter2hunter2' } } })
    const cfg = await cp.frames.wait((f) => f[2] === 'ChangeConfiguration')
    cp.send([3, cfg[1], { status: 'Accepted' }])
    assert.equal((await setKey).status, 200)

    const list = await admin.api('/api/v1/chargers/CP-F/frames')
    assert.equal(list.status, 200)
    const frames = list.body.data as Array<{ at: string, dir: string, frame: string }>
    assert.deepEqual(frames.map((f) => f.dir), ['in', 'out', 'out', 'in'])
    assert.equal(frames[0]?.frame, '[2,"hb-1","Heartbeat",{}]', 'raw text as received')
    assert.match(frames[1]?.frame ?? '', /^\[3,"hb-1",\{"currentTime":"2026-01-01T00:00:00Z"\}\]$/)
    assert.ok(frames.every((f) => !Number.isNaN(Date.parse(f.at))))
    assert.match(frames[2]?.frame ?? '', /ChangeConfiguration.*REDACTED/)
    assert.ok(!(frames[2]?.frame ?? '').includes('hunter2'), 'secret redacted')
    assert.deepEqual((await admin.api('/api/v1/chargers/CP-F/frames?limit=1')).body.data.map((f: any) => f.dir), ['in'])
    for (const bad of ['limit=0', 'limit=x', 'follow=maybe']) {
      const r = await admin.api(`/api/v1/chargers/CP-F/frames?${bad}`)
      assert.deepEqual([r.status, r.body.error], [400, 'bad_request'], bad)
    }
    assert.equal((await admin.api('/api/v1/chargers/NOPE/frames')).status, 404)

    // The ring keeps the last trace_frames (5).
    for (let i = 0; i < 6; i++) cp.send([2, `hb-r${i}`, 'Heartbeat', {}])
    await waitFor(() => t.gw.metrics.frames.in[2]?.get('Heartbeat') === 7)
    await waitFor(() => t.gw.sessions.get('CP-F')?.trace?.last(1)[0]?.text === '[2,"hb-r5","Heartbeat",{}]')
    const ring = (await admin.api('/api/v1/chargers/CP-F/frames?limit=1000')).body.data
    assert.equal(ring.length, 5)
    assert.equal(ring[4].frame, '[2,"hb-r5","Heartbeat",{}]')

    // follow=1: text/event-stream with the backlog, then live frames, `end` when the charger goes.
    const s = await follow(`http://127.0.0.1:${admin.port}/api/v1/chargers/CP-F/frames?follow=1&limit=2`, viewerKey)
    assert.equal(s.status, 200)
    assert.match(s.type ?? '', /^text\/event-stream/)
    await s.next((e) => e.event === 'frame' && e.data.frame === '[2,"hb-r5","Heartbeat",{}]')
    cp.send([2, 'hb-live', 'Heartbeat', {}])
    const live = await s.next((e) => e.event === 'frame' && e.data.frame.includes('hb-live'))
    assert.deepEqual(Object.keys(live.data).sort(), ['at', 'dir', 'frame'])
    assert.equal(live.data.dir, 'in')
    // The operator's own Call shows in the trace too.
    const pending = admin.api('/api/v1/chargers/CP-F/calls', { body: { action: 'ClearCache', payload: {} } })
    const out = await s.next((e) => e.event === 'frame' && e.data.dir === 'out' && e.data.frame.includes('ClearCache'))
    const uid = JSON.parse(out.data.frame)[1] as string
    cp.send([3, uid, { status: 'Accepted' }])
    assert.equal((await pending).status, 200)
    await s.next((e) => e.event === 'frame' && e.data.dir === 'in' && e.data.frame.includes(uid))
    await cp.close()
    await s.next((e) => e.event === 'end')
    await s.done
    assert.equal((await admin.api('/api/v1/chargers/CP-F/frames')).status, 404)
    void adminKey
  } finally {
    await t.stop()
  }
})

test('a follower that goes away is forgotten; admin.trace_frames 0 turns the trace off', async () => {
  const { t, admin, adminKey } = await startAdminGateway()
  try {
    await connectChargePoint(`${t.url}/CP-G`, ['ocpp1.6'])
    await waitFor(() => t.gw.sessions.size === 1)
    const s = await follow(`http://127.0.0.1:${admin.port}/api/v1/chargers/CP-G/frames?follow=1`, adminKey)
    await waitFor(() => t.gw.sessions.get('CP-G')?.trace?.followers.size === 1)
    s.abort()
    await s.done
    await waitFor(() => t.gw.sessions.get('CP-G')?.trace?.followers.size === 0)
  } finally {
    await t.stop()
  }
  const off = await startAdminGateway({ admin: { trace_frames: 0 } })
  try {
    await connectChargePoint(`${off.t.url}/CP-H`, ['ocpp1.6'])
    await waitFor(() => off.t.gw.sessions.size === 1)
    const r = await off.admin.api('/api/v1/chargers/CP-H/frames')
    assert.deepEqual([r.status, r.body.error], [404, 'not_found'])
    assert.match(r.body.message, /trace_frames/)
  } finally {
    await off.t.stop()
  }
})

test('a stream open at shutdown does not hold the close', async () => {
  const { t, admin, adminKey } = await startAdminGateway()
  await connectChargePoint(`${t.url}/CP-S`, ['ocpp1.6'])
  await waitFor(() => t.gw.sessions.size === 1)
  const s = await follow(`http://127.0.0.1:${admin.port}/api/v1/chargers/CP-S/frames?follow=1`, adminKey)
  const started = Date.now()
  await t.stop()
  await s.done
  assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms`)
})

test('openapi.json (no key) lists every route with its schema; /api/v1/docs serves Swagger UI', async () => {
  const { t, admin } = await startAdminGateway()
  try {
    const res = await fetch(`http://127.0.0.1:${admin.port}/api/v1/openapi.json`)
    assert.equal(res.status, 200)
    const doc = await res.json() as any
    assert.match(doc.openapi, /^3\./)
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/api/v1/chargers', '/api/v1/chargers/{id}', '/api/v1/chargers/{id}/calls', '/api/v1/chargers/{id}/frames',
      '/api/v1/status', '/api/v5/gateways/ocpp/clients', '/api/v5/gateways/ocpp/clients/{id}'
    ])
    const call = doc.paths['/api/v1/chargers/{id}/calls'].post
    assert.deepEqual(Object.keys(call.responses).sort(), ['200', '400', '401', '403', '404', '409', '502', '503', '504'])
    assert.deepEqual(call.requestBody.content['application/json'].schema.required, ['action', 'payload'])
    assert.deepEqual(doc.security, [{ bearer: [] }])
    const ui = await fetch(`http://127.0.0.1:${admin.port}/api/v1/docs`)
    assert.equal(ui.status, 200)
    assert.match(await ui.text(), /swagger/i)
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/api/v1/status`)).status, 401, 'the API itself still needs a key')
  } finally {
    await t.stop()
  }
})

/** GET over https trusting the test CA: status and the server certificate's fingerprint. */
async function httpsGet (port: number, path: string): Promise<{ status: number, fingerprint: string }> {
  return await new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, ca: readFileSync(certs.ca.cert), agent: false, servername: 'localhost' }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint }))
    })
    r.on('error', reject)
    r.end()
  })
}

test('admin.ssl_options: HTTPS with the listeners\' certificate loader, reloaded by gw.reload() (SIGHUP)', async () => {
  const dir = certs.dir
  const certfile = join(dir, 'admin-cert.pem')
  const keyfile = join(dir, 'admin-key.pem')
  copyFileSync(certs.server.cert, certfile)
  copyFileSync(certs.server.key, keyfile)
  const t = await startTestGateway({ config: { admin: { bind: '127.0.0.1:0', ssl_options: { certfile, keyfile } } } })
  try {
    const port = t.gw.adminPort ?? 0
    const first = await httpsGet(port, '/healthz')
    assert.equal(first.status, 200)
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'plain HTTP is not served')
    copyFileSync(certs.server2.cert, certfile)
    copyFileSync(certs.server2.key, keyfile)
    await t.gw.reload()
    const second = await httpsGet(port, '/healthz')
    assert.equal(second.status, 200)
    assert.notEqual(second.fingerprint, first.fingerprint, 'the new certificate is served')
  } finally {
    await t.stop()
  }
})

/**
 * The admin API's operator Calls and roles over real HTTP, with real charge points (ws) and a
 * real MQTT backend: a CallResult, a CallError, offline, timeout (and its late answer dropped),
 * queue full, invalid payload and bad requests, the charger leaving with the Call owed, a
 * backend's Call sharing the queue, 401 and a viewer's 403, and the metrics that move.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startAdminGateway, type AdminClient } from '../helpers/admin.js'
import { connectChargePoint, waitFor, type ChargePoint } from '../helpers/clients.js'

/** The next Call the charge point receives (a frame [2, id, action, payload]). */
async function nextCall (cp: ChargePoint, action: string): Promise<[number, string, string, Record<string, unknown>]> {
  return await cp.frames.wait((f) => f[0] === 2 && f[2] === action && !(f as any).seen, 5000, `${action} Call`).then((f) => {
    (f as any).seen = true
    return f as [number, string, string, Record<string, unknown>]
  })
}

const metric = (text: string, line: string): number => {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `))
  return found === undefined ? 0 : Number(found.slice(line.length + 1))
}

test('operator Calls: answered, CallError, offline, timeout, queue full, invalid, disconnected, roles, metrics', async () => {
  const { t, admin, viewerKey } = await startAdminGateway()
  const cps: ChargePoint[] = []
  try {
    const cp = await connectChargePoint(`${t.url}/CP-1`, ['ocpp1.6'])
    cps.push(cp)
    await waitFor(() => t.gw.sessions.size === 1)
    const call = (body: unknown, id = 'CP-1', key?: string): ReturnType<AdminClient['api']> => admin.api(`/api/v1/chargers/${id}/calls`, { body, key })

    // A CallResult: 200, with the gateway's UniqueId and the charger's payload.
    const pending = call({ action: 'Reset', payload: { type: 'Hard' } })
    const [, uid, , payload] = await nextCall(cp, 'Reset')
    assert.match(uid, /^adm-[A-Za-z0-9_-]{16}$/)
    assert.deepEqual(payload, { type: 'Hard' })
    cp.send([3, uid, { status: 'Accepted' }])
    const ok = await pending
    assert.equal(ok.status, 200)
    assert.deepEqual([ok.body.result, ok.body.unique_id, ok.body.payload], ['CallResult', uid, { status: 'Accepted' }])
    assert.equal(typeof ok.body.elapsed_ms, 'number')

    // A CallError: 502 with the charger's code, description and details.
    const failing = call({ action: 'Reset', payload: { type: 'Soft' } })
    const [, uid2] = await nextCall(cp, 'Reset')
    cp.send([4, uid2, 'NotSupported', 'not today', { why: 'x' }])
    const err = await failing
    assert.equal(err.status, 502)
    assert.deepEqual([err.body.error, err.body.unique_id, err.body.code, err.body.description, err.body.details], ['call_error', uid2, 'NotSupported', 'not today', { why: 'x' }])
    assert.equal(typeof err.body.message, 'string')

    // Offline: 404 `offline`.
    const off = await call({ action: 'Reset', payload: { type: 'Hard' } }, 'NOBODY')
    assert.deepEqual([off.status, off.body.error], [404, 'offline'])
    assert.match(off.body.message, /node/)

    // Invalid payload (validation on): 400 invalid_payload, nothing sent.
    const before = cp.frames.items.length
    const invalid = await call({ action: 'Reset', payload: { type: 'Sideways' } })
    assert.deepEqual([invalid.status, invalid.body.error], [400, 'invalid_payload'])
    assert.match(invalid.body.message, /invalid/)
    // Unknown action, missing payload, extra member, bad timeout: 400 bad_request.
    for (const body of [{ action: 'Teleport', payload: {} }, { action: 'Reset' }, { action: 'Reset', payload: { type: 'Hard' }, extra: 1 }, { action: 'Reset', payload: { type: 'Hard' }, timeout: 'soon' }, { action: 'Reset', payload: { type: 'Hard' }, timeout: '1h' }]) {
      const r = await call(body)
      assert.deepEqual([r.status, r.body.error], [400, 'bad_request'], JSON.stringify(body))
      assert.equal(typeof r.body.message, 'string')
    }
    assert.equal(cp.frames.items.length, before, 'nothing was sent for a refused Call')

    // Timeout: 504; the late answer goes nowhere (not to MQTT), and the queue frees.
    const slow = await Promise.all([call({ action: 'Reset', payload: { type: 'Hard' }, timeout: '300ms' }), nextCall(cp, 'Reset')])
    assert.deepEqual([slow[0].status, slow[0].body.error], [504, 'timeout'])
    const lateId = slow[1][1]
    cp.send([3, lateId, { status: 'Accepted' }])

    // Queue full (max_mqueue_len 1): one in flight, one queued, the third is 503.
    const first = call({ action: 'Reset', payload: { type: 'Hard' } })
    const [, f1] = await nextCall(cp, 'Reset')
    const second = call({ action: 'Reset', payload: { type: 'Soft' } })
    await waitFor(() => t.gw.sessions.get('CP-1')?.calls.length === 1)
    const third = await call({ action: 'Reset', payload: { type: 'Hard' } })
    assert.deepEqual([third.status, third.body.error], [503, 'queue_full'])
    // GET shows the queue: one in flight, one waiting.
    const view = await admin.api('/api/v1/chargers/CP-1')
    assert.deepEqual(view.body.calls, { to_charger: { queued: 1, in_flight: 1 }, from_charger: { in_flight: 0 } })
    assert.equal(view.body.node, t.gw.config.nodeId !== '' ? t.gw.config.nodeId : view.body.node)
    assert.equal(typeof view.body.node, 'string')
    assert.equal(view.body.heartbeat_interval_s, t.gw.config.defaultHeartbeatIntervalMs / 1000)
    cp.send([3, f1, { status: 'Accepted' }])
    assert.equal((await first).status, 200)
    const [, f2] = await nextCall(cp, 'Reset')
    cp.send([3, f2, { status: 'Rejected' }])
    assert.deepEqual((await second).body.payload, { status: 'Rejected' })

    // A backend's Call shares the queue; its answer is published, the operator's never is.
    t.backend.inbox.drain()
    const opCall = call({ action: 'Reset', payload: { type: 'Hard' } })
    const [, opId] = await nextCall(cp, 'Reset')
    await t.backend.publish('ocpp/cs/CP-1', { MessageTypeId: 2, UniqueId: 'be-1', Action: 'ClearCache', Payload: {} })
    await waitFor(() => t.gw.sessions.get('CP-1')?.calls.length === 1)
    cp.send([3, opId, { status: 'Accepted' }])
    assert.equal((await opCall).status, 200)
    const [, beId] = await nextCall(cp, 'ClearCache')
    assert.equal(beId, 'be-1')
    cp.send([3, 'be-1', { status: 'Accepted' }])
    await t.backend.inbox.wait((m) => m.json?.UniqueId === 'be-1', 5000, 'the backend reply')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(t.backend.inbox.items.filter((m) => m.raw.includes('adm-')).length, 0, 'no operator Call or answer on MQTT')

    // Roles: no key 401; a viewer reads but may not call or kick (403).
    assert.equal((await call({ action: 'Reset', payload: { type: 'Hard' } }, 'CP-1', 'wrong')).status, 401)
    const viewerCall = await call({ action: 'Reset', payload: { type: 'Hard' } }, 'CP-1', viewerKey)
    assert.deepEqual([viewerCall.status, viewerCall.body.error], [403, 'forbidden'])
    assert.equal((await admin.api('/api/v1/chargers/CP-1', { method: 'DELETE', key: viewerKey })).status, 403)
    assert.equal((await admin.api('/api/v1/chargers', { key: viewerKey })).status, 200)

    // The charger leaves with the Call owed: 409 disconnected.
    const owed = call({ action: 'Reset', payload: { type: 'Hard' } })
    await nextCall(cp, 'Reset')
    await cp.close()
    const gone = await owed
    assert.deepEqual([gone.status, gone.body.error], [409, 'disconnected'])

    // The metrics moved: frames by type and action, answer times, Calls by result.
    const res = await fetch(`http://127.0.0.1:${admin.port}/metrics`)
    const text = await res.text()
    assert.ok(metric(text, 'ocpp_gateway_frames_total{direction="out",type="CALL",action="Reset"}') >= 7)
    assert.ok(metric(text, 'ocpp_gateway_frames_total{direction="in",type="CALLRESULT",action="Reset"}') >= 4)
    assert.equal(metric(text, 'ocpp_gateway_frames_total{direction="in",type="CALLERROR",action="Reset"}'), 1)
    assert.ok(metric(text, 'ocpp_gateway_call_answer_seconds_count{answered_by="charger"}') >= 6)
    assert.ok(metric(text, 'ocpp_gateway_call_answer_seconds_bucket{answered_by="charger",le="+Inf"}') >= 6)
    for (const [reason, n] of [['result', 4], ['call_error', 1], ['offline', 1], ['invalid_payload', 1], ['bad_request', 5], ['timeout', 1], ['queue_full', 1], ['disconnected', 1]] as const) {
      assert.equal(metric(text, `ocpp_gateway_admin_calls_total{reason="${reason}"}`), n, reason)
    }
    assert.equal(metric(text, 'ocpp_gateway_admin_requests_rejected_total{reason="forbidden"}'), 2)
    assert.ok(text.includes('ocpp_gateway_nodejs_eventloop_lag_seconds'), 'event-loop lag is exported')
    assert.ok(text.includes('ocpp_gateway_calls_in_flight{direction="to_charger"}'))
    assert.ok(text.includes('ocpp_gateway_calls_queued{direction="to_charger"}'))
  } finally {
    for (const cp of cps) await cp.close()
    await t.stop()
  }
})

test('a charge point Call answered by the backend: answered_by="backend" histogram, from_charger in flight', async () => {
  const { t, admin } = await startAdminGateway()
  try {
    const cp = await connectChargePoint(`${t.url}/CP-B`, ['ocpp1.6'])
    cp.send([2, 'hb-1', 'Heartbeat', {}])
    await t.backend.inbox.wait((m) => m.json?.UniqueId === 'hb-1', 5000, 'the Heartbeat on MQTT')
    const view = await admin.api('/api/v1/chargers/CP-B')
    assert.deepEqual(view.body.calls.from_charger, { in_flight: 1 })
    await t.backend.publish('ocpp/cs/CP-B', { MessageTypeId: 3, UniqueId: 'hb-1', Payload: { currentTime: new Date().toISOString() } })
    await cp.frames.wait((f) => f[0] === 3 && f[1] === 'hb-1')
    const text = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text()
    assert.equal(metric(text, 'ocpp_gateway_call_answer_seconds_count{answered_by="backend"}'), 1)
    assert.equal(metric(text, 'ocpp_gateway_frames_total{direction="in",type="CALL",action="Heartbeat"}'), 1)
    assert.equal(metric(text, 'ocpp_gateway_frames_total{direction="out",type="CALLRESULT",action="Heartbeat"}'), 1)
    // An action outside every schema set is labelled `other` (the label set stays bounded).
    cp.send([2, 'x-1', 'MadeUpAction', {}])
    await cp.frames.wait((f) => f[0] === 4 && f[1] === 'x-1')
    const after = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text()
    assert.equal(metric(after, 'ocpp_gateway_frames_total{direction="in",type="CALL",action="other"}'), 1)
    assert.ok(!after.includes('MadeUpAction'))
    await cp.close()
  } finally {
    await t.stop()
  }
})

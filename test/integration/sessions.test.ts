/** Duplicate ids (newest wins), connection events, graceful close, and a flood of frames. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

for (const { kind, skip } of brokerKinds) {
  describe(`sessions (${kind} broker)`, { skip }, () => {
    test('connected and disconnected events carry id, version, peer, time and reason', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        const cp = await connectChargePoint(`${t.url}/ev-1`, ['ocpp2.0.1'])
        const on = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/ev-1' && m.json.event === 'connected')
        assert.equal(on.json.cid, 'ev-1')
        assert.equal(on.json.version, '2.0.1')
        assert.equal(on.json.subprotocol, 'ocpp2.0.1')
        assert.match(on.json.peer, /^127\.0\.0\.1:\d+$/)
        assert.ok(!Number.isNaN(Date.parse(on.json.at)))
        await cp.close()
        const off = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/ev-1' && m.json.event === 'disconnected')
        assert.equal(off.json.reason, 'closed_by_charger')
        assert.equal(off.json.code, 1005)
        assert.equal(typeof off.json.duration_ms, 'number')
      } finally {
        await t.stop()
      }
    })

    test('duplicate id: the newest connection wins, the old one is closed with 4002', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        const first = await connectChargePoint(`${t.url}/dup-1`)
        const second = await connectChargePoint(`${t.url}/dup-1`)
        const closed = await first.closed
        assert.equal(closed.code, 4002)
        assert.equal(closed.reason, 'replaced by a newer connection')
        const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/dup-1' && m.json.event === 'disconnected')
        assert.equal(ev.json.reason, 'takeover')
        // Downstream goes to the new connection, and keeps working.
        await t.backend.publish('ocpp/cs/dup-1', { MessageTypeId: 2, UniqueId: 'after', Action: 'Reset', Payload: { type: 'Soft' } })
        assert.deepEqual(await second.frames.wait(), [2, 'after', 'Reset', { type: 'Soft' }])
        assert.equal(first.frames.items.length, 0)
        second.send([2, 'up', 'Heartbeat', {}])
        await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/dup-1')
        assert.equal(t.gw.sessions.size, 1)
        assert.equal(t.gw.metrics.counters.takeovers_total, 1)
        await second.close()
      } finally {
        await t.stop()
      }
    })

    test('5,000 downstream Calls in a row to one charge point all arrive, one per WebSocket message, in order, each answered', async () => {
      const n = 5000
      const t = await startTestGateway({ broker: kind, config: { dnstream: { max_mqueue_len: n } } })
      try {
        const cp = await connectChargePoint(`${t.url}/flood-1`)
        // A charge point answers each Call; the gateway sends the next only then (one in flight).
        cp.ws.on('message', (data) => {
          const f = JSON.parse(String(data)) as unknown[]
          cp.send([3, f[1], { status: 'Accepted' }])
        })
        const replies = t.backend.inbox.wait(() => t.backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/flood-1/Reply').length >= n, 60_000, `${n} replies`)
        for (let i = 0; i < n; i++) {
          void t.backend.client.publish('ocpp/cs/flood-1', JSON.stringify({ MessageTypeId: 2, UniqueId: `f${i}`, Action: 'DataTransfer', Payload: { vendorId: 'x', data: String(i) } }), { qos: 1 })
        }
        await replies
        assert.equal(cp.raw.items.length, n)
        cp.raw.items.forEach((text, i) => {
          assert.deepEqual(JSON.parse(text), [2, `f${i}`, 'DataTransfer', { vendorId: 'x', data: String(i) }])
        })
        const got = t.backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/flood-1/Reply')
        assert.deepEqual(got.map((m) => m.json.UniqueId), Array.from({ length: n }, (_, i) => `f${i}`))
        assert.ok(got.every((m) => m.json.Action === 'DataTransfer' && m.json.Origin === undefined))
        await cp.close()
      } finally {
        await t.stop()
      }
    })
  })
}

describe('shutdown', () => {
  test('close() sends 1001 to every charge point and counts shutdown disconnections', async () => {
    const t = await startTestGateway()
    const cps = await Promise.all([1, 2, 3].map((i) => connectChargePoint(`${t.url}/bye-${i}`)))
    const events = t.backend.inbox
    await events.wait((m) => m.topic === 'ocpp/events/bye-3' && m.json.event === 'connected')
    const closing = t.gw.close()
    for (const cp of cps) {
      const c = await cp.closed
      assert.equal(c.code, 1001)
    }
    await closing
    assert.equal(t.gw.metrics.get('disconnections_total', 'shutdown'), 3)
    await t.stop()
  })
})

/** Keepalive (EMQX semantics), the BootNotification interval, the ping sweep, idle timeout. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

describe('keepalive', () => {
  test('a charge point silent for interval x backoff is closed with 4001 and an event says keepalive_timeout', async () => {
    const t = await startTestGateway({ config: { default_heartbeat_interval: '300ms', heartbeat_checking_times_backoff: 2 } })
    try {
      const cp = await connectChargePoint(`${t.url}/ka-1`)
      const started = Date.now()
      const closed = await cp.closed
      const elapsed = Date.now() - started
      assert.equal(closed.code, 4001)
      assert.equal(closed.reason, 'keepalive timeout')
      assert.ok(elapsed >= 600, `closed after ${elapsed} ms, not before 300ms x 2`)
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/ka-1' && m.json.event === 'disconnected')
      assert.equal(ev.json.reason, 'keepalive_timeout')
      assert.equal(ev.json.code, 4001)
      assert.equal(t.gw.metrics.counters.keepalive_timeouts_total, 1)
    } finally {
      await t.stop()
    }
  })

  test('any text frame counts as life', async () => {
    const t = await startTestGateway({ config: { default_heartbeat_interval: '400ms' } })
    try {
      const cp = await connectChargePoint(`${t.url}/ka-2`)
      for (let i = 0; i < 8; i++) { // 8 x 150 ms = 1.2 s, three intervals
        cp.send([2, `h${i}`, 'Heartbeat', {}])
        await new Promise((resolve) => setTimeout(resolve, 150))
      }
      assert.ok(t.gw.sessions.get('ka-2') !== undefined, 'still connected')
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test("the interval of an accepted BootNotification becomes the charge point's interval", async () => {
    const t = await startTestGateway({ config: { default_heartbeat_interval: '300ms' } })
    try {
      const cp = await connectChargePoint(`${t.url}/ka-3`)
      cp.send([2, 'b1', 'BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' }])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/ka-3')
      await t.backend.publish('ocpp/cs/ka-3', { MessageTypeId: 3, UniqueId: 'b1', Payload: { status: 'Accepted', interval: 1, currentTime: new Date().toISOString() } })
      await cp.frames.wait((f) => f[1] === 'b1')
      assert.equal(t.gw.sessions.get('ka-3')?.heartbeatIntervalMs, 1000)
      // 600 ms of silence: past the default 300 ms, within the new 1 s
      await new Promise((resolve) => setTimeout(resolve, 600))
      assert.ok(t.gw.sessions.get('ka-3') !== undefined, 'still connected under the new interval')
      const closed = await cp.closed
      assert.equal(closed.code, 4001)
    } finally {
      await t.stop()
    }
  })

  test('a Rejected BootNotification does not change the interval', async () => {
    const t = await startTestGateway()
    try {
      const cp = await connectChargePoint(`${t.url}/ka-4`, ['ocpp2.0.1'])
      cp.send([2, 'b1', 'BootNotification', { reason: 'PowerUp', chargingStation: { model: 'm', vendorName: 'v' } }])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/ka-4')
      await t.backend.publish('ocpp/cs/ka-4', { MessageTypeId: 3, UniqueId: 'b1', Payload: { status: 'Rejected', interval: 5, currentTime: new Date().toISOString() } })
      await cp.frames.wait((f) => f[1] === 'b1')
      assert.equal(t.gw.sessions.get('ka-4')?.heartbeatIntervalMs, 60_000)
      await cp.close()
    } finally {
      await t.stop()
    }
  })
})

describe('WebSocket ping sweep', () => {
  test('a socket that never answers pings is dropped (half-open), with a ping_timeout event', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { websocket: { ping_interval: '200ms' } } } } } })
    try {
      // autoPong off: like a peer whose network vanished, it never answers.
      const dead = await connectChargePoint(`${t.url}/ping-dead`, ['ocpp1.6'], { autoPong: false })
      const alive = await connectChargePoint(`${t.url}/ping-alive`, ['ocpp1.6'])
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/ping-dead' && m.json.event === 'disconnected', 5000)
      assert.equal(ev.json.reason, 'ping_timeout')
      const closed = await dead.closed
      assert.equal(closed.code, 1006)
      assert.ok(t.gw.sessions.get('ping-alive') !== undefined, 'a peer answering pings stays')
      assert.equal(t.gw.metrics.counters.ping_timeouts_total, 1)
      await alive.close()
    } finally {
      await t.stop()
    }
  })
})

describe('idle_timeout', () => {
  test('a connection that sends nothing at all is closed with 4003', async () => {
    const t = await startTestGateway({ config: { idle_timeout: '300ms' } })
    try {
      const cp = await connectChargePoint(`${t.url}/idle-1`)
      const closed = await cp.closed
      assert.equal(closed.code, 4003)
    } finally {
      await t.stop()
    }
  })
})

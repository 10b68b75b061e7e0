/** message_format_checking wired into sessions: per direction, per version, warn and overrides. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

describe('message_format_checking', () => {
  test('all: an invalid Call from the charge point is not published and gets the version\'s CallError', async () => {
    const t = await startTestGateway({ config: { message_format_checking: 'all' } })
    try {
      for (const [protocol, code] of [['ocpp1.6', 'OccurenceConstraintViolation'], ['ocpp2.0.1', 'OccurrenceConstraintViolation']]) {
        const cid = `val-${protocol}`
        const cp = await connectChargePoint(`${t.url}/${cid}`, [protocol as string])
        cp.send([2, 'b1', 'BootNotification', {}])
        const err = await cp.frames.wait()
        assert.equal(err[0], 4)
        assert.equal(err[2], code)
        assert.match(String(err[3]), /required/)
        cp.send([2, 'u1', 'NoSuchAction', {}])
        assert.equal((await cp.frames.wait((f) => f[1] === 'u1'))[2], 'NotImplemented')
        assert.equal(t.backend.inbox.items.filter((m) => m.topic === `ocpp/cp/${cid}`).length, 0)
        await cp.close()
      }
    } finally {
      await t.stop()
    }
  })

  test('all: invalid Call and CallResult from the backend are not sent; the backend hears why', async () => {
    const t = await startTestGateway({ config: { message_format_checking: 'all' } })
    try {
      const cp = await connectChargePoint(`${t.url}/val-dn`, ['ocpp1.6'])
      await t.backend.publish('ocpp/cs/val-dn', { MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Sideways' } })
      const e1 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-dn/Reply' && m.json.UniqueId === 'r1')
      assert.equal(e1.json.Origin, 'gateway')
      assert.equal(e1.json.ErrorDetails.reason, 'invalid_payload')
      cp.send([2, 'h1', 'Heartbeat', {}])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-dn' && m.json.UniqueId === 'h1')
      await t.backend.publish('ocpp/cs/val-dn', { MessageTypeId: 3, UniqueId: 'h1', Payload: { currentTime: 42 } })
      const e2 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-dn/Reply' && m.json.UniqueId === 'h1')
      assert.equal(e2.json.ErrorCode, 'TypeConstraintViolation')
      assert.equal(cp.frames.items.length, 0, 'nothing invalid reached the charge point')
      // A valid answer still goes through afterwards.
      await t.backend.publish('ocpp/cs/val-dn', { MessageTypeId: 3, UniqueId: 'h1', Payload: { currentTime: '2026-01-01T00:00:00Z' } })
      assert.deepEqual(await cp.frames.wait(), [3, 'h1', { currentTime: '2026-01-01T00:00:00Z' }])
      // An invalid CallResult from the charge point: the backend gets a gateway CallError.
      await t.backend.publish('ocpp/cs/val-dn', { MessageTypeId: 2, UniqueId: 'r2', Action: 'Reset', Payload: { type: 'Soft' } })
      await cp.frames.wait((f) => f[1] === 'r2')
      cp.send([3, 'r2', { status: 'Maybe' }])
      const e3 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-dn/Reply' && m.json.UniqueId === 'r2')
      assert.equal(e3.json.Origin, 'gateway')
      assert.equal(e3.json.ErrorDetails.reason, 'invalid_charger_answer')
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('upstream_only leaves downstream alone; overrides skip or warn per Action', async () => {
    const t = await startTestGateway({ config: { message_format_checking: 'upstream_only', message_format_overrides: { MeterValues: 'skip', StatusNotification: 'warn' } } })
    try {
      const cp = await connectChargePoint(`${t.url}/val-ov`, ['ocpp1.6'])
      cp.send([2, 'm1', 'MeterValues', { vendorJunk: true }])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-ov' && m.json.UniqueId === 'm1')
      cp.send([2, 's1', 'StatusNotification', { connectorId: 1 }])
      const warned = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/val-ov' && m.json.UniqueId === 's1')
      assert.match(warned.json.ValidationError, /required/)
      await t.backend.publish('ocpp/cs/val-ov', { MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Sideways' } })
      assert.deepEqual(await cp.frames.wait((f) => f[1] === 'r1'), [2, 'r1', 'Reset', { type: 'Sideways' }])
      assert.equal(t.gw.metrics.get('validation_failures_total', 'upstream_warn'), 1)
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('2.1 SENDs are checked too: an invalid one is reported, never answered', async () => {
    const t = await startTestGateway({ config: { message_format_checking: 'all' } })
    try {
      const cp = await connectChargePoint(`${t.url}/val-send`, ['ocpp2.1'])
      cp.send([6, 's1', 'NotifyPeriodicEventStream', { id: 'not-a-number' }])
      const rep = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/val-send')
      assert.equal(rep.json.Error, 'invalid_send')
      assert.equal(rep.json.UniqueId, 's1')
      assert.equal(t.backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/val-send').length, 0)
      assert.equal(cp.frames.items.length, 0, 'a SEND is never answered')
      await cp.close()
    } finally {
      await t.stop()
    }
  })
})

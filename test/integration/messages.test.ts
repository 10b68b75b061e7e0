/**
 * Upstream and downstream for all five message types, topic templates and overrides, for
 * each OCPP version, against the embedded broker and a real Mosquitto.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

for (const { kind, skip } of brokerKinds) {
  describe(`messages (${kind} broker)`, { skip }, () => {
    let t: TestGateway
    before(async () => { t = await startTestGateway({ broker: kind }) })
    after(async () => { await t.stop() })

    for (const protocol of ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']) {
      test(`${protocol}: Call, CallResult, CallError in both directions`, async () => {
        const cid = `msg-${protocol}`
        const cp = await connectChargePoint(`${t.url}/${cid}`, [protocol])
        const inbox = t.backend.inbox
        // Up: Call
        cp.send([2, 'up-1', 'Heartbeat', {}])
        const call = await inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'up-1')
        assert.equal(call.topic, `ocpp/cp/${cid}`)
        assert.deepEqual(call.json, { MessageTypeId: 2, UniqueId: 'up-1', Action: 'Heartbeat', Payload: {} })
        // Down: CallResult (Action optional) answering it
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 3, UniqueId: 'up-1', Payload: { currentTime: '2026-01-01T00:00:00Z' } })
        assert.deepEqual(await cp.frames.wait((f) => f[1] === 'up-1'), [3, 'up-1', { currentTime: '2026-01-01T00:00:00Z' }])
        // Down: CallError answering another Call, ErrorDetails kept
        cp.send([2, 'up-2', 'Authorize', { idTag: 'X' }])
        await inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'up-2')
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 4, UniqueId: 'up-2', ErrorCode: 'InternalError', ErrorDescription: 'db down', ErrorDetails: { retry: true } })
        assert.deepEqual(await cp.frames.wait((f) => f[1] === 'up-2'), [4, 'up-2', 'InternalError', 'db down', { retry: true }])
        // Down: CallError without description/details gets "" and {}
        cp.send([2, 'up-3', 'Authorize', { idTag: 'Y' }])
        await inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'up-3')
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 4, UniqueId: 'up-3', ErrorCode: 'GenericError' })
        assert.deepEqual(await cp.frames.wait((f) => f[1] === 'up-3'), [4, 'up-3', 'GenericError', '', {}])

        // Down: Call from the backend
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: 'dn-1', Action: 'Reset', Payload: { type: 'Soft' } })
        assert.deepEqual(await cp.frames.wait((f) => f[1] === 'dn-1'), [2, 'dn-1', 'Reset', { type: 'Soft' }])
        // Up: CallResult, on the reply topic, with the Action of the Call it answers
        cp.send([3, 'dn-1', { status: 'Accepted' }])
        const result = await inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'dn-1')
        assert.equal(result.topic, `ocpp/cp/${cid}/Reply`)
        assert.deepEqual(result.json, { MessageTypeId: 3, UniqueId: 'dn-1', Action: 'Reset', Payload: { status: 'Accepted' } })
        // Up: CallError, on the error topic, ErrorDetails and Action kept
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: 'dn-2', Action: 'UnlockConnector', Payload: { connectorId: 1 } })
        await cp.frames.wait((f) => f[1] === 'dn-2')
        cp.send([4, 'dn-2', 'NotSupported', 'no lock', { hw: 'none' }])
        const error = await inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'dn-2')
        assert.equal(error.topic, `ocpp/cp/${cid}/Reply`)
        assert.deepEqual(error.json, { MessageTypeId: 4, UniqueId: 'dn-2', ErrorCode: 'NotSupported', ErrorDescription: 'no lock', ErrorDetails: { hw: 'none' }, Action: 'UnlockConnector' })
        await cp.close()
      })
    }

    test('ocpp2.1: SEND (6) and CALLRESULTERROR (5) in both directions', async () => {
      const cid = 'msg-21-extra'
      const cp = await connectChargePoint(`${t.url}/${cid}`, ['ocpp2.1'])
      cp.send([6, 's-1', 'NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] }])
      const send = await t.backend.inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 's-1')
      assert.equal(send.topic, `ocpp/cp/${cid}`)
      assert.deepEqual(send.json, { MessageTypeId: 6, UniqueId: 's-1', Action: 'NotifyPeriodicEventStream', Payload: { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] } })
      cp.send([5, 'r-1', 'FormatViolation', 'bad result', { field: 'x' }])
      const cre = await t.backend.inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 'r-1')
      assert.equal(cre.topic, `ocpp/cp/${cid}/Reply`)
      assert.deepEqual(cre.json, { MessageTypeId: 5, UniqueId: 'r-1', ErrorCode: 'FormatViolation', ErrorDescription: 'bad result', ErrorDetails: { field: 'x' } })
      await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 6, UniqueId: 's-2', Action: 'NotifySettlement', Payload: { a: 1 } })
      assert.deepEqual(await cp.frames.wait((f) => f[1] === 's-2'), [6, 's-2', 'NotifySettlement', { a: 1 }])
      await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 5, UniqueId: 'r-2', ErrorCode: 'InternalError', ErrorDescription: 'x', ErrorDetails: {} })
      assert.deepEqual(await cp.frames.wait((f) => f[1] === 'r-2'), [5, 'r-2', 'InternalError', 'x', {}])
      await cp.close()
    })

    test('types 5 and 6 are not part of 1.6 / 2.0.1: the backend hears a gateway error', async () => {
      const cid = 'msg-16-no6'
      const cp = await connectChargePoint(`${t.url}/${cid}`, ['ocpp1.6'])
      await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 6, UniqueId: 's-9', Action: 'X', Payload: {} })
      const err = await t.backend.inbox.wait((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && m.json?.UniqueId === 's-9' && m.json?.Origin === 'gateway')
      assert.equal(err.topic, `ocpp/cp/${cid}/Reply`)
      assert.equal(err.json.MessageTypeId, 4)
      assert.equal(err.json.ErrorCode, 'FormationViolation')
      assert.equal(cp.frames.items.length, 0)
      await cp.close()
    })
  })
}

describe('topic templates and overrides', () => {
  test('custom mountpoint, templates with ${version} ${type} ${action} ${id}, per-Action override', async () => {
    const t = await startTestGateway({
      subscriptions: ['cpo/#'],
      config: {
        mountpoint: 'cpo/${version}/',
        upstream: {
          topic: 'up/${cid}/${action}',
          reply_topic: 'reply/${cid}/${type}/${id}',
          error_topic: 'err/${clientid}',
          topic_override_mapping: { MeterValues: 'meter/${cid}' }
        },
        dnstream: { topic: 'down/${cid}' },
        events: { topic: 'ev/${cid}' }
      }
    })
    try {
      const cp = await connectChargePoint(`${t.url}/T1`, ['ocpp2.0.1'])
      const inbox = t.backend.inbox
      const connected = await inbox.wait((m) => m.topic === 'cpo/2.0.1/ev/T1')
      assert.equal(connected.json.event, 'connected')
      cp.send([2, 'a', 'Heartbeat', {}])
      assert.equal((await inbox.wait((m) => m.json?.UniqueId === 'a')).topic, 'cpo/2.0.1/up/T1/Heartbeat')
      cp.send([2, 'b', 'MeterValues', { evseId: 1, meterValue: [] }])
      assert.equal((await inbox.wait((m) => m.json?.UniqueId === 'b')).topic, 'cpo/2.0.1/meter/T1')
      await t.backend.publish('cpo/2.0.1/down/T1', { MessageTypeId: 2, UniqueId: 'c', Action: 'Reset', Payload: { type: 'Immediate' } })
      await cp.frames.wait((f) => f[1] === 'c')
      cp.send([3, 'c', { status: 'Accepted' }])
      assert.equal((await inbox.wait((m) => !m.topic.includes('/down/') && m.json?.UniqueId === 'c')).topic, 'cpo/2.0.1/reply/T1/3/c')
      await t.backend.publish('cpo/2.0.1/down/T1', { MessageTypeId: 2, UniqueId: 'd', Action: 'Reset', Payload: { type: 'Immediate' } })
      await cp.frames.wait((f) => f[1] === 'd')
      cp.send([4, 'd', 'InternalError', 'x', {}])
      assert.equal((await inbox.wait((m) => !m.topic.includes('/down/') && m.json?.UniqueId === 'd')).topic, 'cpo/2.0.1/err/T1')
      await cp.close()
    } finally {
      await t.stop()
    }
  })
})

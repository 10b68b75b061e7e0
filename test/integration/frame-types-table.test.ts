/**
 * README's rows on the 2.1-only types (5 CALLRESULTERROR, 6 SEND) with a 1.6 / 2.0.1 charge
 * point, both ways, and on the error code of a backend Call the gateway refuses: what each side
 * sees, as the tables say.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { type TestGateway, startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

const versions = [
  { subprotocol: 'ocpp1.6', format: 'FormationViolation', unknownType: 'FormationViolation', missing: 'OccurenceConstraintViolation' },
  { subprotocol: 'ocpp2.0.1', format: 'FormatViolation', unknownType: 'MessageTypeNotSupported', missing: 'OccurrenceConstraintViolation' }
] as const

async function answerTo (t: TestGateway, cid: string, id: string): Promise<Record<string, unknown>> {
  const m = await t.backend.inbox.wait((x) => x.topic === `ocpp/cp/${cid}/Reply` && x.json?.UniqueId === id, 5000, `gateway answer to ${id}`)
  return m.json as Record<string, unknown>
}

describe('README: types 5 and 6 with 1.6 / 2.0.1, and refused backend Calls', () => {
  for (const v of versions) {
    test(`${v.subprotocol}: a backend's 5 or 6 is answered invalid_envelope, never sent`, async (t) => {
      const gw = await startTestGateway({})
      t.after(gw.stop)
      const cid = `tt-${v.subprotocol}`
      const cp = await connectChargePoint(`${gw.url}/${cid}`, [v.subprotocol])
      await gw.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 6, UniqueId: 's6', Action: 'NotifyPeriodicEventStream', Payload: {} })
      const send = await answerTo(gw, cid, 's6')
      assert.deepEqual({ ...send, ErrorDescription: undefined }, {
        MessageTypeId: 4, UniqueId: 's6', ErrorCode: v.format, ErrorDescription: undefined, ErrorDetails: { reason: 'invalid_envelope' }, Origin: 'gateway', Action: 'NotifyPeriodicEventStream'
      })
      await gw.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 5, UniqueId: 'r5', ErrorCode: 'GenericError', ErrorDescription: 'x', ErrorDetails: {} })
      const cre = await answerTo(gw, cid, 'r5')
      assert.equal(cre.MessageTypeId, 4)
      assert.equal(cre.ErrorCode, v.format)
      assert.deepEqual(cre.ErrorDetails, { reason: 'invalid_envelope' })
      await cp.close()
      assert.equal(cp.frames.items.length, 0)
    })

    test(`${v.subprotocol}: a charge point's 5 or 6 is not answered, reported malformed_frame`, async (t) => {
      const gw = await startTestGateway({})
      t.after(gw.stop)
      const cid = `tu-${v.subprotocol}`
      const cp = await connectChargePoint(`${gw.url}/${cid}`, [v.subprotocol])
      cp.send([6, 'u6', 'NotifyPeriodicEventStream', {}])
      cp.send([5, 'u5', 'GenericError', 'x', {}])
      for (const id of ['u6', 'u5']) {
        const rep = await gw.backend.inbox.wait((m) => m.topic === `ocpp/errors/${cid}` && m.json?.UniqueId === id, 5000, `report of ${id}`)
        assert.equal(rep.json.Error, 'malformed_frame')
        assert.equal(rep.json.ErrorCode, v.unknownType)
        assert.equal(rep.json.Origin, 'gateway')
      }
      // Neither forwarded on the upstream topics nor answered to the charge point.
      cp.send([2, 'after', 'Heartbeat', {}])
      await gw.backend.inbox.wait((m) => m.json?.UniqueId === 'after', 5000, 'the Call after')
      assert.equal(gw.backend.inbox.items.filter((m) => m.topic.startsWith(`ocpp/cp/${cid}`) && (m.json?.UniqueId === 'u5' || m.json?.UniqueId === 'u6')).length, 0)
      assert.equal(cp.frames.items.length, 0)
      await cp.close()
    })

    test(`${v.subprotocol}: a refused backend Call carries the version's code for the failure`, async (t) => {
      const gw = await startTestGateway({ config: { message_format_checking: 'dnstream_only' } })
      t.after(gw.stop)
      const cid = `tc-${v.subprotocol}`
      const cp = await connectChargePoint(`${gw.url}/${cid}`, [v.subprotocol])
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        ['c1', { Action: 'Reset', Payload: {} }, v.missing, 'invalid_payload'],
        ['c2', { Action: 'Reset', Payload: { type: 7 } }, 'TypeConstraintViolation', 'invalid_payload'],
        ['c3', { Action: 'Reset', Payload: { type: 'Sideways' } }, 'PropertyConstraintViolation', 'invalid_payload'],
        ['c4', { Action: 'NoSuchAction', Payload: {} }, 'NotImplemented', 'invalid_payload'],
        ['c5', { Payload: {} }, v.format, 'invalid_envelope']
      ]
      for (const [id, env, code, reason] of cases) {
        await gw.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 2, UniqueId: id, ...env })
        const a = await answerTo(gw, cid, id)
        assert.equal(a.MessageTypeId, 4, id)
        assert.equal(a.ErrorCode, code, id)
        assert.equal((a.ErrorDetails as Record<string, unknown>).reason, reason, id)
        assert.equal(a.Origin, 'gateway', id)
        if (reason === 'invalid_payload') assert.equal(typeof (a.ErrorDetails as Record<string, unknown>).error, 'string', id)
      }
      await cp.close()
      assert.equal(cp.frames.items.length, 0)
    })
  }
})

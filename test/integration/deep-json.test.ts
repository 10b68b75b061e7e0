/**
 * Frames and envelopes nested thousands of levels deep (about 10 KB), from either side: each
 * costs one answer or one report, and the gateway goes on serving everyone else (issue:
 * before max_json_depth such a message ended the process with a RangeError).
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

const deep = '['.repeat(5000) + ']'.repeat(5000)

for (const { kind, skip } of brokerKinds) {
  describe(`deep JSON (${kind})`, { skip }, () => {
    let t: TestGateway
    before(async () => { t = await startTestGateway({ broker: kind, config: { message_format_checking: 'all' } }) })
    after(async () => { await t.stop() })

    test('a deep Call is answered with its id; a deep CallError to a backend Call and a deep 2.1 CALLRESULTERROR are reported', async () => {
      const a = await connectChargePoint(`${t.url}/deep-a`, ['ocpp1.6'])
      const b = await connectChargePoint(`${t.url}/deep-b`, ['ocpp2.1'])
      a.send(`[2,"d1","DataTransfer",{"vendorId":"v","data":${deep}}]`)
      assert.deepEqual(await a.frames.wait((f) => f[1] === 'd1'), [4, 'd1', 'FormationViolation', 'message nests deeper than 64 levels (max_json_depth)', {}])

      await t.backend.publish('ocpp/cs/deep-a', { MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Soft' } })
      await a.frames.wait((f) => f[1] === 'r1' && f[0] === 2)
      a.send(`[4,"r1","InternalError","x",{"d":${deep}}]`)
      const r1 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/deep-a' && m.json.UniqueId === 'r1')
      assert.equal(r1.json.Error, 'malformed_frame')

      b.send(`[5,"e1","InternalError","x",{"d":${deep}}]`)
      const e1 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/deep-b' && m.json.UniqueId === 'e1')
      assert.equal(e1.json.Error, 'malformed_frame')

      // Still serving: a Call from each charger reaches the backend.
      a.send([2, 'h1', 'Heartbeat', {}])
      b.send([2, 'h2', 'Heartbeat', {}])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/deep-a' && m.json.UniqueId === 'h1')
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/deep-b' && m.json.UniqueId === 'h2')
      await a.close()
      await b.close()
    })

    test('a deep downstream Call is answered invalid_envelope with its UniqueId, to a connected charger and to one that is not', async () => {
      const a = await connectChargePoint(`${t.url}/deep-c`, ['ocpp1.6'])
      for (const cid of ['deep-c', 'deep-nobody']) {
        await t.backend.publish(`ocpp/cs/${cid}`, `{"MessageTypeId":2,"UniqueId":"x-${cid}","Action":"DataTransfer","Payload":{"vendorId":"v","data":${deep}}}`)
        const m = await t.backend.inbox.wait((m) => m.topic === `ocpp/cp/${cid}/Reply` && m.json.UniqueId === `x-${cid}`)
        assert.equal(m.json.ErrorDetails.reason, 'invalid_envelope')
        assert.equal(m.json.Origin, 'gateway')
      }
      assert.equal(a.frames.items.length, 0, 'nothing deep reached the charger')
      a.send([2, 'h3', 'Heartbeat', {}])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/deep-c' && m.json.UniqueId === 'h3')
      await a.close()
    })
  })
}

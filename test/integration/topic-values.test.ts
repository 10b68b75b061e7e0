/**
 * Values from peers in topic templates (`${action}`, `${id}`): a charger's bad Action is
 * refused, a UniqueId holding "/", "+" or "#" is escaped into one topic level, and the
 * gateway's MQTT connection (which Mosquitto drops on a PUBLISH to a wildcard topic) stays up
 * for every other charger.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

for (const { kind, skip } of brokerKinds) {
  describe(`topic values (${kind})`, { skip }, () => {
    let t: TestGateway
    before(async () => {
      t = await startTestGateway({
        broker: kind,
        config: { upstream: { topic: 'cp/${cid}/${action}', reply_topic: 'cp/${cid}/Reply/${id}', error_topic: 'cp/${cid}/Error/${id}' } }
      })
    })
    after(async () => { await t.stop() })

    test('Action "#" is answered a CallError; a UniqueId "x/+#" is escaped; another charger is still served', async () => {
      const bad = await connectChargePoint(`${t.url}/tv-bad`, ['ocpp1.6'])
      const good = await connectChargePoint(`${t.url}/tv-good`, ['ocpp1.6'])
      for (const [i, action] of ['#', 'a/+/b', 'x\u0000'].entries()) {
        bad.send([2, `b${i}`, action, {}])
        const reply = await bad.frames.wait((f) => f[1] === `b${i}`)
        assert.deepEqual(reply.slice(0, 3), [4, `b${i}`, 'FormationViolation'])
      }
      // A backend Call whose UniqueId would be a wildcard in the reply topic.
      await t.backend.publish('ocpp/cs/tv-bad', { MessageTypeId: 2, UniqueId: 'x/+#', Action: 'Reset', Payload: { type: 'Soft' } })
      const call = await bad.frames.wait((f) => f[0] === 2 && f[1] === 'x/+#')
      bad.send([3, call[1], { status: 'Accepted' }])
      const answer = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/tv-bad/Reply/x%2F%2B%23')
      assert.equal(answer.json.UniqueId, 'x/+#')
      // The gateway's connection to the broker survived all of it.
      good.send([2, 'g1', 'Heartbeat', {}])
      const hb = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/tv-good/Heartbeat' && m.json.UniqueId === 'g1')
      assert.equal(hb.json.Action, 'Heartbeat')
      assert.equal(t.gw.metrics.get('mqtt_publish_errors_total'), 0)
      await bad.close()
      await good.close()
    })
  })
}

/**
 * Downstream messages a broker replays: a backend Call published with the retain flag reaches
 * the charger once, live, and is never replayed to it when it reconnects (a Reset hours later);
 * the replay is reported and counted. Mosquitto replays on the gateway's per-charger
 * (re)subscription; the embedded broker has no replay to an in-process subscriber.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

for (const { kind, skip } of brokerKinds) {
  describe(`retained downstream messages (${kind})`, { skip }, () => {
    let t: TestGateway
    before(async () => { t = await startTestGateway({ broker: kind }) })
    after(async () => {
      await t.backend.client.publishAsync('ocpp/cs/ret-1', '', { retain: true, qos: 1 }) // clear it
      await t.stop()
    })

    test('a retained Call is delivered once, live, and not replayed on reconnect', async () => {
      const cp = await connectChargePoint(`${t.url}/ret-1`)
      await t.backend.client.publishAsync('ocpp/cs/ret-1', JSON.stringify({ MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Hard' } }), { retain: true, qos: 1 })
      await cp.frames.wait((f) => f[0] === 2 && f[1] === 'r1')
      cp.send([3, 'r1', { status: 'Accepted' }])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/ret-1/Reply' && m.json.UniqueId === 'r1')
      await cp.close()
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/ret-1' && m.json.event === 'disconnected')
      // On an external broker a charger back within the cluster's CLEAR_DELAY_MS (500 ms) keeps
      // its subscription (no replay at all); later, it is subscribed again and the broker replays.
      if (kind === 'mosquitto') await new Promise((resolve) => setTimeout(resolve, 1000))

      const again = await connectChargePoint(`${t.url}/ret-1`)
      // The charger's own Call round-trips, so the subscription is in place; the replay (if the
      // broker makes one) has arrived by then.
      again.send([2, 'h1', 'Heartbeat', {}])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/ret-1' && m.json.UniqueId === 'h1')
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.deepEqual(again.frames.items.filter((f) => f[0] === 2), [], 'the retained Reset was replayed to the charger')
      if (kind === 'mosquitto') {
        const report = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/ret-1' && m.json.Error === 'retained_ignored')
        assert.equal(report.json.Origin, 'gateway')
        assert.ok(t.gw.metrics.get('envelopes_retained_ignored_total') >= 1)
      }
      await again.close()
    })
  })
}

/**
 * The seed document's walk-through (EMQX 5 OCPP gateway article), exactly as written, with
 * this gateway in EMQX's place: against the embedded broker and against a real Mosquitto.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

for (const { kind, skip } of brokerKinds) {
  describe(`seed walk-through (${kind} broker)`, { skip }, () => {
    test('BootNotification up, CallResult down, StatusNotification up', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        // ocpp-go: CLIENT_ID=chargePointSim CENTRAL_SYSTEM_URL=ws://<host>:33033/ocpp
        const cp = await connectChargePoint(`${t.url}/chargePointSim`, ['ocpp1.6'])
        assert.equal(cp.protocol, 'ocpp1.6')
        cp.send([2, '1200012677', 'BootNotification', { chargePointVendor: 'vendor1', chargePointModel: 'model1' }])

        const boot = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/chargePointSim', 5000, 'BootNotification on ocpp/cp/chargePointSim')
        assert.deepEqual(boot.json, {
          MessageTypeId: 2,
          UniqueId: '1200012677',
          Action: 'BootNotification',
          Payload: { chargePointVendor: 'vendor1', chargePointModel: 'model1' }
        })

        await t.backend.publish('ocpp/cs/chargePointSim', {
          MessageTypeId: 3,
          UniqueId: boot.json.UniqueId,
          Payload: { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' },
          Action: 'BootNotification'
        })
        const reply = await cp.frames.wait(() => true, 5000, 'BootNotification CallResult')
        assert.deepEqual(reply, [3, '1200012677', { currentTime: '2023-12-01T14:20:39+00:00', interval: 300, status: 'Accepted' }])

        cp.send([2, '3062609974', 'StatusNotification', { status: 'Available', errorCode: 'NoError', connectorId: 0 }])
        const status = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/chargePointSim' && m.json?.Action === 'StatusNotification', 5000, 'StatusNotification')
        assert.deepEqual(status.json, {
          UniqueId: '3062609974',
          Payload: { status: 'Available', errorCode: 'NoError', connectorId: 0 },
          MessageTypeId: 2,
          Action: 'StatusNotification'
        })
        // The accepted BootNotification's interval became this charge point's heartbeat interval.
        assert.equal(t.gw.sessions.get('chargePointSim')?.heartbeatIntervalMs, 300_000)
        await cp.close()
      } finally {
        await t.stop()
      }
    })
  })
}

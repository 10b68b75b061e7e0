/**
 * The control topic (issue 15 item 3): a backend closes a charge point with
 * {"command":"disconnect"} on ocpp/ctl/{cid}, and gets the answer on ocpp/ctl/{cid}/Reply.
 * Real sockets, both brokers (the embedded one and a real Mosquitto).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { connectChargePoint } from '../helpers/clients.js'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'

for (const { kind, skip } of brokerKinds) {
  describe(`control topic (${kind})`, { skip }, () => {
    let t: TestGateway
    before(async () => { t = await startTestGateway({ broker: kind }) })
    after(async () => { await t?.stop() })

    const reply = async (cid: string, id: string): Promise<Record<string, unknown>> =>
      (await t.backend.inbox.wait((m) => m.topic === `ocpp/ctl/${cid}/Reply` && m.json?.id === id, 5000, `control reply ${id}`)).json

    test('disconnect: the connection closes with 4005, the event says closed_by_backend, the answer says closed', async () => {
      const cp = await connectChargePoint(`${t.url}/CTL1`)
      await t.backend.publish('ocpp/ctl/CTL1', { command: 'disconnect', id: 'c-1', reason: 'moved to profile 2' })
      assert.deepEqual(await cp.closed, { code: 4005, reason: 'closed by the CSMS' })
      const r = await reply('CTL1', 'c-1')
      assert.equal(r.result, 'closed')
      assert.equal(r.command, 'disconnect')
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/CTL1' && m.json?.event === 'disconnected', 5000, 'the disconnected event')
      assert.equal(ev.json.reason, 'closed_by_backend')
      assert.equal(t.gw.metrics.labelled.get('control_commands_total{reason="closed"}'), 1)
    })

    test('nonsense is answered invalid, with a description, and counted; the charge point stays', async () => {
      const cp = await connectChargePoint(`${t.url}/CTL2`)
      for (const [id, body] of [['c-2', { command: 'reboot', id: 'c-2' }], ['c-3', { command: 'disconnect', id: 'c-3', reason: 7 }]] as const) {
        await t.backend.publish('ocpp/ctl/CTL2', body)
        const r = await reply('CTL2', id)
        assert.equal(r.result, 'invalid')
        assert.equal(typeof r.description, 'string')
      }
      await t.backend.publish('ocpp/ctl/CTL2', 'not json')
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/ctl/CTL2/Reply' && m.json?.result === 'invalid' && m.json?.id === undefined, 5000, 'the answer to not-JSON')
      assert.equal(cp.ws.readyState, cp.ws.OPEN)
      assert.equal(t.gw.metrics.labelled.get('control_commands_total{reason="invalid"}'), 3)
      await cp.close()
    })

    test(kind === 'embedded' ? 'a charge point that is not connected: offline' : 'a charge point no node here holds: not answered by this node (another may hold it), counted not_here', async () => {
      await t.backend.publish('ocpp/ctl/NOBODY', { command: 'disconnect', id: 'c-4' })
      if (kind === 'embedded') {
        assert.equal((await reply('NOBODY', 'c-4')).result, 'offline')
      } else {
        const deadline = Date.now() + 5000
        while ((t.gw.metrics.labelled.get('control_commands_total{reason="not_here"}') ?? 0) < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
        assert.equal(t.gw.metrics.labelled.get('control_commands_total{reason="not_here"}'), 1)
        assert.equal(t.backend.inbox.items.some((m) => m.topic === 'ocpp/ctl/NOBODY/Reply'), false)
      }
    })
  })
}

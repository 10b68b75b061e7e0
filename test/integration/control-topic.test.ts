/**
 * The control topic (issue 15 item 3): a backend closes a charge point with
 * {"command":"disconnect"} on ocpp/ctl/{cid}, and gets the answer on ocpp/ctl/{cid}/Reply.
 * Real sockets, both brokers (the embedded one and a real Mosquitto).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { connectBackend, connectChargePoint, type Backend } from '../helpers/clients.js'
import { waitHolders } from '../helpers/cluster-clients.js'
import { mosquittoSkip, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js'
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

    test('a charge point that is not connected anywhere: offline (on Mosquitto after a presence lookup)', async () => {
      await t.backend.publish('ocpp/ctl/NOBODY', { command: 'disconnect', id: 'c-4' })
      assert.equal((await reply('NOBODY', 'c-4')).result, 'offline')
    })
  })
}

describe('control topic across two nodes on one Mosquitto', { skip: mosquittoSkip() }, () => {
  let mosquitto: Mosquitto
  let a: Gateway
  let b: Gateway
  let backend: Backend
  const node = (id: string): Promise<Gateway> => startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    node_id: id, allow_anonymous: true, listeners: { ws: { default: { bind: '127.0.0.1:0' } } }, mqtt: { url: mosquitto.url }, log: { level: 'silent' }
  }]), { logger: pino({ level: 'silent' }), sweepPeriodMs: 100, shutdownGraceMs: 500 })
  before(async () => {
    mosquitto = await startMosquitto()
    a = await node('node-a')
    b = await node('node-b')
    backend = await connectBackend(mosquitto.url)
  })
  after(async () => {
    await backend?.close()
    await a?.close()
    await b?.close()
    await mosquitto?.stop()
  })

  test('whichever node the shared subscription picks, the holder closes the charge point and exactly one answer comes', async () => {
    const cps = await Promise.all(['X1', 'X2', 'X3', 'X4', 'X5', 'X6'].map(async (cid, i) => ({ cid, cp: await connectChargePoint(`ws://127.0.0.1:${(i < 3 ? a : b).listeners[0]?.port ?? 0}/ocpp/${cid}`) })))
    for (const { cid } of cps) await waitHolders(mosquitto.url, cid, [cps.findIndex((c) => c.cid === cid) < 3 ? 'node-a' : 'node-b'])
    for (const { cid } of cps) await backend.publish(`ocpp/ctl/${cid}`, { command: 'disconnect', id: `k-${cid}` })
    for (const { cid, cp } of cps) {
      assert.equal((await cp.closed).code, 4005, cid)
      await backend.inbox.wait((m) => m.topic === `ocpp/ctl/${cid}/Reply` && m.json?.id === `k-${cid}`, 5000, `answer for ${cid}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (const { cid } of cps) {
      const answers = backend.inbox.items.filter((m) => m.topic === `ocpp/ctl/${cid}/Reply`)
      assert.deepEqual(answers.map((m) => m.json.result), ['closed'], cid)
    }
    // Three on each node, picked round-robin (Mosquitto): some commands must have been relayed.
    const relayed = (a.metrics.labelled.get('control_commands_total{reason="relayed"}') ?? 0) + (b.metrics.labelled.get('control_commands_total{reason="relayed"}') ?? 0)
    console.log(`control across nodes: 6 commands, ${relayed} relayed to the holder`)
    assert.ok(relayed >= 1, 'a command reached a node that does not hold its charge point')
    await backend.publish('ocpp/ctl/GONE', { command: 'disconnect', id: 'k-gone' })
    assert.equal((await backend.inbox.wait((m) => m.topic === 'ocpp/ctl/GONE/Reply', 5000)).json.result, 'offline')
  })
})

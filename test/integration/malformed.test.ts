/** Malformed frames get the CallError their version prescribes; limits close with the documented code. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

describe('malformed frames', () => {
  let t: TestGateway
  before(async () => { t = await startTestGateway({ config: { listeners: { ws: { default: { websocket: { max_frame_size: 2048 } } } } } }) })
  after(async () => { await t.stop() })

  const cases: Array<[string, string, string, string, string]> = [
    // name, frame, expected id, 1.6 code, 2.x code
    ['invalid JSON', '[2, "a", "Heartbeat", {', '-1', 'FormationViolation', 'RpcFrameworkError'],
    ['not an array', '{"a":1}', '-1', 'FormationViolation', 'RpcFrameworkError'],
    ['wrong arity', '[2, "a1", "Heartbeat"]', 'a1', 'FormationViolation', 'RpcFrameworkError'],
    ['action not a string', '[2, "a2", 7, {}]', 'a2', 'FormationViolation', 'RpcFrameworkError'],
    ['payload not an object', '[2, "a3", "Heartbeat", []]', 'a3', 'FormationViolation', 'FormatViolation'],
    ['unknown message type', '[9, "a4", "Heartbeat", {}]', 'a4', 'FormationViolation', 'MessageTypeNotSupported'],
    ['id too long', `[2, "${'x'.repeat(37)}", "Heartbeat", {}]`, '-1', 'FormationViolation', 'RpcFrameworkError'],
    ['id not a string', '[2, 5, "Heartbeat", {}]', '-1', 'FormationViolation', 'RpcFrameworkError']
  ]
  for (const protocol of ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']) {
    for (const [name, frame, id, code16, code2] of cases) {
      test(`${protocol}: ${name}`, async () => {
        const cid = `mal-${protocol}-${name.replace(/\W+/g, '_')}`
        const cp = await connectChargePoint(`${t.url}/${cid}`, [protocol])
        cp.send(frame)
        const reply = await cp.frames.wait()
        assert.equal(reply[0], 4)
        assert.equal(reply[1], id)
        assert.equal(reply[2], protocol === 'ocpp1.6' ? code16 : code2)
        assert.equal(typeof reply[3], 'string')
        assert.deepEqual(reply[4], {})
        // Not published as a Call.
        assert.equal(t.backend.inbox.items.filter((m) => m.topic === `ocpp/cp/${cid}`).length, 0)
        await cp.close()
      })
    }
  }

  test('a malformed CallResult is not answered; it is reported on the gateway error topic', async () => {
    const cp = await connectChargePoint(`${t.url}/mal-result`, ['ocpp2.0.1'])
    cp.send('[3, "r1"]')
    const report = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/mal-result')
    assert.equal(report.json.Origin, 'gateway')
    assert.equal(report.json.UniqueId, 'r1')
    assert.equal(report.json.ErrorCode, 'RpcFrameworkError')
    assert.equal(cp.frames.items.length, 0)
    await cp.close()
  })

  test('a frame over max_frame_size is closed with 1009', async () => {
    const cp = await connectChargePoint(`${t.url}/mal-big`)
    cp.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'x', data: 'y'.repeat(4096) }]))
    assert.equal((await cp.closed).code, 1009)
    const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/mal-big' && m.json.event === 'disconnected')
    assert.equal(ev.json.reason, 'frame_too_large')
    assert.equal(ev.json.code, 1009, 'the event says the code the gateway sent, not 1006')
  })

  test('a binary frame is closed with 1003', async () => {
    const cp = await connectChargePoint(`${t.url}/mal-bin`)
    cp.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    assert.equal((await cp.closed).code, 1003)
  })

  test('invalid UTF-8 is closed with 1007', async () => {
    const cp = await connectChargePoint(`${t.url}/mal-utf8`)
    cp.ws.send(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), { binary: false })
    assert.equal((await cp.closed).code, 1007)
    const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/mal-utf8' && m.json.event === 'disconnected')
    assert.equal(ev.json.reason, 'invalid_utf8')
  })

  test('invalid downstream envelopes: a gateway CallError on the reply topic, or the error topic when the id is unreadable', async () => {
    const cp = await connectChargePoint(`${t.url}/mal-env`, ['ocpp1.6'])
    await t.backend.publish('ocpp/cs/mal-env', { MessageTypeId: 2, UniqueId: 'e1', Payload: {} })
    const e1 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/mal-env/Reply' && m.json.UniqueId === 'e1')
    assert.equal(e1.json.Origin, 'gateway')
    assert.equal(e1.json.ErrorCode, 'FormationViolation')
    assert.match(e1.json.ErrorDescription, /Action/)
    await t.backend.publish('ocpp/cs/mal-env', 'not json')
    const e2 = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/mal-env')
    assert.equal(e2.json.Error, 'invalid_envelope')
    assert.match(e2.json.ErrorDescription, /not valid JSON/)
    assert.equal(cp.frames.items.length, 0)
    assert.equal(t.gw.metrics.get('envelopes_invalid_total'), 2)
    await cp.close()
  })
})

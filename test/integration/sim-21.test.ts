/**
 * The simulator speaking OCPP 2.1: answers valid by the 2.1 schemas, the periodic event stream
 * fed by SENDs (6), CALLRESULTERRORs (5) for results it cannot process and in the `frames`
 * scenario; run against a bare OCPP-J server and end to end through the gateway and MQTT,
 * every message type both ways.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type JsonObject } from '../../src/ocpp/frame.js'
import { createValidators } from '../../src/schema/index.js'
import { REFUSED_RESULT_MESSAGE_ID } from '../../src/sim/model.js'
import { Model21 } from '../../src/sim/model-21.js'
import { runSimulation, startSimulation } from '../../src/sim/runner.js'
import { startTestGateway } from '../helpers/gateway.js'
import { defaultAnswer, startTestServer } from '../helpers/sim-server.js'

const T = { timeout: 20_000 }
const validators = createValidators({ versions: ['2.1'] })

function validAnswer (action: string, payload: JsonObject, m: Model21): JsonObject {
  const answer = m.handle(action, payload)
  assert.ok('result' in answer, `${action}: ${JSON.stringify(answer)}`)
  assert.equal(validators.validateResponse('2.1', action, answer.result), null, `${action}: ${JSON.stringify(answer.result)}`)
  return answer.result
}

test('2.1: server Calls get schema-valid answers', () => {
  const m = new Model21({ id: 'cp1', scenario: 'session', meterSize: 0 })
  m.bootResult({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 })
  assert.equal(validators.validateRequest('2.1', 'BootNotification', m.boot().payload), null)
  assert.deepEqual(validAnswer('Reset', { type: 'Immediate' }, m), { status: 'Accepted' })
  validAnswer('RequestStartTransaction', { idToken: { idToken: 'a', type: 'Central' }, remoteStartId: 1 }, m)
  assert.deepEqual(validAnswer('RequestStopTransaction', { transactionId: 'nope' }, m), { status: 'Rejected' })
  const hb = { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }
  const got = validAnswer('GetVariables', { getVariableData: [hb, { component: { name: 'ChargingStation' }, variable: { name: 'Model' } }] }, m)
  assert.deepEqual((got['getVariableResult'] as JsonObject[]).map((r) => r['attributeValue']), ['300', 'sim-2.1'])
  validAnswer('SetVariables', { setVariableData: [{ attributeValue: '15', ...hb }] }, m)
  assert.equal(m.heartbeatInterval, 15)
  for (const msg of ['Heartbeat', 'StatusNotification', 'BootNotification', 'MeterValues']) {
    assert.deepEqual(validAnswer('TriggerMessage', { requestedMessage: msg }, m), { status: 'Accepted' })
  }
  for (const c of m.urgent) assert.equal(validators.validateRequest('2.1', c.action, c.payload), null, c.action)
  validAnswer('DataTransfer', { vendorId: 'v' }, m)
  validAnswer('ChangeAvailability', { operationalStatus: 'Inoperative' }, m)
  validAnswer('ClearCache', {}, m)
  validAnswer('UnlockConnector', { evseId: 1, connectorId: 1 }, m)
})

test('2.1: the stream is fed only while open; an unusable result is refused (CALLRESULTERROR)', () => {
  const m = new Model21({ id: 'cp1', scenario: 'session', meterSize: 0 })
  const take = (): string => m.next()!.action
  assert.deepEqual([take(), take(), take(), take()], ['StatusNotification', 'Authorize', 'TransactionEvent', 'OpenPeriodicEventStream'])
  // No status: the station cannot tell whether its stream is open.
  assert.deepEqual(m.onResult('OpenPeriodicEventStream', {}), { error: 'occurrenceConstraint', description: 'OpenPeriodicEventStream result: status is missing' })
  assert.equal(m.onResult('OpenPeriodicEventStream', { status: 'Maybe' })?.error, 'propertyConstraint')
  assert.equal(m.onResult('OpenPeriodicEventStream', { status: 'Rejected' }), undefined)
  // Rejected: the updates go without SENDs, and no close.
  const rest: string[] = []
  for (let i = 0; i < 5; i++) rest.push(take())
  assert.deepEqual(rest, ['TransactionEvent', 'TransactionEvent', 'TransactionEvent', 'TransactionEvent', 'StatusNotification'])
})

test('2.1 frames: Call, SEND, and a deliberate CALLRESULTERROR, schema-valid', () => {
  const m = new Model21({ id: 'cp1', scenario: 'frames', meterSize: 0 })
  const seen: string[] = []
  for (let i = 0; i < 6; i++) {
    const c = m.next()!
    assert.equal(validators.validateRequest('2.1', c.action, c.payload), null, c.action)
    seen.push(c.send === true ? `SEND ${c.action}` : c.action)
    if (c.send === true) continue
    const refusal = m.onResult(c.action, defaultAnswer(c.action, 60), c.payload)
    assert.equal(refusal !== undefined, c.payload['messageId'] === REFUSED_RESULT_MESSAGE_ID, c.action)
  }
  assert.deepEqual(seen, ['Heartbeat', 'OpenPeriodicEventStream', 'SEND NotifyPeriodicEventStream', 'ClosePeriodicEventStream', 'DataTransfer', 'DataTransfer'])
})

test('-p ocpp2.1 session against an OCPP-J server: SENDs while charging, ids from --first-id', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, protocol: 'ocpp2.1', ids: ['cp21'], calls: 14, firstId: 'boot-0099', scenario: 'session' })
  const conn = server.conns.get('cp21')!
  assert.equal(conn.protocol, 'ocpp2.1')
  assert.deepEqual(conn.actions.slice(0, 6), ['BootNotification', 'StatusNotification', 'StatusNotification', 'Authorize', 'TransactionEvent', 'OpenPeriodicEventStream'])
  assert.deepEqual(conn.oneWay.map((f) => [f.type, 'action' in f ? f.action : '']), Array(3).fill([6, 'NotifyPeriodicEventStream']))
  assert.ok(conn.actions.includes('ClosePeriodicEventStream'))
  assert.deepEqual(conn.ids.slice(0, 3), ['boot-0099', 'boot-0100', 'boot-0101'])
  assert.equal(new Set(conn.ids).size, conn.ids.length)
  assert.equal(s.protocol, 'ocpp2.1')
  assert.equal(s.oneWay.sendsSent, 3)
  assert.equal(s.errors.total, 0)
})

test('-p ocpp2.1 frames against an OCPP-J server: the CALLRESULTERROR answers the refused result', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, protocol: 'ocpp2.1', ids: ['f21'], calls: 7, scenario: 'frames' })
  const conn = server.conns.get('f21')!
  const refused = conn.payloads.findIndex((p) => p['messageId'] === REFUSED_RESULT_MESSAGE_ID)
  assert.ok(refused > 0)
  const cre = conn.oneWay.find((f) => f.type === 5)
  assert.ok(cre !== undefined && cre.type === 5)
  assert.equal(cre.code, 'GenericError')
  assert.equal(cre.id, conn.callIds[refused])
  assert.equal(s.oneWay.callResultErrorsSent, 1)
  assert.equal(s.oneWay.sendsSent, 1)
})

test('2.1 end to end through the gateway: 2, 3, 4, 5, 6 both ways between simulator and backend', T, async (t) => {
  const gw = await startTestGateway({ broker: 'embedded' })
  t.after(gw.stop)
  const backend = gw.backend
  // A backend answering every Call at once, like the seed walk-through's, but by program.
  backend.client.on('message', (topic, raw) => {
    const env = JSON.parse(String(raw)) as JsonObject
    if (topic !== 'ocpp/cp/e2e21' || env['MessageTypeId'] !== 2) return
    void backend.publish('ocpp/cs/e2e21', { MessageTypeId: 3, UniqueId: env['UniqueId'], Payload: defaultAnswer(String(env['Action']), 3600) })
  })
  const sim = startSimulation({ url: gw.url, protocol: 'ocpp2.1', ids: ['e2e21'], scenario: 'frames' })
  const seen = async (pred: (m: { topic: string, json: any }) => boolean, what: string): Promise<any> => (await backend.inbox.wait(pred, 10_000, what)).json
  const send = await seen((m) => m.topic === 'ocpp/cp/e2e21' && m.json?.MessageTypeId === 6, 'the SEND upstream')
  assert.equal(send.Action, 'NotifyPeriodicEventStream')
  const cre = await seen((m) => m.topic === 'ocpp/cp/e2e21/Reply' && m.json?.MessageTypeId === 5, 'the CALLRESULTERROR upstream')
  assert.equal(cre.ErrorCode, 'GenericError')
  assert.equal(cre.Origin, undefined)
  // The other way: a backend Call answered by the station (3), one it does not know (4),
  // a SEND and a CALLRESULTERROR to the station, which counts them.
  await backend.publish('ocpp/cs/e2e21', { MessageTypeId: 2, UniqueId: 'b-1', Action: 'ClearCache', Payload: {} })
  const result = await seen((m) => m.topic === 'ocpp/cp/e2e21/Reply' && m.json?.UniqueId === 'b-1', 'CallResult of ClearCache')
  assert.deepEqual([result.MessageTypeId, result.Payload], [3, { status: 'Accepted' }])
  await backend.publish('ocpp/cs/e2e21', { MessageTypeId: 2, UniqueId: 'b-2', Action: 'GetLog', Payload: { logType: 'DiagnosticsLog', requestId: 1, log: { remoteLocation: 'https://x/' } } })
  const error = await seen((m) => m.topic === 'ocpp/cp/e2e21/Reply' && m.json?.UniqueId === 'b-2', 'CallError of GetLog')
  assert.deepEqual([error.MessageTypeId, error.ErrorCode], [4, 'NotImplemented'])
  await backend.publish('ocpp/cs/e2e21', { MessageTypeId: 5, UniqueId: 'b-1', ErrorCode: 'InternalError', ErrorDescription: 'backend could not store it', ErrorDetails: {} })
  await backend.publish('ocpp/cs/e2e21', { MessageTypeId: 6, UniqueId: 'b-3', Action: 'NotifyPeriodicEventStream', Payload: { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] } })
  const deadline = Date.now() + 5000
  while (sim.snapshot().counters.sendsReceived < 1 || sim.snapshot().counters.callResultErrorsReceived < 1) {
    assert.ok(Date.now() < deadline, 'the station did not receive the backend\'s 5 and 6')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  sim.stop()
  const s = await sim.done
  assert.equal(s.errors.protocol, 0)
  assert.equal(s.errors.timeout, 0)
  assert.ok(s.oneWay.sendsSent >= 1 && s.oneWay.callResultErrorsSent >= 1)
  assert.deepEqual([s.oneWay.sendsReceived, s.oneWay.callResultErrorsReceived], [1, 1])
  assert.equal(s.serverCalls.received, 2)
  // Nothing the gateway had to report: every frame was of its version and matched.
  assert.deepEqual(backend.inbox.items.filter((m) => m.topic === 'ocpp/errors/e2e21').map((m) => m.json), [])
})

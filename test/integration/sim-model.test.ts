/**
 * The models' payloads against the official OCPP JSON schemas: every Call a simulated charger
 * sends, and every answer it gives to a server Call, must be valid, or a validating CSMS
 * (this gateway included) would answer with CallErrors and the benchmark would measure those.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type OcppVersion } from '../../src/ocpp/dialect.js'
import { type JsonObject } from '../../src/ocpp/frame.js'
import { createValidators } from '../../src/schema/index.js'
import { type ChargePointModel, type OutgoingCall, METER_VALUES_PER_SESSION, encodeCall } from '../../src/sim/model.js'
import { Model16 } from '../../src/sim/model-16.js'
import { Model201 } from '../../src/sim/model-201.js'
import { Model21 } from '../../src/sim/model-21.js'
import { type Scenario } from '../../src/sim/options.js'
import { defaultAnswer } from '../helpers/sim-server.js'

const validators = createValidators({ versions: ['1.6', '2.0.1', '2.1'] })

/** What goes on the wire, padding spliced in, as the server will parse it. */
function wire (call: OutgoingCall): JsonObject {
  const frame = JSON.parse(encodeCall('1', call)) as [number, string, string, JsonObject]
  assert.deepEqual(frame.slice(0, 3), [2, '1', call.action])
  return frame[3]
}

function valid (version: OcppVersion, call: OutgoingCall): void {
  const payload = wire(call)
  const failure = validators.validateRequest(version, call.action, payload)
  assert.equal(failure, null, `${version} ${call.action}: ${JSON.stringify(failure)} in ${JSON.stringify(payload).slice(0, 300)}`)
}

function validAnswer (version: OcppVersion, action: string, payload: JsonObject, model: ChargePointModel): JsonObject {
  const answer = model.handle(action, payload)
  assert.ok('result' in answer, `${action} was not answered with a result: ${JSON.stringify(answer)}`)
  const failure = validators.validateResponse(version, action, answer.result)
  assert.equal(failure, null, `${version} ${action} answer: ${JSON.stringify(failure)} in ${JSON.stringify(answer.result)}`)
  return answer.result
}

const models: Array<[OcppVersion, (scenario: Scenario, meterSize?: number) => ChargePointModel]> = [
  ['1.6', (scenario, meterSize = 0) => new Model16({ id: 'cp-0001', scenario, meterSize })],
  ['2.0.1', (scenario, meterSize = 0) => new Model201({ id: 'cp-0001', scenario, meterSize })],
  ['2.1', (scenario, meterSize = 0) => new Model21({ id: 'cp-0001', scenario, meterSize })]
]

/** One session loop's actions per version (2.1: the stream opened, fed by SENDs, closed). */
const sessionActions: Record<string, string[]> = {
  '1.6': ['StatusNotification', 'Authorize', 'StartTransaction', 'StatusNotification', ...Array<string>(METER_VALUES_PER_SESSION).fill('MeterValues'), 'StopTransaction', 'StatusNotification'],
  '2.0.1': ['StatusNotification', 'Authorize', ...Array<string>(METER_VALUES_PER_SESSION + 2).fill('TransactionEvent'), 'StatusNotification'],
  '2.1': [
    'StatusNotification', 'Authorize', 'TransactionEvent', 'OpenPeriodicEventStream',
    ...Array<string[]>(METER_VALUES_PER_SESSION).fill(['TransactionEvent', 'NotifyPeriodicEventStream']).flat(),
    'ClosePeriodicEventStream', 'TransactionEvent', 'StatusNotification'
  ]
}

for (const [version, make] of models) {
  test(`${version}: every Call of two session loops is schema-valid, in the expected order`, () => {
    const m = make('session')
    valid(version, m.boot())
    valid(version, m.heartbeat())
    for (const c of m.statusAll()) valid(version, c)
    const actions: string[] = []
    const one = sessionActions[version]!
    for (let i = 0; i < 2 * one.length - 3; i++) {
      const call = m.next()!
      valid(version, call)
      actions.push(call.action)
      if (call.send !== true) m.onResult(call.action, defaultAnswer(call.action, 60))
    }
    const first = actions.slice(0, one.length)
    assert.deepEqual(first, one)
    // The second loop is the same as the first, and states (transaction) start over.
    assert.deepEqual(actions.slice(one.length, 2 * one.length), one.slice(0, actions.length - one.length))
  })

  test(`${version}: a session with padded meter values is schema-valid; the padding never leaks`, () => {
    const m = make('session', 5000)
    for (let i = 0; i < 6 + METER_VALUES_PER_SESSION; i++) {
      const call = m.next()!
      valid(version, call)
      const text = encodeCall('1', call)
      assert.ok(!text.includes('\\u0000'), 'the pad token is replaced')
      if (call.pad !== undefined) assert.ok(text.length > 4900, `${call.action} is padded: ${text.length}`)
      m.onResult(call.action, defaultAnswer(call.action, 60))
    }
  })

  test(`${version}: a refused authorization starts the session over`, () => {
    const m = make('session')
    assert.equal(m.next()!.action, 'StatusNotification')
    assert.equal(m.next()!.action, 'Authorize')
    m.onResult('Authorize', { idTagInfo: { status: 'Blocked' }, idTokenInfo: { status: 'Blocked' } })
    assert.equal(m.next()!.action, 'StatusNotification')
    assert.equal(m.next()!.action, 'Authorize')
    m.onError('Authorize')
    assert.equal(m.next()!.action, 'StatusNotification')
  })

  test(`${version}: the other scenarios repeat one Call; idle has none`, () => {
    assert.equal(make('heartbeat').next()!.action, 'Heartbeat')
    assert.equal(make('boot').next()!.action, 'BootNotification')
    assert.equal(make('metervalues').next()!.action, 'MeterValues')
    assert.equal(make('idle').next(), undefined)
    const frames = make('frames')
    for (let i = 0; i < 12; i++) {
      const call = frames.next()!
      valid(version, call)
      if (call.send !== true) frames.onResult(call.action, defaultAnswer(call.action, 60), call.payload)
    }
  })

  for (const size of [0, 1000, 20_000, 100_000]) {
    test(`${version}: MeterValues padded to ${size} bytes is valid and about that size`, () => {
      const m = make('metervalues', size)
      const call = m.next()!
      valid(version, call)
      const bytes = Buffer.byteLength(JSON.stringify(wire(call)))
      if (size === 0) assert.ok(bytes < 400, `natural payload is ${bytes} bytes`)
      else assert.ok(Math.abs(bytes - size) <= Math.max(100, size * 0.02), `${bytes} bytes for a target of ${size}`)
    })
  }

  test(`${version}: TriggerMessage queues the asked message; unknown ones are NotImplemented`, () => {
    const m = make('session')
    for (const msg of ['Heartbeat', 'StatusNotification', 'BootNotification', 'MeterValues']) {
      assert.deepEqual(validAnswer(version, 'TriggerMessage', { requestedMessage: msg }, m), { status: 'Accepted' })
      assert.ok(m.urgent.some((c) => c.action === msg), msg)
    }
    for (const c of m.urgent) valid(version, c)
    const notSent = version === '1.6' ? 'DiagnosticsStatusNotification' : 'LogStatusNotification'
    assert.deepEqual(validAnswer(version, 'TriggerMessage', { requestedMessage: notSent }, m), { status: 'NotImplemented' })
  })

  test(`${version}: unknown server Calls are NotImplemented`, () => {
    const a = make('session').handle('NoSuchAction', {})
    assert.ok('error' in a)
    assert.equal(a.error, 'notImplemented')
  })
}

test('1.6: server Calls get schema-valid answers', () => {
  const m = new Model16({ id: 'cp1', scenario: 'session', meterSize: 0 })
  m.bootResult({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 })
  assert.deepEqual(validAnswer('1.6', 'Reset', { type: 'Soft' }, m), { status: 'Accepted' })
  assert.deepEqual(validAnswer('1.6', 'RemoteStartTransaction', { idTag: 'abc' }, m), { status: 'Accepted' })
  assert.deepEqual(validAnswer('1.6', 'RemoteStopTransaction', { transactionId: 42 }, m), { status: 'Rejected' })
  const all = validAnswer('1.6', 'GetConfiguration', {}, m)
  assert.ok((all['configurationKey'] as JsonObject[]).some((k) => k['key'] === 'HeartbeatInterval' && k['value'] === '300'))
  assert.deepEqual(validAnswer('1.6', 'GetConfiguration', { key: ['HeartbeatInterval', 'Nope'] }, m), {
    configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }], unknownKey: ['Nope']
  })
  assert.deepEqual(validAnswer('1.6', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '30' }, m), { status: 'Accepted' })
  assert.equal(m.heartbeatInterval, 30)
  assert.deepEqual(validAnswer('1.6', 'ChangeConfiguration', { key: 'NumberOfConnectors', value: '3' }, m), { status: 'Rejected' })
  assert.deepEqual(validAnswer('1.6', 'ChangeConfiguration', { key: 'Nope', value: '3' }, m), { status: 'NotSupported' })
  assert.deepEqual(validAnswer('1.6', 'DataTransfer', { vendorId: 'v', data: 'ping' }, m), { status: 'Accepted', data: 'ping' })
  validAnswer('1.6', 'ChangeAvailability', { connectorId: 0, type: 'Inoperative' }, m)
  validAnswer('1.6', 'ClearCache', {}, m)
  validAnswer('1.6', 'UnlockConnector', { connectorId: 1 }, m)
})

test('1.6: RemoteStopTransaction is accepted for the open transaction', () => {
  const m = new Model16({ id: 'cp1', scenario: 'session', meterSize: 0 })
  m.next(); m.next(); m.next()
  m.onResult('StartTransaction', { idTagInfo: { status: 'Accepted' }, transactionId: 7 })
  assert.deepEqual(validAnswer('1.6', 'RemoteStopTransaction', { transactionId: 7 }, m), { status: 'Accepted' })
})

test('2.0.1: server Calls get schema-valid answers', () => {
  const m = new Model201({ id: 'cp1', scenario: 'session', meterSize: 0 })
  m.bootResult({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 })
  assert.deepEqual(validAnswer('2.0.1', 'Reset', { type: 'Immediate' }, m), { status: 'Accepted' })
  validAnswer('2.0.1', 'RequestStartTransaction', { idToken: { idToken: 'a', type: 'Central' }, remoteStartId: 1 }, m)
  assert.deepEqual(validAnswer('2.0.1', 'RequestStopTransaction', { transactionId: 'nope' }, m), { status: 'Rejected' })
  const hb = { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }
  const got = validAnswer('2.0.1', 'GetVariables', {
    getVariableData: [hb, { component: { name: 'X' }, variable: { name: 'Y' } }]
  }, m)
  assert.deepEqual(got, {
    getVariableResult: [
      { attributeStatus: 'Accepted', attributeValue: '300', ...hb },
      { attributeStatus: 'UnknownVariable', component: { name: 'X' }, variable: { name: 'Y' } }
    ]
  })
  const set = validAnswer('2.0.1', 'SetVariables', {
    setVariableData: [
      { attributeValue: '15', ...hb },
      { attributeValue: 'm', component: { name: 'ChargingStation' }, variable: { name: 'Model' } }
    ]
  }, m)
  assert.deepEqual((set['setVariableResult'] as JsonObject[]).map((r) => r['attributeStatus']), ['Accepted', 'Rejected'])
  assert.equal(m.heartbeatInterval, 15)
  validAnswer('2.0.1', 'DataTransfer', { vendorId: 'v' }, m)
  validAnswer('2.0.1', 'ChangeAvailability', { operationalStatus: 'Inoperative' }, m)
  validAnswer('2.0.1', 'ClearCache', {}, m)
  validAnswer('2.0.1', 'UnlockConnector', { evseId: 1, connectorId: 1 }, m)
})

test('2.0.1: one transaction id and increasing seqNo across Started/Updated/Ended', () => {
  const m = new Model201({ id: 'cp1', scenario: 'session', meterSize: 0 })
  const events: JsonObject[] = []
  for (let i = 0; i < 6 + METER_VALUES_PER_SESSION; i++) {
    const c = m.next()!
    if (c.action === 'TransactionEvent') events.push(c.payload)
    if (c.action === 'Authorize') m.onResult('Authorize', { idTokenInfo: { status: 'Accepted' } })
  }
  assert.deepEqual(events.map((e) => e['eventType']), ['Started', ...Array(METER_VALUES_PER_SESSION).fill('Updated'), 'Ended'])
  const ids = new Set(events.map((e) => (e['transactionInfo'] as JsonObject)['transactionId']))
  assert.equal(ids.size, 1)
  assert.deepEqual(events.map((e) => e['seqNo']), events.map((_, i) => i))
  const m2 = new Model201({ id: 'cp1', scenario: 'session', meterSize: 0 })
  m2.next(); m2.next()
  const started = m2.next()!
  const tx = (started.payload['transactionInfo'] as JsonObject)['transactionId']
  assert.deepEqual(validAnswer('2.0.1', 'RequestStopTransaction', { transactionId: tx }, m2), { status: 'Accepted' })
})

/** Validation never mutates what it validates: no defaults, no coercion, no removal. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createValidators } from '../../../src/schema/index.js'
import { invalid, realistic } from '../../helpers/schema-fixtures.js'

const validators = createValidators()

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

function check (version: '1.6' | '2.0.1' | '2.1', action: string, direction: 'request' | 'response', payload: unknown): ReturnType<typeof validators.validateRequest> {
  return direction === 'request' ? validators.validateRequest(version, action, payload) : validators.validateResponse(version, action, payload)
}

test('payloads whose schema has defaults are left without them', () => {
  // 2.x schemas carry `default`: NotifyReport tbc = false, TransactionEvent offline = false
  // (on the property itself, where Ajv's useDefaults would fill them in), and inside $ref'd
  // definitions: GetVariables attributeType = "Actual", MeterValues measurand, location, context.
  const ts = '2024-05-06T07:08:09Z'
  const notifyReport = { requestId: 1, generatedAt: ts, seqNo: 0 }
  const transactionEvent = { eventType: 'Updated', timestamp: ts, triggerReason: 'MeterValuePeriodic', seqNo: 3, transactionInfo: { transactionId: 'tx-1' } }
  for (const version of ['2.0.1', '2.1'] as const) {
    const nr = structuredClone(notifyReport)
    assert.equal(validators.validateRequest(version, 'NotifyReport', nr), null)
    assert.deepEqual(nr, notifyReport)
    assert.equal(Object.hasOwn(nr, 'tbc'), false)
    const te = structuredClone(transactionEvent)
    assert.equal(validators.validateRequest(version, 'TransactionEvent', te), null)
    assert.deepEqual(te, transactionEvent)
    assert.equal(Object.hasOwn(te, 'offline'), false)
  }
  const getVariables = { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] }
  const meterValues = { evseId: 1, meterValue: [{ timestamp: '2024-05-06T07:08:09Z', sampledValue: [{ value: 1 }] }] }
  for (const version of ['2.0.1', '2.1'] as const) {
    for (const [action, payload] of [['GetVariables', getVariables], ['MeterValues', meterValues]] as const) {
      const copy = structuredClone(payload)
      assert.equal(validators.validateRequest(version, action, copy), null)
      assert.deepEqual(copy, payload, `${version} ${action}`)
    }
    const gv = structuredClone(getVariables)
    validators.validateRequest(version, 'GetVariables', gv)
    assert.equal(Object.hasOwn(gv.getVariableData[0] ?? {}, 'attributeType'), false)
    const mv = structuredClone(meterValues)
    validators.validateRequest(version, 'MeterValues', mv)
    assert.deepEqual(Object.keys(mv.meterValue[0]?.sampledValue[0] ?? {}), ['value'])
  }
})

test('numeric strings stay strings and wrong types are not coerced', () => {
  const payload = { connectorId: '1', errorCode: 'NoError', status: 'Available' }
  const copy = structuredClone(payload)
  assert.equal(validators.validateRequest('1.6', 'StatusNotification', copy)?.kind, 'typeConstraint')
  assert.deepEqual(copy, payload)
  assert.equal(typeof copy.connectorId, 'string')
})

test('unknown properties are reported, not removed', () => {
  const payload = { chargePointVendor: 'V', chargePointModel: 'M', extra: { nested: [1, 2] } }
  const copy = structuredClone(payload)
  assert.equal(validators.validateRequest('1.6', 'BootNotification', copy)?.kind, 'formatViolation')
  assert.deepEqual(copy, payload)
})

test('every realistic and invalid example is unchanged after validation, even deep-frozen', () => {
  for (const { version, action, direction, payload } of [...realistic, ...invalid]) {
    const before = structuredClone(payload)
    const frozen = deepFreeze(structuredClone(payload))
    check(version, action, direction, payload)
    // ESM is strict mode: a write to a frozen object would throw here.
    check(version, action, direction, frozen)
    assert.deepEqual(payload, before, `${version} ${action} ${direction}`)
  }
})

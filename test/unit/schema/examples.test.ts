/** Realistic payloads pass; invalid ones fail with the exact kind, code and field. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dialects } from '../../../src/ocpp/dialect.js'
import { createValidators, type ValidationFailure } from '../../../src/schema/index.js'
import { invalid, realistic, type Example } from '../../helpers/schema-fixtures.js'

const validators = createValidators()

function validate ({ version, action, direction, payload }: Example): ValidationFailure | null {
  return direction === 'request'
    ? validators.validateRequest(version, action, payload)
    : validators.validateResponse(version, action, payload)
}

for (const example of realistic) {
  test(`valid: ${example.version} ${example.action} ${example.direction}`, () => {
    assert.equal(validate(example), null)
  })
}

/** Code names by version, written out here on purpose rather than read from the table. */
const expectedCodes = {
  '1.6': { formatViolation: 'FormationViolation', occurrenceConstraint: 'OccurenceConstraintViolation', typeConstraint: 'TypeConstraintViolation', propertyConstraint: 'PropertyConstraintViolation' },
  '2.0.1': { formatViolation: 'FormatViolation', occurrenceConstraint: 'OccurrenceConstraintViolation', typeConstraint: 'TypeConstraintViolation', propertyConstraint: 'PropertyConstraintViolation' },
  '2.1': { formatViolation: 'FormatViolation', occurrenceConstraint: 'OccurrenceConstraintViolation', typeConstraint: 'TypeConstraintViolation', propertyConstraint: 'PropertyConstraintViolation' }
} as const

for (const example of invalid) {
  test(`invalid: ${example.version} ${example.action} ${example.direction} ${example.pointer} (${example.keyword}) -> ${expectedCodes[example.version][example.kind]}`, () => {
    const failure = validate(example)
    assert.ok(failure !== null, 'expected a failure')
    assert.deepEqual(failure, { kind: example.kind, message: failure.message })
    assert.equal(dialects[example.version].errorCodes[failure.kind], expectedCodes[example.version][example.kind])
    assert.ok(failure.message.startsWith(`${example.pointer}: `), failure.message)
    assert.ok(failure.message.endsWith(`(${example.keyword})`), failure.message)
  })
}

test('each version has an invalid example of each kind', () => {
  for (const version of ['1.6', '2.0.1', '2.1'] as const) {
    const kinds = new Set(invalid.filter((e) => e.version === version).map((e) => e.kind))
    assert.deepEqual([...kinds].sort(), ['formatViolation', 'occurrenceConstraint', 'propertyConstraint', 'typeConstraint'], version)
  }
})

test('messages read as field, rule text and keyword', () => {
  assert.deepEqual(validators.validateRequest('1.6', 'BootNotification', { chargePointVendor: 'VendorX' }),
    { kind: 'occurrenceConstraint', message: '/chargePointModel: required property is missing (required)' })
  assert.deepEqual(validators.validateRequest('1.6', 'BootNotification', { chargePointVendor: 'V'.repeat(21), chargePointModel: 'M' }),
    { kind: 'propertyConstraint', message: '/chargePointVendor: must NOT have more than 20 characters (maxLength)' })
  assert.deepEqual(validators.validateRequest('2.0.1', 'StatusNotification', { timestamp: '2024-05-06T07:08:09Z', connectorStatus: 'Charging', evseId: 1, connectorId: 1 }),
    { kind: 'propertyConstraint', message: '/connectorStatus: must be one of "Available", "Occupied", "Reserved", "Unavailable", "Faulted" (enum)' })
  assert.deepEqual(validators.validateRequest('2.1', 'Heartbeat', { now: 1 }),
    { kind: 'formatViolation', message: '/now: property is not allowed by the schema (additionalProperties)' })
  assert.deepEqual(validators.validateRequest('2.0.1', 'Heartbeat', []),
    { kind: 'typeConstraint', message: '(root): must be object (type)' })
})

test('long enum lists are cut, and so are untrusted property names', () => {
  const failure = validators.validateRequest('1.6', 'StatusNotification', { connectorId: 1, errorCode: 'Nope', status: 'Available' })
  assert.equal(failure?.kind, 'propertyConstraint')
  assert.match(failure?.message ?? '', /^\/errorCode: must be one of "ConnectorLockFailure", .*, … \(enum\)$/)
  const huge = 'k'.repeat(100_000)
  const extra = validators.validateRequest('1.6', 'Heartbeat', { [huge]: 1, 'a/b~c': 2 })
  assert.equal(extra?.kind, 'formatViolation')
  assert.ok((extra?.message.length ?? Infinity) < 200, extra?.message)
  const escaped = validators.validateRequest('1.6', 'Heartbeat', { 'a/b~c': 2 })
  assert.equal(escaped?.message, '/a~1b~0c: property is not allowed by the schema (additionalProperties)')
})

test('unknown action -> notImplemented, in every version, for requests and responses', () => {
  for (const version of ['1.6', '2.0.1', '2.1'] as const) {
    for (const failure of [validators.validateRequest(version, 'MakeCoffee', {}), validators.validateResponse(version, 'MakeCoffee', {})]) {
      assert.equal(failure?.kind, 'notImplemented')
      assert.equal(failure?.message, `action "MakeCoffee" is not an OCPP ${version} action`)
      assert.equal(dialects[version].errorCodes.notImplemented, 'NotImplemented')
    }
    assert.equal(validators.hasAction(version, 'MakeCoffee'), false)
  }
  // Names from the wire are not looked up on a prototype.
  for (const action of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '']) {
    assert.equal(validators.validateRequest('1.6', action, {})?.kind, 'notImplemented', action)
    assert.equal(validators.hasAction('2.0.1', action), false, action)
  }
  // An action of another version is unknown in this one.
  assert.equal(validators.validateRequest('1.6', 'TransactionEvent', {})?.kind, 'notImplemented')
  assert.equal(validators.validateRequest('2.0.1', 'StartTransaction', {})?.kind, 'notImplemented')
  assert.equal(validators.validateRequest('2.0.1', 'bootnotification', {})?.kind, 'notImplemented')
})

test('the 2.1 SEND message has a request schema and no response', () => {
  assert.equal(validators.validateRequest('2.1', 'NotifyPeriodicEventStream', { id: 1, pending: 0, basetime: '2024-05-06T07:08:09Z', data: [{ t: 0.5, v: '230.1' }] }), null)
  assert.equal(validators.validateResponse('2.1', 'NotifyPeriodicEventStream', {})?.kind, 'notImplemented')
})

test('only the versions asked for are loaded', () => {
  const only16 = createValidators({ versions: ['1.6'] })
  assert.equal(only16.actions('1.6').length, 39)
  assert.deepEqual(only16.actions('2.0.1'), [])
  assert.equal(only16.hasAction('2.0.1', 'BootNotification'), false)
  assert.equal(only16.validateRequest('2.0.1', 'Heartbeat', {})?.kind, 'internalError')
  assert.equal(only16.validateRequest('1.6', 'Heartbeat', {}), null)
})

test('multipleOf 0.1 accepts decimals that floating point division gets wrong', () => {
  const profile = (limit: number): Record<string, unknown> => ({ connectorId: 1, csChargingProfiles: { chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Relative', chargingSchedule: { chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit }] } } })
  for (const limit of [0.3, 0.7, 1.1, 16.3, 22000.1, 350000.7, 0]) {
    assert.equal(validators.validateRequest('1.6', 'SetChargingProfile', profile(limit)), null, String(limit))
  }
  for (const limit of [0.35, 16.01, 22000.15]) {
    assert.equal(validators.validateRequest('1.6', 'SetChargingProfile', profile(limit))?.kind, 'propertyConstraint', String(limit))
  }
})

test('the validator is reentrant: a failure does not leak into the next validation', () => {
  assert.equal(validators.validateRequest('1.6', 'Heartbeat', { x: 1 })?.kind, 'formatViolation')
  assert.equal(validators.validateRequest('1.6', 'Heartbeat', {}), null)
  assert.equal(validators.validateRequest('1.6', 'Heartbeat', null)?.kind, 'typeConstraint')
  assert.equal(validators.validateRequest('1.6', 'Heartbeat', 'text')?.kind, 'typeConstraint')
  assert.equal(validators.validateRequest('1.6', 'Heartbeat', undefined)?.kind, 'typeConstraint')
})

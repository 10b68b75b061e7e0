/**
 * Every schema of every version compiles, and instances generated from each schema pass;
 * generic mutations of those instances fail with the right kind and a message naming the field.
 * One eager Validators for the whole file: compiling all 387 schemas is the slow part.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dialects, type OcppVersion } from '../../../src/ocpp/dialect.js'
import { ALL_VERSIONS, createValidators, type ValidationFailure } from '../../../src/schema/index.js'
import { loadActionSchemas, type JsonSchema } from '../../../src/schema/schema-source.js'
import { firstType, generate, propertySchema } from '../../helpers/schema-instance-generator.js'

type Schema = Record<string, unknown>

const started = performance.now()
const validators = createValidators({ compile: 'eager' })
const eagerMs = performance.now() - started

const SECURITY_EXTENSION_16 = [
  'CertificateSigned', 'DeleteCertificate', 'ExtendedTriggerMessage', 'GetInstalledCertificateIds',
  'GetLog', 'InstallCertificate', 'LogStatusNotification', 'SecurityEventNotification',
  'SignCertificate', 'SignedFirmwareStatusNotification', 'SignedUpdateFirmware'
]
const CORE_16 = [
  'Authorize', 'BootNotification', 'CancelReservation', 'ChangeAvailability', 'ChangeConfiguration',
  'ClearCache', 'ClearChargingProfile', 'DataTransfer', 'DiagnosticsStatusNotification',
  'FirmwareStatusNotification', 'GetCompositeSchedule', 'GetConfiguration', 'GetDiagnostics',
  'GetLocalListVersion', 'Heartbeat', 'MeterValues', 'RemoteStartTransaction', 'RemoteStopTransaction',
  'ReserveNow', 'Reset', 'SendLocalList', 'SetChargingProfile', 'StartTransaction', 'StatusNotification',
  'StopTransaction', 'TriggerMessage', 'UnlockConnector', 'UpdateFirmware'
]

test(`eager compile of every schema of every version (${eagerMs.toFixed(0)} ms)`, () => {
  // Reaching here means createValidators({ compile: 'eager' }) compiled all of them.
  let schemas = 0
  for (const version of ALL_VERSIONS) {
    for (const { response } of loadActionSchemas(version).values()) schemas += response === undefined ? 1 : 2
  }
  assert.equal(schemas, 78 + 128 + 181)
})

test('1.6 has the 28 core actions and the 11 security-extension actions, requests and responses', () => {
  assert.deepEqual(validators.actions('1.6'), [...CORE_16, ...SECURITY_EXTENSION_16].sort((a, b) => a.localeCompare(b)))
  for (const action of validators.actions('1.6')) assert.ok(loadActionSchemas('1.6').get(action)?.response, action)
})

test('2.0.1 has its 64 actions and 2.1 its 91, each with a response except the SEND message', () => {
  assert.equal(validators.actions('2.0.1').length, 64)
  assert.equal(validators.actions('2.1').length, 91)
  for (const action of ['TransactionEvent', 'NotifyReport', 'Get15118EVCertificate', 'SetVariableMonitoring']) {
    assert.ok(validators.hasAction('2.0.1', action), action)
    assert.ok(validators.hasAction('2.1', action), action)
  }
  for (const action of ['BatterySwap', 'NotifyPeriodicEventStream', 'SetDERControl', 'RequestBatterySwap', 'AFRRSignal']) {
    assert.ok(validators.hasAction('2.1', action), action)
    assert.equal(validators.hasAction('2.0.1', action), false, action)
  }
  const oneWay = [...loadActionSchemas('2.1')].filter(([, s]) => s.response === undefined).map(([a]) => a)
  assert.deepEqual(oneWay, ['NotifyPeriodicEventStream'])
  assert.equal(validators.hasAction('1.6', 'TransactionEvent'), false)
  assert.equal(validators.hasAction('2.0.1', 'StartTransaction'), false)
})

type Direction = 'request' | 'response'

function validate (version: OcppVersion, action: string, direction: Direction, payload: unknown): ValidationFailure | null {
  return direction === 'request'
    ? validators.validateRequest(version, action, payload)
    : validators.validateResponse(version, action, payload)
}

function * everySchema (): Generator<[OcppVersion, string, Direction, JsonSchema]> {
  for (const version of ALL_VERSIONS) {
    for (const [action, { request, response }] of loadActionSchemas(version)) {
      yield [version, action, 'request', request]
      if (response !== undefined) yield [version, action, 'response', response]
    }
  }
}

test('a generated minimal instance and a generated full instance of every schema are valid', () => {
  let checked = 0
  for (const [version, action, direction, schema] of everySchema()) {
    for (const shape of ['minimal', 'full'] as const) {
      const instance = generate(schema as Schema, { shape })
      assert.equal(validate(version, action, direction, instance), null, `${version} ${action} ${direction} ${shape}: ${JSON.stringify(instance).slice(0, 300)}`)
      checked++
    }
  }
  assert.equal(checked, 2 * 387)
})

test('the generator is not vacuous: the full instances carry more than the minimal ones', () => {
  const schema = loadActionSchemas('1.6').get('BootNotification')?.request as Schema
  assert.deepEqual(generate(schema, { shape: 'minimal' }), { chargePointVendor: 'x', chargePointModel: 'x' })
  const full = generate(schema, { shape: 'full' }) as Record<string, string>
  assert.equal(full.chargePointVendor, 'x'.repeat(20))
  assert.equal(Object.keys(full).length, 9)
})

function expectFailure (failure: ValidationFailure | null, kind: ValidationFailure['kind'], pointer: string, keyword: string, where: string): void {
  assert.ok(failure !== null, `${where}: expected ${kind}, got valid`)
  assert.equal(failure.kind, kind, `${where}: ${failure.message}`)
  assert.ok(failure.message.startsWith(`${pointer}: `), `${where}: message ${JSON.stringify(failure.message)} should name ${pointer}`)
  assert.ok(failure.message.endsWith(`(${keyword})`), `${where}: message ${JSON.stringify(failure.message)} should name the rule ${keyword}`)
}

test('every required root property, removed, fails as occurrenceConstraint naming it', () => {
  let checked = 0
  for (const [version, action, direction, schema] of everySchema()) {
    const full = generate(schema as Schema, { shape: 'full' }) as Record<string, unknown>
    for (const name of (schema.required ?? []) as string[]) {
      const { [name]: _removed, ...rest } = full
      expectFailure(validate(version, action, direction, rest), 'occurrenceConstraint', `/${name}`, 'required', `${version} ${action} ${direction} -${name}`)
      checked++
    }
  }
  assert.ok(checked > 300, `only ${checked} required properties`)
})

test('an unknown root property fails as formatViolation naming it, in every schema', () => {
  for (const [version, action, direction, schema] of everySchema()) {
    const payload = { ...(generate(schema as Schema, { shape: 'minimal' }) as object), notInTheSpec: 1 }
    expectFailure(validate(version, action, direction, payload), 'formatViolation', '/notInTheSpec', 'additionalProperties', `${version} ${action} ${direction}`)
  }
})

test('every root property of the wrong type fails as typeConstraint; too long a string as propertyConstraint', () => {
  let typed = 0
  let lengths = 0
  for (const [version, action, direction, schema] of everySchema()) {
    const full = generate(schema as Schema, { shape: 'full' }) as Record<string, unknown>
    for (const name of Object.keys(full)) {
      const sub = propertySchema(schema as Schema, name) as Schema
      const type = firstType(sub)
      if (type === undefined) continue // e.g. DataTransfer.data: any JSON value
      const wrong = type === 'string' ? 12345 : type === 'object' || type === 'array' ? 'text' : { not: 'scalar' }
      const where = `${version} ${action} ${direction} /${name}`
      expectFailure(validate(version, action, direction, { ...full, [name]: wrong }), 'typeConstraint', `/${name}`, 'type', where)
      typed++
      if (type === 'string' && typeof sub.maxLength === 'number') {
        const tooLong = 'y'.repeat(sub.maxLength + 1)
        expectFailure(validate(version, action, direction, { ...full, [name]: tooLong }), 'propertyConstraint', `/${name}`, 'maxLength', where)
        lengths++
      }
      if (Array.isArray(sub.enum)) {
        expectFailure(validate(version, action, direction, { ...full, [name]: 'NotAnEnumValue' }), 'propertyConstraint', `/${name}`, 'enum', where)
      }
    }
  }
  assert.ok(typed > 1000, `only ${typed} properties`)
  assert.ok(lengths > 80, `only ${lengths} length limits`)
})

test('every kind the validators return has a code name in each version\'s dialect', () => {
  for (const version of ALL_VERSIONS) {
    for (const kind of ['formatViolation', 'occurrenceConstraint', 'typeConstraint', 'propertyConstraint', 'notImplemented', 'internalError'] as const) {
      assert.match(dialects[version].errorCodes[kind], /^[A-Z][A-Za-z]+$/)
    }
  }
})

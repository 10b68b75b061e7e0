/**
 * deliverEnvelope on a fakeSession: a backend envelope bounded by dnstream.max_payload_size,
 * decoded with the session's dialect and handed to the session; one that cannot be is
 * answered with the version's FormatViolation spelling when its UniqueId can be read, and
 * reported when not. The counters it keeps: mqtt_received_total, envelopes_invalid_total.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { deliverEnvelope } from '../../../src/bridge/downstream.js'
import type { OcppVersion } from '../../../src/ocpp/dialect.js'
import { fakeSession, type FakeSession } from '../../helpers/fake-backend.js'

const MAX = 1000
const FORMAT_VIOLATION: Record<OcppVersion, string> = { '1.6': 'FormationViolation', '2.0.1': 'FormatViolation', '2.1': 'FormatViolation' }
const versions = Object.keys(FORMAT_VIOLATION) as OcppVersion[]

function deliver (s: FakeSession, payload: unknown, max = MAX): void {
  deliverEnvelope(s.session, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), max, 64, s.metrics)
}

function counts (s: FakeSession): Record<string, number> {
  return {
    received: s.metrics.get('mqtt_received_total'),
    invalid: s.metrics.get('envelopes_invalid_total'),
    tooLarge: s.metrics.get('envelopes_invalid_total', 'too_large'),
    badEnvelope: s.metrics.get('envelopes_invalid_total', 'invalid')
  }
}

const reset = (id = 'c1'): Record<string, unknown> => ({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })

test('a valid Call reaches the charge point as a frame; counted received, nothing for the backend', () => {
  for (const version of versions) {
    const s = fakeSession({ version })
    deliver(s, reset('c1'))
    assert.deepEqual(s.socket.sent, [[2, 'c1', 'Reset', { type: 'Soft' }]], version)
    assert.deepEqual(s.backend.records, [], version)
    assert.deepEqual(counts(s), { received: 1, invalid: 0, tooLarge: 0, badEnvelope: 0 }, version)
  }
})

test('an envelope at dnstream.max_payload_size is delivered, one byte over answered too_large with its UniqueId', () => {
  const text = JSON.stringify(reset('c1'))
  const s = fakeSession()
  deliver(s, text, text.length)
  assert.equal(s.socket.sent.length, 1)
  deliver(s, JSON.stringify(reset('c2')), text.length - 1)
  assert.equal(s.socket.sent.length, 1, 'not delivered')
  assert.deepEqual(s.backend.records, [{
    kind: 'answer',
    to: { id: 'c2', action: 'Reset' },
    code: 'FormationViolation',
    description: `gateway: invalid envelope: envelope of ${text.length} bytes exceeds dnstream.max_payload_size (${text.length - 1})`,
    details: { reason: 'invalid_envelope' }
  }])
  assert.deepEqual(counts(s), { received: 2, invalid: 1, tooLarge: 1, badEnvelope: 0 })
})

test('the size is in bytes, not characters', () => {
  const text = JSON.stringify({ MessageTypeId: 2, UniqueId: 'c1', Action: 'DataTransfer', Payload: { vendorId: 'ééééé' } })
  const bytes = Buffer.byteLength(text)
  assert.equal(bytes, text.length + 5)
  const s = fakeSession()
  deliver(s, text, text.length)
  assert.deepEqual(s.socket.sent, [])
  assert.deepEqual(s.backend.records.map((r) => r.kind === 'answer' && r.description), [`gateway: invalid envelope: envelope of ${bytes} bytes exceeds dnstream.max_payload_size (${text.length})`])
})

test('too large: answered with its UniqueId read from the text (bounded), reported when none can be read, with the version\'s FormatViolation', () => {
  for (const version of versions) {
    const s = fakeSession({ version })
    deliver(s, reset('c1'), 10)
    deliver(s, { MessageTypeId: 2, Action: 'Reset', Payload: { big: 'x'.repeat(50) } }, 10)
    assert.deepEqual(s.socket.sent, [], version)
    assert.deepEqual(s.backend.of('answer').map((r) => [r.to, r.code, r.details]), [[{ id: 'c1', action: 'Reset' }, FORMAT_VIOLATION[version], { reason: 'invalid_envelope' }]], version)
    assert.deepEqual(s.backend.of('report').map((r) => [r.error, r.extra]), [['invalid_envelope', { ErrorCode: FORMAT_VIOLATION[version] }]], version)
    assert.deepEqual(counts(s), { received: 2, invalid: 2, tooLarge: 2, badEnvelope: 0 }, version)
  }
})

test('invalid JSON and envelopes without a readable UniqueId are reported with the version\'s FormatViolation', () => {
  const cases: Array<[unknown, string]> = [
    ['{"MessageTypeId":2,', 'envelope is not valid JSON'],
    ['"a string"', 'envelope is not a JSON object'],
    [{ MessageTypeId: 2, UniqueId: 7, Action: 'Reset', Payload: {} }, 'UniqueId is missing or not a string'],
    [{ MessageTypeId: 2, UniqueId: '', Action: 'Reset', Payload: {} }, 'UniqueId must be 1 to 36 characters']
  ]
  for (const version of versions) {
    const s = fakeSession({ version })
    for (const [payload] of cases) deliver(s, payload)
    assert.deepEqual(s.socket.sent, [], version)
    assert.deepEqual(s.backend.records, cases.map(([, message]) => ({
      kind: 'report', error: 'invalid_envelope', description: message, extra: { ErrorCode: FORMAT_VIOLATION[version] }
    })), version)
    assert.deepEqual(counts(s), { received: 4, invalid: 4, tooLarge: 0, badEnvelope: 4 }, version)
  }
})

test('an invalid envelope with a readable UniqueId is answered: the version\'s FormatViolation, reason invalid_envelope', () => {
  for (const version of versions) {
    const s = fakeSession({ version })
    deliver(s, { MessageTypeId: 2, UniqueId: 'b1', Action: 'Reset', Payload: [] })
    deliver(s, { MessageTypeId: 3, UniqueId: 'b2' })
    assert.deepEqual(s.socket.sent, [], version)
    assert.deepEqual(s.backend.records, [
      {
        kind: 'answer',
        to: { id: 'b1', action: 'Reset' },
        code: FORMAT_VIOLATION[version],
        description: 'gateway: invalid envelope: Payload is missing or not a JSON object',
        details: { reason: 'invalid_envelope' }
      },
      {
        kind: 'answer',
        to: { id: 'b2', action: undefined },
        code: FORMAT_VIOLATION[version],
        description: 'gateway: invalid envelope: Payload is missing or not a JSON object',
        details: { reason: 'invalid_envelope' }
      }
    ], version)
    assert.deepEqual(counts(s), { received: 2, invalid: 2, tooLarge: 0, badEnvelope: 2 }, version)
  }
})

test('decoded with the session\'s dialect: a Send is invalid for 1.6 and 2.0.1, delivered for 2.1', () => {
  const send = { MessageTypeId: 6, UniqueId: 's1', Action: 'NotifyPeriodicEventStream', Payload: { id: 1, pending: 0, basetime: '2024-01-01T00:00:00Z', data: [] } }
  for (const version of ['1.6', '2.0.1'] as const) {
    const s = fakeSession({ version })
    deliver(s, send)
    assert.deepEqual(s.backend.of('answer').map((r) => [r.to, r.code, r.description]), [
      [{ id: 's1', action: 'NotifyPeriodicEventStream' }, FORMAT_VIOLATION[version], `gateway: invalid envelope: MessageTypeId 6 is not one of 2, 3, 4 (OCPP ${version})`]
    ], version)
    assert.deepEqual(s.socket.sent, [], version)
  }
  const s = fakeSession({ version: '2.1' })
  deliver(s, send)
  assert.deepEqual(s.backend.records, [])
  assert.deepEqual(s.socket.sent, [[6, 's1', 'NotifyPeriodicEventStream', send.Payload]])
  assert.deepEqual(counts(s), { received: 1, invalid: 0, tooLarge: 0, badEnvelope: 0 })
})

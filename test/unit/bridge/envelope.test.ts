/**
 * Frames <-> EMQX envelopes. test/envelope-text.test.ts covers the splice on compact frames,
 * random whitespace on Calls and the CallError/CallResultError fallbacks; this covers the
 * envelope of each type, the splice on SENDs and CallResults with Action and ValidationError
 * in spaced text, texts the splice cannot use, every downstream decode error, and the
 * gateway's own CallError.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { envelopeToFrame, frameToEnvelope, gatewayErrorEnvelope, upstreamEnvelopeText } from '../../../src/bridge/envelope.js'
import { dialects } from '../../../src/ocpp/dialect.js'
import type { Frame } from '../../../src/ocpp/frame.js'
import { decoded } from '../../helpers/splice-frames.js'

const v16 = dialects['1.6']
const v201 = dialects['2.0.1']
const v21 = dialects['2.1']

/** The members in order and the JSON value, of an envelope text. */
function shape (text: string): { keys: string[], value: unknown } {
  const value = JSON.parse(text) as Record<string, unknown>
  return { keys: Object.keys(value), value }
}

// ---- frameToEnvelope ----

test('frameToEnvelope: Call and Send', () => {
  const payload = { a: 1 }
  for (const type of [2, 6] as const) {
    const env = frameToEnvelope({ type, id: 'm1', action: 'DataTransfer', payload }, 'Ignored')
    assert.deepEqual(env, { MessageTypeId: type, UniqueId: 'm1', Action: 'DataTransfer', Payload: { a: 1 } })
    assert.deepEqual(Object.keys(env), ['MessageTypeId', 'UniqueId', 'Action', 'Payload'])
  }
})

test('frameToEnvelope: CallResult with and without the Action of its Call', () => {
  const frame: Frame = { type: 3, id: 'r1', payload: { status: 'Accepted' } }
  const without = frameToEnvelope(frame)
  assert.deepEqual(without, { MessageTypeId: 3, UniqueId: 'r1', Payload: { status: 'Accepted' } })
  assert.deepEqual(Object.keys(without), ['MessageTypeId', 'UniqueId', 'Payload'])
  const withAction = frameToEnvelope(frame, 'Reset')
  assert.deepEqual(withAction, { MessageTypeId: 3, UniqueId: 'r1', Action: 'Reset', Payload: { status: 'Accepted' } })
  assert.deepEqual(Object.keys(withAction), ['MessageTypeId', 'UniqueId', 'Action', 'Payload'])
})

test('frameToEnvelope: CallError and CallResultError keep ErrorDetails, Action last when given', () => {
  for (const type of [4, 5] as const) {
    const frame: Frame = { type, id: 'e1', code: 'NotSupported', description: 'no', details: { why: 'x' } }
    const without = frameToEnvelope(frame)
    assert.deepEqual(without, { MessageTypeId: type, UniqueId: 'e1', ErrorCode: 'NotSupported', ErrorDescription: 'no', ErrorDetails: { why: 'x' } })
    assert.deepEqual(Object.keys(without), ['MessageTypeId', 'UniqueId', 'ErrorCode', 'ErrorDescription', 'ErrorDetails'])
    const withAction = frameToEnvelope(frame, 'Reset')
    assert.deepEqual(withAction, { ...without, Action: 'Reset' })
    assert.deepEqual(Object.keys(withAction), ['MessageTypeId', 'UniqueId', 'ErrorCode', 'ErrorDescription', 'ErrorDetails', 'Action'])
  }
})

// ---- upstreamEnvelopeText ----

test('upstreamEnvelopeText: SENDs in spaced text, with escapes in id, Action and nested payload', () => {
  const texts = [
    ' [ 6 , "s\\"1" , "Notify{Event}" , { "a" : { "b" : [ 1 , { "c" : "]}" } ] } } ] ',
    '[6,"back\\\\slash","Da,ta[x",{"s":"\\u00e9\\n","n":[[],{}],"t":true}]\n',
    '[\t6,\n"\\u0041","A",\r\n{}\t]'
  ]
  for (const text of texts) {
    const frame = decoded(text)
    assert.equal(frame.type, 6)
    const got = upstreamEnvelopeText(frame, text)
    assert.ok(got !== undefined, text)
    assert.deepEqual(shape(got), shape(JSON.stringify(frameToEnvelope(frame))), text)
  }
})

test('upstreamEnvelopeText: Calls with a { or [ inside the id or Action strings', () => {
  for (const text of ['[ 2 , "{[" , "A]" , {"x":1} ]', '[2, "i,d", "{\\"x\\":[", {"y":{"z":[]}} ]']) {
    const frame = decoded(text)
    const got = upstreamEnvelopeText(frame, text)
    assert.ok(got !== undefined, text)
    assert.deepEqual(shape(got), shape(JSON.stringify(frameToEnvelope(frame))), text)
  }
})

test('upstreamEnvelopeText: CallResult with Action and ValidationError, spaced', () => {
  const text = ' [ 3 ,  "r\\"1" , { "status" : "Accepted" , "nested" : { "l" : [ "]" , "}" ] } } ] '
  const frame = decoded(text)
  const got = upstreamEnvelopeText(frame, text, 'Boot"Notification', 'Payload.status: must be "x"')
  assert.ok(got !== undefined)
  const want = { ...frameToEnvelope(frame, 'Boot"Notification'), ValidationError: 'Payload.status: must be "x"' }
  assert.deepEqual(shape(got), shape(JSON.stringify(want)))
  assert.deepEqual(Object.keys(JSON.parse(got) as object), ['MessageTypeId', 'UniqueId', 'Action', 'Payload', 'ValidationError'])
})

test('upstreamEnvelopeText: ValidationError on a spaced Send comes after the payload', () => {
  const text = '[ 6 , "1" , "NotifyX" , { "k" : 1 } ]'
  const got = upstreamEnvelopeText(decoded(text), text, undefined, 'bad "k"')
  assert.ok(got !== undefined)
  assert.deepEqual(JSON.parse(got), { MessageTypeId: 6, UniqueId: '1', Action: 'NotifyX', Payload: { k: 1 }, ValidationError: 'bad "k"' })
})

test('upstreamEnvelopeText: undefined for a CallError, with or without Action', () => {
  const text = '[4, "1", "GenericError", "x", {"a": 1}]'
  const frame = decoded(text)
  assert.equal(upstreamEnvelopeText(frame, text), undefined)
  assert.equal(upstreamEnvelopeText(frame, text, 'Reset'), undefined)
  assert.equal(upstreamEnvelopeText(frame, text, 'Reset', 'v'), undefined)
})

test('upstreamEnvelopeText: undefined when the text is not the frame it expects', () => {
  const frame: Frame = { type: 2, id: '1', action: 'A', payload: {} }
  assert.equal(upstreamEnvelopeText(frame, 'no bracket'), undefined)
  assert.equal(upstreamEnvelopeText(frame, '[2,"1"]'), undefined)
  assert.equal(upstreamEnvelopeText(frame, '[2,"1","A",[1]]'), undefined)
  assert.equal(upstreamEnvelopeText(frame, '[2,{"x":1},"A",{}]'), undefined)
  assert.equal(upstreamEnvelopeText({ type: 3, id: '1', payload: {} }, '[3,"1",5]'), undefined)
})

// ---- envelopeToFrame ----

function error (payload: string | Buffer, dialect = v21): { id: string | undefined, action: string | undefined, message: string } {
  const r = envelopeToFrame(payload, dialect)
  assert.ok(!r.ok, `accepted: ${payload.toString()}`)
  return r.error
}

test('envelopeToFrame: not JSON', () => {
  assert.deepEqual(error('{"MessageTypeId":2,'), { id: undefined, action: undefined, message: 'envelope is not valid JSON' })
  assert.deepEqual(error(Buffer.from('nope')), { id: undefined, action: undefined, message: 'envelope is not valid JSON' })
  assert.deepEqual(error(''), { id: undefined, action: undefined, message: 'envelope is not valid JSON' })
})

test('envelopeToFrame: not an object', () => {
  for (const text of ['[2,"1","Reset",{}]', 'null', '"x"', '42', 'true']) {
    assert.deepEqual(error(text), { id: undefined, action: undefined, message: 'envelope is not a JSON object' }, text)
  }
})

test('envelopeToFrame: bad UniqueId, with the Action recovered', () => {
  const base = { MessageTypeId: 2, Action: 'Reset', Payload: {} }
  assert.deepEqual(error(JSON.stringify(base)), { id: undefined, action: 'Reset', message: 'UniqueId is missing or not a string' })
  assert.deepEqual(error(JSON.stringify({ ...base, UniqueId: 7 })), { id: undefined, action: 'Reset', message: 'UniqueId is missing or not a string' })
  assert.deepEqual(error(JSON.stringify({ ...base, UniqueId: null })), { id: undefined, action: 'Reset', message: 'UniqueId is missing or not a string' })
  assert.deepEqual(error(JSON.stringify({ ...base, UniqueId: '' })), { id: undefined, action: 'Reset', message: 'UniqueId must be 1 to 36 characters' })
  assert.deepEqual(error(JSON.stringify({ ...base, UniqueId: 'x'.repeat(37) })), { id: undefined, action: 'Reset', message: 'UniqueId must be 1 to 36 characters' })
  assert.deepEqual(error(JSON.stringify({ MessageTypeId: 2, UniqueId: 3, Action: 4 })), { id: undefined, action: undefined, message: 'UniqueId is missing or not a string' })
  // 36 characters is the limit, not over it.
  assert.ok(envelopeToFrame(JSON.stringify({ ...base, UniqueId: 'x'.repeat(36) }), v21).ok)
})

test('envelopeToFrame: a MessageTypeId not in the version, with id and Action recovered', () => {
  const env = (type: unknown): string => JSON.stringify({ MessageTypeId: type, UniqueId: 'u1', Action: 'Reset', Payload: {}, ErrorCode: 'GenericError' })
  for (const dialect of [v16, v201]) {
    for (const type of [5, 6, 1, 7, 0]) {
      assert.deepEqual(error(env(type), dialect), { id: 'u1', action: 'Reset', message: `MessageTypeId ${type} is not one of 2, 3, 4 (OCPP ${dialect.version})` })
    }
  }
  for (const type of [1, 7, 2.5]) {
    assert.deepEqual(error(env(type), v21), { id: 'u1', action: 'Reset', message: `MessageTypeId ${type} is not one of 2, 3, 4, 5, 6 (OCPP 2.1)` })
  }
  assert.deepEqual(error(env('2'), v21), { id: 'u1', action: 'Reset', message: 'MessageTypeId "2" is not one of 2, 3, 4, 5, 6 (OCPP 2.1)' })
  assert.deepEqual(error(JSON.stringify({ UniqueId: 'u1', Action: 'Reset', Payload: {} }), v16), { id: 'u1', action: 'Reset', message: 'MessageTypeId undefined is not one of 2, 3, 4 (OCPP 1.6)' })
})

test('envelopeToFrame: 5 and 6 are accepted in 2.1 only', () => {
  assert.deepEqual(envelopeToFrame(JSON.stringify({ MessageTypeId: 6, UniqueId: 's1', Action: 'NotifyX', Payload: { a: 1 } }), v21),
    { ok: true, frame: { type: 6, id: 's1', action: 'NotifyX', payload: { a: 1 } } })
  assert.deepEqual(envelopeToFrame(JSON.stringify({ MessageTypeId: 5, UniqueId: 'e1', ErrorCode: 'GenericError', ErrorDescription: 'd', ErrorDetails: { x: 1 } }), v21),
    { ok: true, frame: { type: 5, id: 'e1', code: 'GenericError', description: 'd', details: { x: 1 } } })
})

test('envelopeToFrame: Call or Send without an Action', () => {
  for (const type of [2, 6]) {
    for (const action of [undefined, '', 5, null]) {
      const text = JSON.stringify({ MessageTypeId: type, UniqueId: 'u1', Action: action, Payload: {} })
      assert.deepEqual(error(text), { id: 'u1', action: undefined, message: 'Action is missing or not a string' }, text)
    }
  }
})

test('envelopeToFrame: Call, Send or CallResult without a Payload object', () => {
  for (const payload of [undefined, null, [1], 'x', 3]) {
    for (const type of [2, 6]) {
      const text = JSON.stringify({ MessageTypeId: type, UniqueId: 'u1', Action: 'Reset', Payload: payload })
      assert.deepEqual(error(text), { id: 'u1', action: 'Reset', message: 'Payload is missing or not a JSON object' }, text)
    }
    const result = JSON.stringify({ MessageTypeId: 3, UniqueId: 'u1', Payload: payload })
    assert.deepEqual(error(result), { id: 'u1', action: undefined, message: 'Payload is missing or not a JSON object' }, result)
    const withAction = JSON.stringify({ MessageTypeId: 3, UniqueId: 'u1', Action: 'Boot', Payload: payload })
    assert.deepEqual(error(withAction), { id: 'u1', action: 'Boot', message: 'Payload is missing or not a JSON object' }, withAction)
  }
})

test('envelopeToFrame: CallError without ErrorCode, or with a bad description or details', () => {
  const base = { MessageTypeId: 4, UniqueId: 'u1', Action: 'Reset' }
  for (const code of [undefined, '', 1]) {
    assert.deepEqual(error(JSON.stringify({ ...base, ErrorCode: code })), { id: 'u1', action: 'Reset', message: 'ErrorCode is missing or not a string' })
  }
  assert.deepEqual(error(JSON.stringify({ MessageTypeId: 5, UniqueId: 'u1' })), { id: 'u1', action: undefined, message: 'ErrorCode is missing or not a string' })
  assert.deepEqual(error(JSON.stringify({ ...base, ErrorCode: 'GenericError', ErrorDescription: 3 })), { id: 'u1', action: 'Reset', message: 'ErrorDescription is not a string' })
  for (const details of [null, [], 'd']) {
    assert.deepEqual(error(JSON.stringify({ ...base, ErrorCode: 'GenericError', ErrorDetails: details })), { id: 'u1', action: 'Reset', message: 'ErrorDetails is not a JSON object' })
  }
})

test('envelopeToFrame: valid envelopes; Action on a CallResult or CallError is dropped, absent error members default', () => {
  assert.deepEqual(envelopeToFrame(Buffer.from(JSON.stringify({ MessageTypeId: 2, UniqueId: 'c1', Action: 'Reset', Payload: { type: 'Soft' } })), v16),
    { ok: true, frame: { type: 2, id: 'c1', action: 'Reset', payload: { type: 'Soft' } } })
  assert.deepEqual(envelopeToFrame(JSON.stringify({ MessageTypeId: 3, UniqueId: 'r1', Action: 'Boot', Payload: { status: 'Accepted' } }), v16),
    { ok: true, frame: { type: 3, id: 'r1', payload: { status: 'Accepted' } } })
  assert.deepEqual(envelopeToFrame(JSON.stringify({ MessageTypeId: 4, UniqueId: 'e1', Action: 'Boot', ErrorCode: 'InternalError' }), v201),
    { ok: true, frame: { type: 4, id: 'e1', code: 'InternalError', description: '', details: {} } })
})

// ---- gatewayErrorEnvelope ----

test('gatewayErrorEnvelope: a CallError marked Origin gateway, Action last when given', () => {
  const env = gatewayErrorEnvelope('g1', 'GenericError', 'gateway: offline', { reason: 'offline' }, 'Reset')
  assert.deepEqual(env, { MessageTypeId: 4, UniqueId: 'g1', ErrorCode: 'GenericError', ErrorDescription: 'gateway: offline', ErrorDetails: { reason: 'offline' }, Origin: 'gateway', Action: 'Reset' })
  assert.deepEqual(Object.keys(env), ['MessageTypeId', 'UniqueId', 'ErrorCode', 'ErrorDescription', 'ErrorDetails', 'Origin', 'Action'])
  const plain = gatewayErrorEnvelope('g2', 'FormatViolation', 'd')
  assert.deepEqual(plain, { MessageTypeId: 4, UniqueId: 'g2', ErrorCode: 'FormatViolation', ErrorDescription: 'd', ErrorDetails: {}, Origin: 'gateway' })
  assert.equal('Action' in plain, false)
})

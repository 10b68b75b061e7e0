/**
 * upstreamEnvelopeText: the envelope of a charge point's frame with the payload's text spliced
 * from the frame must be the envelope frameToEnvelope makes: same members, same order, same
 * JSON value; byte for byte the same when the charge point writes compact JSON.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { frameToEnvelope, upstreamEnvelopeText } from '../../../src/bridge/envelope.js'
import type { Frame } from '../../../src/ocpp/frame.js'
import { decoded } from '../../helpers/splice-frames.js'

function reference (frame: Frame, action?: string, validationError?: string): string {
  const env = frameToEnvelope(frame, action)
  if (validationError !== undefined) env.ValidationError = validationError
  return JSON.stringify(env)
}

const payloads: unknown[] = [
  {},
  { connectorId: 1, meterValue: [{ timestamp: '2024-05-06T07:08:09Z', sampledValue: [{ value: '12.5', unit: 'Wh' }] }] },
  { s: 'a,b]c[d{e}f"g\\h', n: -0.5e-3, t: true, f: false, z: null, u: 'é ✓ \u0001', nested: { a: [1, [2, [3, {}]]] } },
  { chargePointVendor: 'V', chargePointModel: 'M' }
]
const ids = ['1', 'a,b', 'x"y', 'back\\slash', '[]{}', 'é']
const actions = ['Heartbeat', 'Data,Transfer', 'Q"uote', 'B\\s']

test('compact frames: the same bytes as JSON.stringify(frameToEnvelope(...))', () => {
  for (const payload of payloads) {
    for (const id of ids) {
      for (const action of actions) {
        for (const type of [2, 6] as const) {
          const text = JSON.stringify([type, id, action, payload])
          const frame = decoded(text)
          assert.equal(upstreamEnvelopeText(frame, text), reference(frame), text)
          assert.equal(upstreamEnvelopeText(frame, text, undefined, 'Payload.x: must be integer'), reference(frame, undefined, 'Payload.x: must be integer'))
        }
        const result = JSON.stringify([3, id, payload])
        const frame3 = decoded(result)
        assert.equal(upstreamEnvelopeText(frame3, result, action), reference(frame3, action), result)
        assert.equal(upstreamEnvelopeText(frame3, result), reference(frame3), result)
      }
    }
  }
})

test('whitespace, escapes and number spellings: the same members, order and JSON value', () => {
  const texts = [
    ' [ 2 ,\n "id,1" ,\t"Heartbeat" , { } ] ',
    '[2,"\\u0069d","DataTransfer",{"vendorId":"\\u00e9","data":"a\\"]b","n":1.50,"e":1E2}]\r\n',
    '[3 , "x]" , {"a" : [ 1 , 2 ] , "b":{"c":"}"}}]',
    '[2.0,"1","Heartbeat",{}]'
  ]
  for (const text of texts) {
    const frame = decoded(text)
    const got = upstreamEnvelopeText(frame, text, frame.type === 3 ? 'Reset' : undefined)
    assert.ok(got !== undefined, text)
    const want = JSON.parse(reference(frame, frame.type === 3 ? 'Reset' : undefined)) as Record<string, unknown>
    const parsed = JSON.parse(got) as Record<string, unknown>
    assert.deepEqual(parsed, want, text)
    assert.deepEqual(Object.keys(parsed), Object.keys(want), text)
  }
})

test('frames without a payload to splice are left to the caller', () => {
  const error = '[4,"1","NotImplemented","no",{}]'
  assert.equal(upstreamEnvelopeText(decoded(error), error), undefined)
  const result = '[5,"1","GenericError","x",{}]'
  assert.equal(upstreamEnvelopeText(decoded(result), result), undefined)
})

test('random payloads and random whitespace', () => {
  let seed = 42
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
  const ws = (): string => [' ', '\n', '\t', '\r', ''][rnd(5)]!.repeat(rnd(3))
  const value = (depth: number): unknown => {
    switch (depth > 3 ? rnd(4) : rnd(6)) {
      case 0: return rnd(1000) / (1 + rnd(7))
      case 1: return String.fromCharCode(...Array.from({ length: rnd(8) }, () => [0x22, 0x5c, 0x2c, 0x5d, 0x7b, 0x41, 0xe9, 0x2603, 0x0a][rnd(9)]!))
      case 2: return rnd(2) === 0
      case 3: return null
      case 4: return Array.from({ length: rnd(4) }, () => value(depth + 1))
      default: return Object.fromEntries(Array.from({ length: rnd(4) }, (_, i) => [`k${i}${String(value(9))}`, value(depth + 1)]))
    }
  }
  /** JSON.stringify with random whitespace between tokens. */
  const spaced = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => spaced(x)).join(`${ws()},${ws()}`)}${ws()}]`
    if (typeof v === 'object' && v !== null) return `{${ws()}${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${spaced(x)}`).join(`${ws()},${ws()}`)}${ws()}}`
    return JSON.stringify(v)
  }
  for (let n = 0; n < 500; n++) {
    const payload = Object.fromEntries(Array.from({ length: rnd(5) }, (_, i) => [`p${i}`, value(0)]))
    const text = spaced([2, String(value(9)).slice(0, 30) || 'id', `A${String(value(9))}`, payload])
    const frame = decoded(text)
    const got = upstreamEnvelopeText(frame, text)
    assert.ok(got !== undefined, text)
    assert.deepEqual(JSON.parse(got), JSON.parse(reference(frame)), text)
  }
})

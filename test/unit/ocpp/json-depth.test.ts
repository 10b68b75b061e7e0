import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_MAX_JSON_DEPTH, jsonTooDeep } from '../../../src/ocpp/json-depth.js'
import { decodeFrame } from '../../../src/ocpp/frame.js'
import { dialects } from '../../../src/ocpp/dialect.js'

const nest = (n: number, inner = '1'): string => '['.repeat(n) + inner + ']'.repeat(n)

test('jsonTooDeep: exactly max levels pass, max + 1 do not; objects and arrays both count', () => {
  assert.equal(jsonTooDeep(JSON.parse(nest(10)), 10), false)
  assert.equal(jsonTooDeep(JSON.parse(nest(11)), 10), true)
  assert.equal(jsonTooDeep(JSON.parse('{"a":'.repeat(11) + '1' + '}'.repeat(11)), 10), true)
  assert.equal(jsonTooDeep(JSON.parse('{"a":'.repeat(10) + '1' + '}'.repeat(10)), 10), false)
  assert.equal(jsonTooDeep(1, 0), false)
  assert.equal(jsonTooDeep('[[[[', 1), false, 'a string is not nesting')
})

test('jsonTooDeep: siblings do not add up; a 100,000-level value is found without a stack overflow', () => {
  assert.equal(jsonTooDeep(JSON.parse('[' + Array(200).fill('[1]').join(',') + ']'), 2), false)
  assert.equal(jsonTooDeep(JSON.parse(nest(100_000)), 64), true)
})

test('decodeFrame: a Call nested 5,000 levels deep is refused with its id, a FormationViolation (1.6) / FormatViolation (2.x)', () => {
  const text = `[2,"deep-1","DataTransfer",{"vendorId":"x","data":${nest(5000)}}]`
  for (const v of ['1.6', '2.0.1'] as const) {
    const r = decodeFrame(text, dialects[v])
    assert.equal(r.ok, false)
    if (r.ok) return
    assert.deepEqual({ kind: r.error.kind, id: r.error.id, type: r.error.type }, { kind: 'formatViolation', id: 'deep-1', type: 2 })
    assert.match(r.error.message, new RegExp(`deeper than ${DEFAULT_MAX_JSON_DEPTH} levels`))
    assert.equal(dialects[v].errorCodes[r.error.kind], v === '1.6' ? 'FormationViolation' : 'FormatViolation')
  }
})

test('decodeFrame: a deep frame whose id is unreadable gets id "-1"; a custom bound is honoured', () => {
  const r = decodeFrame(`[2,${nest(100)},"A",{}]`, dialects['1.6'])
  assert.equal(!r.ok && r.error.id, '-1')
  assert.equal(decodeFrame(`[2,"a","Heartbeat",{"x":${nest(20)}}]`, dialects['1.6'], undefined, 30).ok, true)
  assert.equal(decodeFrame(`[2,"a","Heartbeat",{"x":${nest(20)}}]`, dialects['1.6'], undefined, 16).ok, false)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_MAX_JSON_DEPTH, jsonTooDeep } from '../../../src/ocpp/json-depth.js'
import { decodeFrame } from '../../../src/ocpp/frame.js'
import { dialects } from '../../../src/ocpp/dialect.js'

const nest = (n: number, inner = '1'): string => '['.repeat(n) + inner + ']'.repeat(n)

test('jsonTooDeep: exactly max levels pass, max + 1 do not; objects and arrays both count', () => {
  assert.equal(jsonTooDeep(nest(10), 10), false)
  assert.equal(jsonTooDeep(nest(11), 10), true)
  assert.equal(jsonTooDeep('{"a":'.repeat(11) + '1' + '}'.repeat(11), 10), true)
  assert.equal(jsonTooDeep('{"a":'.repeat(10) + '1' + '}'.repeat(10), 10), false)
})

test('jsonTooDeep: brackets inside strings (and escaped quotes) do not count', () => {
  const s = JSON.stringify(['['.repeat(500), '{"\\"[[[[[[', { a: ']]]]' }])
  assert.equal(jsonTooDeep(s, 3), false)
  assert.equal(jsonTooDeep(JSON.stringify([[['a"b[[[[[[[[']]]), 3), false)
})

test('jsonTooDeep: siblings do not add up; an unclosed deep text is still too deep', () => {
  assert.equal(jsonTooDeep('[' + Array(200).fill('[1]').join(',') + ']', 2), false)
  assert.equal(jsonTooDeep('['.repeat(100), 64), true)
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

test('decodeFrame: a deep frame whose front is unreadable gets id "-1"; a custom bound is honoured', () => {
  const r = decodeFrame(nest(100), dialects['1.6'])
  assert.equal(!r.ok && r.error.id, '-1')
  assert.equal(decodeFrame(`[2,"a","Heartbeat",{"x":${nest(20)}}]`, dialects['1.6'], undefined, 30).ok, true)
  assert.equal(decodeFrame(`[2,"a","Heartbeat",{"x":${nest(20)}}]`, dialects['1.6'], undefined, 16).ok, false)
})

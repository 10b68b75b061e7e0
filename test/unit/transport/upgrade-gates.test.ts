import assert from 'node:assert/strict'
import { test } from 'node:test'
import { headerPort, ListenerRate, originAllowed } from '../../../src/transport/upgrade-gates.js'

test('ListenerRate: a burst of one second\'s worth, then the refill rate', () => {
  const r = new ListenerRate(10)
  let taken = 0
  for (let i = 0; i < 15; i++) if (r.take(1000)) taken++
  assert.equal(taken, 10)
  assert.equal(r.take(1050), false, '50 ms refill half a token')
  assert.equal(r.take(1100), true, 'one token after 100 ms')
  assert.equal(r.take(1100), false)
  // A long pause refills at most one second's worth.
  taken = 0
  for (let i = 0; i < 30; i++) if (r.take(60_000)) taken++
  assert.equal(taken, 10)
})

test('originAllowed: exact origins, case and trailing slash aside; absence as configured', () => {
  const list = ['https://ops.example.com', 'http://b']
  assert.equal(originAllowed('https://OPS.example.com/', list, true), true)
  assert.equal(originAllowed('https://evil.example.com', list, true), false)
  assert.equal(originAllowed(undefined, list, true), true)
  assert.equal(originAllowed(undefined, list, false), false)
  assert.equal(originAllowed('', list, false), false)
})

test('headerPort: the last hop\'s port, or undefined', () => {
  assert.equal(headerPort('443'), 443)
  assert.equal(headerPort('8443, 443'), 443)
  assert.equal(headerPort(['1', '2']), 2)
  assert.equal(headerPort('0'), undefined)
  assert.equal(headerPort('70000'), undefined)
  assert.equal(headerPort('https'), undefined)
  assert.equal(headerPort(undefined), undefined)
})

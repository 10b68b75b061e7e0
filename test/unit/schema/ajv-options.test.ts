/** The Ajv instance is set up for untrusted input: first error only, payload untouched. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compileSchema, createAjv } from '../../../src/schema/ajv-factory.js'
import { loadActionSchemas } from '../../../src/schema/schema-source.js'

test('options: no allErrors, no defaults, no coercion, no removal', () => {
  const { opts } = createAjv()
  assert.equal(opts.allErrors, false)
  assert.equal(opts.useDefaults, false)
  assert.equal(opts.coerceTypes, false)
  assert.equal(opts.removeAdditional, false)
})

test('a schema with defaults, coercible types and extra properties leaves the data alone', () => {
  const validate = compileSchema(createAjv(), {
    type: 'object',
    additionalProperties: false,
    properties: { n: { type: 'integer' }, flag: { type: 'boolean', default: false }, list: { type: 'array', items: { type: 'string' } } }
  })
  const data = { n: '5', list: [1] }
  assert.equal(validate(data), false)
  assert.deepEqual(data, { n: '5', list: [1] })
  const extra = { n: 1, more: true }
  assert.equal(validate(extra), false)
  assert.deepEqual(extra, { n: 1, more: true })
  const ok = { n: 1 }
  assert.equal(validate(ok), true)
  assert.deepEqual(ok, { n: 1 })
})

test('one error only, however many fields are wrong', () => {
  const validate = compileSchema(createAjv(), { type: 'array', items: { type: 'integer' } })
  assert.equal(validate(Array.from({ length: 1000 }, () => 'x')), false)
  assert.equal(validate.errors?.length, 1)
})

test('compiling does not modify the shipped schema objects', () => {
  const shipped = loadActionSchemas('2.1').get('TransactionEvent')?.request
  assert.ok(shipped)
  const before = structuredClone(shipped)
  compileSchema(createAjv(), shipped)
  assert.deepEqual(shipped, before)
  assert.equal(typeof shipped.$id, 'string')
})

test('the full date-time format requires a time zone and a real date', () => {
  const validate = compileSchema(createAjv(), { type: 'string', format: 'date-time' })
  for (const ok of ['2024-05-06T07:08:09Z', '2024-05-06T07:08:09.123Z', '2024-05-06T09:08:09+02:00']) assert.equal(validate(ok), true, ok)
  for (const bad of ['2024-05-06T07:08:09', '2024-02-30T07:08:09Z', '2024-05-06', '']) assert.equal(validate(bad), false, bad)
})

/** Our one-pass date-time check answers exactly as ajv-formats' full `date-time` does. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import addFormatsModule from 'ajv-formats'
import { isDateTime } from '../../../src/schema/date-time.js'

// ajv-formats' full date-time is a definition object { validate, compare }.
const reference = addFormatsModule.default.get('date-time', 'full') as { validate: (s: string) => boolean }
const expected = (s: string): boolean => reference.validate(s)

const base = ['2024-05-06T07:08:09Z', '2024-02-29T23:59:60.5+00:00', '1999-12-31t23:59:59.123456789-05:30', '2023-06-30T23:59:60Z']

/** Deterministic corpus: edge values, then every single-character edit of a few bases. */
function corpus (): string[] {
  const out = new Set<string>()
  const years = ['2024', '2023', '2000', '1900', '0000', '9999']
  const months = ['00', '01', '02', '04', '12', '13', '1', '99']
  const days = ['00', '01', '28', '29', '30', '31', '32']
  const times = ['00:00:00', '23:59:59', '23:59:60', '24:00:00', '12:60:00', '00:59:60', '23:59:60.999', '23:59:61', '07:08:09.', '07:08']
  const zones = ['Z', 'z', '', '+00:00', '-00:00', '+01:00', '-01:00', '+0100', '+01', '+24:00', '+23:60', '+23:59', '-23:59', '+5:30', '+05:30:00']
  const seps = ['T', 't', ' ', '\t', '\u00a0', '_', 'TT', '']
  for (const y of years) for (const m of months) for (const d of days) out.add(`${y}-${m}-${d}T12:00:00Z`)
  for (const t of times) for (const z of zones) for (const s of ['T', ' ']) out.add(`2024-12-31${s}${t}${z}`)
  for (const s of seps) out.add(`2024-05-06${s}07:08:09Z`)
  const alphabet = ['0', '1', '2', '3', '5', '9', '-', ':', '.', '+', 'T', 't', 'Z', 'z', ' ', '\n', 'a', '٣', '']
  for (const b of base) {
    for (let i = 0; i <= b.length; i++) {
      for (const c of alphabet) {
        out.add(b.slice(0, i) + c + b.slice(i + 1)) // replace (or delete, c = '')
        out.add(b.slice(0, i) + c + b.slice(i)) // insert
      }
    }
  }
  for (const extra of ['', 'Z', '2024-05-06T07:08:09Z\n', '\n2024-05-06T07:08:09Z', '2024-05-06T07:08:09ZZ', '2024-05-06T07:08:09.Z', '+2024-05-06T07:08:09Z', '20240506T070809Z']) out.add(extra)
  return [...out]
}

test('same answer as ajv-formats full date-time on an edge-case corpus', () => {
  const strings = corpus()
  assert.ok(strings.length > 4000, String(strings.length))
  let valid = 0
  for (const s of strings) {
    assert.equal(isDateTime(s), expected(s), JSON.stringify(s))
    if (expected(s)) valid++
  }
  // The corpus exercises both answers.
  assert.ok(valid > 300 && valid < strings.length - 300, `${valid} valid of ${strings.length}`)
})

test('OCPP timestamps', () => {
  assert.equal(isDateTime('2024-05-06T07:08:09Z'), true)
  assert.equal(isDateTime('2024-05-06T07:08:09.123Z'), true)
  assert.equal(isDateTime('2024-05-06T09:08:09+02:00'), true)
  assert.equal(isDateTime('2024-05-06T07:08:09'), false) // no time zone
  assert.equal(isDateTime('2023-02-29T07:08:09Z'), false) // not a leap year
  assert.equal(isDateTime('2024-02-29T07:08:09Z'), true)
})

/** message_format_checking: mode x direction x overrides -> check | skip | warn. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkDecision, type CheckDecision, type Direction, type FormatCheckingConfig } from '../../../src/schema/index.js'

const up: Direction = 'upstream'
const dn: Direction = 'dnstream'

const table: Array<[string, FormatCheckingConfig, Direction, string, CheckDecision]> = [
  // modes alone
  ['disable up', { mode: 'disable' }, up, 'BootNotification', 'skip'],
  ['disable dn', { mode: 'disable' }, dn, 'BootNotification', 'skip'],
  ['upstream_only up', { mode: 'upstream_only' }, up, 'BootNotification', 'check'],
  ['upstream_only dn', { mode: 'upstream_only' }, dn, 'RemoteStartTransaction', 'skip'],
  ['dnstream_only up', { mode: 'dnstream_only' }, up, 'BootNotification', 'skip'],
  ['dnstream_only dn', { mode: 'dnstream_only' }, dn, 'RemoteStartTransaction', 'check'],
  ['all up', { mode: 'all' }, up, 'BootNotification', 'check'],
  ['all dn', { mode: 'all' }, dn, 'Reset', 'check'],
  // warn_only
  ['all warn_only up', { mode: 'all', warn_only: true }, up, 'MeterValues', 'warn'],
  ['all warn_only dn', { mode: 'all', warn_only: true }, dn, 'Reset', 'warn'],
  ['warn_only false', { mode: 'all', warn_only: false }, up, 'MeterValues', 'check'],
  ['warn_only outside the mode', { mode: 'upstream_only', warn_only: true }, dn, 'Reset', 'skip'],
  ['disable warn_only', { mode: 'disable', warn_only: true }, up, 'MeterValues', 'skip'],
  // overrides within checked directions
  ['skip MeterValues', { mode: 'all', overrides: { MeterValues: 'skip' } }, up, 'MeterValues', 'skip'],
  ['skip MeterValues, others checked', { mode: 'all', overrides: { MeterValues: 'skip' } }, up, 'StatusNotification', 'check'],
  ['warn MeterValues', { mode: 'all', overrides: { MeterValues: 'warn' } }, up, 'MeterValues', 'warn'],
  ['check one under warn_only', { mode: 'upstream_only', warn_only: true, overrides: { BootNotification: 'check' } }, up, 'BootNotification', 'check'],
  ['others warn under warn_only', { mode: 'upstream_only', warn_only: true, overrides: { BootNotification: 'check' } }, up, 'Heartbeat', 'warn'],
  ['override in the other direction too', { mode: 'all', overrides: { DataTransfer: 'skip' } }, dn, 'DataTransfer', 'skip'],
  // overrides never reach outside the mode
  ['override check under disable', { mode: 'disable', overrides: { BootNotification: 'check' } }, up, 'BootNotification', 'skip'],
  ['override warn outside upstream_only', { mode: 'upstream_only', overrides: { Reset: 'warn' } }, dn, 'Reset', 'skip'],
  ['override check outside dnstream_only', { mode: 'dnstream_only', overrides: { MeterValues: 'check' } }, up, 'MeterValues', 'skip'],
  // names are matched exactly and only as own keys
  ['case-sensitive', { mode: 'all', overrides: { MeterValues: 'skip' } }, up, 'metervalues', 'check'],
  ['prototype key constructor', { mode: 'all', warn_only: true }, up, 'constructor', 'warn'],
  ['prototype key __proto__', { mode: 'all', overrides: {} }, up, '__proto__', 'check'],
  ['prototype key toString', { mode: 'all', overrides: { MeterValues: 'skip' } }, up, 'toString', 'check'],
  ['bad override value ignored', { mode: 'all', overrides: { MeterValues: 'off' as CheckDecision } }, up, 'MeterValues', 'check'],
  ['unknown mode checks nothing', { mode: 'strict' as FormatCheckingConfig['mode'] }, up, 'MeterValues', 'skip']
]

for (const [name, config, direction, action, expected] of table) {
  test(`policy: ${name} -> ${expected}`, () => {
    assert.equal(checkDecision(config, direction, action), expected)
  })
}

test('policy: an override object with a null prototype works too', () => {
  const overrides = Object.assign(Object.create(null) as Record<string, CheckDecision>, { MeterValues: 'skip' as const })
  assert.equal(checkDecision({ mode: 'all', overrides }, up, 'MeterValues'), 'skip')
  assert.equal(checkDecision({ mode: 'all', overrides }, up, 'Heartbeat'), 'check')
})

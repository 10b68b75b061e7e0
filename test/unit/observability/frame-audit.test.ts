import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { chargerFilter, FrameAudit } from '../../../src/observability/frame-audit.js'
import { isGatewayError } from '../../../src/errors.js'
import { buildConfig } from '../../../src/config/load.js'

describe('chargerFilter: ids and prefixes ending in *', () => {
  test('empty = every charge point', () => {
    assert.equal(chargerFilter([])('anything'), true)
  })
  test('exact ids match only themselves; prefixes match what starts with them', () => {
    const f = chargerFilter(['CP1', 'DE-*'])
    assert.deepEqual(['CP1', 'CP10', 'DE-1', 'DE-', 'XDE-1'].map(f), [true, false, true, true, false])
  })
})

describe('FrameAudit', () => {
  test('writes one JSON line per recorded frame, redacted, and is flushed by close()', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-audit-unit-'))
    try {
      const audit = await FrameAudit.open({ file: join(dir, 'f'), keep: 1, chargers: ['A'] }, (err) => { throw err })
      audit.record('A', 'in', '[2,"1","Authorize",{"idToken":{"idToken":"T","type":"ISO14443"}}]')
      audit.record('B', 'in', '[2,"2","Heartbeat",{}]')
      audit.record('A', 'out', '[2,"3","ChangeConfiguration",{"key":"AuthorizationKey","value":"0011223344556677"}]')
      await audit.close()
      const lines = (await readFile(join(dir, 'f.1.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
      assert.deepEqual(lines.map((l) => [l.cid, l.dir]), [['A', 'in'], ['A', 'out']])
      assert.deepEqual(Object.keys(lines[0] ?? {}), ['time', 'cid', 'dir', 'frame'])
      assert.doesNotMatch(lines[1]?.frame ?? '', /0011223344556677/)
      assert.match(lines[1]?.frame ?? '', /AuthorizationKey/)
      assert.equal(audit.written, 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a file that cannot be opened fails the start with OCPPGW_ERR_AUDIT_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-audit-unit-'))
    try {
      await writeFile(join(dir, 'plain-file'), '')
      await assert.rejects(FrameAudit.open({ file: join(dir, 'plain-file', 'frames'), keep: 1, chargers: [] }, () => {}), (err) => isGatewayError(err, 'OCPPGW_ERR_AUDIT_FILE'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('log.audit in the configuration', () => {
  test('off without a file; a file gets the defaults; bad sizes and too short periods are refused', () => {
    assert.equal(buildConfig([{}]).log.audit, undefined)
    assert.deepEqual(buildConfig([{ log: { audit: { file: '/var/log/f' } } }]).log.audit, { file: '/var/log/f', size: '100m', frequency: 'daily', keep: 14, chargers: [] })
    assert.equal(buildConfig([{ log: { audit: { file: 'f', frequency: '15m' } } }]).log.audit?.frequency, 900_000)
    assert.equal(buildConfig([{ log: { audit: { file: 'f', frequency: 'off' } } }]).log.audit?.frequency, undefined)
    assert.throws(() => buildConfig([{ log: { audit: { file: 'f', size: 'big' } } }]), (err) => isGatewayError(err, 'OCPPGW_ERR_CONFIG'))
    assert.throws(() => buildConfig([{ log: { audit: { file: 'f', frequency: '10ms' } } }]), /shorter than 1s/)
  })
})

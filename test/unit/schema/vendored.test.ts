/** schemas/: the one place the OCPP schemas come from, held to its manifest (no network). */
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { checkSchemas } from '../../../scripts/check-schemas.js'
import { loadActionSchemas, schemasDir } from '../../../src/schema/schema-source.js'

describe('schemas/', () => {
  test('every bundle matches MANIFEST.json (sha256, count, version) and loads', () => {
    assert.deepEqual(checkSchemas(), [])
    assert.equal(loadActionSchemas('1.6').size, 39)
    assert.ok(loadActionSchemas('2.1').has('NotifyPeriodicEventStream'))
  })

  test('a changed file is named, with both sums', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocppgw-schemas-'))
    cpSync(schemasDir(), dir, { recursive: true })
    writeFileSync(join(dir, 'ocpp1_6.json'), '[]')
    const problems = checkSchemas(dir)
    assert.ok(problems.some((p) => /^ocpp1_6\.json: sha256 [0-9a-f]{64}, MANIFEST\.json says bcef6a17/.test(p)), problems.join('\n'))
    assert.ok(problems.some((p) => p === 'ocpp1_6.json: 0 schemas, MANIFEST.json says 78'), problems.join('\n'))
  })

  test('nothing reads the schemas from ocpp-rpc any more', async () => {
    const { readFileSync, readdirSync } = await import('node:fs')
    const root = join(schemasDir(), '..')
    const offenders: string[] = []
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name.endsWith('.ts') && /ocpp-rpc\/lib\/schemas/.test(readFileSync(p, 'utf8'))) offenders.push(p.slice(root.length + 1))
      }
    }
    for (const d of ['src', 'scripts']) walk(join(root, d))
    assert.deepEqual(offenders, [])
  })
})

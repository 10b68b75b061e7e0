/**
 * The validators generated at build time (src/schema/standalone.ts) answer exactly as the ones
 * Ajv compiles at run time: same verdict, same failure, for every realistic and invalid example
 * and for a set of generic payloads against every action of every version.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import { ALL_VERSIONS, createValidators, loadPrecompiled, type Precompiled, type Validators } from '../../../src/schema/index.js'
import { invalid, realistic } from '../../helpers/schema-fixtures.js'

let compiled: Precompiled
let pre: Validators
const runtime = createValidators({ compile: 'lazy' })

before(async () => {
  const loaded = await loadPrecompiled(ALL_VERSIONS)
  // `npm test` builds first (pretest: npm run build), so all three must be there and current.
  assert.deepEqual(loaded.notUsed, {})
  compiled = loaded.compiled
  pre = createValidators({ compile: 'lazy', precompiled: compiled })
})

describe('precompiled validators', () => {
  test('every action of every version has its request (and response) function', () => {
    for (const version of ALL_VERSIONS) {
      const mod = compiled.get(version)
      assert.ok(mod !== undefined, version)
      for (const action of runtime.actions(version)) assert.equal(typeof mod[`q_${action}`], 'function', `${version} ${action}`)
    }
  })

  test('same answers as run-time compilation on the fixtures', () => {
    for (const e of [...realistic, ...invalid]) {
      const f = e.direction === 'request' ? 'validateRequest' : 'validateResponse'
      assert.deepEqual(pre[f](e.version, e.action, e.payload), runtime[f](e.version, e.action, e.payload), `${e.version} ${e.action} ${e.direction}`)
    }
  })

  test('same answers as run-time compilation on generic payloads, every action both ways', () => {
    const payloads: unknown[] = [{}, [], null, 'x', 1, { customData: { vendorId: 'v' } }, { status: 'Accepted' }, { currentTime: '2026-12-04T05:00:00Z', interval: 300, status: 'Accepted' }, { currentTime: 'not a time' }, { idTag: 'x'.repeat(21) }]
    let checked = 0
    for (const version of ALL_VERSIONS) {
      for (const action of runtime.actions(version)) {
        for (const p of payloads) {
          assert.deepEqual(pre.validateRequest(version, action, p), runtime.validateRequest(version, action, p), `${version} ${action} request ${JSON.stringify(p)}`)
          assert.deepEqual(pre.validateResponse(version, action, p), runtime.validateResponse(version, action, p), `${version} ${action} response ${JSON.stringify(p)}`)
          checked += 2
        }
      }
    }
    assert.ok(checked > 3800, `checked ${checked}`)
    assert.equal(pre.compiledAtRunTime(), 0, 'nothing compiled: the generated functions answered')
    assert.ok(runtime.compiledAtRunTime() > 380, 'the run-time side compiled every schema')
  })
})

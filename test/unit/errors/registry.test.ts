/**
 * The error registry held against the source and its doc (as fastify holds FST_ERR_* against
 * docs/Reference/Errors.md): every OCPPGW_ERR_* code written in src/ is in `errorCodes` and
 * has a row in docs/errors.md, every registry code has a row, and the doc has no row for a
 * code that does not exist.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errorCodes, GatewayError, isGatewayError, type ErrorCode } from '../../../src/errors.js'
import { buildConfig, ConfigError, readConfigFile } from '../../../src/config/load.js'
import { SimOptionError, resolveSimOptions } from '../../../src/sim/options.js'
import { CredentialsFileAuthenticator } from '../../../src/auth/credentials-file.js'

/** The repository root: the test runs from dist/test/unit/errors/, so walk up to package.json. */
function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
  return dir
}

const root = repoRoot()
const CODE = /OCPPGW_ERR_[A-Z0-9_]+/g

/** code -> the files of src/ that write it. */
function codesInSource (): Map<string, string[]> {
  const found = new Map<string, string[]>()
  const src = join(root, 'src')
  for (const name of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue
    const file = join(src, name)
    const rel = relative(root, file)
    for (const m of readFileSync(file, 'utf8').matchAll(CODE)) {
      const files = found.get(m[0]) ?? []
      if (!files.includes(rel)) files.push(rel)
      found.set(m[0], files)
    }
  }
  return found
}

/** The codes that have a row in the doc's table (a mention in prose is not a row). */
function codesInDoc (): Set<string> {
  const text = readFileSync(join(root, 'docs', 'errors.md'), 'utf8')
  return new Set([...text.matchAll(/^\|\s*`(OCPPGW_ERR_[A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string))
}

describe('error registry', () => {
  const registry = new Set(Object.keys(errorCodes))
  const source = codesInSource()
  const doc = codesInDoc()

  test('the scan sees the source and the doc (guards against a test that checks nothing)', () => {
    assert.ok(source.has('OCPPGW_ERR_CONFIG'), 'src/ scanned')
    assert.ok(source.size >= 5, `codes found in src/: ${[...source.keys()].join(', ')}`)
    assert.ok(doc.has('OCPPGW_ERR_CONFIG'), 'docs/errors.md table read')
  })

  test('every code used in src/ is in errorCodes', () => {
    const missing = [...source].filter(([code]) => !registry.has(code)).map(([code, files]) => `${code} (${files.join(', ')})`)
    assert.deepEqual(missing, [], 'add these to errorCodes in src/errors.ts')
  })

  test('every code used in src/ or in the registry has a row in docs/errors.md', () => {
    const missing = [...new Set([...source.keys(), ...registry])].filter((code) => !doc.has(code)).sort()
    assert.deepEqual(missing, [], 'add a row for these to docs/errors.md')
  })

  test('docs/errors.md has no row for a code that is not in the registry', () => {
    assert.deepEqual([...doc].filter((code) => !registry.has(code)).sort(), [])
  })

  test('each registry code has a one-line description', () => {
    for (const [code, text] of Object.entries(errorCodes)) assert.match(text, /^\S.{9,}$/, code)
  })
})

describe('GatewayError', () => {
  test('code, message, cause; isGatewayError by code', () => {
    const cause = new Error('EADDRINUSE')
    const err = new GatewayError('OCPPGW_ERR_PORT_IN_USE', 'port 1883 is in use', { cause })
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'OCPPGW_ERR_PORT_IN_USE')
    assert.equal(err.message, 'port 1883 is in use')
    assert.equal(err.cause, cause)
    assert.equal(isGatewayError(err), true)
    assert.equal(isGatewayError(err, 'OCPPGW_ERR_PORT_IN_USE'), true)
    assert.equal(isGatewayError(err, 'OCPPGW_ERR_LISTEN'), false)
    assert.equal(isGatewayError(Object.assign(new Error('x'), { code: 'OCPPGW_ERR_LISTEN' })), false)
  })

  const thrown = (fn: () => unknown): unknown => { try { fn() } catch (e) { return e } }

  for (const [what, fn, code] of [
    ['an invalid key', () => buildConfig([{ dnstream: { max_mqueue_len: 0 } }]), 'OCPPGW_ERR_CONFIG'],
    ['an unreadable config file', () => readConfigFile(join(root, 'no-such-dir', 'gw.yaml')), 'OCPPGW_ERR_CONFIG'],
    ['a ws listener with TLS options (listener security)', () => buildConfig([{ listeners: { ws: { default: { ssl_options: { certfile: '/c', keyfile: '/k' } } } } }]), 'OCPPGW_ERR_CONFIG'],
    ['an infinite lockout ban (authentication)', () => buildConfig([{ handshake_limits: { auth_failure_per_cid: { ban_time: 'infinity' } } }]), 'OCPPGW_ERR_CONFIG'],
    ['a simulator option', () => resolveSimOptions({ url: 'http://x' } as never), 'OCPPGW_ERR_SIM_OPTION']
  ] as Array<[string, () => unknown, ErrorCode]>) {
    test(`${what}: a GatewayError ${code}`, () => {
      const err = thrown(fn)
      assert.ok(isGatewayError(err, code), String(err))
      if (code === 'OCPPGW_ERR_CONFIG') assert.ok(err instanceof ConfigError)
      if (code === 'OCPPGW_ERR_SIM_OPTION') assert.ok(err instanceof SimOptionError)
    })
  }

  test('the listener-security message is kept (it names the key)', () => {
    const err = thrown(() => buildConfig([{ listeners: { ws: { default: { ssl_options: { certfile: '/c', keyfile: '/k' } } } } }])) as Error
    assert.equal(err.message, 'listeners.ws.default.ssl_options: a ws listener has no TLS; use listeners.wss.<name>')
  })

  test('a missing credentials file: OCPPGW_ERR_CREDENTIALS_FILE, naming the file and the system code', async () => {
    const path = join(root, 'no-such-dir', 'credentials')
    await assert.rejects(CredentialsFileAuthenticator.open({ path, watch: false }), (err: unknown) => {
      assert.ok(isGatewayError(err, 'OCPPGW_ERR_CREDENTIALS_FILE'))
      assert.match((err as Error).message, /no-such-dir\/credentials \(ENOENT\)/)
      return true
    })
  })
})

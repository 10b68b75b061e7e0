import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { hashApiKey, loadApiKeys, matchApiKey, newApiKey, parseApiKeys } from '../../../src/admin/api-keys.js'
import { checkAdminExposure, checkKey, mayUse, needsKey } from '../../../src/admin/auth.js'
import { apikeyMain } from '../../../src/cli/apikey.js'
import { isGatewayError } from '../../../src/errors.js'

function sink (): { stream: Writable, text: () => string } {
  let out = ''
  return { stream: new Writable({ write (c, _e, cb) { out += String(c); cb() } }), text: () => out }
}

async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  const stdout = sink()
  const stderr = sink()
  const code = await apikeyMain(args, { stdout: stdout.stream, stderr: stderr.stream })
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}

test('keys: 32 random bytes base64url, stored as sha256, matched in constant time', () => {
  const key = newApiKey()
  assert.match(key, /^[A-Za-z0-9_-]{43}$/)
  assert.notEqual(newApiKey(), key)
  const r = parseApiKeys(`# comment\n\ngrafana:${hashApiKey(key)}\nops:${hashApiKey('other')}\n`)
  assert.ok(r.ok)
  assert.equal(matchApiKey(r.keys, key), 'grafana')
  assert.equal(matchApiKey(r.keys, 'other'), 'ops')
  assert.equal(matchApiKey(r.keys, key + 'x'), undefined)
})

test('a bad line rejects the whole file, naming the line', () => {
  assert.deepEqual(parseApiKeys('a:sha256$short\n'), { ok: false, line: 1, message: 'not a sha256$ digest' })
  assert.deepEqual(parseApiKeys('\nno-colon\n'), { ok: false, line: 2, message: "expected '<name>:sha256$<digest>'" })
  const h = hashApiKey('k')
  assert.deepEqual(parseApiKeys(`a:${h}\na:${h}\n`), { ok: false, line: 2, message: 'duplicate name' })
  assert.equal(parseApiKeys(`a/b:${h}\n`).ok, false)
})

test('which paths need a key, and the Bearer header', () => {
  assert.equal(needsKey('/api/v1/status', false), true)
  assert.equal(needsKey('/api', false), true)
  assert.equal(needsKey('/apiary', false), false)
  assert.equal(needsKey('/metrics', false), false)
  assert.equal(needsKey('/metrics', true), true)
  assert.equal(needsKey('/readyz', true), true)
  const keys = new Map([['a', { digest: Buffer.from(hashApiKey('secret').slice(7), 'base64url'), role: 'admin' as const }]])
  assert.deepEqual(checkKey(keys, 'Bearer secret'), { ok: true, name: 'a', role: 'admin' })
  assert.deepEqual(checkKey(keys, 'Bearer nope'), { ok: false, reason: 'wrong_key' })
  assert.deepEqual(checkKey(keys, 'Basic c2VjcmV0'), { ok: false, reason: 'missing_key' })
  assert.deepEqual(checkKey(keys, undefined), { ok: false, reason: 'missing_key' })
})

test('a non-loopback admin bind without keys is refused with OCPPGW_ERR_ADMIN_OPEN', () => {
  assert.throws(() => checkAdminExposure({ bind: { host: '0.0.0.0', port: 18083 } }), (e: unknown) => isGatewayError(e, 'OCPPGW_ERR_ADMIN_OPEN'))
  checkAdminExposure({ bind: { host: '0.0.0.0', port: 18083 }, apiKeysFile: '/k' })
  checkAdminExposure({ bind: { host: '127.0.0.1', port: 18083 } })
  checkAdminExposure({})
})

test('ocpp-gateway apikey add|list|remove: the key printed once, only its hash kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-apikey-'))
  const file = join(dir, 'keys')
  const add = await cli(['add', '--file', file, '--name', 'grafana'])
  assert.equal(add.code, 0)
  const key = add.stdout.trim()
  assert.match(key, /^[A-Za-z0-9_-]{43}$/)
  const text = await readFile(file, 'utf8')
  assert.ok(!text.includes(key))
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.equal(matchApiKey(await loadApiKeys(file), key), 'grafana')
  assert.equal((await cli(['add', '--file', file, '--name', 'ops'])).code, 0)
  assert.deepEqual(await cli(['list', '--file', file]), { code: 0, stdout: 'grafana\nops\n', stderr: '' })
  // Replacing a name's key: the old key stops working.
  const again = (await cli(['add', '--file', file, '--name', 'grafana'])).stdout.trim()
  const keys = await loadApiKeys(file)
  assert.equal(matchApiKey(keys, key), undefined)
  assert.equal(matchApiKey(keys, again), 'grafana')
  assert.equal((await cli(['remove', '--file', file, '--name', 'grafana'])).code, 0)
  assert.equal((await cli(['list', '--file', file])).stdout, 'ops\n')
  assert.equal((await cli(['remove', '--file', file, '--name', 'grafana'])).code, 1)
  assert.equal((await cli(['add', '--file', file])).code, 2)
  assert.equal((await cli(['add', '--file', file, '--name', 'a#b'])).code, 2)
  assert.equal((await cli(['frobnicate'])).code, 2)
  await writeFile(file, 'broken\n')
  assert.equal((await cli(['add', '--file', file, '--name', 'x'])).code, 1)
  await assert.rejects(loadApiKeys(file), (e: unknown) => isGatewayError(e, 'OCPPGW_ERR_API_KEYS_FILE') && /line 1/.test(e.message))
  await assert.rejects(loadApiKeys(join(dir, 'missing')), (e: unknown) => isGatewayError(e, 'OCPPGW_ERR_API_KEYS_FILE'))
})

test('roles: a line without one is admin; ;role=viewer is read-only; an unknown role rejects the file', () => {
  const r = parseApiKeys(`old:${hashApiKey('a')}\nlook:${hashApiKey('b', 'viewer')}\nboss:${hashApiKey('c', 'admin')}\n`)
  assert.ok(r.ok)
  assert.equal(hashApiKey('b', 'viewer').endsWith(';role=viewer'), true)
  assert.deepEqual([...r.keys].map(([n, k]) => [n, k.role]), [['old', 'admin'], ['look', 'viewer'], ['boss', 'admin']])
  assert.deepEqual(checkKey(r.keys, 'Bearer b'), { ok: true, name: 'look', role: 'viewer' })
  assert.deepEqual(parseApiKeys(`x:${hashApiKey('a')};role=root\n`), { ok: false, line: 1, message: 'unknown option (expected ;role=admin|viewer)' })
  assert.equal(mayUse('viewer', 'GET'), true)
  assert.equal(mayUse('viewer', 'HEAD'), true)
  assert.equal(mayUse('viewer', 'POST'), false)
  assert.equal(mayUse('viewer', 'DELETE'), false)
  assert.equal(mayUse('admin', 'DELETE'), true)
})

test('the API description and its page need no key; everything else under /api does', () => {
  assert.equal(needsKey('/api/v1/openapi.json', false), false)
  assert.equal(needsKey('/api/v1/docs', false), false)
  assert.equal(needsKey('/api/v1/docs/static/index.html', false), false)
  assert.equal(needsKey('/api/v1/docsx', false), true)
  assert.equal(needsKey('/api/v1/chargers/A/frames', false), true)
})

test('apikey add --role viewer writes the role; list marks it; a bad role is a usage error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-apikey-role-'))
  const file = join(dir, 'keys')
  const added = await cli(['add', '--file', file, '--name', 'grafana', '--role', 'viewer'])
  assert.equal(added.code, 0)
  const key = added.stdout.trim()
  const keys = await loadApiKeys(file)
  assert.deepEqual(checkKey(keys, `Bearer ${key}`), { ok: true, name: 'grafana', role: 'viewer' })
  assert.equal((await cli(['add', '--file', file, '--name', 'ops'])).code, 0)
  assert.equal((await cli(['list', '--file', file])).stdout, 'grafana (viewer)\nops\n')
  assert.equal((await cli(['add', '--file', file, '--name', 'x', '--role', 'root'])).code, 2)
  assert.equal((await cli(['remove', '--file', file, '--name', 'ops', '--role', 'viewer'])).code, 2)
  assert.match(await readFile(file, 'utf8'), /^grafana:sha256\$[A-Za-z0-9_-]{43};role=viewer$/m)
})

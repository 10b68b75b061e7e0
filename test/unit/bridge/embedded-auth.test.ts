/**
 * The embedded broker's `authenticate` hook (src/bridge/adapters/embedded-auth.ts) over a real
 * users file in a temp dir: roles, CONNACK return codes 4 and 5, anonymous clients, counters.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from 'aedes'
import { pino } from 'pino'
import { EmbeddedAuth, peerOf, type EmbeddedAuthOptions } from '../../../src/bridge/adapters/embedded-auth.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { HashLimiter } from '../../../src/auth/hash-limiter.js'
import { ConnectionLimits } from '../../../src/auth/limits.js'
import { writeUsersFile } from '../../helpers/mqtt-guard.js'

type Outcome = { error: (Error & { returnCode: number }) | null, success: boolean | null }

/** A stand-in for an aedes client: what the hook reads (id, conn, closed). */
const fakeClient = (id: string): Client => ({ id, closed: false, conn: { remoteAddress: '192.0.2.5', remotePort: 40000 } }) as unknown as Client

function authenticate (auth: EmbeddedAuth, client: Client, username: string | undefined, password: string | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    auth.authenticate(client, username, password === undefined ? undefined : Buffer.from(password), (error, success) => resolve({ error, success }))
  })
}

async function setup (t: { after: (fn: () => Promise<void> | void) => void }, opts: Partial<EmbeddedAuthOptions> = {}): Promise<{ auth: EmbeddedAuth, metrics: Metrics, lines: Array<Record<string, unknown>> }> {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-auth-'))
  const file = join(dir, 'users')
  await writeUsersFile(file, { alice: 'alice-pw', bob: 'bob-pw' })
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  const metrics = new Metrics()
  const auth = await EmbeddedAuth.open({ usersFile: file, roles: { alice: 'backend' }, allowAnonymous: false, pollIntervalMs: 0, logger, metrics, ...opts })
  t.after(async () => { auth.close(); await rm(dir, { recursive: true, force: true }) })
  return { auth, metrics, lines }
}

test('the right password lets the user in with its configured role; a user not in roles is an observer', async (t) => {
  const { auth, metrics } = await setup(t)
  assert.equal(auth.required, true)
  const a = fakeClient('a')
  assert.deepEqual(await authenticate(auth, a, 'alice', 'alice-pw'), { error: null, success: true })
  assert.deepEqual(auth.identity(a), { role: 'backend', username: 'alice' })
  const b = fakeClient('b')
  assert.deepEqual(await authenticate(auth, b, 'bob', 'bob-pw'), { error: null, success: true })
  assert.deepEqual(auth.identity(b), { role: 'observer', username: 'bob' })
  assert.equal(metrics.get('mqtt_auth_failures_total'), 0)
})

test('a wrong password and an unknown user both get return code 4, counted by reason', async (t) => {
  const { auth, metrics, lines } = await setup(t)
  const c = fakeClient('c')
  const wrong = await authenticate(auth, c, 'alice', 'nope')
  assert.equal(wrong.success, false)
  assert.equal(wrong.error?.returnCode, 4)
  assert.equal(wrong.error?.message, 'bad_password')
  const unknown = await authenticate(auth, c, 'mallory', 'alice-pw')
  assert.equal(unknown.success, false)
  assert.equal(unknown.error?.returnCode, 4)
  assert.equal(unknown.error?.message, 'unknown_id')
  assert.equal(auth.identity(c), undefined)
  assert.equal(metrics.get('mqtt_auth_failures_total'), 2)
  assert.equal(metrics.get('mqtt_auth_failures_total', 'bad_password'), 1)
  assert.equal(metrics.get('mqtt_auth_failures_total', 'unknown_id'), 1)
  assert.deepEqual(lines.map((l) => [l.msg, l.client, l.username, l.peer, l.reason]), [
    ['MQTT client refused', 'c', 'alice', '192.0.2.5:40000', 'bad_password'],
    ['MQTT client refused', 'c', 'mallory', '192.0.2.5:40000', 'unknown_id']
  ])
  assert.equal(JSON.stringify(lines).includes('nope'), false, 'the password is not logged')
})

test('no credentials: return code 5 when a users file is configured and allow_anonymous is off', async (t) => {
  const { auth, metrics } = await setup(t)
  const c = fakeClient('anon')
  const r = await authenticate(auth, c, undefined, undefined)
  assert.equal(r.success, false)
  assert.equal(r.error?.returnCode, 5)
  assert.equal(r.error?.message, 'missing_credentials')
  assert.equal(auth.identity(c), undefined)
  assert.equal(metrics.get('mqtt_auth_failures_total', 'missing_credentials'), 1)
})

test('a user name without a password (or a password without a user name) gets return code 4', async (t) => {
  const { auth, metrics } = await setup(t, { allowAnonymous: true })
  const userOnly = await authenticate(auth, fakeClient('u'), 'alice', undefined)
  assert.equal(userOnly.success, false)
  assert.equal(userOnly.error?.returnCode, 4)
  const passOnly = await authenticate(auth, fakeClient('p'), undefined, 'alice-pw')
  assert.equal(passOnly.success, false)
  assert.equal(passOnly.error?.returnCode, 4)
  assert.equal(metrics.get('mqtt_auth_failures_total', 'missing_credentials'), 2)
})

test('allow_anonymous with a users file: no credentials is a backend, credentials are still checked', async (t) => {
  const { auth, metrics } = await setup(t, { allowAnonymous: true })
  const anon = fakeClient('anon')
  assert.deepEqual(await authenticate(auth, anon, undefined, undefined), { error: null, success: true })
  assert.deepEqual(auth.identity(anon), { role: 'backend', username: undefined })
  const wrong = await authenticate(auth, fakeClient('w'), 'bob', 'alice-pw')
  assert.equal(wrong.error?.returnCode, 4)
  assert.equal(metrics.get('mqtt_auth_failures_total'), 1)
})

test('no users file: not required, everyone is a backend whatever it sends', async () => {
  const metrics = new Metrics()
  const auth = await EmbeddedAuth.open({ roles: { alice: 'observer' }, allowAnonymous: false, logger: pino({ level: 'silent' }), metrics })
  assert.equal(auth.required, false)
  const a = fakeClient('a')
  assert.deepEqual(await authenticate(auth, a, 'alice', 'anything'), { error: null, success: true })
  assert.deepEqual(auth.identity(a), { role: 'backend', username: 'alice' })
  const b = fakeClient('b')
  assert.deepEqual(await authenticate(auth, b, undefined, undefined), { error: null, success: true })
  assert.deepEqual(auth.identity(b), { role: 'backend', username: undefined })
  assert.deepEqual(auth.revoked(), [])
  assert.equal(metrics.get('mqtt_auth_failures_total'), 0)
  auth.close()
})

test('a missing users file fails open() with OCPPGW_ERR_CREDENTIALS_FILE', async () => {
  await assert.rejects(EmbeddedAuth.open({ usersFile: join(tmpdir(), 'no-such-dir-embedded-auth', 'users'), roles: {}, allowAnonymous: false, logger: pino({ level: 'silent' }) }), { code: 'OCPPGW_ERR_CREDENTIALS_FILE' })
})

test('revoked(): named clients whose user left the file after a reload; forget() and closed clients drop out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'embedded-auth-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const file = join(dir, 'users')
  await writeUsersFile(file, { alice: 'alice-pw', bob: 'bob-pw' })
  let reloads = 0
  let wake: (() => void) | undefined
  const auth = await EmbeddedAuth.open({ usersFile: file, roles: {}, allowAnonymous: true, pollIntervalMs: 0, logger: pino({ level: 'silent' }) }, () => { reloads++; wake?.() })
  t.after(() => auth.close())
  const a = fakeClient('a')
  const b = fakeClient('b')
  const anon = fakeClient('anon')
  await authenticate(auth, a, 'alice', 'alice-pw')
  await authenticate(auth, b, 'bob', 'bob-pw')
  await authenticate(auth, anon, undefined, undefined)
  assert.deepEqual(auth.revoked(), [])
  /** Rewrite the file and wait for the users file's watcher (fs.watch on its directory) to reload it. */
  const rewrite = async (users: Record<string, string>, n: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined
    const seen = new Promise<void>((resolve) => { wake = resolve; timer = setTimeout(resolve, 2000) })
    await writeUsersFile(file, users)
    await seen
    clearTimeout(timer)
    assert.equal(reloads, n)
  }
  assert.equal(reloads, 0, 'the first load is not a reload')
  await rewrite({ alice: 'alice-pw' }, 1)
  assert.deepEqual(auth.revoked(), [b])
  ;(b as { closed: boolean }).closed = true
  assert.deepEqual(auth.revoked(), [], 'a closed client is dropped')
  await rewrite({}, 2)
  assert.deepEqual(auth.revoked(), [a])
  auth.forget(a)
  assert.deepEqual(auth.revoked(), [])
})

test('peerOf: the socket of the WebSocket request, else the connection, else unknown', () => {
  assert.equal(peerOf({ req: { socket: { remoteAddress: '::1', remotePort: 8080 } }, conn: { remoteAddress: '10.0.0.1', remotePort: 1 } } as unknown as Client), '::1:8080')
  assert.equal(peerOf({ conn: { remoteAddress: '10.0.0.1', remotePort: 1 } } as unknown as Client), '10.0.0.1:1')
  assert.equal(peerOf({ conn: { remoteAddress: '10.0.0.1' } } as unknown as Client), '10.0.0.1:0')
  assert.equal(peerOf({ conn: {} } as unknown as Client), 'unknown')
})

test('with the gateway\'s hash limiter full, a password check is refused with return code 3 (server unavailable), not hashed', async (t) => {
  // One hash at a time and no queue: the second of two simultaneous logins is turned away.
  const { auth, metrics } = await setup(t, { hashLimiter: new HashLimiter({ maxConcurrent: 1, maxQueued: 0 }) })
  const [first, second] = await Promise.all([
    authenticate(auth, fakeClient('x1'), 'alice', 'wrong-1'),
    authenticate(auth, fakeClient('x2'), 'bob', 'wrong-2')
  ])
  assert.deepEqual([first.error?.returnCode, second.error?.returnCode], [4, 3])
  assert.equal(second.error?.message, 'overloaded')
  assert.equal(metrics.get('mqtt_auth_failures_total', 'overloaded'), 1)
})

test('failed logins lock the address and the user name out, as the charge points\' auth_failure_* do: return code 5, locked_out', async (t) => {
  const lockouts = new ConnectionLimits({ connRate: false, maxConnections: 0, addressLockout: { maxFailures: 3, windowMs: 60_000, banMs: 60_000 }, cidLockout: false })
  const { auth, metrics } = await setup(t, { lockouts })
  for (let i = 0; i < 3; i++) assert.equal((await authenticate(auth, fakeClient(`g${i}`), 'alice', `guess-${i}`)).error?.returnCode, 4)
  // Locked out now: even the right password from this address is refused, without a hash.
  const right = await authenticate(auth, fakeClient('g-right'), 'alice', 'alice-pw')
  assert.equal(right.error?.returnCode, 5)
  assert.equal(right.error?.message, 'locked_out')
  assert.equal(metrics.get('mqtt_auth_failures_total', 'locked_out'), 1)
  // Another address is not locked out.
  const other = { id: 'o', closed: false, conn: { remoteAddress: '198.51.100.1', remotePort: 1 } } as unknown as Client
  assert.deepEqual(await authenticate(auth, other, 'alice', 'alice-pw'), { error: null, success: true })
})

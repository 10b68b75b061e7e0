import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { CredentialsFileAuthenticator } from '../../src/auth/credentials-file.js'
import { invalidIdReason, listIds, parseCredentials, removeEntry, upsertEntry } from '../../src/auth/credentials-format.js'
import { DEFAULT_SCRYPT, hashPassword, parseHash, verifyPassword } from '../../src/auth/password-hash.js'
import type { AuthRequest } from '../../src/auth/types.js'
import { passwdMain, type PasswdIo } from '../../src/cli/passwd.js'

// Cheap parameters where the cost is not what is tested.
const FAST = { N: 1024, r: 8, p: 1 }

function req (cid: string, password?: string, username: string | undefined = cid): AuthRequest {
  return password === undefined
    ? { cid, peer: '192.0.2.1', listener: 'wss:test', profile: 2 }
    : { cid, username, password, peer: '192.0.2.1', listener: 'wss:test', profile: 2 }
}

/** Resolves with the next value passed to the callback it hands out, or rejects after `ms`. */
function nextCall<T> (ms = 5000): { cb: (v: T) => void, next: () => Promise<T> } {
  let waiter: ((v: T) => void) | undefined
  const queue: T[] = []
  return {
    cb: (v: T) => { if (waiter !== undefined) { const w = waiter; waiter = undefined; w(v) } else queue.push(v) },
    next: async () => await new Promise<T>((resolve, reject) => {
      const q = queue.shift()
      if (q !== undefined) { resolve(q); return }
      const t = setTimeout(() => reject(new Error('timed out waiting for callback')), ms)
      waiter = (v) => { clearTimeout(t); resolve(v) }
    })
  }
}

let dir: string
before(async () => { dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-cred-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

describe('password hashes', () => {
  test('default parameters round-trip, encode N$r$p, and reject a wrong password', async () => {
    const h = await hashPassword('correct horse')
    assert.match(h, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(parseHash(h)?.params, DEFAULT_SCRYPT)
    assert.equal(await verifyPassword('correct horse', h), true)
    assert.equal(await verifyPassword('correct horsE', h), false)
  })

  test('salted: the same password hashes differently', async () => {
    assert.notEqual(await hashPassword('pw', FAST), await hashPassword('pw', FAST))
  })

  test('malformed or out-of-bounds hashes are refused, never thrown on', async () => {
    const good = await hashPassword('pw', FAST)
    const [, , r, p, salt, key] = good.split('$')
    for (const bad of [
      '', 'plain', 'bcrypt$10$x', `scrypt$1000$${r}$${p}$${salt}$${key}`, // N not a power of two
      `scrypt$${1 << 22}$${r}$${p}$${salt}$${key}`, // N too large
      `scrypt$1024$999$${p}$${salt}$${key}`, `scrypt$1024$8$1$${salt}`, `scrypt$1024$8$1$${salt}$!!`,
      `scrypt$1024$8$1$AA$${key}` // salt too short
    ]) {
      assert.equal(parseHash(bad), undefined, bad)
      assert.equal(await verifyPassword('pw', bad), false)
    }
  })
})

describe('credentials file format', () => {
  test('parses id:hash lines, skips comments and blanks, ids may contain ":"', async () => {
    const h = await hashPassword('pw', FAST)
    const r = parseCredentials(`# comment\n\nCP1:${h}\r\n  # indented comment\nurn:cp:2:${h}\n`)
    assert.equal(r.ok, true)
    assert.ok(r.ok)
    assert.deepEqual([...r.table.keys()], ['CP1', 'urn:cp:2'])
  })

  test('a password change under way: up to three comma-separated hashes, the current one last', async () => {
    const [a, b, c, d] = await Promise.all(['n1', 'n2', 'cur', 'x'].map(async (p) => await hashPassword(p, FAST)))
    const r = parseCredentials(`CP1:${a},${b},${c}\nCP2:${c}\n`)
    assert.ok(r.ok)
    const e = r.table.get('CP1')
    assert.deepEqual(e?.hashes.map((h) => h.hash), [a, b, c])
    assert.equal(e?.hash, `${a},${b},${c}`)
    assert.deepEqual(e?.parsed, parseHash(c as string))
    assert.deepEqual(parseCredentials(`CP1:${a},${b},${c},${d}\n`), { ok: false, line: 1, message: 'more than 3 hashes' })
    assert.deepEqual(parseCredentials(`CP1:${a},\n`), { ok: false, line: 1, message: 'not a valid scrypt hash' })
  })

  test('one bad line rejects the whole file, naming the line but not its content', async () => {
    const h = await hashPassword('pw', FAST)
    const cases: Array<[string, number]> = [
      [`CP1:${h}\nno-separator\n`, 2],
      [`CP1:${h}\nCP1:${h}\n`, 2],
      [`CP/1:${h}\n`, 1],
      [`:${h}\n`, 1],
      ['CP1:plaintextpassword\n', 1]
    ]
    for (const [text, line] of cases) {
      const r = parseCredentials(text)
      assert.equal(r.ok, false)
      assert.ok(!r.ok)
      assert.equal(r.line, line)
      assert.doesNotMatch(r.message, /plaintextpassword|scrypt\$/)
    }
  })

  test('upsert and remove keep comments and order', () => {
    let t = '# head\nA:scrypt$x\n# mid\nB:scrypt$y\n'
    const u = upsertEntry(t, 'A', 'scrypt$z')
    assert.equal(u.updated, true)
    assert.equal(u.text, '# head\nA:scrypt$z\n# mid\nB:scrypt$y\n')
    const a = upsertEntry(u.text, 'C', 'scrypt$c')
    assert.equal(a.updated, false)
    t = a.text
    assert.deepEqual(listIds(t), ['A', 'B', 'C'])
    const r = removeEntry(t, 'B')
    assert.equal(r.removed, true)
    assert.equal(r.text, '# head\nA:scrypt$z\n# mid\nC:scrypt$c\n')
    assert.equal(removeEntry(r.text, 'B').removed, false)
  })

  test('id validation follows the URL id rules', () => {
    assert.equal(invalidIdReason('CP-001'), undefined)
    for (const bad of ['', 'a/b', 'a+b', 'a#b', 'a b', 'a\nb', 'x'.repeat(256)]) assert.notEqual(invalidIdReason(bad), undefined, bad)
  })
})

describe('credentials file authenticator', () => {
  test('accepts the right password; wrong password, unknown id, username mismatch and missing credentials are 401', async () => {
    const file = join(dir, 'basic.txt')
    await writeFile(file, `CP1:${await hashPassword('pw1', FAST)}\nCP2:${await hashPassword('pw2', FAST)}\n`)
    const auth = await CredentialsFileAuthenticator.open({ path: file, watch: false })
    try {
      assert.equal(auth.size, 2)
      assert.deepEqual(await auth.authenticate(req('CP1', 'pw1')), { ok: true, reason: 'authenticated' })
      assert.deepEqual(await auth.authenticate(req('CP1', 'pw1')), { ok: true, reason: 'authenticated' }) // remembered path
      assert.deepEqual(await auth.authenticate(req('CP1', 'pw2')), { ok: false, status: 401, reason: 'bad_password' })
      assert.deepEqual(await auth.authenticate(req('CP1', 'pw1x')), { ok: false, status: 401, reason: 'bad_password' })
      // Another charger's valid password does not open this one.
      assert.deepEqual(await auth.authenticate(req('CP2', 'pw1')), { ok: false, status: 401, reason: 'bad_password' })
      assert.deepEqual(await auth.authenticate(req('CP9', 'pw1')), { ok: false, status: 401, reason: 'unknown_id', ignore: true })
      assert.deepEqual(await auth.authenticate(req('CP1', 'pw1', 'CP2')), { ok: false, status: 401, reason: 'username_mismatch' })
      assert.deepEqual(await auth.authenticate(req('CP1')), { ok: false, status: 401, reason: 'missing_credentials' })
      assert.deepEqual(await auth.authenticate(req('CP1', 'x'.repeat(5000))), { ok: false, status: 401, reason: 'bad_password' })
    } finally {
      auth.close()
    }
  })

  test('allow_username_mismatch checks the password of the charge point id, whatever the user-id', async () => {
    const file = join(dir, 'mismatch.txt')
    await writeFile(file, `CP1:${await hashPassword('pw1', FAST)}\n`)
    const auth = await CredentialsFileAuthenticator.open({ path: file, watch: false, allowUsernameMismatch: true })
    try {
      assert.equal((await auth.authenticate(req('CP1', 'pw1', 'admin'))).ok, true)
      assert.equal((await auth.authenticate(req('CP1', 'nope', 'admin'))).ok, false)
    } finally {
      auth.close()
    }
  })

  test('a missing or invalid file is an error at start-up', async () => {
    await assert.rejects(CredentialsFileAuthenticator.open({ path: join(dir, 'absent.txt'), watch: false }), { code: 'OCPPGW_ERR_CREDENTIALS_FILE' })
    const bad = join(dir, 'bad.txt')
    await writeFile(bad, 'CP1:notahash\n')
    await assert.rejects(CredentialsFileAuthenticator.open({ path: bad, watch: false }), /line 1: not a valid scrypt hash/)
  })

  test('reloads on change (atomic rename), keeps the old table on a parse error or a deleted file', async () => {
    const file = join(dir, 'reload.txt')
    await writeFile(file, `CP1:${await hashPassword('old', FAST)}\n`)
    const reloads = nextCall<{ entries: number }>()
    const errors = nextCall<Error>()
    const auth = await CredentialsFileAuthenticator.open({ path: file, pollIntervalMs: 50, onReload: reloads.cb, onError: errors.cb })
    await reloads.next() // the initial load
    try {
      assert.equal((await auth.authenticate(req('CP1', 'old'))).ok, true)

      // Replace by rename, as editors and `passwd` do.
      const tmp = join(dir, 'reload.tmp')
      await writeFile(tmp, `CP1:${await hashPassword('new', FAST)}\nCP2:${await hashPassword('two', FAST)}\n`)
      await rename(tmp, file)
      assert.deepEqual(await reloads.next(), { entries: 2 })
      assert.equal((await auth.authenticate(req('CP1', 'old'))).ok, false, 'the remembered old password is forgotten')
      assert.equal((await auth.authenticate(req('CP1', 'new'))).ok, true)
      assert.equal((await auth.authenticate(req('CP2', 'two'))).ok, true)

      // A broken edit: reported, nothing changes.
      await writeFile(file, `CP1:${await hashPassword('broken', FAST)}\ngarbage line\n`)
      const err = await errors.next()
      assert.match(err.message, /line 2/)
      assert.doesNotMatch(err.message, /garbage/)
      assert.equal(auth.size, 2)
      assert.equal((await auth.authenticate(req('CP1', 'new'))).ok, true)
      assert.equal((await auth.authenticate(req('CP1', 'broken'))).ok, false)

      // Deleted: reported, nothing changes.
      await rm(file)
      assert.match((await errors.next()).message, /ENOENT/)
      assert.equal((await auth.authenticate(req('CP2', 'two'))).ok, true)

      // Fixed: picked up again.
      await writeFile(file, `CP3:${await hashPassword('three', FAST)}\n`)
      assert.deepEqual(await reloads.next(), { entries: 1 })
      assert.equal((await auth.authenticate(req('CP3', 'three'))).ok, true)
      assert.equal((await auth.authenticate(req('CP2', 'two'))).ok, false)
    } finally {
      auth.close()
    }
  })

  test('reload() reports whether a new table is in use', async () => {
    const file = join(dir, 'manual.txt')
    await writeFile(file, `CP1:${await hashPassword('a', FAST)}\n`)
    const auth = await CredentialsFileAuthenticator.open({ path: file, watch: false, onError: () => {} })
    try {
      assert.equal(await auth.reload(), false, 'unchanged')
      await writeFile(file, `CP1:${await hashPassword('b', FAST)}\n`)
      assert.equal(await auth.reload(), true)
      await writeFile(file, 'nonsense\n')
      assert.equal(await auth.reload(), false)
      assert.equal((await auth.authenticate(req('CP1', 'b'))).ok, true)
    } finally {
      auth.close()
    }
  })
})

function fakeIo (stdinText?: string): PasswdIo & { out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => { out += c.toString() })
  stderr.on('data', (c: Buffer) => { err += c.toString() })
  const stdin = stdinText === undefined ? Readable.from([]) : Readable.from([Buffer.from(stdinText)])
  return { stdin, stdout, stderr, out: () => out, err: () => err }
}

describe('passwd CLI', () => {
  test('add, list, update, remove; file is 0600 and the password is never printed', async () => {
    const file = join(dir, 'cli', 'credentials')
    let io = fakeIo('s3cret-one\n')
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP1', '--password-stdin', '--scrypt-n', '1024'], io), 0)
    assert.equal(io.out(), 'added CP1\n')
    io = fakeIo('s3cret-two\r\n')
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP2', '--password-stdin', '--scrypt-n', '1024'], io), 0)
    assert.equal((await stat(file)).mode & 0o777, 0o600)

    const text = await readFile(file, 'utf8')
    assert.match(text, /^# ocpp-gateway credentials/)
    assert.doesNotMatch(text, /s3cret/)
    const auth = await CredentialsFileAuthenticator.open({ path: file, watch: false })
    assert.equal((await auth.authenticate(req('CP1', 's3cret-one'))).ok, true)
    assert.equal((await auth.authenticate(req('CP2', 's3cret-two'))).ok, true, 'CR of CRLF is not part of the password')
    auth.close()

    io = fakeIo()
    assert.equal(await passwdMain(['list', '--file', file], io), 0)
    assert.equal(io.out(), 'CP1\nCP2\n')

    io = fakeIo('changed\n')
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP1', '--password-stdin', '--scrypt-n', '1024'], io), 0)
    assert.equal(io.out(), 'updated CP1\n')

    io = fakeIo()
    assert.equal(await passwdMain(['remove', '--file', file, '--id', 'CP2'], io), 0)
    assert.equal(io.out(), 'removed CP2\n')
    io = fakeIo()
    assert.equal(await passwdMain(['remove', '--file', file, '--id', 'CP2'], io), 1)
    assert.match(io.err(), /no entry for CP2/)

    io = fakeIo()
    assert.equal(await passwdMain(['list', '--file', file], io), 0)
    assert.equal(io.out(), 'CP1\n')
  })

  test('hash prints a verifiable hash with the default cost, and nothing else', async () => {
    const io = fakeIo('hunter2\n')
    assert.equal(await passwdMain(['hash', '--password-stdin'], io), 0)
    const h = io.out().trim()
    assert.match(h, /^scrypt\$16384\$8\$1\$/)
    assert.equal(await verifyPassword('hunter2', h), true)
    assert.doesNotMatch(io.out() + io.err(), /hunter2/)
  })

  test('usage errors exit 2; a password is never accepted as an argument; no terminal means --password-stdin', async () => {
    const file = join(dir, 'cli2')
    for (const argv of [
      [], ['frobnicate'], ['add', '--id', 'CP1'], ['add', '--file', file], ['add', '--file', file, '--id', 'a/b', '--password-stdin'],
      ['add', '--file', file, '--id', 'CP1', 'mypassword'], ['add', '--file', file, '--id', 'CP1', '--password', 'mypassword'],
      ['add', '--file', file, '--id', 'CP1'], // stdin is not a TTY
      ['hash', '--password-stdin', '--scrypt-n', '1000']
    ]) {
      const io = fakeIo('x\n')
      assert.equal(await passwdMain(argv, io), 2, argv.join(' '))
      assert.doesNotMatch(io.out() + io.err(), /mypassword/)
    }
    const io = fakeIo('\n')
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP1', '--password-stdin'], io), 1)
    assert.match(io.err(), /empty password/)
  })

  test('--hex: the password stands for its bytes (1.6 AuthorizationKey); the charger\'s binary key is accepted, its lossy text and the hex text are not', async () => {
    const file = join(dir, 'cli-hex', 'credentials')
    const hex = 'ff00fe3a8081c0c1f5f6f7f8f9fafbfcfdfe3aff' // what the CSMS sends in ChangeConfiguration
    const key = Buffer.from(hex, 'hex') // what the charger then sends as its Basic password
    let io = fakeIo(`${hex.toUpperCase()}\n`)
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP1', '--password-stdin', '--hex', '--scrypt-n', '1024'], io), 0)
    assert.doesNotMatch(io.out() + io.err() + await readFile(file, 'utf8'), new RegExp(hex, 'i'))
    const auth = await CredentialsFileAuthenticator.open({ path: file, watch: false })
    try {
      const lossy = key.toString('utf8')
      assert.deepEqual(await auth.authenticate({ ...req('CP1', lossy), passwordBytes: key }), { ok: true, reason: 'authenticated' })
      assert.deepEqual(await auth.authenticate({ ...req('CP1', lossy), passwordBytes: key }), { ok: true, reason: 'authenticated' }, 'remembered path')
      assert.deepEqual(await auth.authenticate(req('CP1', lossy)), { ok: false, status: 401, reason: 'bad_password' })
      assert.deepEqual(await auth.authenticate(req('CP1', hex)), { ok: false, status: 401, reason: 'bad_password' })
      const other = Buffer.from(key)
      other[0] = 0xfe // same lossy text (both invalid UTF-8 lead bytes), other bytes
      assert.equal(other.toString('utf8'), lossy)
      assert.deepEqual(await auth.authenticate({ ...req('CP1', lossy), passwordBytes: other }), { ok: false, status: 401, reason: 'bad_password' })
    } finally {
      auth.close()
    }
    for (const bad of ['abc\n', 'zz\n']) {
      io = fakeIo(bad)
      assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP2', '--password-stdin', '--hex'], io), 1)
      assert.match(io.err(), /--hex: the password must be an even number of hex digits/)
    }
  })

  test('refuses to edit a file the gateway would reject', async () => {
    const file = join(dir, 'broken-cli')
    await writeFile(file, 'CP1:oops\n')
    const io = fakeIo('pw\n')
    assert.equal(await passwdMain(['add', '--file', file, '--id', 'CP2', '--password-stdin'], io), 1)
    assert.match(io.err(), /line 1/)
    assert.equal(await readFile(file, 'utf8'), 'CP1:oops\n')
  })

  test('runs on its own as the main module', async () => {
    const file = join(dir, 'main-module')
    await writeFile(file, `CPX:${await hashPassword('pw', FAST)}\n`)
    const script = fileURLToPath(new URL('../../src/cli/passwd.js', import.meta.url))
    const out = await new Promise<{ code: number | null, stdout: string }>((resolve) => {
      execFile(process.execPath, [script, 'list', '--file', file], (err, stdout) => {
        resolve({ code: err === null ? 0 : (err.code as number), stdout })
      })
    })
    assert.deepEqual(out, { code: 0, stdout: 'CPX\n' })
  })
})

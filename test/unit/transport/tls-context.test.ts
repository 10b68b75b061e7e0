/**
 * TLS options from PEM files and the reloader, without a server: real files in a temporary
 * directory (certificates from test/helpers/certs.ts), a fake SecureContextTarget that
 * records what it is given, and reload() called by hand (watch: false). The integration test
 * (test/integration/auth-tls.test.ts) sees the contexts at work over real TLS.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SecureContextOptions } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import type { TlsFiles } from '../../../src/config/security.js'
import { GatewayError } from '../../../src/errors.js'
import { loadSecureContextOptionsSync, loadTlsOptions, loadTlsOptionsSync, tlsPaths, TlsReloader, type SecureContextTarget } from '../../../src/transport/tls-context.js'
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js'

let certs: TestCerts
let encryptedKey: string

before(() => {
  certs = makeTestCerts()
  encryptedKey = join(certs.dir, 'server-encrypted.key')
  execFileSync('openssl', ['pkey', '-in', certs.server.key, '-aes-128-cbc', '-passout', 'pass:s3cret', '-out', encryptedKey], { stdio: ['ignore', 'ignore', 'pipe'] })
})
after(() => { certs.cleanup() })

const server = (): TlsFiles => ({ certfile: certs.server.cert, keyfile: certs.server.key })
const absent = (name: string): string => join(certs.dir, name)

/** Asserts a GatewayError OCPPGW_ERR_TLS_CONFIG with exactly this message. */
const tlsConfigError = (message: string) => (e: unknown): boolean => {
  assert.ok(e instanceof GatewayError)
  assert.equal(e.code, 'OCPPGW_ERR_TLS_CONFIG')
  assert.equal(e.message, message)
  return true
}

describe('loadTlsOptions / loadTlsOptionsSync: files that cannot be read', () => {
  const cases: Array<[string, () => TlsFiles, () => string]> = [
    ['certfile missing', () => ({ ...server(), certfile: absent('no-cert.pem') }), () => `cannot read certfile ${absent('no-cert.pem')} (ENOENT)`],
    ['keyfile missing', () => ({ ...server(), keyfile: absent('no-key.pem') }), () => `cannot read keyfile ${absent('no-key.pem')} (ENOENT)`],
    ['cacertfile missing', () => ({ ...server(), cacertfile: absent('no-ca.pem') }), () => `cannot read cacertfile ${absent('no-ca.pem')} (ENOENT)`],
    ['all missing: the certfile is named first', () => ({ certfile: absent('a.pem'), keyfile: absent('b.pem'), cacertfile: absent('c.pem') }), () => `cannot read certfile ${absent('a.pem')} (ENOENT)`],
    ['a directory as certfile', () => ({ ...server(), certfile: certs.dir }), () => `cannot read certfile ${certs.dir} (EISDIR)`]
  ]
  for (const [what, files, message] of cases) {
    test(`${what} (async)`, async () => {
      await assert.rejects(loadTlsOptions(files(), 2), tlsConfigError(message()))
    })
    test(`${what} (sync)`, () => {
      assert.throws(() => loadTlsOptionsSync(files(), 2), tlsConfigError(message()))
    })
  }
})

describe('loadTlsOptions / loadTlsOptionsSync: files that do not make a context', () => {
  test('a key that does not belong to the certificate: named by path, never by content', async () => {
    const files = { certfile: certs.server.cert, keyfile: certs.clientGood.key }
    for (const run of [async () => await loadTlsOptions(files, 2), async () => loadTlsOptionsSync(files, 2)]) {
      await assert.rejects(run(), (e: unknown) => {
        assert.ok(e instanceof GatewayError)
        assert.equal(e.code, 'OCPPGW_ERR_TLS_CONFIG')
        assert.ok(e.message.startsWith(`unusable TLS files ${certs.server.cert} / ${certs.clientGood.key}: `), e.message)
        assert.doesNotMatch(e.message, /BEGIN|PRIVATE|-----/)
        return true
      })
    }
  })

  test('a certfile that is not PEM', async () => {
    const bad = join(certs.dir, 'not-pem.pem')
    writeFileSync(bad, 'this is not a certificate\n')
    const files = { certfile: bad, keyfile: certs.server.key }
    await assert.rejects(loadTlsOptions(files, 2), (e: unknown) => e instanceof GatewayError && e.message.startsWith(`unusable TLS files ${bad} / ${certs.server.key}: `))
    assert.throws(() => loadTlsOptionsSync(files, 2), (e: unknown) => e instanceof GatewayError && e.message.startsWith(`unusable TLS files ${bad} / ${certs.server.key}: `))
  })

  test('an encrypted key: usable with its password, not with a wrong one or none', () => {
    const files = { certfile: certs.server.cert, keyfile: encryptedKey }
    const opts = loadTlsOptionsSync({ ...files, password: 's3cret' }, 2)
    assert.equal(opts.passphrase, 's3cret')
    for (const password of ['wrong', undefined]) {
      assert.throws(() => loadTlsOptionsSync(password === undefined ? files : { ...files, password }, 2), (e: unknown) => {
        assert.ok(e instanceof GatewayError)
        assert.ok(e.message.startsWith(`unusable TLS files ${certs.server.cert} / ${encryptedKey}: `), e.message)
        assert.ok(!e.message.includes('s3cret') && !e.message.includes('wrong'), 'no password in the message')
        return true
      })
    }
  })
})

describe('loadTlsOptions / loadTlsOptionsSync: several certificates on one listener', () => {
  test('an RSA and an ECDSA pair make one context with both (first pair first)', () => {
    const opts = loadTlsOptionsSync({ certfile: certs.server.cert, keyfile: certs.server.key, more: [{ certfile: certs.serverRsa.cert, keyfile: certs.serverRsa.key }] }, 2)
    assert.ok(Array.isArray(opts.cert) && opts.cert.length === 2)
    assert.ok(Array.isArray(opts.key) && opts.key.length === 2)
    assert.deepEqual(tlsPaths({ certfile: 'a', keyfile: 'b', cacertfile: 'ca', more: [{ certfile: 'c', keyfile: 'd' }] }), ['a', 'b', 'c', 'd', 'ca'])
  })

  test('two pairs of one key type are refused (OpenSSL would serve only the last), naming both files', async () => {
    const files = { certfile: certs.server.cert, keyfile: certs.server.key, more: [{ certfile: certs.server2.cert, keyfile: certs.server2.key }] }
    await assert.rejects(loadTlsOptions(files, 2), (e: unknown) => e instanceof GatewayError && e.code === 'OCPPGW_ERR_TLS_CONFIG' &&
      e.message === `TLS certificates ${certs.server.cert} and ${certs.server2.cert} both have ec keys: give a listener one certificate per key type (e.g. one RSA and one ECDSA)`)
  })

  test('a bad second pair is named by its own paths, and an encrypted second key takes its own password', () => {
    const mismatched = { certfile: certs.server.cert, keyfile: certs.server.key, more: [{ certfile: certs.serverRsa.cert, keyfile: certs.clientGood.key }] }
    assert.throws(() => loadTlsOptionsSync(mismatched, 2), (e: unknown) => e instanceof GatewayError && e.message.startsWith(`unusable TLS files ${certs.serverRsa.cert} / ${certs.clientGood.key}: `))
    const opts = loadTlsOptionsSync({ certfile: certs.serverRsa.cert, keyfile: certs.serverRsa.key, more: [{ certfile: certs.server.cert, keyfile: encryptedKey, password: 's3cret' }] }, 2)
    assert.deepEqual((opts.key as Array<{ passphrase?: string }>).map((k) => k.passphrase), [undefined, 's3cret'])
  })
})

describe('loadTlsOptions / loadTlsOptionsSync: the security profile', () => {
  test('profiles 0 and 1 do not use TLS, checked before any file is read', async () => {
    const files = { certfile: absent('x.pem'), keyfile: absent('y.pem') }
    for (const profile of [0, 1] as const) {
      await assert.rejects(loadTlsOptions(files, profile), tlsConfigError(`security profile ${profile} does not use TLS`))
      assert.throws(() => loadTlsOptionsSync(files, profile), tlsConfigError(`security profile ${profile} does not use TLS`))
    }
  })

  test('profile 3 without cacertfile is refused, before any file is read', async () => {
    const files = { certfile: absent('x.pem'), keyfile: absent('y.pem') }
    await assert.rejects(loadTlsOptions(files, 3), tlsConfigError('security profile 3 needs cacertfile to verify client certificates'))
    assert.throws(() => loadTlsOptionsSync(files, 3), tlsConfigError('security profile 3 needs cacertfile to verify client certificates'))
  })

  test('profile 3 requests and requires a client certificate, with the CA', async () => {
    const files = { ...server(), cacertfile: certs.ca.cert }
    const want = {
      cert: readFileSync(certs.server.cert),
      key: readFileSync(certs.server.key),
      ca: readFileSync(certs.ca.cert),
      minVersion: 'TLSv1.2',
      requestCert: true,
      rejectUnauthorized: true
    }
    assert.deepEqual(await loadTlsOptions(files, 3), want)
    assert.deepEqual(loadTlsOptionsSync(files, 3), want)
  })

  test('profile 2 neither requests nor requires one; a cacertfile is still passed on', async () => {
    const want = { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key), minVersion: 'TLSv1.2', requestCert: false, rejectUnauthorized: false }
    assert.deepEqual(await loadTlsOptions(server(), 2), want)
    assert.deepEqual(loadTlsOptionsSync(server(), 2), want)
    const withCa = loadTlsOptionsSync({ ...server(), cacertfile: certs.ca.cert }, 2)
    assert.deepEqual(withCa.ca, readFileSync(certs.ca.cert))
    assert.equal(withCa.requestCert, false)
  })

  test('minVersion and ciphers are passed on', () => {
    const opts = loadTlsOptionsSync({ ...server(), minVersion: 'TLSv1.3', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }, 2)
    assert.equal(opts.minVersion, 'TLSv1.3')
    assert.equal(opts.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256')
  })

  test('a cipher list OpenSSL does not know is refused as unusable', () => {
    assert.throws(() => loadTlsOptionsSync({ ...server(), ciphers: 'NO-SUCH-CIPHER' }, 2), (e: unknown) => e instanceof GatewayError && e.message.startsWith('unusable TLS files '))
  })
})

/** Records every context it is given; throws the queued failures first, one per call. */
class FakeTarget implements SecureContextTarget {
  readonly installed: SecureContextOptions[] = []
  readonly failures: unknown[] = []
  calls = 0
  setSecureContext (options: SecureContextOptions): void {
    this.calls++
    if (this.failures.length > 0) throw this.failures.shift()
    this.installed.push(options)
  }
}

describe('TlsReloader (watch: false, reload() by hand)', () => {
  /** Files of its own in the temporary directory, starting as the first server certificate. */
  let n = 0
  const liveFiles = (): TlsFiles => {
    n++
    const files = { certfile: join(certs.dir, `live${n}.pem`), keyfile: join(certs.dir, `live${n}.key`) }
    copyFileSync(certs.server.cert, files.certfile)
    copyFileSync(certs.server.key, files.keyfile)
    return files
  }
  const reloader = (target: SecureContextTarget, files: TlsFiles): { r: TlsReloader, reloads: () => number, errors: Error[] } => {
    let reloads = 0
    const errors: Error[] = []
    const r = new TlsReloader(target, files, { watch: false, onReload: () => { reloads++ }, onError: (e) => { errors.push(e) } })
    return { r, reloads: () => reloads, errors }
  }

  test('constructing installs nothing', () => {
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, liveFiles())
    r.close()
    assert.equal(target.installed.length, 0)
    assert.equal(reloads(), 0)
    assert.deepEqual(errors, [])
  })

  test('good files are installed, as read now', async () => {
    const files = liveFiles()
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, files)
    try {
      assert.equal(await r.reload(), true)
      copyFileSync(certs.server2.cert, files.certfile)
      copyFileSync(certs.server2.key, files.keyfile)
      assert.equal(await r.reload(), true)
      assert.deepEqual(target.installed, [
        { cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key), minVersion: 'TLSv1.2' },
        { cert: readFileSync(certs.server2.cert), key: readFileSync(certs.server2.key), minVersion: 'TLSv1.2' }
      ])
      assert.equal(reloads(), 2)
      assert.deepEqual(errors, [])
    } finally {
      r.close()
    }
  })

  test('a key that does not match: reported, nothing installed; fixed files are installed on the next reload', async () => {
    const files = liveFiles()
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, files)
    try {
      copyFileSync(certs.server2.key, files.keyfile) // the new key is there, the certificate not yet
      assert.equal(await r.reload(), false)
      assert.equal(target.installed.length, 0)
      assert.equal(reloads(), 0)
      assert.equal(errors.length, 1)
      assert.ok(errors[0] instanceof GatewayError)
      assert.equal(errors[0].code, 'OCPPGW_ERR_TLS_CONFIG')
      assert.ok(errors[0].message.startsWith(`unusable TLS files ${files.certfile} / ${files.keyfile}: `), errors[0].message)
      copyFileSync(certs.server2.cert, files.certfile)
      assert.equal(await r.reload(), true)
      assert.deepEqual(target.installed, [{ cert: readFileSync(certs.server2.cert), key: readFileSync(certs.server2.key), minVersion: 'TLSv1.2' }])
      assert.equal(reloads(), 1)
      assert.equal(errors.length, 1)
    } finally {
      r.close()
    }
  })

  test('a file gone or half-written: reported by name, the installed context stays the last good one', async () => {
    const files = liveFiles()
    const target = new FakeTarget()
    const { r, errors } = reloader(target, files)
    try {
      assert.equal(await r.reload(), true)
      writeFileSync(files.certfile, readFileSync(certs.server2.cert).subarray(0, 100))
      assert.equal(await r.reload(), false)
      rmSync(files.keyfile)
      assert.equal(await r.reload(), false)
      assert.equal(target.installed.length, 1)
      assert.deepEqual(target.installed[0]?.cert, readFileSync(certs.server.cert))
      assert.equal(errors.length, 2)
      assert.ok(errors[0]?.message.startsWith(`unusable TLS files ${files.certfile} / ${files.keyfile}: `), errors[0]?.message)
      assert.equal(errors[1]?.message, `cannot read keyfile ${files.keyfile} (ENOENT)`)
    } finally {
      r.close()
    }
  })

  test('the files are copied when constructed: changing the caller\'s object later changes nothing', async () => {
    const files = liveFiles()
    const target = new FakeTarget()
    const { r } = reloader(target, files)
    try {
      files.certfile = absent('moved.pem')
      assert.equal(await r.reload(), true)
      assert.equal(target.installed.length, 1)
    } finally {
      r.close()
    }
  })

  test('reloads called together each run, in call order; a failed one does not stop the next', async () => {
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, liveFiles())
    try {
      target.failures.push(new Error('boom')) // the first call throws
      const results = await Promise.all([r.reload(), r.reload(), r.reload()])
      assert.deepEqual(results, [false, true, true])
      assert.equal(target.calls, 3)
      assert.equal(target.installed.length, 2)
      assert.equal(reloads(), 2)
      assert.deepEqual(errors.map((e) => e.message), ['boom'])
    } finally {
      r.close()
    }
  })

  test('a target that throws: reported, onReload not called; a non-Error thrown is wrapped', async () => {
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, liveFiles())
    try {
      const boom = new Error('setSecureContext failed')
      target.failures.push(boom, 'a string')
      assert.equal(await r.reload(), false)
      assert.equal(await r.reload(), false)
      assert.equal(reloads(), 0)
      assert.equal(errors.length, 2)
      assert.equal(errors[0], boom)
      assert.ok(errors[1] instanceof Error)
      assert.equal(errors[1].message, 'a string')
    } finally {
      r.close()
    }
  })

  test('without onReload/onError: reload() still resolves true or false', async () => {
    const files = liveFiles()
    const target = new FakeTarget()
    const r = new TlsReloader(target, files, { watch: false })
    try {
      assert.equal(await r.reload(), true)
      copyFileSync(certs.clientGood.key, files.keyfile)
      assert.equal(await r.reload(), false)
      assert.equal(target.installed.length, 1)
    } finally {
      r.close()
    }
  })

  test('after close(): reload() resolves false, installs nothing, reports nothing; close() twice is harmless', async () => {
    const target = new FakeTarget()
    const { r, reloads, errors } = reloader(target, liveFiles())
    r.close()
    r.close()
    assert.equal(await r.reload(), false)
    assert.equal(target.installed.length, 0)
    assert.equal(reloads(), 0)
    assert.deepEqual(errors, [])
  })

  test('close() before queued reloads have run: none of them installs', async () => {
    const target = new FakeTarget()
    const { r } = reloader(target, liveFiles())
    const running = r.reload()
    const queued = r.reload()
    r.close()
    assert.deepEqual([await running, await queued], [false, false])
    assert.equal(target.installed.length, 0)
  })

  test('the context installed is what loadSecureContextOptionsSync reads, with the CA', async () => {
    const files = { ...liveFiles(), cacertfile: certs.ca.cert }
    const target = new FakeTarget()
    const { r } = reloader(target, files)
    try {
      assert.equal(await r.reload(), true)
      assert.deepEqual(target.installed, [loadSecureContextOptionsSync(files)])
      assert.deepEqual(target.installed[0]?.ca, readFileSync(certs.ca.cert))
    } finally {
      r.close()
    }
  })
})

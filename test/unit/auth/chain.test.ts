import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { cnMatches } from '../../../src/auth/cert-cn.js'
import { AuthChain, describeAuthPolicy } from '../../../src/auth/chain.js'
import { countsAsFailure, deny, type AuthDecision, type AuthRequest, type Authenticator } from '../../../src/auth/types.js'

function fixed (name: string, d: AuthDecision, calls: string[] = []): Authenticator {
  return { name, authenticate: async () => { calls.push(name); return d } }
}

function req (extra: Partial<AuthRequest> = {}): AuthRequest {
  return { cid: 'CP1', username: 'CP1', password: 'pw', peer: '192.0.2.1', listener: 'ws:default', profile: 1, ...extra }
}

const noCreds = { username: undefined, password: undefined }

describe('auth chain', () => {
  test('the first allow or final denial decides; ignore passes to the next', async () => {
    const calls: string[] = []
    const chain = new AuthChain({ authenticators: [fixed('file', deny('unknown_id', true), calls), fixed('http', { ok: true, reason: 'authenticated' }, calls), fixed('never', deny('denied'), calls)] })
    assert.deepEqual(await chain.authenticate(req()), { ok: true, reason: 'authenticated' })
    assert.deepEqual(calls, ['file', 'http'])

    const calls2: string[] = []
    const denying = new AuthChain({ authenticators: [fixed('file', deny('bad_password'), calls2), fixed('http', { ok: true }, calls2)] })
    assert.deepEqual(await denying.authenticate(req()), { ok: false, status: 401, reason: 'bad_password' })
    assert.deepEqual(calls2, ['file'])
  })

  test('when every authenticator ignores, the last denial is final (ignore flag stripped)', async () => {
    const chain = new AuthChain({ authenticators: [fixed('a', deny('ignored', true)), fixed('b', deny('unknown_id', true))] })
    assert.deepEqual(await chain.authenticate(req()), { ok: false, status: 401, reason: 'unknown_id' })
  })

  test('an authenticator that throws denies (403), fails closed, and is reported', async () => {
    const errors: string[] = []
    const boom: Authenticator = { name: 'boom', authenticate: async () => { throw new Error('db down') } }
    const chain = new AuthChain({ authenticators: [boom, fixed('ok', { ok: true })], onError: (_e, name) => errors.push(name) })
    assert.deepEqual(await chain.authenticate(req()), { ok: false, status: 403, reason: 'authenticator_error' })
    assert.deepEqual(errors, ['boom'])
  })

  test('missing credentials: 401 unless allow_anonymous is explicitly true', async () => {
    const calls: string[] = []
    const a = fixed('file', { ok: true }, calls)
    assert.deepEqual(await new AuthChain({ authenticators: [a] }).authenticate(req(noCreds)), { ok: false, status: 401, reason: 'missing_credentials' })
    assert.deepEqual(await new AuthChain({ authenticators: [a], allowAnonymous: false }).authenticate(req(noCreds)), { ok: false, status: 401, reason: 'missing_credentials' })
    assert.deepEqual(await new AuthChain({ authenticators: [a], allowAnonymous: true }).authenticate(req(noCreds)), { ok: true, reason: 'anonymous' })
    assert.deepEqual(calls, [], 'authenticators are not asked without credentials')
  })

  test('the user-id must be the charge point id unless allow_username_mismatch', async () => {
    const calls: string[] = []
    const a = fixed('file', { ok: true }, calls)
    assert.deepEqual(await new AuthChain({ authenticators: [a] }).authenticate(req({ username: 'admin' })), { ok: false, status: 401, reason: 'username_mismatch' })
    assert.deepEqual(calls, [])
    assert.equal((await new AuthChain({ authenticators: [a], allowUsernameMismatch: true }).authenticate(req({ username: 'admin' }))).ok, true)
  })

  test('no authenticator: everyone refused unless allow_anonymous', async () => {
    const none = new AuthChain({ authenticators: [] })
    assert.deepEqual(await none.authenticate(req()), { ok: false, status: 403, reason: 'no_authenticator' })
    assert.deepEqual(await none.authenticate(req(noCreds)), { ok: false, status: 401, reason: 'missing_credentials' })
    const open = new AuthChain({ authenticators: [], allowAnonymous: true })
    assert.deepEqual(await open.authenticate(req()), { ok: true, reason: 'unverified' })
    assert.deepEqual(await open.authenticate(req({ ...noCreds, profile: 0 })), { ok: true, reason: 'anonymous' })
  })

  test('profile 3: the certificate CN is the authentication', async () => {
    const calls: string[] = []
    const chain = new AuthChain({ authenticators: [fixed('file', deny('bad_password'), calls)] })
    const p3 = { profile: 3 as const, ...noCreds }
    assert.deepEqual(await chain.authenticate(req({ ...p3, certCN: 'CP1' })), { ok: true, reason: 'client_certificate' })
    assert.deepEqual(await chain.authenticate(req({ ...p3, certCN: 'CP2' })), { ok: false, status: 403, reason: 'cert_cn_mismatch' })
    assert.deepEqual(await chain.authenticate(req(p3)), { ok: false, status: 403, reason: 'no_client_certificate' })
    assert.deepEqual(await chain.authenticate(req({ profile: 3, certCN: 'CP1', password: 'stale' })), { ok: true, reason: 'client_certificate' })
    assert.deepEqual(calls, [])
    // client_organization: the O is checked after the CN, exactly, only when the listener asks.
    const org = { ...p3, certCN: 'CP1', requireOrganization: ['My CPO', 'Other Name'] }
    assert.deepEqual(await chain.authenticate(req({ ...org, certOrganization: 'My CPO' })), { ok: true, reason: 'client_certificate' })
    assert.deepEqual(await chain.authenticate(req({ ...org, certOrganization: 'Other Name' })), { ok: true, reason: 'client_certificate' })
    for (const o of ['my cpo', 'My CPO ', 'Somebody', undefined]) {
      assert.deepEqual(await chain.authenticate(req(o === undefined ? org : { ...org, certOrganization: o })), { ok: false, status: 403, reason: 'cert_organization_mismatch' }, String(o))
    }
    assert.deepEqual(await chain.authenticate(req({ ...org, certCN: 'CP2', certOrganization: 'My CPO' })), { ok: false, status: 403, reason: 'cert_cn_mismatch' })
  })

  test('close closes every authenticator', async () => {
    let closed = 0
    const a: Authenticator = { name: 'a', authenticate: async () => ({ ok: true }), close: () => { closed++ } }
    await new AuthChain({ authenticators: [a, a] }).close()
    assert.equal(closed, 2)
  })
})

describe('decisions', () => {
  test('which denials count toward the lockout', () => {
    assert.equal(countsAsFailure(deny('bad_password')), true)
    assert.equal(countsAsFailure(deny('cert_cn_mismatch')), true)
    assert.equal(countsAsFailure(deny('auth_unavailable')), false, 'a down auth service is not the charger\'s fault')
    assert.equal(countsAsFailure(deny('missing_credentials')), false)
    assert.equal(countsAsFailure({ ok: true }), false)
  })
})

describe('cnMatches', () => {
  test('exact and case-sensitive; no wildcards or prefixes', () => {
    assert.equal(cnMatches('CP001', 'CP001'), true)
    assert.equal(cnMatches('CP001', 'cp001'), false)
    assert.equal(cnMatches('CP001', 'CP0011'), false)
    assert.equal(cnMatches('CP001', 'CP00'), false)
    assert.equal(cnMatches('CP001', '*'), false)
    assert.equal(cnMatches('CP001', ''), false)
    assert.equal(cnMatches('', ''), false)
    assert.equal(cnMatches('CP001', undefined), false)
    // Byte-exact: the NFC and NFD spellings are two charge point ids (two topics), so one
    // certificate must not open both.
    assert.equal(cnMatches('Stat\u00e9on', 'State\u0301on'), false, 'no Unicode normalisation')
    assert.equal(cnMatches('Stat\u00e9on', 'Stat\u00e9on'), true)
  })
})

describe('start-up policy line', () => {
  test('states plainly what happens with no authenticator', () => {
    const listeners = [{ name: 'ws:default', profile: 1 as const }, { name: 'wss:secure', profile: 3 as const }]
    const [ws, wss] = describeAuthPolicy({ authenticators: [], listeners })
    assert.match(ws ?? '', /no authenticator configured and allow_anonymous is not true: EVERY charger is refused/)
    assert.match(ws ?? '', /unencrypted/)
    assert.match(wss ?? '', /client certificate signed by the configured CA whose CN equals their id/)
    const [open] = describeAuthPolicy({ authenticators: [], allowAnonymous: true, listeners })
    assert.match(open ?? '', /WARNING: .*EVERY charger is accepted/)
    const [some] = describeAuthPolicy({ authenticators: [{ name: 'credentials-file' }, { name: 'http' }], listeners: [{ name: 'wss:b', profile: 2 }] })
    assert.equal(some, 'listener wss:b (security profile 2): authenticators [credentials-file, http]; chargers without credentials are refused with 401')
  })
})

/**
 * Attempts count against failures (docs/security.md): the per-address token a handshake takes
 * at admission is given back when the charger authenticated, and only then.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthChain } from '../../../src/auth/chain.js'
import { HandshakeGuard, type GuardRequest } from '../../../src/auth/guard.js'
import { ConnectionLimits } from '../../../src/auth/limits.js'
import { AUTH_REASONS, allow, deny, refundsAttempt, type AuthDecision, type AuthReason, type Authenticator } from '../../../src/auth/types.js'

const noLock = { addressLockout: false, cidLockout: false } as const

function okDecision (d: ReturnType<ConnectionLimits['admit']>): { release: () => void, refund: () => void } {
  assert.ok(d.ok, JSON.stringify(d))
  return d
}

describe('refund rule', () => {
  test('only allows that proved the identity refund: authenticated and client_certificate', () => {
    const refunded = (Object.keys(AUTH_REASONS) as AuthReason[]).filter(r => AUTH_REASONS[r].status === 200 && refundsAttempt({ ok: true, reason: r }))
    assert.deepEqual(refunded.sort(), ['authenticated', 'client_certificate'])
    assert.equal(refundsAttempt({ ok: true }), true, 'an allow without a reason is "authenticated"')
    for (const r of ['anonymous', 'unverified', 'unknown_accepted'] as const) assert.equal(refundsAttempt(allow(r)), false, r)
    for (const r of ['bad_password', 'unknown_id', 'auth_unavailable', 'overloaded', 'missing_credentials'] as const) assert.equal(refundsAttempt(deny(r)), false, r)
  })
})

describe('ConnectionLimits refund', () => {
  test('gives one token back, once; capped at burst', () => {
    let now = 0
    const l = new ConnectionLimits({ connRate: { burst: 2, perSecond: 1 }, ...noLock, now: () => now })
    const a = okDecision(l.admit('192.0.2.1'))
    const b = okDecision(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false, 'burst spent')
    a.refund()
    a.refund() // idempotent
    okDecision(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false, 'one token came back, not two')
    now += 1000 // one refilled
    b.refund() // and one refunded: 2 = burst
    okDecision(l.admit('192.0.2.1')).refund()
    okDecision(l.admit('192.0.2.1'))
    okDecision(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false)
    now += 60_000
    // Refunds into a full bucket do not raise it above burst.
    for (let i = 0; i < 5; i++) okDecision(l.admit('192.0.2.2')).refund()
    okDecision(l.admit('192.0.2.2'))
    okDecision(l.admit('192.0.2.2'))
    assert.equal(l.admit('192.0.2.2').ok, false)
  })

  test('no rate: refund is a no-op; another address is not refunded', () => {
    const l = new ConnectionLimits({ connRate: false, ...noLock })
    okDecision(l.admit('192.0.2.1')).refund()
    assert.equal(l.tracked.buckets, 0)
    const r = new ConnectionLimits({ connRate: { burst: 1, perSecond: 0.001 }, ...noLock, now: () => 0 })
    const a = okDecision(r.admit('192.0.2.1'))
    okDecision(r.admit('192.0.2.2'))
    a.refund()
    assert.equal(r.admit('192.0.2.2').ok, false)
    okDecision(r.admit('192.0.2.1'))
  })
})

class Fixed implements Authenticator {
  readonly name = 'fixed'
  constructor (private readonly answer: (req: GuardRequest) => AuthDecision) {}
  async authenticate (req: GuardRequest): Promise<AuthDecision> { return this.answer(req) }
}

function guardWith (answer: (req: GuardRequest) => AuthDecision, opts: { unknownCharger?: 'accept' } = {}): HandshakeGuard {
  const limits = new ConnectionLimits({ connRate: { burst: 3, perSecond: 0.001 }, addressLockout: { maxFailures: 100, windowMs: 60_000, banMs: 60_000 }, cidLockout: false, now: () => 0 })
  return new HandshakeGuard({ chain: new AuthChain({ authenticators: [new Fixed(answer)] }), limits, ...opts })
}

const req = (cid: string, password: string): GuardRequest => ({ cid, username: cid, password, address: '203.0.113.7', peer: '203.0.113.7:1', listener: 'ws:default', profile: 1 })

describe('guard: attempts count against failures', () => {
  test('a fleet behind one address: 1,000 successful handshakes on a burst of 3, no refill', async () => {
    const g = guardWith(() => allow())
    for (let i = 0; i < 1000; i++) {
      const r = await g.check(req(`CP${i}`, 'pw'))
      assert.ok(r.ok, `handshake ${i}: ${JSON.stringify(r)}`)
      r.release()
    }
  })

  test('failures still spend tokens: after the burst even a right password waits (429)', async () => {
    const g = guardWith(r => r.password === 'right' ? allow() : deny('bad_password'))
    for (let i = 0; i < 3; i++) assert.equal((await g.check(req('CP1', `guess${i}`))).ok, false)
    const r = await g.check(req('CP1', 'right'))
    assert.ok(!r.ok && r.code === 'rate_limited', JSON.stringify(r))
  })

  test('successes in between do not buy a guesser more attempts than the burst', async () => {
    const g = guardWith(r => r.password === 'right' ? allow() : deny('bad_password'))
    let refused = 0
    for (let i = 0; i < 10; i++) {
      const ok = await g.check(req('CP1', 'right'))
      if (ok.ok) ok.release()
      const bad = await g.check(req('CP1', `guess${i}`))
      if (!bad.ok && bad.code === 'rate_limited') refused++
    }
    assert.equal(refused, 7, 'three guesses spent the burst; the rest were rate limited')
  })

  test('unknown_charger: accept does not refund (nothing was proved)', async () => {
    const g = guardWith(() => deny('unknown_id', true), { unknownCharger: 'accept' })
    for (let i = 0; i < 3; i++) assert.equal((await g.check(req(`X${i}`, 'pw'))).ok, true)
    const r = await g.check(req('X9', 'pw'))
    assert.ok(!r.ok && r.code === 'rate_limited', JSON.stringify(r))
  })
})

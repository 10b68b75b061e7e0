import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { addressKey } from '../../../src/auth/address-key.js'
import { ConnectionLimits, type LimitDecision } from '../../../src/auth/limits.js'

function clock (start = 1_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

function okRelease (d: LimitDecision): () => void {
  assert.equal(d.ok, true, JSON.stringify(d))
  assert.ok(d.ok)
  return d.release
}

const noLock = { addressLockout: false, cidLockout: false } as const

describe('connection-attempt rate limit', () => {
  test('token bucket: burst, then 429 with Retry-After, refilled over time', () => {
    const c = clock()
    const l = new ConnectionLimits({ connRate: { burst: 3, perSecond: 2 }, ...noLock, now: c.now })
    for (let i = 0; i < 3; i++) okRelease(l.admit('192.0.2.1'))()
    assert.deepEqual(l.admit('192.0.2.1'), { ok: false, status: 429, reason: 'rate_limited', retryAfterMs: 500 })
    // Another address has its own bucket.
    okRelease(l.admit('192.0.2.2'))
    c.advance(499)
    assert.equal(l.admit('192.0.2.1').ok, false)
    c.advance(1)
    okRelease(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false)
    c.advance(10_000) // refill caps at burst
    for (let i = 0; i < 3; i++) okRelease(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false)
  })

  test('IPv6 addresses in one /64 share a bucket; IPv4-mapped counts as IPv4', () => {
    const c = clock()
    const l = new ConnectionLimits({ connRate: { burst: 2, perSecond: 1 }, ...noLock, now: c.now })
    okRelease(l.admit('2001:db8:1:2::1'))
    okRelease(l.admit('2001:db8:1:2:ffff::abcd'))
    assert.equal(l.admit('2001:0db8:0001:0002:1234:5678:9abc:def0').ok, false)
    okRelease(l.admit('2001:db8:1:3::1'))
    okRelease(l.admit('::ffff:192.0.2.9'))
    okRelease(l.admit('192.0.2.9'))
    assert.equal(l.admit('192.0.2.9').ok, false)
  })
})

describe('address keys', () => {
  test('normalisation', () => {
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1')
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1')
    assert.equal(addressKey('::FFFF:192.0.2.1'), '192.0.2.1')
    assert.equal(addressKey('2001:db8::1'), '2001:0db8:0000:0000::/64')
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0000:0000:0000::/64')
    assert.equal(addressKey('::1'), '0000:0000:0000:0000::/64')
    assert.equal(addressKey('64:ff9b::192.0.2.1'), '0064:ff9b:0000:0000::/64')
    assert.equal(addressKey('not an address'), 'not an address')
  })
})

describe('failed-auth lockout', () => {
  test('per address: maxFailures in the window bans the address (403) for banMs, then it is free again', () => {
    const c = clock()
    const l = new ConnectionLimits({ connRate: false, cidLockout: false, addressLockout: { maxFailures: 3, windowMs: 60_000, banMs: 30_000 }, now: c.now })
    l.recordFailure('192.0.2.1', 'A')
    l.recordFailure('192.0.2.1', 'B')
    okRelease(l.admit('192.0.2.1', 'C'))
    l.recordFailure('192.0.2.1', 'C')
    assert.deepEqual(l.admit('192.0.2.1', 'D'), { ok: false, status: 403, reason: 'locked_out', retryAfterMs: 30_000 })
    okRelease(l.admit('192.0.2.2', 'D')) // other addresses are not affected
    // Failures during the ban do not extend it.
    c.advance(10_000)
    l.recordFailure('192.0.2.1', 'E')
    c.advance(19_999)
    assert.deepEqual(l.admit('192.0.2.1'), { ok: false, status: 403, reason: 'locked_out', retryAfterMs: 1 })
    c.advance(1)
    okRelease(l.admit('192.0.2.1'))
  })

  test('failures spread wider than the window never ban', () => {
    const c = clock()
    const l = new ConnectionLimits({ connRate: false, cidLockout: false, addressLockout: { maxFailures: 3, windowMs: 10_000, banMs: 30_000 }, now: c.now })
    for (let i = 0; i < 10; i++) {
      l.recordFailure('192.0.2.1')
      l.recordFailure('192.0.2.1')
      c.advance(10_000)
      okRelease(l.admit('192.0.2.1'))
    }
  })

  test('per charge point id: guesses from many addresses lock the id, not the addresses', () => {
    const c = clock()
    const l = new ConnectionLimits({ connRate: false, addressLockout: false, cidLockout: { maxFailures: 3, windowMs: 60_000, banMs: 60_000 }, now: c.now })
    for (let i = 1; i <= 3; i++) l.recordFailure(`192.0.2.${i}`, 'CP1')
    assert.equal(l.cidBanLeft('CP1'), 60_000)
    assert.deepEqual(l.admit('192.0.2.50', 'CP1'), { ok: false, status: 403, reason: 'locked_out', retryAfterMs: 60_000 })
    okRelease(l.admit('192.0.2.50', 'CP2'))
    okRelease(l.admit('192.0.2.1')) // id not known yet: only address checks
    c.advance(60_000)
    assert.equal(l.cidBanLeft('CP1'), 0)
    okRelease(l.admit('192.0.2.50', 'CP1'))
  })
})

describe('maximum concurrent connections', () => {
  test('slots are held until released; release is idempotent', () => {
    const l = new ConnectionLimits({ connRate: false, ...noLock, maxConnections: 2 })
    const r1 = okRelease(l.admit('192.0.2.1'))
    const r2 = okRelease(l.admit('192.0.2.2'))
    assert.deepEqual(l.admit('192.0.2.3'), { ok: false, status: 503, reason: 'too_many_connections', retryAfterMs: 1000 })
    assert.equal(l.connections, 2)
    r1()
    r1()
    assert.equal(l.connections, 1)
    const r3 = okRelease(l.admit('192.0.2.3'))
    assert.equal(l.admit('192.0.2.4').ok, false)
    r2()
    r3()
    assert.equal(l.connections, 0)
  })

  test('refused attempts take no slot', () => {
    const l = new ConnectionLimits({ connRate: { burst: 1, perSecond: 1 }, ...noLock, maxConnections: 1, now: () => 0 })
    const r = okRelease(l.admit('192.0.2.1'))
    assert.equal(l.admit('192.0.2.1').ok, false)
    assert.equal(l.connections, 1)
    r()
    assert.equal(l.connections, 0)
  })
})

describe('memory bounds', () => {
  test('tables never exceed maxTracked, even under a flood of new addresses', () => {
    const c = clock()
    const l = new ConnectionLimits({
      connRate: { burst: 5, perSecond: 1 },
      addressLockout: { maxFailures: 3, windowMs: 60_000, banMs: 60_000 },
      cidLockout: { maxFailures: 3, windowMs: 60_000, banMs: 60_000 },
      maxTracked: 100,
      now: c.now
    })
    for (let i = 0; i < 5000; i++) {
      const peer = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      const d = l.admit(peer, `CP${i}`)
      if (d.ok) d.release()
      l.recordFailure(peer, `CP${i}`)
      c.advance(1)
    }
    const t = l.tracked
    assert.ok(t.buckets <= 100 && t.addresses <= 100 && t.cids <= 100, JSON.stringify(t))
  })

  test('sweep drops what no longer matters and keeps active bans', () => {
    const c = clock()
    const l = new ConnectionLimits({
      connRate: { burst: 2, perSecond: 1 },
      addressLockout: { maxFailures: 2, windowMs: 10_000, banMs: 100_000 },
      cidLockout: { maxFailures: 5, windowMs: 10_000, banMs: 10_000 },
      now: c.now
    })
    okRelease(l.admit('192.0.2.1'))()
    l.recordFailure('192.0.2.2', 'CP2')
    l.recordFailure('192.0.2.3')
    l.recordFailure('192.0.2.3') // banned
    assert.deepEqual(l.tracked, { buckets: 1, addresses: 2, cids: 1 })
    c.advance(20_000)
    l.sweep()
    assert.deepEqual(l.tracked, { buckets: 0, addresses: 1, cids: 0 })
    assert.equal(l.admit('192.0.2.3').ok, false, 'the ban survives the sweep')
  })

  test('invalid options are refused at construction', () => {
    assert.throws(() => new ConnectionLimits({ connRate: { burst: 0, perSecond: 1 } }), RangeError)
    assert.throws(() => new ConnectionLimits({ cidLockout: { maxFailures: 0, windowMs: 1, banMs: 1 } }), RangeError)
  })
})

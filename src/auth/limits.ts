/**
 * Abuse limits for the handshake, pure (no timers, no I/O) with an injectable clock:
 *  - per-address connection-attempt rate (token bucket): a token is taken at admission, so at
 *    most `burst` handshakes per address are in progress at once; the guard gives it back
 *    (`refund`) when the charger authenticated, so only failed and unproved attempts spend it,
 *  - failed-authentication lockout per address and per charge point id (fixed window from
 *    the first failure; reaching the count bans for a while),
 *  - maximum concurrent connections (a slot is held from admission until the socket closes,
 *    so handshakes in progress count too).
 * Memory is bounded: each table holds at most `maxTracked` keys; when full, entries that no
 * longer matter (full buckets, expired windows and bans) are swept, then the oldest goes.
 *
 * Trade-offs to know: chargers behind one NAT (cellular CGNAT!) share an address, so the
 * per-address thresholds must be generous; a per-id lockout lets someone who knows an id
 * lock that charger out for `banMs` (set `cidLockout: false` to trade that for weaker
 * guessing protection).
 *
 * @example
 *   const limits = new ConnectionLimits({ connRate: { burst: 60, perSecond: 10 } })
 *   const adm = limits.admit(peer, cid)
 *   if (!adm.ok) return reject(adm.status, adm.retryAfterMs)
 *   socket.once('close', adm.release)
 *   if (authFailed && countsAsFailure(decision)) limits.recordFailure(peer, cid)
 */
import { addressKey } from './address-key.js'
import { buildLimits, type LimitsOptions, type LockoutOptions } from '../config/security.js'
import { defaults } from '../config/defaults.js'
import { deepFreeze } from '../config/freeze.js'

export type { LimitsOptions, LockoutOptions }

/**
 * What a ConnectionLimits built without options enforces: the configuration's defaults
 * (`handshake_limits` in src/config/defaults.ts), so a library user gets what the gateway
 * does with an empty config.
 */
export const DEFAULT_LIMITS = deepFreeze(buildLimits(defaults.handshake_limits))

export type LimitReason = 'rate_limited' | 'locked_out' | 'too_many_connections'

/** HTTP status each limit answers with (before the upgrade). */
export const LIMIT_STATUS: Readonly<Record<LimitReason, 403 | 429 | 503>> = Object.freeze({
  rate_limited: 429,
  locked_out: 403,
  too_many_connections: 503
})

export type LimitDecision =
  | {
    ok: true
    /** Give the connection slot back (idempotent). */
    release: () => void
    /** Give the attempt token back (idempotent): the attempt turned out to be a charger that authenticated. */
    refund: () => void
  }
  | { ok: false, status: 403 | 429 | 503, reason: LimitReason, retryAfterMs: number }

interface Bucket { tokens: number, at: number }
interface Failures { count: number, since: number, bannedUntil: number }

export class ConnectionLimits {
  private readonly buckets = new Map<string, Bucket>()
  private readonly addrFailures = new Map<string, Failures>()
  private readonly cidFailures = new Map<string, Failures>()
  private readonly rate: { burst: number, perSecond: number } | false
  private readonly addrLock: LockoutOptions | false
  private readonly cidLock: LockoutOptions | false
  private readonly maxConnections: number
  private readonly maxTracked: number
  private readonly now: () => number
  private open = 0

  constructor (opts: LimitsOptions = {}) {
    this.rate = opts.connRate ?? DEFAULT_LIMITS.connRate
    this.addrLock = opts.addressLockout ?? DEFAULT_LIMITS.addressLockout
    this.cidLock = opts.cidLockout ?? DEFAULT_LIMITS.cidLockout
    this.maxConnections = opts.maxConnections ?? DEFAULT_LIMITS.maxConnections
    this.maxTracked = Math.max(1, opts.maxTracked ?? DEFAULT_LIMITS.maxTracked)
    this.now = opts.now ?? Date.now
    if (this.rate !== false && (!(this.rate.burst >= 1) || !(this.rate.perSecond > 0))) {
      throw new RangeError('connRate needs burst >= 1 and perSecond > 0')
    }
    for (const l of [this.addrLock, this.cidLock]) {
      if (l !== false && (!(l.maxFailures >= 1) || !(l.windowMs > 0) || !(l.banMs >= 0))) {
        throw new RangeError('lockout needs maxFailures >= 1, windowMs > 0 and banMs >= 0')
      }
    }
  }

  /**
   * One connection attempt from `peer` (for charge point `cid` when already known). On
   * success the caller holds a connection slot until it calls `release` (idempotent).
   */
  admit (peer: string, cid?: string): LimitDecision {
    const now = this.now()
    const addr = addressKey(peer)
    if (this.rate !== false) {
      const wait = this.take(addr, now, this.rate)
      if (wait > 0) return refuse('rate_limited', wait)
    }
    const banned = Math.max(
      this.banLeft(this.addrFailures, addr, now),
      cid === undefined ? 0 : this.banLeft(this.cidFailures, cid, now)
    )
    if (banned > 0) return refuse('locked_out', banned)
    if (this.maxConnections > 0 && this.open >= this.maxConnections) return refuse('too_many_connections', 1000)
    this.open++
    let held = true
    let spent = this.rate !== false
    return {
      ok: true,
      release: () => { if (held) { held = false; this.open-- } },
      refund: () => { if (spent) { spent = false; this.giveBack(addr) } }
    }
  }

  /** Is this id locked out right now? ms left, 0 when not (for checks after the id is parsed). */
  cidBanLeft (cid: string): number {
    return this.banLeft(this.cidFailures, cid, this.now())
  }

  /** Count one failed authentication (see countsAsFailure in ./types.ts). */
  recordFailure (peer: string, cid?: string): void {
    const now = this.now()
    if (this.addrLock !== false) this.fail(this.addrFailures, addressKey(peer), now, this.addrLock)
    if (this.cidLock !== false && cid !== undefined) this.fail(this.cidFailures, cid, now, this.cidLock)
  }

  /** Connections holding a slot. */
  get connections (): number { return this.open }

  /** Sizes of the tables, for metrics and tests. */
  get tracked (): { buckets: number, addresses: number, cids: number } {
    return { buckets: this.buckets.size, addresses: this.addrFailures.size, cids: this.cidFailures.size }
  }

  /** Drop entries that no longer change any decision. Cheap to call from a periodic sweep. */
  sweep (): void {
    const now = this.now()
    this.sweepBuckets(now)
    this.sweepFailures(this.addrFailures, now, this.addrLock)
    this.sweepFailures(this.cidFailures, now, this.cidLock)
  }

  /** Take a token; 0 when taken, else ms until one is available. */
  private take (key: string, now: number, rate: { burst: number, perSecond: number }): number {
    let b = this.buckets.get(key)
    if (b === undefined) {
      if (this.buckets.size >= this.maxTracked) this.makeRoom(this.buckets, () => this.sweepBuckets(now))
      b = { tokens: rate.burst, at: now }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(rate.burst, b.tokens + Math.max(0, now - b.at) * rate.perSecond / 1000)
      b.at = now
    }
    if (b.tokens >= 1) { b.tokens -= 1; return 0 }
    return Math.ceil((1 - b.tokens) * 1000 / rate.perSecond)
  }

  /** One token back into the bucket of `key` (capped at burst); a bucket forgotten meanwhile starts full anyway. */
  private giveBack (key: string): void {
    const rate = this.rate
    const b = this.buckets.get(key)
    if (rate === false || b === undefined) return
    const now = this.now()
    b.tokens = Math.min(rate.burst, b.tokens + Math.max(0, now - b.at) * rate.perSecond / 1000 + 1)
    b.at = now
  }

  private banLeft (map: Map<string, Failures>, key: string, now: number): number {
    const f = map.get(key)
    return f === undefined || f.bannedUntil <= now ? 0 : f.bannedUntil - now
  }

  private fail (map: Map<string, Failures>, key: string, now: number, lock: LockoutOptions): void {
    let f = map.get(key)
    if (f === undefined) {
      if (map.size >= this.maxTracked) this.makeRoom(map, () => this.sweepFailures(map, now, lock))
      f = { count: 0, since: now, bannedUntil: 0 }
      map.set(key, f)
    }
    if (f.bannedUntil > now) return // already banned; the ban is not extended by attempts made during it
    if (now - f.since >= lock.windowMs) { f.count = 0; f.since = now }
    f.count++
    if (f.count >= lock.maxFailures) {
      f.bannedUntil = now + lock.banMs
      f.count = 0
      f.since = now
    }
  }

  private makeRoom<V> (map: Map<string, V>, sweep: () => void): void {
    sweep()
    // Still full: forget the oldest key (first inserted).
    while (map.size >= this.maxTracked) {
      const oldest = map.keys().next().value
      if (oldest === undefined) break
      map.delete(oldest)
    }
  }

  private sweepBuckets (now: number): void {
    const rate = this.rate
    if (rate === false) { this.buckets.clear(); return }
    for (const [k, b] of this.buckets) {
      if (b.tokens + Math.max(0, now - b.at) * rate.perSecond / 1000 >= rate.burst) this.buckets.delete(k)
    }
  }

  private sweepFailures (map: Map<string, Failures>, now: number, lock: LockoutOptions | false): void {
    if (lock === false) { map.clear(); return }
    for (const [k, f] of map) {
      if (f.bannedUntil <= now && now - f.since >= lock.windowMs) map.delete(k)
    }
  }
}

function refuse (reason: LimitReason, retryAfterMs: number): LimitDecision {
  return { ok: false, status: LIMIT_STATUS[reason], reason, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) }
}

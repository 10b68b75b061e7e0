/**
 * A bounded LRU of authentication decisions with separate lifetimes for allow and deny.
 * Keys are HMAC-SHA256 digests under a per-process random key, so the cache never holds a
 * password, and a memory dump does not give a cheap offline guessing oracle either.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { AuthDecision } from './types.js'
import { defaults } from '../config/defaults.js'
import { durationMs } from '../config/duration.js'

// The HTTP authenticator's `cache` defaults, the one user of this cache.
const cacheDefaults = defaults.authenticator.http.cache
const DEFAULT_ALLOW_TTL_MS = durationMs(cacheDefaults.allow_ttl, 'authentication[].cache.allow_ttl', { finite: true })
const DEFAULT_DENY_TTL_MS = durationMs(cacheDefaults.deny_ttl, 'authentication[].cache.deny_ttl', { finite: true })

export interface DecisionCacheOptions {
  /** Most entries kept (default `cache.max_size`, 10000); the least recently used goes first. */
  maxSize?: number
  /** Lifetime of an allow, ms (default `cache.allow_ttl`, 60 s). 0 = do not cache allows. */
  allowTtlMs?: number
  /** Lifetime of a deny, ms (default `cache.deny_ttl`, 5 s). 0 = do not cache denials. */
  denyTtlMs?: number
  now?: () => number
}

export class DecisionCache {
  private readonly map = new Map<string, { decision: AuthDecision, expires: number }>()
  private readonly key = randomBytes(32)
  private readonly maxSize: number
  private readonly allowTtl: number
  private readonly denyTtl: number
  private readonly now: () => number

  constructor (opts: DecisionCacheOptions = {}) {
    this.maxSize = Math.max(0, opts.maxSize ?? cacheDefaults.max_size)
    this.allowTtl = Math.max(0, opts.allowTtlMs ?? DEFAULT_ALLOW_TTL_MS)
    this.denyTtl = Math.max(0, opts.denyTtlMs ?? DEFAULT_DENY_TTL_MS)
    this.now = opts.now ?? Date.now
  }

  /** Digest of the given parts, unambiguous (length-prefixed) and keyed. */
  keyOf (parts: ReadonlyArray<string | undefined>): string {
    const h = createHmac('sha256', this.key)
    for (const p of parts) {
      if (p === undefined) h.update('\u0000-')
      else h.update(`\u0000${Buffer.byteLength(p)}:`).update(p)
    }
    return h.digest('base64url')
  }

  get (key: string): AuthDecision | undefined {
    const e = this.map.get(key)
    if (e === undefined) return undefined
    this.map.delete(key)
    if (e.expires <= this.now()) return undefined
    this.map.set(key, e) // most recently used goes to the end
    return e.decision
  }

  set (key: string, decision: AuthDecision): void {
    const ttl = decision.ok ? this.allowTtl : this.denyTtl
    if (ttl === 0 || this.maxSize === 0) return
    this.map.delete(key)
    this.map.set(key, { decision, expires: this.now() + ttl })
    while (this.map.size > this.maxSize) {
      const oldest = this.map.keys().next().value
      if (oldest === undefined) break
      this.map.delete(oldest)
    }
  }

  get size (): number { return this.map.size }

  clear (): void { this.map.clear() }
}

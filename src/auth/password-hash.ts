/**
 * Password hashes with Node's built-in scrypt (RFC 7914), self-describing so parameters can
 * be raised later without invalidating existing entries:
 *
 *   scrypt$<N>$<r>$<p>$<salt, base64url>$<key, base64url>
 *
 * @example
 *   const h = await hashPassword('s3cret')           // 'scrypt$16384$8$1$…$…'
 *   await verifyPassword('s3cret', h)                // true
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

export interface ScryptParams { N: number, r: number, p: number }

/** OWASP's scrypt baseline (N=2^14 with r=8 uses 16 MiB and ~30–60 ms per check). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 })

const SALT_BYTES = 16
const KEY_BYTES = 32
// Bounds for parameters read from a file: enough headroom to raise the cost, not enough
// for one bad line to make every check take seconds or exhaust memory.
const MAX_N = 1 << 20
const MAX_R = 32
const MAX_P = 16
const MAX_MEM = 256 * 1024 * 1024

export interface ParsedHash { params: ScryptParams, salt: Buffer, key: Buffer }

function scrypt (password: string | Buffer, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, len, opts, (err, key) => { err ? reject(err) : resolve(key) })
  })
}

function memFor ({ N, r }: ScryptParams): number {
  return 128 * N * r + 1024 * 1024
}

/** Parse a hash string; undefined when it is not a well-formed scrypt hash within bounds. */
export function parseHash (s: string): ParsedHash | undefined {
  const parts = s.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string]
  if (!/^\d{1,8}$/.test(n) || !/^\d{1,3}$/.test(r) || !/^\d{1,3}$/.test(p)) return undefined
  const params = { N: Number(n), r: Number(r), p: Number(p) }
  if (params.N < 2 || params.N > MAX_N || (params.N & (params.N - 1)) !== 0) return undefined
  if (params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) return undefined
  if (memFor(params) > MAX_MEM) return undefined
  if (!/^[A-Za-z0-9_-]+$/.test(salt) || !/^[A-Za-z0-9_-]+$/.test(key)) return undefined
  const saltBuf = Buffer.from(salt, 'base64url')
  const keyBuf = Buffer.from(key, 'base64url')
  if (saltBuf.length < 8 || keyBuf.length < 16 || keyBuf.length > 64) return undefined
  return { params, salt: saltBuf, key: keyBuf }
}

/** A password as text (hashed as its UTF-8 bytes) or as raw bytes (a binary 1.6 AuthorizationKey). */
export type PasswordInput = string | Buffer

export async function hashPassword (password: PasswordInput, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await scrypt(password, salt, KEY_BYTES, { ...params, maxmem: memFor(params) })
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Constant-time check of a password against a parsed hash. */
export async function verifyParsed (password: PasswordInput, h: ParsedHash): Promise<boolean> {
  const key = await scrypt(password, h.salt, h.key.length, { ...h.params, maxmem: memFor(h.params) })
  return timingSafeEqual(key, h.key)
}

/** Constant-time check of a password against a hash string; false for a malformed hash. */
export async function verifyPassword (password: PasswordInput, hash: string): Promise<boolean> {
  const h = parseHash(hash)
  return h === undefined ? false : await verifyParsed(password, h)
}

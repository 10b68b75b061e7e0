/**
 * API keys of the admin API, pure apart from {@link loadApiKeys}. A key is 32 random bytes,
 * base64url, shown once by `ocpp-gateway apikey add`; the file keeps its SHA-256 only, one
 * key per line in the credentials file's layout (src/auth/credentials-format.ts):
 *
 *   # comment
 *   <name>:sha256$<digest, base64url>
 *   <name>:sha256$<digest, base64url>;role=viewer
 *
 * A key's role is `admin` (every route; a line without `;role=` is one, so files written
 * before roles existed keep working) or `viewer` (GET and HEAD only: it may look, not kick
 * or send Calls). The role sits in the hash field so the shared `<id>:<hash>` layout, and the
 * editing helpers of credentials-format.ts, stay as they are.
 *
 * SHA-256 rather than the charge points' scrypt: a key has 256 bits of entropy, so there is
 * nothing for a slow hash to protect against guessing, and scrypt (30-60 ms) on every request
 * would make the API a CPU sink. The digest is compared in constant time.
 *
 * @example
 *   const key = newApiKey()                      // print once
 *   upsertEntry(text, 'grafana', hashApiKey(key))
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { invalidIdReason } from '../auth/credentials-format.js'
import { GatewayError } from '../errors.js'

const PREFIX = 'sha256$'

export const API_KEY_ROLES = ['admin', 'viewer'] as const
export type ApiKeyRole = typeof API_KEY_ROLES[number]

export interface ApiKey { digest: Buffer, role: ApiKeyRole }

export type ApiKeys = ReadonlyMap<string, ApiKey>

export type ParseApiKeysResult = { ok: true, keys: ApiKeys } | { ok: false, line: number, message: string }

export function newApiKey (): string {
  return randomBytes(32).toString('base64url')
}

/** The hash field of a key's line; with the role when it is not the default `admin`. */
export function hashApiKey (key: string, role: ApiKeyRole = 'admin'): string {
  return PREFIX + createHash('sha256').update(key).digest('base64url') + (role === 'admin' ? '' : `;role=${role}`)
}

/** The whole file or nothing; messages name the line, never its content. */
export function parseApiKeys (text: string): ParseApiKeysResult {
  const keys = new Map<string, ApiKey>()
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? '').replace(/\r$/, '')
    const t = line.trimStart()
    if (t === '' || t.startsWith('#')) continue
    const i = line.lastIndexOf(':')
    if (i < 0) return { ok: false, line: n + 1, message: "expected '<name>:sha256$<digest>'" }
    const name = line.slice(0, i)
    const [hash = '', ...options] = line.slice(i + 1).trim().split(';')
    const bad = invalidIdReason(name)
    if (bad !== undefined) return { ok: false, line: n + 1, message: bad.replace(/\bid\b/, 'name') }
    const digest = hash.startsWith(PREFIX) ? Buffer.from(hash.slice(PREFIX.length), 'base64url') : undefined
    if (digest?.length !== 32) return { ok: false, line: n + 1, message: 'not a sha256$ digest' }
    let role: ApiKeyRole = 'admin'
    for (const o of options) {
      const r = /^role=(.*)$/.exec(o.trim())?.[1]
      if (!API_KEY_ROLES.includes(r as ApiKeyRole)) return { ok: false, line: n + 1, message: `unknown option (expected ;role=${API_KEY_ROLES.join('|')})` }
      role = r as ApiKeyRole
    }
    if (keys.has(name)) return { ok: false, line: n + 1, message: 'duplicate name' }
    keys.set(name, { digest, role })
  }
  return { ok: true, keys }
}

/** The name of the key presented, or undefined when it is none of them. */
export function matchApiKey (keys: ApiKeys, presented: string): string | undefined {
  const digest = createHash('sha256').update(presented).digest()
  let found: string | undefined
  // Every entry compared, so the time does not say how far down the file a key is.
  for (const [name, k] of keys) if (timingSafeEqual(k.digest, digest) && found === undefined) found = name
  return found
}

/** Read and parse the keys file; a GatewayError (OCPPGW_ERR_API_KEYS_FILE) when it cannot be used. */
export async function loadApiKeys (path: string): Promise<ApiKeys> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new GatewayError('OCPPGW_ERR_API_KEYS_FILE', `admin.api_keys_file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err })
  }
  const r = parseApiKeys(text)
  if (!r.ok) throw new GatewayError('OCPPGW_ERR_API_KEYS_FILE', `admin.api_keys_file ${path} line ${r.line}: ${r.message}`)
  return r.keys
}

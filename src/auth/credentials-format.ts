/**
 * The credentials file format, pure (no I/O): one charge point per line,
 *
 *   # comment
 *   <charge point id>:<scrypt hash>
 *   <charge point id>:<new hash>[,<new hash>…],<current hash>     (a password change under way)
 *   <charge point id>:<hash> min_profile=2 upgrade=3               (security profile settings)
 *
 * After the hashes, space-separated settings: `min_profile=N` refuses connections of this
 * charge point on a lower security profile; `upgrade=N` is an accepted upgrade to profile N
 * not yet used (its first connection on profile N or higher makes N the minimum).
 *
 * During a password change (./credentials-file.ts, docs/security.md "Password rotation") an
 * entry holds the hashes of the new password (a 1.6 AuthorizationKey may have two readings)
 * before the current one, the last: all are accepted, and the first connection with a new one
 * makes it the only one. At most {@link MAX_HASHES} per entry (each is a scrypt for a wrong
 * password).
 *
 * like htpasswd or mosquitto's password file. The id is everything before the LAST ':'
 * (a hash never contains ':'), so ids may contain ':' themselves. Blank lines and lines
 * whose first non-blank character is '#' are ignored ('#' can never start a charge point id:
 * EMQX-compatible ids exclude '/', '+' and '#'). Entries are edited in place, keeping
 * comments and order, by {@link upsertEntry} / {@link removeEntry}.
 */
import { parseHash, type ParsedHash } from './password-hash.js'

export const MAX_ID_LENGTH = 255

/** Hashes per entry: up to two pending readings of a new password and the current one. */
export const MAX_HASHES = 3

/** The settings after an entry's hashes. */
export interface EntrySettings {
  minProfile?: SecurityLevel
  upgrade?: SecurityLevel
}

/** A security profile a setting can name. */
export type SecurityLevel = 0 | 1 | 2 | 3

export interface CredentialsEntry extends EntrySettings {
  /** The whole hash field as written (hashes only): the identity of this entry's password state. */
  hash: string
  /** The current password's hash (the last of the field). */
  parsed: ParsedHash
  /** Every hash of the field in order, pending ones first, the current one last. */
  hashes: ReadonlyArray<{ hash: string, parsed: ParsedHash }>
}

export type CredentialsTable = ReadonlyMap<string, CredentialsEntry>

export type ParseCredentialsResult =
  | { ok: true, table: CredentialsTable }
  | { ok: false, line: number, message: string }

/** Why an id cannot be a charge point id, or undefined when it can. */
export function invalidIdReason (id: string): string | undefined {
  if (id.length === 0) return 'empty id'
  if (id.length > MAX_ID_LENGTH) return `id longer than ${MAX_ID_LENGTH} characters`
  if (/[/+#]/.test(id)) return "id contains '/', '+' or '#'"
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(id)) return 'id contains whitespace or control characters'
  return undefined
}

function isSkipped (line: string): boolean {
  const t = line.trimStart()
  return t === '' || t.startsWith('#')
}

function splitEntry (line: string): { id: string, hash: string } | undefined {
  const i = line.lastIndexOf(':')
  if (i < 0) return undefined
  return { id: line.slice(0, i), hash: line.slice(i + 1).trim() }
}

/**
 * Parse the whole file or nothing: one bad line rejects the file, so that a half-written
 * edit never silently drops chargers. Messages name the line, never its content.
 */
export function parseCredentials (text: string): ParseCredentialsResult {
  const table = new Map<string, CredentialsEntry>()
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? '').replace(/\r$/, '')
    if (isSkipped(line)) continue
    const entry = splitEntry(line)
    if (entry === undefined) return { ok: false, line: n + 1, message: "expected '<id>:<hash>'" }
    const bad = invalidIdReason(entry.id)
    if (bad !== undefined) return { ok: false, line: n + 1, message: bad }
    const [hashField = '', ...settings] = entry.hash.split(/[ \t]+/)
    const opts = parseSettings(settings)
    if (typeof opts === 'string') return { ok: false, line: n + 1, message: opts }
    const parts = hashField.split(',')
    if (parts.length > MAX_HASHES) return { ok: false, line: n + 1, message: `more than ${MAX_HASHES} hashes` }
    const hashes: Array<{ hash: string, parsed: ParsedHash }> = []
    for (const h of parts) {
      const parsed = parseHash(h)
      if (parsed === undefined) return { ok: false, line: n + 1, message: 'not a valid scrypt hash' }
      hashes.push({ hash: h, parsed })
    }
    const current = hashes[hashes.length - 1]
    if (current === undefined) return { ok: false, line: n + 1, message: 'not a valid scrypt hash' }
    if (table.has(entry.id)) return { ok: false, line: n + 1, message: 'duplicate id' }
    table.set(entry.id, { hash: hashField, parsed: current.parsed, hashes, ...opts })
  }
  return { ok: true, table }
}

function parseSettings (tokens: string[]): EntrySettings | string {
  const out: EntrySettings = {}
  for (const t of tokens) {
    const m = /^(min_profile|upgrade)=([0-3])$/.exec(t)
    if (m === null) return 'unknown setting (expected min_profile=0..3 or upgrade=0..3 after the hashes)'
    const level = Number(m[2]) as SecurityLevel
    if (m[1] === 'min_profile') out.minProfile = level
    else out.upgrade = level
  }
  return out
}

/** The text after `<id>:` for an entry: its hashes (comma-separated), then its settings. */
export function entryField (hashes: readonly string[], settings: EntrySettings = {}): string {
  const parts = [hashes.join(',')]
  if (settings.minProfile !== undefined && settings.minProfile > 0) parts.push(`min_profile=${settings.minProfile}`)
  if (settings.upgrade !== undefined && settings.upgrade > (settings.minProfile ?? 0)) parts.push(`upgrade=${settings.upgrade}`)
  return parts.join(' ')
}

/** Ids in file order. */
export function listIds (text: string): string[] {
  const ids: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '')
    if (isSkipped(line)) continue
    const e = splitEntry(line)
    if (e !== undefined) ids.push(e.id)
  }
  return ids
}

function findLine (lines: string[], id: string): number {
  return lines.findIndex(l => {
    const line = l.replace(/\r$/, '')
    return !isSkipped(line) && splitEntry(line)?.id === id
  })
}

/** Replace the entry for `id`, or append it. `updated` says which. */
export function upsertEntry (text: string, id: string, hash: string): { text: string, updated: boolean } {
  const lines = text === '' ? [] : text.split('\n')
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const i = findLine(lines, id)
  const entry = `${id}:${hash}`
  if (i >= 0) lines[i] = entry
  else lines.push(entry)
  return { text: lines.join('\n') + '\n', updated: i >= 0 }
}

/** Remove the entry for `id`; `removed` is false when there was none. */
export function removeEntry (text: string, id: string): { text: string, removed: boolean } {
  const lines = text.split('\n')
  const i = findLine(lines, id)
  if (i < 0) return { text, removed: false }
  lines.splice(i, 1)
  return { text: lines.join('\n'), removed: true }
}

export const FILE_HEADER =
  '# ocpp-gateway credentials: one charge point per line, "<id>:<scrypt hash>".\n' +
  '# Edit with: ocpp-gateway passwd add|remove|list|hash --file <this file>\n'

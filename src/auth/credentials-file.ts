/**
 * Authenticator backed by a credentials file (format: ./credentials-format.ts). The file is
 * re-read when it changes (src/util/watch-files.ts: fs.watch on its directory, so atomic
 * replace-by-rename is seen, plus a stat poll for file systems where watching is unreliable). A file that fails to
 * parse or disappears never replaces the table in use: the old one stays, and onError says why.
 *
 * @example
 *   const auth = await CredentialsFileAuthenticator.open({ path: '/etc/ocpp-gateway/credentials' })
 *   await auth.authenticate({ cid: 'CP1', username: 'CP1', password: 'pw', peer, listener, profile: 2 })
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { watchFiles, type FileWatch } from '../util/watch-files.js'
import { writeAtomic } from '../util/write-atomic.js'
import { entryField, MAX_HASHES, parseCredentials, upsertEntry, type CredentialsTable, type SecurityLevel } from './credentials-format.js'
import { DEFAULT_SCRYPT, hashPassword, verifyParsed, type ParsedHash } from './password-hash.js'
import type { HashLimiter } from './hash-limiter.js'
import { allow, deny, type AuthDecision, type AuthRequest, type Authenticator } from './types.js'
import { defaults } from '../config/defaults.js'
import { GatewayError } from '../errors.js'
import { durationMs } from '../config/duration.js'

export interface CredentialsFileOptions {
  path: string
  /** Accept a Basic user-id different from the charge point id (the password is still the id's). */
  allowUsernameMismatch?: boolean
  /** Watch the file and reload on change (default true). */
  watch?: boolean
  /** Stat poll interval in ms, the fallback for fs.watch (default `reload_interval`, 2 s; 0 disables). */
  pollIntervalMs?: number
  /** Largest file accepted, in bytes (default 16 MiB). */
  maxFileBytes?: number
  /**
   * Bounds the scrypt checks running at once (shared by every authenticator of a gateway);
   * when its queue is full the answer is 503 `overloaded`, without hashing. None: unbounded.
   */
  hashLimiter?: HashLimiter
  onReload?: (info: { entries: number }) => void
  /** A charge point connected with its new password (a change seen through the gateway), now its only one. */
  onPasswordChanged?: (info: { cid: string }) => void
  /** A charge point used an accepted upgrade: its min_profile is now `profile`. */
  onProfileRaised?: (info: { cid: string, profile: SecurityLevel }) => void
  onError?: (err: Error) => void
}

/** Passwords longer than this (in bytes) are refused before hashing (OCPP passwords are at most 40 characters). */
const MAX_PASSWORD_BYTES = 1024
const DEBOUNCE_MS = 50
const DEFAULT_POLL_MS = durationMs(defaults.authenticator.file.reload_interval, 'authentication[].reload_interval', { finite: true })

/** The credentials file cannot be read or parsed (`OCPPGW_ERR_CREDENTIALS_FILE`); the message names it and the line. */
export class CredentialsFileError extends GatewayError {
  constructor (message: string) {
    super('OCPPGW_ERR_CREDENTIALS_FILE', message)
    this.name = 'CredentialsFileError'
  }
}

export class CredentialsFileAuthenticator implements Authenticator {
  readonly name = 'credentials-file'
  readonly path: string
  private table: CredentialsTable = new Map()
  private lastText: string | undefined
  private readonly opts: CredentialsFileOptions
  private watcher: FileWatch | undefined
  private closed = false
  /**
   * Successful checks remembered as HMAC(process key, password) per id, so a reconnect storm
   * does not cost one scrypt per charger. Only ids in the table are kept (bounded by the file);
   * a wrong password always pays the full scrypt, so this gives a guesser nothing.
   */
  private readonly verified = new Map<string, { hash: string, tag: Buffer }>()
  private readonly hmacKey = randomBytes(32)
  private dummy: ParsedHash | undefined
  private dummyFor: CredentialsTable | undefined
  /** Edits of the file by the gateway itself, one at a time. */
  private editing: Promise<unknown> = Promise.resolve()

  private constructor (opts: CredentialsFileOptions) {
    this.opts = opts
    this.path = resolve(opts.path)
  }

  /** Load the file (a missing or invalid file is an error at start-up) and start watching. */
  static async open (opts: CredentialsFileOptions): Promise<CredentialsFileAuthenticator> {
    const a = new CredentialsFileAuthenticator(opts)
    const err = await a.load()
    if (err !== undefined) throw err
    if (opts.watch !== false) a.startWatching()
    return a
  }

  /** Number of charge points in the table in use. */
  get size (): number { return this.table.size }

  has (cid: string): boolean { return this.table.has(cid) }

  async authenticate (req: AuthRequest): Promise<AuthDecision> {
    if (req.password === undefined) return deny('missing_credentials')
    if (this.opts.allowUsernameMismatch !== true && req.username !== req.cid) return deny('username_mismatch')
    // Compared byte for byte: a 1.6 AuthorizationKey may be binary (its UTF-8 text loses bytes).
    const password = req.passwordBytes ?? Buffer.from(req.password, 'utf8')
    const entry = this.table.get(req.cid)
    if (entry === undefined || password.length > MAX_PASSWORD_BYTES) {
      // Same work as a real check, so timing does not tell which ids exist.
      const done = await this.hash(password.subarray(0, MAX_PASSWORD_BYTES), this.dummyHash())
      if (done === undefined) return deny('overloaded')
      return entry === undefined ? deny('unknown_id', true) : deny('bad_password')
    }
    const tag = createHmac('sha256', this.hmacKey).update(password).digest()
    const seen = this.verified.get(req.cid)
    // Before the limiter: a charger that got in before is let in while guesses are refused.
    if (seen !== undefined && seen.hash === entry.hash && timingSafeEqual(seen.tag, tag)) return allow()
    // A password change under way: the new password's hashes first, the current one last.
    let matched = -1
    for (let i = 0; i < entry.hashes.length && matched < 0; i++) {
      const match = await this.hash(password, (entry.hashes[i] as { parsed: ParsedHash }).parsed)
      if (match === undefined) return deny('overloaded')
      if (match) matched = i
    }
    if (matched < 0) return deny('bad_password')
    const last = entry.hashes.length - 1
    if (matched < last) {
      // The charge point connected with its new password: that one stays, the others go.
      void this.keepOnly(req.cid, entry.hash, (entry.hashes[matched] as { hash: string }).hash)
    } else if (this.table.get(req.cid)?.hash === entry.hash) {
      // The table may have been reloaded during the check; only remember what still holds.
      this.verified.set(req.cid, { hash: entry.hash, tag })
    }
    return allow()
  }

  /**
   * A password change the charge point accepted (src/ocpp/credential-changes.ts): the hashes
   * of its readings go before the current password's, which stays valid until the charge point
   * connects with a new one. Pending readings of an earlier change are replaced. The file is
   * rewritten atomically; a concurrent edit of the same entry by someone else wins over this.
   */
  async addPending (cid: string, candidates: readonly Buffer[]): Promise<'stored' | 'unknown_id'> {
    return await this.edit(async (table) => {
      const entry = table.get(cid)
      if (entry === undefined) return { result: 'unknown_id' }
      const current = entry.hashes[entry.hashes.length - 1] as { hash: string }
      const fresh: string[] = []
      for (const c of candidates.slice(0, MAX_HASHES - 1)) fresh.push(await hashPassword(c, entry.parsed.params))
      return { result: 'stored', field: { cid, value: entryField([...fresh, current.hash], entry) } }
    })
  }

  /** The lowest security profile this charge point may connect on (its `min_profile`), if the file has it. */
  minProfile (cid: string): SecurityLevel | undefined {
    return this.table.get(cid)?.minProfile
  }

  /**
   * An upgrade to `profile` the charge point accepted (1.6 SecurityProfile, 2.x
   * SetNetworkProfile): kept as `upgrade=N` until the charge point connects on that profile or
   * higher, which makes it the minimum ({@link connectedOn}). Not the minimum at once: a
   * charge point that cannot connect on the new profile falls back to its old one (2.0.1
   * A05), and must not be locked out for it.
   */
  async addUpgrade (cid: string, profile: SecurityLevel): Promise<'stored' | 'unknown_id' | 'unchanged'> {
    return await this.edit(async (table) => {
      const entry = table.get(cid)
      if (entry === undefined) return { result: 'unknown_id' }
      if (profile <= (entry.minProfile ?? 0) || profile === entry.upgrade) return { result: 'unchanged' }
      return { result: 'stored', field: { cid, value: entryField(entry.hashes.map((h) => h.hash), { ...entry, upgrade: profile }) } }
    })
  }

  /** A charge point got in on `profile`: an upgrade it has now used becomes its minimum. Resolves the new minimum when raised. */
  async connectedOn (cid: string, profile: SecurityLevel): Promise<SecurityLevel | undefined> {
    const upgrade = this.table.get(cid)?.upgrade
    if (upgrade === undefined || profile < upgrade) return undefined
    const raised = await this.edit(async (table) => {
      const entry = table.get(cid)
      if (entry?.upgrade === undefined || profile < entry.upgrade) return { result: undefined }
      const { upgrade: level, ...rest } = entry
      return { result: level, field: { cid, value: entryField(entry.hashes.map((h) => h.hash), { ...rest, minProfile: Math.max(level, entry.minProfile ?? 0) as SecurityLevel }) } }
    })
    if (raised !== undefined) this.opts.onProfileRaised?.({ cid, profile: raised })
    return raised
  }

  /** Leave `hash` as the entry's only one, if the entry is still `field` (nobody changed it meanwhile). */
  private async keepOnly (cid: string, field: string, hash: string): Promise<void> {
    try {
      const done = await this.edit(async (table) => {
        const entry = table.get(cid)
        return entry?.hash === field ? { result: true, field: { cid, value: entryField([hash], entry) } } : { result: false }
      })
      if (done) this.opts.onPasswordChanged?.({ cid })
    } catch (e) {
      this.report(e instanceof Error ? e : new Error(String(e)))
    }
  }

  /**
   * One edit of the file at a time, on its current content (read again, so that an operator's
   * edit since the last reload is not undone), written atomically and installed at once.
   */
  private async edit<T> (change: (table: CredentialsTable) => Promise<{ result: T, field?: { cid: string, value: string } }>): Promise<T> {
    const run = this.editing.then(async () => {
      const text = await readFile(this.path, 'utf8')
      const parsed = parseCredentials(text)
      if (!parsed.ok) throw new CredentialsFileError(`credentials file ${this.path} line ${parsed.line}: ${parsed.message}; not changed`)
      const { result, field } = await change(parsed.table)
      if (field === undefined) return result
      const next = upsertEntry(text, field.cid, field.value).text
      await writeAtomic(this.path, next)
      this.install(next)
      return result
    })
    this.editing = run.catch(() => {})
    return await run
  }

  /**
   * Re-read the file now. Resolves true when a new table is in use, false when nothing
   * changed or the file was rejected (then onError was called and the old table is kept).
   */
  async reload (): Promise<boolean> {
    // Serialised with the gateway's own edits (and other reloads): a read that started before
    // an edit wrote the file must not install the older text after the edit installed the new.
    const next = this.editing.then(async () => {
      const before = this.table
      const err = await this.load()
      if (err !== undefined) { this.report(err); return false }
      return this.table !== before
    })
    this.editing = next.catch(() => {})
    return await next
  }

  close (): void {
    this.closed = true
    this.watcher?.close()
    this.watcher = undefined
  }

  /** One scrypt check within the hash limiter; undefined when it refused (queue full). */
  private async hash (password: Buffer, h: ParsedHash): Promise<boolean | undefined> {
    const limiter = this.opts.hashLimiter
    if (limiter === undefined) return await verifyParsed(password, h)
    const slot = limiter.acquire()
    if (slot === undefined) return undefined
    const release = await slot
    try {
      return await verifyParsed(password, h)
    } finally {
      release()
    }
  }

  /** A hash nothing matches, with the cost of the table's entries (the first one's). */
  private dummyHash (): ParsedHash {
    if (this.dummy === undefined || this.dummyFor !== this.table) {
      const first = this.table.values().next().value
      this.dummy = { params: first?.parsed.params ?? DEFAULT_SCRYPT, salt: randomBytes(16), key: randomBytes(32) }
      this.dummyFor = this.table
    }
    return this.dummy
  }

  /** Read and parse; install the table on success. Returns the error instead of throwing. */
  private async load (): Promise<CredentialsFileError | undefined> {
    let text: string
    try {
      const st = await stat(this.path)
      const max = this.opts.maxFileBytes ?? 16 * 1024 * 1024
      if (st.size > max) return new CredentialsFileError(`credentials file ${this.path} is larger than ${max} bytes`)
      text = await readFile(this.path, 'utf8')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
      return new CredentialsFileError(`cannot read credentials file ${this.path} (${code})`)
    }
    if (text === this.lastText) return undefined
    const err = this.install(text)
    if (err === undefined) this.opts.onReload?.({ entries: this.table.size })
    return err
  }

  /** Parse and use `text`; the table in use stays when it does not parse. */
  private install (text: string): CredentialsFileError | undefined {
    const parsed = parseCredentials(text)
    if (!parsed.ok) return new CredentialsFileError(`credentials file ${this.path} line ${parsed.line}: ${parsed.message}; keeping the previous table`)
    this.table = parsed.table
    this.lastText = text
    for (const [id, v] of this.verified) {
      if (this.table.get(id)?.hash !== v.hash) this.verified.delete(id)
    }
    return undefined
  }

  private report (err: Error): void {
    if (this.opts.onError !== undefined) this.opts.onError(err)
  }

  private startWatching (): void {
    this.watcher = watchFiles([this.path], () => { if (!this.closed) void this.reload() }, {
      debounceMs: DEBOUNCE_MS,
      pollIntervalMs: this.opts.pollIntervalMs ?? DEFAULT_POLL_MS
    })
  }
}

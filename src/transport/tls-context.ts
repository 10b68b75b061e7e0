/**
 * TLS contexts for wss listeners (security profiles 2 and 3), from PEM files named as in
 * EMQX's `ssl_options` (certfile, keyfile, cacertfile, password, verify, fail_if_no_peer_cert),
 * plus ours, `certificates`: more certificate/key pairs on the same listener, one per key type
 * (RSA next to ECDSA), so that every cipher suite OCPP requires can be negotiated.
 *
 * - {@link loadTlsOptions} reads the files and checks that they make a usable context
 *   (key matches certificate) before anyone relies on them.
 * - {@link TlsReloader} re-reads them on file change (fs.watch on their directories, plus a
 *   stat poll) or on demand with `reload()`, and installs them with
 *   `server.setSecureContext()`: existing connections keep the context they were made with,
 *   new ones get the new files. A broken set of files (half-copied, key not matching) is
 *   reported and the old context stays in use.
 * - Profile 3: `requestCert` + `rejectUnauthorized` make the TLS layer refuse a missing,
 *   expired or foreign client certificate during the handshake (no HTTP answer at all); see
 *   ./tls-errors.ts for why a handshake was refused and for the verified certificate's CN.
 *
 * Errors are `GatewayError` with code `OCPPGW_ERR_TLS_CONFIG`, naming the file, never its content.
 *
 * @example
 *   const tlsOpts = await loadTlsOptions({ certfile, keyfile, cacertfile }, 3)
 *   const server = https.createServer(tlsOpts)
 *   const reloader = new TlsReloader(server, { certfile, keyfile, cacertfile }, { onError: log.error })
 *   // on SIGHUP (the CLI's): await reloader.reload()
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls'
import type { CertKeyFiles, SecurityProfile, TlsFiles } from '../config/security.js'
import { GatewayError } from '../errors.js'
import { watchFiles, type FileWatch } from '../util/watch-files.js'

function configError (message: string): GatewayError {
  return new GatewayError('OCPPGW_ERR_TLS_CONFIG', message)
}

function readOrExplain (read: (p: string) => Buffer, what: string, path: string): Buffer {
  try {
    return read(path)
  } catch (e) {
    throw configError(`cannot read ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`)
  }
}

/** The PEM of every pair, the first one's first. */
interface PairPem { files: CertKeyFiles, cert: Buffer, key: Buffer }

function pairsOf (files: TlsFiles): CertKeyFiles[] {
  const first: CertKeyFiles = files.password === undefined ? { certfile: files.certfile, keyfile: files.keyfile } : { certfile: files.certfile, keyfile: files.keyfile, password: files.password }
  return [first, ...(files.more ?? [])]
}

/** The files a TLS context of `files` is made of (what a reloader watches). */
export function tlsPaths (files: TlsFiles): string[] {
  return [...pairsOf(files).flatMap((p) => [p.certfile, p.keyfile]), ...(files.cacertfile === undefined ? [] : [files.cacertfile])]
}

/**
 * The key type of a pair ("rsa", "ec"…: OpenSSL keeps one certificate per type), after
 * checking that the key is the certificate's. OpenSSL itself does not notice a key of another
 * type than its certificate (it files them in different slots), so this check is ours.
 */
function checkedKeyType (p: PairPem): string {
  let ok: boolean
  let cert: X509Certificate
  try {
    cert = new X509Certificate(p.cert)
    ok = cert.checkPrivateKey(createPrivateKey(p.files.password === undefined ? p.key : { key: p.key, passphrase: p.files.password }))
  } catch (e) {
    throw configError(`unusable TLS files ${p.files.certfile} / ${p.files.keyfile}: ${(e as Error).message}`)
  }
  if (!ok) throw configError(`unusable TLS files ${p.files.certfile} / ${p.files.keyfile}: the key is not the certificate's`)
  return cert.publicKey.asymmetricKeyType ?? 'unknown'
}

function contextOptions (files: TlsFiles, pairs: PairPem[], ca: Buffer | undefined): SecureContextOptions {
  const base: SecureContextOptions = { minVersion: files.minVersion ?? 'TLSv1.2' }
  if (ca !== undefined) base.ca = ca
  if (files.ciphers !== undefined) base.ciphers = files.ciphers
  const types = new Map<string, string>()
  for (const p of pairs) {
    try {
      // Fails now, not at the first handshake, on a bad key/cert pair.
      createSecureContext({ ...base, cert: p.cert, key: p.key, ...(p.files.password === undefined ? {} : { passphrase: p.files.password }) })
    } catch (e) {
      // OpenSSL's message names the problem (e.g. "key values mismatch"), not the key.
      throw configError(`unusable TLS files ${p.files.certfile} / ${p.files.keyfile}: ${(e as Error).message}`)
    }
    const type = checkedKeyType(p)
    const other = types.get(type)
    // OpenSSL would keep only the last one of a type: the other could never be served.
    if (other !== undefined) throw configError(`TLS certificates ${other} and ${p.files.certfile} both have ${type} keys: give a listener one certificate per key type (e.g. one RSA and one ECDSA)`)
    types.set(type, p.files.certfile)
  }
  const only = pairs[0]
  if (pairs.length === 1 && only !== undefined) {
    return { ...base, cert: only.cert, key: only.key, ...(only.files.password === undefined ? {} : { passphrase: only.files.password }) }
  }
  return {
    ...base,
    cert: pairs.map((p) => p.cert),
    key: pairs.map((p) => p.files.password === undefined ? { pem: p.key } : { pem: p.key, passphrase: p.files.password })
  }
}

/** Read the files into secure-context options (throws GatewayError OCPPGW_ERR_TLS_CONFIG, naming the file, never its content). */
export async function loadSecureContextOptions (files: TlsFiles): Promise<SecureContextOptions> {
  const read = async (what: string, path: string): Promise<Buffer> => {
    try {
      return await readFile(path)
    } catch (e) {
      throw configError(`cannot read ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`)
    }
  }
  const pairs: PairPem[] = []
  for (const p of pairsOf(files)) pairs.push({ files: p, cert: await read('certfile', p.certfile), key: await read('keyfile', p.keyfile) })
  const ca = files.cacertfile === undefined ? undefined : await read('cacertfile', files.cacertfile)
  return contextOptions(files, pairs, ca)
}

/** Synchronous {@link loadSecureContextOptions}, for start-up code that cannot await. */
export function loadSecureContextOptionsSync (files: TlsFiles): SecureContextOptions {
  const pairs = pairsOf(files).map((p) => ({ files: p, cert: readOrExplain(readFileSync, 'certfile', p.certfile), key: readOrExplain(readFileSync, 'keyfile', p.keyfile) }))
  const ca = files.cacertfile === undefined ? undefined : readOrExplain(readFileSync, 'cacertfile', files.cacertfile)
  return contextOptions(files, pairs, ca)
}

function serverOptions (ctx: SecureContextOptions, profile: SecurityProfile): TlsOptions {
  return profile === 3 ? { ...ctx, requestCert: true, rejectUnauthorized: true } : { ...ctx, requestCert: false, rejectUnauthorized: false }
}

function checkProfile (files: TlsFiles, profile: SecurityProfile): void {
  if (profile < 2) throw configError(`security profile ${profile} does not use TLS`)
  if (profile === 3 && files.cacertfile === undefined) throw configError('security profile 3 needs cacertfile to verify client certificates')
}

/**
 * Options for `https.createServer` for a listener of the given profile. Profile 3 requires a
 * client certificate that chains to `cacertfile` (EMQX `verify = verify_peer`,
 * `fail_if_no_peer_cert = true`).
 */
export async function loadTlsOptions (files: TlsFiles, profile: SecurityProfile): Promise<TlsOptions> {
  checkProfile(files, profile)
  return serverOptions(await loadSecureContextOptions(files), profile)
}

/** Synchronous {@link loadTlsOptions}. */
export function loadTlsOptionsSync (files: TlsFiles, profile: SecurityProfile): TlsOptions {
  checkProfile(files, profile)
  return serverOptions(loadSecureContextOptionsSync(files), profile)
}

/** Anything with setSecureContext: https.Server, tls.Server. */
export interface SecureContextTarget {
  setSecureContext (options: SecureContextOptions): void
}

export interface TlsReloaderOptions {
  /** Watch the files (default true). */
  watch?: boolean
  /** Stat poll interval in ms, fallback for fs.watch (default 5000; 0 disables). */
  pollIntervalMs?: number
  /** Wait this long after the last change before reading (default 200 ms: cert and key are rarely written at the same instant). */
  debounceMs?: number
  onReload?: () => void
  onError?: (err: Error) => void
}

/**
 * Keeps a server's TLS context in step with its files. Signals are not its business: the
 * process owner (the CLI) handles SIGHUP for everything that reloads and calls reload(), so a
 * gateway without a wss listener still has a handler and does not die on SIGHUP.
 */
export class TlsReloader {
  private readonly files: TlsFiles
  private readonly opts: TlsReloaderOptions
  private readonly watcher: FileWatch | undefined
  private chain: Promise<boolean> = Promise.resolve(true)
  private closed = false

  constructor (private readonly target: SecureContextTarget, files: TlsFiles, opts: TlsReloaderOptions = {}) {
    this.files = { ...files }
    this.opts = opts
    if (opts.watch !== false) {
      this.watcher = watchFiles(tlsPaths(files), () => { void this.reload() }, { debounceMs: opts.debounceMs ?? 200, pollIntervalMs: opts.pollIntervalMs ?? 5000 })
    }
  }

  /**
   * Re-read the files and install them. Resolves true when installed; false when they were
   * rejected (onError called, the previous context stays).
   */
  reload (): Promise<boolean> {
    this.chain = this.chain.then(async () => {
      if (this.closed) return false
      try {
        const ctx = await loadSecureContextOptions(this.files)
        this.target.setSecureContext(ctx)
        this.opts.onReload?.()
        return true
      } catch (e) {
        this.opts.onError?.(e instanceof Error ? e : new Error(String(e)))
        return false
      }
    })
    return this.chain
  }

  close (): void {
    this.closed = true
    this.watcher?.close()
  }
}

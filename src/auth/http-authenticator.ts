/**
 * Ask an HTTP service whether a charge point may connect (EMQX's `backend = http`).
 *
 * Request: POST <url>, `Content-Type: application/json`, body
 *   { "cid", "clientid", "username", "password", "peer", "peerhost", "cert_cn", "listener", "profile" }
 *   plus "password_hex" when the password is not UTF-8 (a binary 1.6 AuthorizationKey: the
 *   bytes the charger sent, hex-encoded as the CSMS set them; "password" is then lossy)
 * ("clientid"/"peerhost" repeat cid/peer under EMQX's names so existing auth services work).
 *
 * Response → decision:
 *   2xx with `{"result":"allow"}`, 204, or 2xx with an empty body  → allow
 *   2xx with `{"result":"deny"}`, or 401                           → 401 (denied)
 *   2xx with `{"result":"ignore"}`                                 → 401, ignore (next authenticator)
 *   403                                                            → 403 (forbidden)
 *   any other 4xx                                                  → 401 (denied)
 *   2xx with any other body (e.g. an HTML page)                    → 403 (auth_bad_response)
 *   3xx (redirects are not followed), 5xx, timeout, refused        → 403 (auth_unavailable)
 * A misconfigured URL that answers "200 OK" with a web page must not let everyone in, so
 * only an empty body or an explicit `allow` allows.
 *
 * An `allow` may carry EMQX's `"is_superuser": true|false` and our `"role": "<name>"`; they
 * come back as the decision's `attrs` (the embedded broker gives MQTT clients their role from
 * them). A `role` that is not a string, or an `is_superuser` that is not a boolean, makes the
 * answer a bad response (auth_bad_response): nonsense never grants rights.
 *
 * Decisions are cached (allow and deny with separate lifetimes); auth_unavailable and
 * auth_bad_response are never cached, so the service coming back takes effect at once.
 * Identical requests in flight at the same time share one HTTP request.
 */
import { isUtf8 } from 'node:buffer'
import { DecisionCache, type DecisionCacheOptions } from './decision-cache.js'
import { allow, deny, type AllowAttrs, type AuthDecision, type AuthRequest, type Authenticator } from './types.js'
import { defaults } from '../config/defaults.js'
import { durationMs } from '../config/duration.js'

const DEFAULT_TIMEOUT_MS = durationMs(defaults.authenticator.http.request_timeout, 'authentication[].request_timeout', { finite: true })

export interface HttpAuthenticatorOptions {
  url: string
  /**
   * Extra request headers (e.g. an API key for the auth service; redacted in config dumps).
   * Credentials in the URL (https://user:pass@host/…) are sent as a Basic Authorization header.
   */
  headers?: Record<string, string>
  /** Give up after this many ms (EMQX `request_timeout`, default 5 s from src/config/defaults.ts). */
  requestTimeoutMs?: number
  /** Cache settings; `false` disables the cache. */
  cache?: DecisionCacheOptions | false
  /** Largest response body read, bytes (default 64 KiB); a longer one is a bad response. */
  maxBodyBytes?: number
  /** Called with a short, secret-free message when the service cannot be used. */
  onError?: (err: Error) => void
}

export class HttpAuthenticator implements Authenticator {
  readonly name = 'http'
  private readonly opts: HttpAuthenticatorOptions
  private readonly url: URL
  private readonly headers: Record<string, string>
  private readonly cache: DecisionCache | undefined
  private readonly inflight = new Map<string, Promise<AuthDecision>>()
  /** Number of HTTP requests actually sent (for metrics and tests). */
  requests = 0

  constructor (opts: HttpAuthenticatorOptions) {
    this.url = new URL(opts.url)
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError(`authentication url must be http or https, got ${this.url.protocol}`)
    }
    this.opts = opts
    this.headers = { ...opts.headers, 'content-type': 'application/json', accept: 'application/json' }
    // fetch refuses URLs with credentials: move them to an Authorization header.
    if (this.url.username !== '' || this.url.password !== '') {
      const user = decodeURIComponent(this.url.username)
      const pass = decodeURIComponent(this.url.password)
      if (!Object.keys(this.headers).some(h => h.toLowerCase() === 'authorization')) {
        this.headers.authorization = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64')
      }
      this.url.username = ''
      this.url.password = ''
    }
    this.cache = opts.cache === false ? undefined : new DecisionCache(opts.cache)
  }

  async authenticate (req: AuthRequest): Promise<AuthDecision> {
    // A binary password (1.6 AuthorizationKey) does not survive as JSON text: it goes as hex too.
    const binary = req.passwordBytes !== undefined && !isUtf8(req.passwordBytes) ? req.passwordBytes.toString('hex') : undefined
    const body = {
      cid: req.cid,
      clientid: req.cid,
      username: req.username ?? null,
      password: req.password ?? null,
      ...(binary === undefined ? {} : { password_hex: binary }),
      peer: req.peer,
      peerhost: hostOf(req.peer),
      cert_cn: req.certCN ?? null,
      listener: req.listener,
      profile: req.profile
    }
    // Two binary passwords can have the same lossy text: the cache keys them by their bytes.
    const key = this.cache?.keyOf([req.cid, req.username, binary === undefined ? 'text' : 'hex', binary ?? req.password, req.peer, req.certCN, req.listener, String(req.profile)])
    if (key !== undefined) {
      const hit = this.cache?.get(key)
      if (hit !== undefined) return hit
      const pending = this.inflight.get(key)
      if (pending !== undefined) return await pending
    }
    const p = this.ask(body)
    if (key === undefined) return await p
    this.inflight.set(key, p)
    try {
      const d = await p
      if (d.ok || (d.reason !== 'auth_unavailable' && d.reason !== 'auth_bad_response')) this.cache?.set(key, d)
      return d
    } finally {
      this.inflight.delete(key)
    }
  }

  close (): void {
    this.cache?.clear()
  }

  private async ask (body: Record<string, unknown>): Promise<AuthDecision> {
    this.requests++
    const timeout = this.opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS
    let res: Response
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeout)
      })
    } catch (e) {
      const name = (e as Error).name
      this.fail(name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeout} ms` : `request failed (${causeCode(e)})`)
      return deny('auth_unavailable')
    }
    const text = await readLimited(res, this.opts.maxBodyBytes ?? 64 * 1024)
    const s = res.status
    if (s >= 200 && s < 300) {
      if (s === 204 || (text !== undefined && text.trim() === '')) return allow()
      const { result, attrs } = text === undefined ? { result: undefined, attrs: undefined } : resultOf(text)
      if (result === 'allow' && attrs !== null) return allow('authenticated', attrs)
      if (result === 'deny') return deny('denied')
      if (result === 'ignore') return deny('ignored', true)
      this.fail(`status ${s} without a result`)
      return deny('auth_bad_response')
    }
    if (s === 403) return deny('forbidden')
    if (s >= 400 && s < 500) return deny('denied')
    this.fail(`status ${s}`)
    return deny('auth_unavailable')
  }

  private fail (what: string): void {
    // The URL may carry credentials in its userinfo or query: name only origin and path.
    this.opts.onError?.(new Error(`http authenticator ${this.url.origin}${this.url.pathname}: ${what}`))
  }
}

/** The answer's `result`, and its attributes (null: present but of the wrong type). */
function resultOf (text: string): { result: string | undefined, attrs: AllowAttrs | undefined | null } {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const { result, role, is_superuser: superuser } = v as Record<string, unknown>
      const bad = (role !== undefined && typeof role !== 'string') || (superuser !== undefined && typeof superuser !== 'boolean')
      const attrs: AllowAttrs = {}
      if (typeof role === 'string') attrs.role = role
      if (typeof superuser === 'boolean') attrs.is_superuser = superuser
      return { result: typeof result === 'string' ? result : undefined, attrs: bad ? null : Object.keys(attrs).length > 0 ? attrs : undefined }
    }
  } catch {}
  return { result: undefined, attrs: undefined }
}

function causeCode (e: unknown): string {
  const cause = (e as { cause?: { code?: unknown } }).cause
  return typeof cause?.code === 'string' ? cause.code : (e as Error).name
}

/** The body as text, or undefined when it is longer than `max` or cannot be read. */
async function readLimited (res: Response, max: number): Promise<string | undefined> {
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > max) { await reader.cancel(); return undefined }
      chunks.push(value)
    }
  } catch {
    return undefined
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * EMQX's `peerhost` is the address alone: `198.51.100.7:50312` -> `198.51.100.7`,
 * `[2001:db8::1]:50312` -> `2001:db8::1`; a bare address is returned as it is.
 */
export function hostOf (peer: string): string {
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(peer)
  if (bracket !== null) return bracket[1] as string
  const colon = peer.lastIndexOf(':')
  // One colon: IPv4 (or a name) with a port; more: a bare IPv6 address.
  return colon > 0 && peer.indexOf(':') === colon && /^\d+$/.test(peer.slice(colon + 1)) ? peer.slice(0, colon) : peer
}

/**
 * Compose authenticators into the one decision a listener needs.
 *
 * Order of checks for one connection:
 *  1. Profile 3: a verified client certificate whose CN equals the charge point id is the
 *     authentication (the TLS layer has already refused missing, expired and foreign
 *     certificates). Basic credentials, if any, are not consulted. CN missing → 403
 *     no_client_certificate; CN different → 403 cert_cn_mismatch.
 *  2. No credentials: allowed only when `allow_anonymous` is explicitly true, else 401
 *     missing_credentials.
 *  3. The Basic user-id must equal the charge point id (401 username_mismatch) unless
 *     `allow_username_mismatch` (some chargers send a fixed user-id; the password then
 *     still has to be the charge point's).
 *  4. No authenticator configured: credentials cannot be checked; allowed (as "unverified")
 *     only with `allow_anonymous: true`, else 403 no_authenticator.
 *  5. The authenticators in order: the first allow or non-ignore denial decides; a denial
 *     marked `ignore` passes to the next one (EMQX chain semantics). When every one ignored,
 *     the last denial is returned (e.g. 401 unknown_id). An authenticator that throws is a
 *     403 authenticator_error: the chain fails closed.
 *  6. An allowed charge point whose minimum security profile (`min_profile` in the
 *     credentials file) is higher than the listener's is refused: 403 below_min_profile.
 *
 * @example
 *   const chain = new AuthChain({ authenticators: [fileAuth, httpAuth] })
 *   const d = await chain.authenticate(req)
 *   if (!d.ok) reject(d.status)
 */
import { cnMatches } from './cert-cn.js'
import { allow, deny, type AuthDecision, type AuthRequest, type Authenticator, type SecurityProfile } from './types.js'

export interface AuthChainOptions {
  authenticators: readonly Authenticator[]
  /** EMQX-style `allow_anonymous`; only `true` allows, unset is false. */
  allowAnonymous?: boolean
  /** Accept a Basic user-id that differs from the charge point id (default false). */
  allowUsernameMismatch?: boolean
  /** Called when an authenticator throws (the connection is then denied). */
  onError?: (err: unknown, authenticator: string) => void
}

export class AuthChain implements Authenticator {
  readonly name = 'chain'
  readonly authenticators: readonly Authenticator[]
  readonly allowAnonymous: boolean
  readonly allowUsernameMismatch: boolean
  private readonly onError: AuthChainOptions['onError']

  constructor (opts: AuthChainOptions) {
    this.authenticators = Object.freeze([...opts.authenticators])
    this.allowAnonymous = opts.allowAnonymous === true
    this.allowUsernameMismatch = opts.allowUsernameMismatch === true
    this.onError = opts.onError
  }

  /**
   * The decision, then the charge point's minimum security profile (kept by an authenticator
   * such as the credentials file): below it is 403 below_min_profile, whatever the
   * credentials. An allowed connection tells the authenticators its profile (an accepted
   * upgrade becomes the minimum once used).
   */
  async authenticate (req: AuthRequest): Promise<AuthDecision> {
    const d = await this.decide(req)
    if (!d.ok || d.reason === 'unknown_accepted') return d
    let min: SecurityProfile | undefined
    for (const a of this.authenticators) {
      min = a.minProfile?.(req.cid)
      if (min !== undefined) break
    }
    if (min !== undefined && req.profile < min) return deny('below_min_profile')
    for (const a of this.authenticators) {
      a.connectedOn?.(req.cid, req.profile).catch((e: unknown) => this.onError?.(e, a.name))
    }
    return d
  }

  private async decide (req: AuthRequest): Promise<AuthDecision> {
    if (req.profile === 3) {
      if (req.certCN === undefined || req.certCN === '') return deny('no_client_certificate')
      if (!cnMatches(req.cid, req.certCN)) return deny('cert_cn_mismatch')
      if (req.requireOrganization !== undefined && (req.certOrganization === undefined || !req.requireOrganization.includes(req.certOrganization))) return deny('cert_organization_mismatch')
      return allow('client_certificate')
    }
    if (req.password === undefined) return this.allowAnonymous ? allow('anonymous') : deny('missing_credentials')
    if (!this.allowUsernameMismatch && req.username !== req.cid) return deny('username_mismatch')
    if (this.authenticators.length === 0) return this.allowAnonymous ? allow('unverified') : deny('no_authenticator')
    let last: Extract<AuthDecision, { ok: false }> = { ok: false, status: 401, reason: 'ignored' }
    for (const a of this.authenticators) {
      let d: AuthDecision
      try {
        d = await a.authenticate(req)
      } catch (e) {
        this.onError?.(e, a.name)
        return deny('authenticator_error')
      }
      if (d.ok) return d
      if (d.ignore !== true) return d
      last = d
    }
    // Strip the flag: the chain's answer is final.
    return { ok: false, status: last.status, reason: last.reason }
  }

  async close (): Promise<void> {
    for (const a of this.authenticators) await a.close?.()
  }
}

export interface ListenerSummary { name: string, profile: SecurityProfile }

/**
 * The start-up log line (one per listener, joined) that says what happens to a charger that
 * connects. It is explicit about the default: with no authenticator and no
 * `allow_anonymous: true`, chargers on profile 0–2 listeners are refused.
 */
export function describeAuthPolicy (opts: { authenticators: readonly { name: string }[], allowAnonymous?: boolean, listeners: readonly ListenerSummary[] }): string[] {
  const anon = opts.allowAnonymous === true
  const names = opts.authenticators.map(a => a.name)
  const chain = names.length > 0 ? `authenticators [${names.join(', ')}]` : 'no authenticator configured'
  return opts.listeners.map(l => {
    const prefix = `listener ${l.name} (security profile ${l.profile}): `
    if (l.profile === 3) {
      return prefix + 'chargers must present a client certificate signed by the configured CA whose CN equals their id; Basic credentials are not used'
    }
    const clear = l.profile <= 1 ? ' (WARNING: plain ws, credentials travel unencrypted)' : ''
    if (names.length === 0) {
      return prefix + (anon
        ? 'WARNING: no authenticator configured: authentication is OFF, EVERY charger is accepted with any id and credentials are not checked (allow_anonymous is true when no authenticator is configured, as in EMQX; configure authentication, or set allow_anonymous: false to refuse all)'
        : 'no authenticator configured and allow_anonymous is not true: EVERY charger is refused (401 without credentials, 403 with). Configure authentication or set allow_anonymous: true') + clear
    }
    return prefix + `${chain}; chargers without credentials are ${anon ? 'ACCEPTED (allow_anonymous=true)' : 'refused with 401'}` + clear
  })
}

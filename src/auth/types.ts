/**
 * The contract between the WebSocket handshake and whatever decides who may connect.
 * Nothing here does I/O; authenticators live in their own files.
 */

import type { SecurityProfile } from '../config/security.js'
export type { SecurityProfile }

export interface AuthRequest {
  /** Charge point id from the URL path (already percent-decoded). */
  cid: string
  /** HTTP Basic user-id, absent when no Authorization header was sent. */
  username?: string
  /** HTTP Basic password, absent when no Authorization header was sent. Never log it. */
  password?: string
  /**
   * The same password byte for byte, when the gateway has it (Basic auth): what the
   * credentials file compares. A 1.6 AuthorizationKey may be binary, and `password` (UTF-8)
   * then loses bytes. Never log it.
   */
  passwordBytes?: Buffer
  /** Remote address as seen by the gateway (after any trusted proxy handling). */
  peer: string
  /** Subject CN of a verified client certificate (profile 3). */
  certCN?: string
  /** Subject O of a verified client certificate (profile 3), read when the listener checks it. */
  certOrganization?: string
  /** The listener's `ssl_options.client_organization`: the O must be one of these (profile 3). */
  requireOrganization?: readonly string[]
  /** Listener name, e.g. "ws:default", for logs and per-listener decisions. */
  listener: string
  profile: SecurityProfile
}

/**
 * A decision. `reason` is one of {@link AuthReason}: for logs and counters only, never sent
 * to the client (the client only sees the status and a fixed body).
 *
 * `ignore: true` marks a denial by an authenticator that does not know this charge point
 * (EMQX's "ignore"): a chain moves on to its next authenticator. Whoever does not look at
 * the flag sees a plain denial, so it fails closed.
 */
export type AuthDecision =
  | { ok: true, reason?: AuthReason, attrs?: AllowAttrs }
  | { ok: false, status: 401 | 403 | 503, reason: AuthReason, ignore?: true }

/**
 * What an allow answer said besides "allow", under EMQX's response names: for whoever gives
 * the client its rights (the embedded broker's roles); a charge point's admission ignores it.
 */
export interface AllowAttrs {
  role?: string
  is_superuser?: boolean
}

export interface Authenticator {
  readonly name: string
  authenticate (req: AuthRequest): Promise<AuthDecision>
  /** The lowest security profile this charge point may connect on, when this authenticator keeps one. */
  minProfile? (cid: string): SecurityProfile | undefined
  /** A charge point got in on `profile` (an upgrade it accepted may now become its minimum). */
  connectedOn? (cid: string, profile: SecurityProfile): Promise<unknown>
  close? (): Promise<void> | void
}

/**
 * Stable reason codes. The status each one maps to is fixed here so that every layer
 * answers the same way; `lockout` says whether it counts as a failed guess for the
 * failed-auth lockout (a down auth server is not the charger's fault); `refund` whether the
 * per-address attempt token taken at admission is given back (docs/security.md, "Attempts
 * count against failures"): only when the charger proved who it is, so a fleet behind one
 * address reconnects at the speed of its own handshakes while guesses still pay.
 */
export const AUTH_REASONS = {
  // allowed
  authenticated: { status: 200, lockout: false, refund: true },
  // Not refunded: nothing was proved, so on an anonymous or unknown-accepting listener the
  // per-address rate stays the brake on connection churn.
  anonymous: { status: 200, lockout: false },
  unverified: { status: 200, lockout: false }, // credentials sent, no authenticator, allow_anonymous
  client_certificate: { status: 200, lockout: false, refund: true },
  unknown_accepted: { status: 200, lockout: false }, // unknown id, unknown_charger: accept
  // 401: bad or missing credentials
  missing_credentials: { status: 401, lockout: false },
  username_mismatch: { status: 401, lockout: true },
  unknown_id: { status: 401, lockout: true },
  bad_password: { status: 401, lockout: true },
  denied: { status: 401, lockout: true }, // HTTP authenticator said deny
  ignored: { status: 401, lockout: true }, // every authenticator ignored the charge point
  // 403: not allowed
  forbidden: { status: 403, lockout: false }, // HTTP authenticator answered 403
  no_authenticator: { status: 403, lockout: false },
  no_client_certificate: { status: 403, lockout: true },
  cert_cn_mismatch: { status: 403, lockout: true },
  cert_organization_mismatch: { status: 403, lockout: true },
  below_min_profile: { status: 403, lockout: false }, // the charge point's min_profile is higher than this listener's (an upgrade it made) // profile 3: subject O not the listener's client_organization
  auth_unavailable: { status: 403, lockout: false }, // HTTP authenticator down / timeout / 5xx
  auth_bad_response: { status: 403, lockout: false }, // HTTP authenticator answered nonsense
  authenticator_error: { status: 403, lockout: false }, // an authenticator threw
  // 503: try again later
  overloaded: { status: 503, lockout: false } // too many password hashes waiting (HashLimiter)
} as const satisfies Record<string, { status: 200 | 401 | 403 | 503, lockout: boolean, refund?: true }>

export type AuthReason = keyof typeof AUTH_REASONS

/** A denial with the status fixed by {@link AUTH_REASONS}. */
export function deny (reason: Exclude<AuthReason, 'authenticated' | 'anonymous' | 'unverified' | 'client_certificate' | 'unknown_accepted'>, ignore = false): AuthDecision {
  const status = AUTH_REASONS[reason].status
  return ignore ? { ok: false, status, reason, ignore: true } : { ok: false, status, reason }
}

export function allow (reason: AuthReason = 'authenticated', attrs?: AllowAttrs): AuthDecision {
  return attrs === undefined ? { ok: true, reason } : { ok: true, reason, attrs }
}

/** Whether an admission gives its per-address attempt token back: an allow that proved the charger's identity. */
export function refundsAttempt (d: AuthDecision): boolean {
  if (!d.ok) return false
  const r = AUTH_REASONS[d.reason ?? 'authenticated']
  return 'refund' in r && r.refund
}

/** Whether a denial counts as a failed guess for the lockout window. */
export function countsAsFailure (d: AuthDecision): boolean {
  return !d.ok && AUTH_REASONS[d.reason].lockout
}

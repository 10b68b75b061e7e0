/**
 * The one call a listener makes before answering an upgrade: abuse limits, then
 * authentication, then the bookkeeping of the outcome (failed-guess lockout, connection slot).
 * It returns either a slot to release when the connection ends, or a refusal to send as an
 * HTTP response: a generic body (nothing that helps an attacker), headers the status needs
 * (`WWW-Authenticate` on 401 so clients that only send credentials when challenged do so,
 * `Retry-After` on 429/503, `overloaded` included), and a stable `code` for the log line and the counter.
 *
 * Run it BEFORE anything that affects another connection with the same id (takeover): a
 * second connection for an id replaces the first only once it has authenticated.
 *
 * @example
 *   const r = await guard.check({ cid, username, password, address: req.socket.remoteAddress, peer, listener: 'ws:default', profile: 1 })
 *   if (!r.ok) return refuse(socket, r.status, r.body, r.headers, r.code)
 *   ws.once('close', r.release)
 */
import type { AuthChain } from './chain.js'
import type { ConnectionLimits, LimitReason } from './limits.js'
import { countsAsFailure, refundsAttempt, type AuthDecision, type AuthReason, type AuthRequest } from './types.js'

export interface GuardRequest extends AuthRequest {
  /** Bare remote IP address (no port) for the per-address limits. */
  address: string
}

export type GuardResult =
  | { ok: true, reason: AuthReason, release: () => void }
  | {
    ok: false
    status: 401 | 403 | 429 | 503
    /** Stable reason code for logs and counters: an AuthReason or a LimitReason. */
    code: AuthReason | LimitReason
    /** What the client may see: the status text, nothing more. */
    body: string
    headers: Record<string, string>
  }

export interface GuardOptions {
  chain: AuthChain
  limits?: ConnectionLimits
  /** Realm in the Basic challenge (default "ocpp-gateway"). */
  realm?: string
  /**
   * Unknown-charger policy: 'reject' (default) answers an id no authenticator knows with 401;
   * 'accept' lets it in (reason `unknown_accepted`) so that an operator can register it.
   * A known id with a wrong password is refused either way.
   */
  unknownCharger?: 'reject' | 'accept'
  /** Every decision, for logging and counting (never gets the password). */
  onDecision?: (req: Omit<GuardRequest, 'password' | 'passwordBytes'>, result: GuardResult) => void
}

/** Seconds a refused-while-overloaded charger is asked to wait. */
const OVERLOAD_RETRY_S = 1

const BODY: Record<401 | 403 | 429 | 503, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  503: 'Service Unavailable'
}

export class HandshakeGuard {
  private readonly chain: AuthChain
  private readonly limits: ConnectionLimits | undefined
  private readonly challenge: string
  private readonly onDecision: GuardOptions['onDecision']
  private readonly acceptUnknown: boolean

  constructor (opts: GuardOptions) {
    this.chain = opts.chain
    this.limits = opts.limits
    // RFC 7617 §2: realm is a quoted string.
    this.challenge = `Basic realm="${(opts.realm ?? 'ocpp-gateway').replace(/["\\]/g, '')}", charset="UTF-8"`
    this.onDecision = opts.onDecision
    this.acceptUnknown = opts.unknownCharger === 'accept'
  }

  async check (req: GuardRequest): Promise<GuardResult> {
    const result = await this.decide(req)
    if (this.onDecision !== undefined) {
      const { password: _pw, passwordBytes: _bytes, ...safe } = req
      this.onDecision(safe, result)
    }
    return result
  }

  private async decide (req: GuardRequest): Promise<GuardResult> {
    let release = (): void => {}
    let refund = (): void => {}
    if (this.limits !== undefined) {
      const adm = this.limits.admit(req.address, req.cid)
      if (!adm.ok) {
        return this.refuse(adm.status, adm.reason, req, { 'Retry-After': String(Math.ceil(adm.retryAfterMs / 1000)) })
      }
      release = adm.release
      refund = adm.refund
    }
    let d: AuthDecision
    try {
      d = await this.chain.authenticate(req)
    } catch {
      d = { ok: false, status: 403, reason: 'authenticator_error' }
    }
    if (d.ok) {
      // Attempts count against failures: a charger that proved who it is gives its token
      // back, so a fleet behind one NAT or load balancer is not held to burst + rate.
      if (refundsAttempt(d)) refund()
      return { ok: true, reason: d.reason ?? 'authenticated', release }
    }
    if (this.acceptUnknown && (d.reason === 'unknown_id' || d.reason === 'ignored')) {
      return { ok: true, reason: 'unknown_accepted', release }
    }
    release()
    if (countsAsFailure(d)) this.limits?.recordFailure(req.address, req.cid)
    // 503 overloaded: the hash queue was full a moment ago; it drains in well under a second.
    return this.refuse(d.status, d.reason, req, d.status === 503 ? { 'Retry-After': String(OVERLOAD_RETRY_S) } : {})
  }

  private refuse (status: 401 | 403 | 429 | 503, code: AuthReason | LimitReason, req: GuardRequest, headers: Record<string, string> = {}): GuardResult {
    // RFC 9110 §11.6.1: a 401 carries a challenge. Profile 3 does not use Basic.
    if (status === 401 && req.profile !== 3) headers['WWW-Authenticate'] = this.challenge
    return { ok: false, status, code, body: BODY[status], headers }
  }
}

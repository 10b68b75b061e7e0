/**
 * Build the authentication of a gateway from its normalised config: open the authenticators
 * (a missing credentials file fails the start), chain them, create the limits and the guard.
 * `close()` stops file watching and clears caches.
 *
 * @example
 *   const auth = await openGatewayAuth(buildAuthConfig(raw), { log })
 *   for (const line of auth.describe([{ name: 'ws:default', profile: 1 }])) log.info(line)
 *   const r = await auth.guard.check(req)
 */
import { AuthChain, describeAuthPolicy, type ListenerSummary } from './chain.js'
import type { AuthConfig } from '../config/security.js'
import { CredentialsFileAuthenticator } from './credentials-file.js'
import { HandshakeGuard, type GuardOptions } from './guard.js'
import { HttpAuthenticator } from './http-authenticator.js'
import { ConnectionLimits } from './limits.js'
import { HashLimiter } from './hash-limiter.js'

/** How often the limits' tables drop what no longer matters. */
const LIMITS_SWEEP_MS = 60_000
import type { Authenticator } from './types.js'

/** The subset of a pino logger used here. */
export interface AuthLog {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface GatewayAuth {
  readonly chain: AuthChain
  readonly limits: ConnectionLimits
  /** Bounds the scrypt checks of every credentials file together. */
  readonly hashes: HashLimiter
  readonly guard: HandshakeGuard
  /** Start-up lines, one per listener, saying who may connect. */
  describe: (listeners: readonly ListenerSummary[]) => string[]
  /**
   * A new password a charge point accepted (src/ocpp/credential-changes.ts): stored by the
   * first credentials file that has the charge point and `password_rotation` on. `not_stored`:
   * none does (an HTTP authenticator's service is told by its own CSMS, not by the gateway).
   */
  passwordAccepted: (cid: string, candidates: readonly Buffer[]) => Promise<PasswordChangeResult>
  /**
   * An upgrade to `profile` a charge point accepted: kept by the credentials file that has it
   * (`upgrade=N`) until the charge point connects on that profile, which makes it the minimum.
   */
  profileAccepted: (cid: string, profile: 1 | 2 | 3) => Promise<'stored' | 'unchanged' | 'not_stored'>
  close: () => Promise<void>
}

export type PasswordChangeResult = 'stored' | 'not_stored'

export async function openGatewayAuth (cfg: AuthConfig, opts: { log?: AuthLog, onDecision?: GuardOptions['onDecision'], now?: () => number, hashes?: HashLimiter, onPasswordChanged?: (cid: string) => void, onProfileRaised?: (cid: string, profile: number) => void } = {}): Promise<GatewayAuth> {
  const log = opts.log
  const authenticators: Authenticator[] = []
  const rotating: CredentialsFileAuthenticator[] = []
  // One for the gateway: the cores are shared, so is the bound.
  const hashes = opts.hashes ?? new HashLimiter(cfg.hashes)
  try {
    for (const a of cfg.authentication) {
      if (a.backend === 'file') {
        const file = await CredentialsFileAuthenticator.open({
          path: a.path,
          // The chain checks the user-id for every authenticator.
          allowUsernameMismatch: true,
          pollIntervalMs: a.pollIntervalMs,
          hashLimiter: hashes,
          onReload: ({ entries }) => log?.info({ authenticator: 'file', path: a.path, entries }, 'credentials file loaded'),
          onError: (err) => log?.error({ authenticator: 'file', err: err.message }, 'credentials file not reloaded'),
          onProfileRaised: ({ cid, profile }) => {
            opts.onProfileRaised?.(cid, profile)
            log?.info({ authenticator: 'file', path: a.path, cid, profile }, 'security profile raised: the charge point connected on the profile it was upgraded to; lower ones are refused from now on')
          },
          onPasswordChanged: ({ cid }) => {
            opts.onPasswordChanged?.(cid)
            log?.info({ authenticator: 'file', path: a.path, cid }, 'password change completed: the charge point connected with its new password, the old one is removed')
          }
        })
        authenticators.push(file)
        if (a.passwordRotation) rotating.push(file)
      } else {
        authenticators.push(new HttpAuthenticator({
          url: a.url,
          headers: a.headers,
          requestTimeoutMs: a.requestTimeoutMs,
          cache: a.cache === false ? false : { ...a.cache, ...(opts.now !== undefined ? { now: opts.now } : {}) },
          onError: (err) => log?.warn({ authenticator: 'http', err: err.message }, 'HTTP authenticator unavailable; denying')
        }))
      }
    }
  } catch (err) {
    for (const a of authenticators) await a.close?.()
    throw err
  }
  /** The file the chain checks this id against: the first that has it. */
  const fileOf = (cid: string): CredentialsFileAuthenticator | undefined =>
    authenticators.find((a): a is CredentialsFileAuthenticator => a instanceof CredentialsFileAuthenticator && a.has(cid))
  const chain = new AuthChain({
    authenticators,
    allowAnonymous: cfg.allowAnonymous,
    allowUsernameMismatch: cfg.allowUsernameMismatch,
    onError: (err, name) => log?.error({ authenticator: name, err: (err as Error)?.message ?? String(err) }, 'authenticator failed; denying')
  })
  const limits = new ConnectionLimits({ ...cfg.limits, ...(opts.now !== undefined ? { now: opts.now } : {}) })
  // Entries that no longer change a decision (full buckets, ended windows and bans) go every
  // minute, so an idle table shrinks back instead of waiting to fill up to max_tracked.
  const sweep = setInterval(() => limits.sweep(), LIMITS_SWEEP_MS)
  sweep.unref()
  const guard = new HandshakeGuard({ chain, limits, unknownCharger: cfg.unknownCharger, ...(opts.onDecision !== undefined ? { onDecision: opts.onDecision } : {}) })
  return {
    chain,
    limits,
    hashes,
    guard,
    describe: (listeners) => describeAuthPolicy({ authenticators, allowAnonymous: cfg.allowAnonymous, listeners }),
    passwordAccepted: async (cid, candidates) => {
      const file = fileOf(cid)
      if (file === undefined || !rotating.includes(file)) return 'not_stored'
      return await file.addPending(cid, candidates) === 'stored' ? 'stored' : 'not_stored'
    },
    profileAccepted: async (cid, profile) => {
      const file = fileOf(cid)
      if (file === undefined) return 'not_stored'
      const r = await file.addUpgrade(cid, profile)
      return r === 'unknown_id' ? 'not_stored' : r
    },
    close: async () => { clearInterval(sweep); await chain.close() }
  }
}

/**
 * Who is connected to the embedded broker, as which role: the aedes `authenticate` hook over
 * a credentials file in the charge points' format (src/auth/credentials-format.ts, managed
 * with `ocpp-gateway passwd`), reloaded on change. Roles come from `mqtt.embedded.roles`, not
 * from the file: the file's line is `<id>:<hash>` with the id ending at the LAST ':', so a
 * third field would change what a line means for ids that hold ':', and the roles are policy
 * (in the config, shown by --print-config) while the file holds only secrets.
 *
 * An HTTP service (`mqtt.embedded.authentication`, src/auth/http-authenticator.ts) may check
 * logins too. The rule with both: a user name in the users file is decided by the file alone
 * (a wrong password there is final, the service is not asked); any other name goes to the
 * service, with the MQTT client id as `clientid` and `listener: "mqtt"`. A client the service
 * allows gets the answer's `role` (`backend` or `observer`; another value refuses it as a bad
 * answer), else `backend` when it says `is_superuser: true`, else its `mqtt.embedded.roles`
 * entry, else `observer`. Clients without credentials are not sent to the service: they are
 * anonymous (allow_anonymous) or refused with 5, as with the file.
 *
 * MQTT 3.1.1 §3.2.2.3 CONNACK return codes: 4 for a bad user name or password (unknown users
 * too, so the answer does not tell which users exist; a service's deny), 3 (server
 * unavailable) when the service cannot answer (down, 5xx, timeout, nonsense) or the password
 * checks are overloaded, 5 for no credentials when they are required and for a lockout. aedes
 * 1.x speaks 3.1/3.1.1 only (a version 5 CONNECT gets return code 1), so there are no MQTT 5
 * reason codes to send.
 */
import type { Client } from 'aedes'
import { CredentialsFileAuthenticator } from '../../auth/credentials-file.js'
import type { HashLimiter } from '../../auth/hash-limiter.js'
import type { ConnectionLimits } from '../../auth/limits.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import { timingSafeEqual } from 'node:crypto'
import type { MqttRole } from '../mqtt-acl.js'
import { HttpAuthenticator, type HttpAuthenticatorOptions } from '../../auth/http-authenticator.js'
import { countsAsFailure, type AuthDecision, type AuthReason } from '../../auth/types.js'

export interface EmbeddedAuthOptions {
  /** The users file; undefined = no users (every client is a backend; see ./exposure.ts). */
  usersFile?: string
  /** Role per user; a user not listed is an `observer` (it reads, it never publishes). */
  roles: Readonly<Record<string, MqttRole>>
  /** An HTTP service that checks the logins the users file does not know (see above). */
  http?: Omit<HttpAuthenticatorOptions, 'onError'>
  /** With a users file or HTTP: clients that send no credentials are let in as backends. */
  allowAnonymous: boolean
  pollIntervalMs?: number
  /** The gateway's bound on concurrent password hashes, shared with the charge points' files. */
  hashLimiter?: HashLimiter
  /**
   * Failed-login lockouts per address and per user name (the charge points' handshake_limits
   * auth_failure_* settings, in a table of their own): a guesser is locked out, not just slowed.
   */
  lockouts?: ConnectionLimits
  logger: Logger
  metrics?: Metrics
  /** The gateway's own worker processes (--workers): a user made at start, role `gateway`. */
  internal?: { username: string, password: string }
}

type AuthDone = (error: (Error & { returnCode: number }) | null, success: boolean | null) => void

/** Who a client is, once authenticated. */
export interface MqttIdentity { role: MqttRole, username: string | undefined }

const refusal = (returnCode: 3 | 4 | 5, message: string): Error & { returnCode: number } => Object.assign(new Error(message), { returnCode })

export class EmbeddedAuth {
  private readonly identities = new WeakMap<Client, MqttIdentity>()
  /** Authenticated clients with a user name, to close those a reload removed. */
  private readonly named = new Set<Client>()

  private constructor (private readonly opts: EmbeddedAuthOptions, private readonly users: CredentialsFileAuthenticator | undefined, private readonly http: HttpAuthenticator | undefined) {}

  /** Opens the users file (missing or invalid: OCPPGW_ERR_CREDENTIALS_FILE, the start fails). */
  static async open (opts: EmbeddedAuthOptions, onReload?: () => void): Promise<EmbeddedAuth> {
    const log = opts.logger
    // The first load happens inside open(): only later ones are reloads.
    let opened = false
    const users = opts.usersFile === undefined
      ? undefined
      : await CredentialsFileAuthenticator.open({
        path: opts.usersFile,
        pollIntervalMs: opts.pollIntervalMs,
        ...(opts.hashLimiter !== undefined ? { hashLimiter: opts.hashLimiter } : {}),
        onReload: ({ entries }) => {
          log.info({ path: opts.usersFile, entries }, 'MQTT users file loaded')
          if (opened) onReload?.()
        },
        onError: (err) => log.error({ path: opts.usersFile, err: err.message }, 'MQTT users file not reloaded')
      })
    opened = true
    // The message names origin and path only (never the URL's credentials or query).
    const http = opts.http === undefined ? undefined : new HttpAuthenticator({ ...opts.http, onError: (err) => log.warn({ err: err.message }, 'MQTT HTTP authenticator unavailable; refusing with CONNACK 3') })
    return new EmbeddedAuth(opts, users, http)
  }

  /** Clients must authenticate (a users file or an HTTP authenticator is configured). */
  get required (): boolean { return this.users !== undefined || this.http !== undefined }

  identity (client: Client): MqttIdentity | undefined { return this.identities.get(client) }

  /** Connected clients whose user is no longer in the file (after a reload): to be closed. */
  revoked (): Client[] {
    const out: Client[] = []
    for (const c of this.named) {
      if (c.closed) { this.named.delete(c); continue }
      const name = this.identities.get(c)?.username
      if (this.users !== undefined && name !== undefined && !this.users.has(name)) out.push(c)
    }
    return out
  }

  forget (client: Client): void { this.named.delete(client) }

  /** The aedes `authenticate` hook. */
  readonly authenticate = (client: Client, username: string | undefined, password: Buffer | undefined, done: AuthDone): void => {
    this.check(client, username, password).then(
      (who) => {
        if ('role' in who) {
          this.identities.set(client, { role: who.role, username: who.username })
          // Only file users can be removed by a reload of the file.
          if (who.fromFile === true) this.named.add(client)
          done(null, true)
          return
        }
        this.opts.metrics?.inc('mqtt_auth_failures_total', who.reason)
        this.opts.logger.warn({ client: client.id, username, peer: peerOf(client), reason: who.reason }, 'MQTT client refused')
        done(refusal(who.returnCode, who.reason), false)
      },
      (err: unknown) => {
        // Fail closed: a check that broke lets nobody in.
        this.opts.metrics?.inc('mqtt_auth_failures_total', 'authenticator_error')
        this.opts.logger.error({ client: client.id, err: (err as Error).message }, 'MQTT authentication failed; refusing')
        done(refusal(5, 'authenticator_error'), false)
      })
  }

  close (): void {
    this.users?.close()
    this.http?.close()
  }

  private async check (client: Client, username: string | undefined, password: Buffer | undefined): Promise<(MqttIdentity & { fromFile?: true }) | Refusal> {
    const internal = this.opts.internal
    if (internal !== undefined && username === internal.username) {
      const ok = password !== undefined && password.length === internal.password.length && timingSafeEqual(password, Buffer.from(internal.password))
      return ok ? { role: 'gateway', username } : { returnCode: 4, reason: 'bad_password' }
    }
    if (!this.required) return { role: 'backend', username }
    if (username === undefined && password === undefined) {
      return this.opts.allowAnonymous ? { role: 'backend', username } : { returnCode: 5, reason: 'missing_credentials' }
    }
    if (username === undefined || password === undefined) return { returnCode: 4, reason: 'missing_credentials' }
    const peer = peerOf(client)
    const address = addressOf(client)
    const lockouts = this.opts.lockouts
    if (lockouts !== undefined) {
      const adm = lockouts.admit(address, username)
      // Only the lockouts are asked (the table has no rate and no connection count).
      if (!adm.ok) return { returnCode: 5, reason: adm.reason }
      adm.release()
    }
    const fromFile = this.users !== undefined && (this.http === undefined || this.users.has(username))
    const request = { username, password: password.toString('utf8'), peer, listener: 'mqtt', profile: 1 } as const
    const d: AuthDecision = fromFile
      ? await (this.users as CredentialsFileAuthenticator).authenticate({ ...request, cid: username })
      : await (this.http as HttpAuthenticator).authenticate({ ...request, cid: client.id })
    // A guess (wrong password, unknown user, the service's deny) counts; a service down does not.
    if (countsAsFailure(d)) lockouts?.recordFailure(address, username)
    if (!d.ok) return { returnCode: returnCodeOf(d.reason), reason: d.reason }
    if (fromFile) return { role: this.configuredRole(username), username, fromFile: true }
    const role = d.attrs?.role
    if (role === undefined) return { role: d.attrs?.is_superuser === true ? 'backend' : this.configuredRole(username), username }
    if (role === 'backend' || role === 'observer') return { role, username }
    this.opts.logger.warn({ client: client.id, username, role }, 'MQTT HTTP authenticator answered a role that is neither backend nor observer')
    return { returnCode: 3, reason: 'auth_bad_response' }
  }

  private configuredRole (username: string): MqttRole {
    return Object.hasOwn(this.opts.roles, username) ? this.opts.roles[username] as MqttRole : 'observer'
  }
}

type Refusal = { returnCode: 3 | 4 | 5, reason: string }

/**
 * MQTT 3.1.1 §3.2.2.3: the gateway's side (too many password checks waiting, the service down
 * or answering nonsense) is 3, "server unavailable", try later; everything else is the
 * client's credentials, 4.
 */
function returnCodeOf (reason: AuthReason): 3 | 4 {
  return reason === 'overloaded' || reason === 'auth_unavailable' || reason === 'auth_bad_response' ? 3 : 4
}

/** The client's bare IP address (what per-address lockouts key on). */
export function addressOf (client: Client): string {
  const s = (client.req?.socket ?? client.conn) as { remoteAddress?: string }
  return s.remoteAddress ?? 'unknown'
}

/** The client's address: the socket's for TCP, the HTTP request's for MQTT over WebSocket. */
export function peerOf (client: Client): string {
  const s = (client.req?.socket ?? client.conn) as { remoteAddress?: string, remotePort?: number }
  return s.remoteAddress === undefined ? 'unknown' : `${s.remoteAddress}:${s.remotePort ?? 0}`
}

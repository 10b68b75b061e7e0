/**
 * Who is connected to the embedded broker, as which role: the aedes `authenticate` hook over
 * a credentials file in the charge points' format (src/auth/credentials-format.ts, managed
 * with `ocpp-gateway passwd`), reloaded on change. Roles come from `mqtt.embedded.roles`, not
 * from the file: the file's line is `<id>:<hash>` with the id ending at the LAST ':', so a
 * third field would change what a line means for ids that hold ':', and the roles are policy
 * (in the config, shown by --print-config) while the file holds only secrets.
 *
 * MQTT 3.1.1 §3.2.2.3 CONNACK return codes: 4 for a bad user name or password (unknown users
 * too, so the answer does not tell which users exist), 5 for none when they are required. aedes
 * 1.x speaks 3.1/3.1.1 only (a version 5 CONNECT gets return code 1), so there are no MQTT 5
 * reason codes to send.
 */
import type { Client } from 'aedes'
import { CredentialsFileAuthenticator } from '../../auth/credentials-file.js'
import type { HashLimiter } from '../../auth/hash-limiter.js'
import type { ConnectionLimits } from '../../auth/limits.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import type { MqttRole } from '../mqtt-acl.js'

export interface EmbeddedAuthOptions {
  /** The users file; undefined = no users (every client is a backend; see ./exposure.ts). */
  usersFile?: string
  /** Role per user; a user not listed is an `observer` (it reads, it never publishes). */
  roles: Readonly<Record<string, MqttRole>>
  /** With a users file: clients that send no credentials are let in as backends. */
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
}

type AuthDone = (error: (Error & { returnCode: number }) | null, success: boolean | null) => void

/** Who a client is, once authenticated. */
export interface MqttIdentity { role: MqttRole, username: string | undefined }

const refusal = (returnCode: 3 | 4 | 5, message: string): Error & { returnCode: number } => Object.assign(new Error(message), { returnCode })

export class EmbeddedAuth {
  private readonly identities = new WeakMap<Client, MqttIdentity>()
  /** Authenticated clients with a user name, to close those a reload removed. */
  private readonly named = new Set<Client>()

  private constructor (private readonly opts: EmbeddedAuthOptions, private readonly users: CredentialsFileAuthenticator | undefined) {}

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
    return new EmbeddedAuth(opts, users)
  }

  /** Clients must authenticate (a users file is configured). */
  get required (): boolean { return this.users !== undefined }

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
          this.identities.set(client, who)
          if (who.username !== undefined && this.users !== undefined) this.named.add(client)
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

  close (): void { this.users?.close() }

  private async check (client: Client, username: string | undefined, password: Buffer | undefined): Promise<MqttIdentity | { returnCode: 3 | 4 | 5, reason: string }> {
    if (this.users === undefined) return { role: 'backend', username }
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
    const d = await this.users.authenticate({ cid: username, username, password: password.toString('utf8'), peer, listener: 'mqtt', profile: 1 })
    if (!d.ok && (d.reason === 'bad_password' || d.reason === 'unknown_id')) lockouts?.recordFailure(address, username)
    // Too many password checks waiting (a flood of guesses): "server unavailable", try later.
    if (!d.ok) return { returnCode: d.reason === 'overloaded' ? 3 : 4, reason: d.reason }
    return { role: Object.hasOwn(this.opts.roles, username) ? this.opts.roles[username] as MqttRole : 'observer', username }
  }
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

/**
 * Configuration of authentication, abuse limits and listener security, as JSON-schema
 * fragments for the one config schema (spread them in) and normalisers that turn the
 * validated tree into the options of the modules in this folder.
 *
 * Top level (EMQX names where EMQX has them):
 *
 *   allow_anonymous: (unset)          # true = accept chargers that send no credentials; unset:
 *                                     # true when no authenticator is configured (authentication
 *                                     # off, as in EMQX), false as soon as one is
 *   allow_username_mismatch: false    # true = Basic user-id may differ from the charge point id
 *   unknown_charger: reject           # accept = let ids no authenticator knows in, and publish
 *                                     # an "unknown_charger" event so an operator can register them
 *   authentication:                   # tried in order (EMQX authenticator chain)
 *     - backend: file                 # ours; EMQX has built_in_database
 *       path: /etc/ocpp-gateway/credentials
 *     - mechanism: password_based     # optional, as in EMQX
 *       backend: http
 *       method: post                  # only post
 *       url: https://auth.example/ocpp
 *       headers: { x-api-key: "…" }
 *       request_timeout: 5s
 *       cache: { enable: true, max_size: 10000, allow_ttl: 60s, deny_ttl: 5s }
 *   handshake_limits:
 *     conn_rate_per_address: { enable: true, burst: 60, rate: 10 }    # attempts, refill per second
 *       (generous: chargers behind one NAT or a load balancer without PROXY protocol share an
 *       address, and a site that lost power reconnects all at once)
 *     auth_failure_per_address: { enable: true, max_count: 30, window_time: 1m, ban_time: 1m }
 *     auth_failure_per_cid:     { enable: true, max_count: 5,  window_time: 1m, ban_time: 1m }
 *     max_connections: 0                                              # all listeners; 0 = no limit
 *     max_concurrent_hashes: 0                                        # scrypt checks at once; 0 = one per core
 *     max_queued_hashes: 100                                          # waiting behind them, then 503 overloaded
 *
 * Per listener (listeners.ws.<name> / listeners.wss.<name>):
 *
 *   security_profile: 1               # optional: ws → 1, wss → 2, wss with verify_peer → 3
 *   ssl_options:                      # wss only, EMQX names
 *     certfile: /etc/ocpp-gateway/server.pem
 *     keyfile: /etc/ocpp-gateway/server.key
 *     cacertfile: /etc/ocpp-gateway/ca.pem   # required for profile 3
 *     client_organization: "My CPO"    # profile 3: the certificate's subject O must be this (or one of a list)
 *     certificates:                    # more pairs served alongside certfile/keyfile (or instead):
 *       - { certfile: ec.pem, keyfile: ec.key }  # one per key type, e.g. RSA and ECDSA, so that
 *                                        # all four OCPP TLS 1.2 suites are offered (docs/security.md)
 *     password: "…"                    # of an encrypted key
 *     verify: verify_none | verify_peer      # verify_peer = profile 3
 *     fail_if_no_peer_cert: true       # with verify_peer: must be true (a client certificate is required)
 *     versions: [tlsv1.2, tlsv1.3]
 *     ciphers: "…"
 */
import { durationMs, durationSchema as duration } from './duration.js'
import { defaults } from './defaults.js'
import { ConfigError } from './config-error.js'

/** OCPP security profile of a listener: 0 none, 1 Basic over ws, 2 Basic over wss, 3 client certificate. */
export type SecurityProfile = 0 | 1 | 2 | 3

/** One certificate (chain) and its key. */
export interface CertKeyFiles {
  certfile: string
  keyfile: string
  /** Passphrase of an encrypted key. Secret: redacted. */
  password?: string
}

/** A listener's TLS files, EMQX `ssl_options` names. */
export interface TlsFiles {
  /** The first certificate/key pair. */
  certfile: string
  keyfile: string
  /**
   * More pairs served by the same listener, one per key type (an RSA certificate next to an
   * ECDSA one): the handshake picks the one the client's cipher suite needs.
   */
  more?: CertKeyFiles[]
  /** CA bundle that client certificates must chain to (required for profile 3). */
  cacertfile?: string
  /** Passphrase of an encrypted key (EMQX `ssl_options.password`). Secret: redacted. */
  password?: string
  /** Lowest TLS version (default TLSv1.2, as OCPP 2.0.1 A00.FR.3xx requires). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher list; Node's default when unset. */
  ciphers?: string
}

export interface LockoutOptions {
  /** Failures within `windowMs` that trigger the ban. */
  maxFailures: number
  windowMs: number
  banMs: number
}

export interface LimitsOptions {
  /** Per-address attempts: `burst` at once, refilled at `perSecond`. false = unlimited. */
  connRate?: { burst: number, perSecond: number } | false
  addressLockout?: LockoutOptions | false
  cidLockout?: LockoutOptions | false
  /** Concurrent connections (including handshakes in progress); 0 = unlimited. */
  maxConnections?: number
  /** Keys kept per table (default 100000). */
  maxTracked?: number
  now?: () => number
}

const limitDefaults = defaults.handshake_limits
const fileDefaults = defaults.authenticator.file
const httpDefaults = defaults.authenticator.http

const lockout = (d: { enable: boolean, max_count: number, window_time: string, ban_time: string }) => ({
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enable: { type: 'boolean', default: d.enable },
    max_count: { type: 'integer', minimum: 1, default: d.max_count },
    window_time: { ...duration, default: d.window_time },
    ban_time: { ...duration, default: d.ban_time }
  }
})

const fileBackend = {
  type: 'object',
  additionalProperties: false,
  required: ['backend', 'path'],
  properties: {
    backend: { const: 'file' },
    mechanism: { const: 'password_based' },
    enable: { type: 'boolean', default: fileDefaults.enable },
    path: { type: 'string', minLength: 1 },
    reload_interval: { ...duration, default: fileDefaults.reload_interval },
    password_rotation: { type: 'boolean', default: fileDefaults.password_rotation }
  }
}

const httpBackend = {
  type: 'object',
  additionalProperties: false,
  required: ['backend', 'url'],
  properties: {
    backend: { const: 'http' },
    mechanism: { const: 'password_based' },
    enable: { type: 'boolean', default: httpDefaults.enable },
    method: { type: 'string', enum: ['post', 'POST'], default: httpDefaults.method },
    url: { type: 'string', pattern: '^https?://' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, default: httpDefaults.headers },
    request_timeout: { ...duration, default: httpDefaults.request_timeout },
    cache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enable: { type: 'boolean', default: httpDefaults.cache.enable },
        max_size: { type: 'integer', minimum: 1, default: httpDefaults.cache.max_size },
        allow_ttl: { ...duration, default: httpDefaults.cache.allow_ttl },
        deny_ttl: { ...duration, default: httpDefaults.cache.deny_ttl }
      }
    }
  }
}

/**
 * `mqtt.embedded.authentication`: one HTTP service for the embedded broker's MQTT clients,
 * the keys of an `authentication[]` http entry (`backend: http` may be left out).
 */
export const mqttAuthenticationSchema = {
  ...httpBackend,
  required: ['url'],
  properties: { ...httpBackend.properties, backend: { const: 'http' } }
} as const

/** Top-level properties to spread into the config schema. */
export const authSchemaProperties = {
  allow_anonymous: { type: 'boolean' },
  unknown_charger: { enum: ['reject', 'accept'], default: defaults.unknown_charger },
  allow_username_mismatch: { type: 'boolean', default: defaults.allow_username_mismatch },
  authentication: { type: 'array', default: defaults.authentication, items: { oneOf: [fileBackend, httpBackend] } },
  handshake_limits: {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      conn_rate_per_address: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          enable: { type: 'boolean', default: limitDefaults.conn_rate_per_address.enable },
          burst: { type: 'integer', minimum: 1, default: limitDefaults.conn_rate_per_address.burst },
          rate: { type: 'number', exclusiveMinimum: 0, default: limitDefaults.conn_rate_per_address.rate }
        }
      },
      auth_failure_per_address: lockout(limitDefaults.auth_failure_per_address),
      auth_failure_per_cid: lockout(limitDefaults.auth_failure_per_cid),
      max_connections: { type: 'integer', minimum: 0, default: limitDefaults.max_connections },
      max_tracked: { type: 'integer', minimum: 1, default: limitDefaults.max_tracked },
      max_concurrent_hashes: { type: 'integer', minimum: 0, maximum: 1024, default: limitDefaults.max_concurrent_hashes },
      max_queued_hashes: { type: 'integer', minimum: 0, default: limitDefaults.max_queued_hashes }
    }
  }
} as const

/** Per-listener properties to spread into a listener's schema. */
export const listenerSecuritySchemaProperties = {
  security_profile: { type: 'integer', enum: [0, 1, 2, 3] },
  ssl_options: {
    type: 'object',
    additionalProperties: false,
    dependencies: { certfile: ['keyfile'], keyfile: ['certfile'] },
    properties: {
      certfile: { type: 'string', minLength: 1 },
      keyfile: { type: 'string', minLength: 1 },
      certificates: {
        type: 'array',
        minItems: 1,
        maxItems: 8,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['certfile', 'keyfile'],
          properties: { certfile: { type: 'string', minLength: 1 }, keyfile: { type: 'string', minLength: 1 }, password: { type: 'string' } }
        }
      },
      cacertfile: { type: 'string', minLength: 1 },
      password: { type: 'string' },
      verify: { type: 'string', enum: ['verify_none', 'verify_peer'], default: defaults.listener.ssl_options.verify },
      fail_if_no_peer_cert: { type: 'boolean', default: defaults.listener.ssl_options.fail_if_no_peer_cert },
      versions: { type: 'array', items: { enum: ['tlsv1.2', 'tlsv1.3'] }, minItems: 1, uniqueItems: true, default: defaults.listener.ssl_options.versions },
      ciphers: { type: 'string' },
      client_organization: {
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true }
        ]
      }
    }
  }
} as const

export type AuthenticatorConfig =
  | { backend: 'file', path: string, pollIntervalMs: number, passwordRotation: boolean }
  | { backend: 'http', url: string, headers: Record<string, string>, requestTimeoutMs: number, cache: false | { maxSize: number, allowTtlMs: number, denyTtlMs: number } }

export interface AuthConfig {
  allowAnonymous: boolean
  /** An id no authenticator knows: refuse (401), or accept and publish an event. */
  unknownCharger: 'reject' | 'accept'
  allowUsernameMismatch: boolean
  authentication: AuthenticatorConfig[]
  limits: LimitsOptions
  /** The HashLimiter of the credentials files (src/auth/hash-limiter.ts); maxConcurrent 0 = one per core. */
  hashes: HashLimits
}

export interface HashLimits { maxConcurrent: number, maxQueued: number }

export interface ListenerSecurity {
  profile: SecurityProfile
  /** Present for wss listeners. */
  tls?: TlsFiles
  /**
   * Profile 3: the subject O (organisation) a client certificate must carry, one of these
   * (OCPP: the O names the operator); unset = not checked. Exact, case-sensitive.
   */
  organizations?: readonly string[]
}

type Tree = Record<string, any>

/** The durations of this part of the config are all finite: each is a timer or a ban that must end. */
function ms (v: unknown, key: string): number {
  return durationMs(v, key, { finite: true })
}

function lockoutOf (t: Tree | undefined, key: string): LockoutOptions | false {
  if (t === undefined || t.enable === false) return false
  return { maxFailures: t.max_count, windowMs: ms(t.window_time, `${key}.window_time`), banMs: ms(t.ban_time, `${key}.ban_time`) }
}

/** Normalise the validated top-level tree (defaults already filled in by the schema). */
export function buildAuthConfig (t: Tree): AuthConfig {
  const authentication: AuthenticatorConfig[] = []
  ;(t.authentication as Tree[] ?? []).forEach((a, i) => {
    if (a.enable === false) return
    const key = `authentication[${i}]`
    if (a.backend === 'file') {
      authentication.push({ backend: 'file', path: a.path, pollIntervalMs: ms(a.reload_interval ?? fileDefaults.reload_interval, `${key}.reload_interval`), passwordRotation: a.password_rotation ?? fileDefaults.password_rotation })
    } else {
      authentication.push(buildHttpAuthenticator(a, key))
    }
  })
  return Object.freeze({
    // EMQX: no authenticator = authentication off. Stated loudly at start-up (describeAuthPolicy).
    allowAnonymous: typeof t.allow_anonymous === 'boolean' ? t.allow_anonymous : authentication.length === 0,
    allowUsernameMismatch: t.allow_username_mismatch === true,
    unknownCharger: t.unknown_charger === 'accept' ? 'accept' : 'reject',
    authentication,
    limits: buildLimits(t.handshake_limits ?? {}),
    hashes: buildHashLimits(t.handshake_limits ?? {})
  })
}

export type HttpAuthenticatorConfig = Extract<AuthenticatorConfig, { backend: 'http' }>

/** One validated http authenticator tree (an `authentication[]` entry, `mqtt.embedded.authentication`); `key` names it in errors. */
export function buildHttpAuthenticator (a: Tree, key: string): HttpAuthenticatorConfig {
  const c = a.cache ?? {}
  return {
    backend: 'http',
    url: a.url,
    headers: { ...a.headers },
    requestTimeoutMs: ms(a.request_timeout ?? httpDefaults.request_timeout, `${key}.request_timeout`),
    cache: c.enable === false ? false : { maxSize: c.max_size ?? httpDefaults.cache.max_size, allowTtlMs: ms(c.allow_ttl ?? httpDefaults.cache.allow_ttl, `${key}.cache.allow_ttl`), denyTtlMs: ms(c.deny_ttl ?? httpDefaults.cache.deny_ttl, `${key}.cache.deny_ttl`) }
  }
}

/** The options of HashLimiter from a validated `handshake_limits` tree. */
export function buildHashLimits (hl: Tree): HashLimits {
  return {
    maxConcurrent: hl.max_concurrent_hashes ?? limitDefaults.max_concurrent_hashes,
    maxQueued: hl.max_queued_hashes ?? limitDefaults.max_queued_hashes
  }
}

/**
 * The options of ConnectionLimits from a validated `handshake_limits` tree. A rate or lockout
 * whose tree is absent is off (the schema fills each in, enabled: only an unvalidated tree
 * lacks one).
 *
 * @example
 *   buildLimits(defaults.handshake_limits) // what ConnectionLimits uses when given nothing
 */
export function buildLimits (hl: Tree): Required<Omit<LimitsOptions, 'now'>> {
  const rate: Tree | undefined = hl.conn_rate_per_address
  return {
    connRate: rate === undefined || rate.enable === false ? false : { burst: rate.burst, perSecond: rate.rate },
    addressLockout: lockoutOf(hl.auth_failure_per_address, 'handshake_limits.auth_failure_per_address'),
    cidLockout: lockoutOf(hl.auth_failure_per_cid, 'handshake_limits.auth_failure_per_cid'),
    maxConnections: hl.max_connections ?? limitDefaults.max_connections,
    maxTracked: hl.max_tracked ?? limitDefaults.max_tracked
  }
}

/**
 * The security of one listener from its validated tree. `type` is the listener family
 * (`ws` or `wss`); `key` names it in errors, e.g. "listeners.wss.default".
 */
export function buildListenerSecurity (type: 'ws' | 'wss', l: Tree, key: string): ListenerSecurity {
  const ssl: Tree | undefined = l.ssl_options
  const explicit = l.security_profile as SecurityProfile | undefined
  if (type === 'ws') {
    if (ssl !== undefined) throw new ConfigError(`${key}.ssl_options: a ws listener has no TLS; use listeners.wss.<name>`)
    if (explicit !== undefined && explicit > 1) throw new ConfigError(`${key}.security_profile: ${explicit} needs TLS; use listeners.wss.<name>`)
    return { profile: explicit ?? 1 }
  }
  if (ssl === undefined) throw new ConfigError(`${key}.ssl_options: certfile and keyfile are required for a wss listener`)
  const pairs = certificatePairs(ssl)
  const first = pairs[0]
  if (first === undefined) throw new ConfigError(`${key}.ssl_options: certfile and keyfile (or certificates) are required for a wss listener`)
  const peer = ssl.verify === 'verify_peer'
  if (peer && ssl.fail_if_no_peer_cert === false) {
    throw new ConfigError(`${key}.ssl_options.fail_if_no_peer_cert: must be true with verify_peer (security profile 3 requires a client certificate)`)
  }
  const profile: SecurityProfile = explicit ?? (peer ? 3 : 2)
  if (profile < 2) throw new ConfigError(`${key}.security_profile: ${profile} is for ws listeners; a wss listener is profile 2 or 3`)
  if (profile === 3 && !peer) throw new ConfigError(`${key}: security_profile 3 needs ssl_options.verify: verify_peer`)
  if (profile === 2 && peer) throw new ConfigError(`${key}: ssl_options.verify: verify_peer means security_profile 3`)
  if (profile === 3 && ssl.cacertfile === undefined) throw new ConfigError(`${key}.ssl_options.cacertfile: required for security profile 3 (the CA that signs charger certificates)`)
  const versions: readonly string[] = ssl.versions ?? defaults.listener.ssl_options.versions
  const tls: TlsFiles = {
    certfile: first.certfile,
    keyfile: first.keyfile,
    minVersion: versions.includes('tlsv1.2') ? 'TLSv1.2' : 'TLSv1.3'
  }
  if (pairs.length > 1) tls.more = pairs.slice(1)
  if (ssl.cacertfile !== undefined) tls.cacertfile = ssl.cacertfile
  if (first.password !== undefined) tls.password = first.password
  if (ssl.ciphers !== undefined) tls.ciphers = ssl.ciphers
  const org: string | string[] | undefined = ssl.client_organization
  if (org === undefined) return { profile, tls }
  if (profile !== 3) throw new ConfigError(`${key}.ssl_options.client_organization: checks client certificates, so it needs verify: verify_peer (security profile 3)`)
  return { profile, tls, organizations: Object.freeze(typeof org === 'string' ? [org] : [...org]) }
}

/** certfile/keyfile first, then `certificates`; a pair without its own password uses `password`. */
function certificatePairs (ssl: Tree): CertKeyFiles[] {
  const listed: Tree[] = [...(ssl.certfile === undefined ? [] : [{ certfile: ssl.certfile, keyfile: ssl.keyfile }]), ...(ssl.certificates as Tree[] ?? [])]
  return listed.map((c) => {
    const password = c.password ?? ssl.password
    return password === undefined ? { certfile: c.certfile, keyfile: c.keyfile } : { certfile: c.certfile, keyfile: c.keyfile, password }
  })
}

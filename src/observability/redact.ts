/**
 * Keep secrets out of logs, config dumps and error messages.
 *
 * - {@link REDACT_PATHS} / {@link pinoRedact}: pino's `redact` option (fast-redact paths) for
 *   the shapes our log lines have (Basic credentials, request headers, TLS and auth options).
 * - {@link redactConfig}: a deep copy of a config object with every secret-looking value
 *   replaced, for `--print-config` and start-up dumps. It matches by key name at any depth,
 *   so a new secret option is covered when its name says what it is.
 * - {@link redactText}: scrub a free-form string (an error message, a URL) of Basic/Bearer
 *   tokens, URL userinfo, `password=` query parameters and PEM private keys.
 *
 * @example
 *   const log = pino({ redact: pinoRedact() })
 *   console.log(JSON.stringify(redactConfig(config), null, 2))
 */

export const REDACTED = '[REDACTED]'

/** Key names whose values are secrets (compared case-insensitively, '-' and '_' ignored). */
const SECRET_KEYS = new Set([
  'password', 'passwd', 'pass', 'passphrase', 'secret', 'clientsecret', 'token', 'accesstoken',
  'refreshtoken', 'apikey', 'authorization', 'proxyauthorization', 'cookie', 'setcookie',
  'key', 'privatekey', 'pfx', 'authkey', 'authorizationkey', 'basicauthpassword', 'keypassword', 'passwordhex', 'passwordbytes'
])

function normalKey (k: string): string {
  return k.toLowerCase().replace(/[-_]/g, '')
}

/** Whether a config/log key names a secret. `keyfile` (a path) is not a secret; `key` (PEM) is. */
export function isSecretKey (k: string): boolean {
  const n = normalKey(k)
  return SECRET_KEYS.has(n) || n.endsWith('password') || n.endsWith('secret') || n.endsWith('token') || n.endsWith('apikey')
}

/** Header names whose values are never secret; every other configured header value is redacted. */
const PLAIN_HEADERS = new Set(['accept', 'acceptencoding', 'acceptlanguage', 'contenttype', 'useragent', 'host', 'connection', 'cachecontrol'])

/**
 * fast-redact paths for pino. `*` matches one level, so the common nestings are listed
 * explicitly; log objects should use these names (`req.headers`, `auth.password`, …).
 */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  'password', '*.password', '*.*.password',
  'passphrase', '*.passphrase',
  'secret', '*.secret',
  'token', '*.token',
  'key', '*.key',
  'authorization', '*.authorization',
  'headers.authorization', 'headers.cookie', 'headers["proxy-authorization"]',
  '*.headers.authorization', '*.headers.cookie', '*.headers["proxy-authorization"]',
  'ssl_options.password', '*.ssl_options.password',
  'ssl_options.key', '*.ssl_options.key'
])

export function pinoRedact (): { paths: string[], censor: string } {
  return { paths: [...REDACT_PATHS], censor: REDACTED }
}

const PEM_PRIVATE = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?(-----END \1-----|$)/g
const AUTH_SCHEME = /\b(Basic|Bearer|Digest)\s+[A-Za-z0-9+/=._~-]+/gi
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(:[^\s/@]*)?@/gi
const QUERY_SECRET = /([?&;](?:password|passwd|pass|secret|token|api[_-]?key|access[_-]?token)=)[^&#\s]*/gi

/** Scrub secrets from free text. Idempotent. */
export function redactText (s: string): string {
  return s
    .replace(PEM_PRIVATE, `-----BEGIN $1-----${REDACTED}-----END $1-----`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(URL_USERINFO, (_m, scheme: string, user: string, pw: string | undefined) => `${scheme}${user}${pw !== undefined ? ':' + REDACTED : ''}@`)
    .replace(QUERY_SECRET, `$1${REDACTED}`)
}

/**
 * Deep copy with secrets replaced: values under secret keys (whatever their type), and any
 * string that contains a private key, credentials in a URL, or an auth header value; and the
 * values of configured `headers` (custom auth headers are secrets more often than not) except
 * a few plain ones such as content-type. Buffers
 * under non-secret keys are summarised (they are usually certificate material). Cycles are cut.
 */
export function redactConfig<T> (value: T): T {
  return walk(value, new WeakSet()) as T
}

function walk (v: unknown, seen: WeakSet<object>, inHeaders = false): unknown {
  if (typeof v === 'string') return redactText(v)
  if (v === null || typeof v !== 'object') return v
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return `[${(v as ArrayBufferView).byteLength} bytes]`
  if (seen.has(v)) return '[Circular]'
  seen.add(v)
  if (v instanceof Map) {
    return new Map([...v].map(([k, x]) => [k, typeof k === 'string' && isSecretKey(k) ? REDACTED : walk(x, seen)]))
  }
  if (Array.isArray(v)) return v.map(x => walk(x, seen))
  if (v instanceof URL) return redactText(v.href)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const secret = isSecretKey(k) || (inHeaders && !PLAIN_HEADERS.has(normalKey(k)))
    out[k] = secret && x !== undefined && x !== null && x !== '' ? REDACTED : walk(x, seen, k.toLowerCase() === 'headers')
  }
  return out
}

/**
 * OCPP settings whose value is a secret, by the name a frame carries them under: 1.6
 * `ChangeConfiguration` / `GetConfiguration` (`{key, value}`), 2.x `SetVariables` /
 * `GetVariables` (`{variable: {name}, attributeValue}`) and `NotifyReport`
 * (`{variable: {name}, variableAttribute: [{value}]}`).
 */
const SECRET_SETTINGS = new Set(['authorizationkey', 'basicauthpassword'])

/** Deeper than this a frame is not walked (the codec refuses deeper ones anyway). */
const MAX_FRAME_WALK = 64

/**
 * A frame's text for `log.frames`, with the secrets OCPP messages carry replaced: Basic-auth
 * passwords and 1.6 AuthorizationKeys set or reported through configuration messages, values
 * under secret-looking keys, and the free-text scrubbing of {@link redactText}. Not for the
 * hot path: only frame logging calls it.
 */
export function redactFrame (text: string): string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return redactText(text)
  }
  return JSON.stringify(scrubFrame(value, 0))
}

function isSecretSetting (name: unknown): boolean {
  return typeof name === 'string' && SECRET_SETTINGS.has(normalKey(name.split('.').pop() ?? name))
}

function scrubFrame (v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactText(v)
  if (v === null || typeof v !== 'object') return v
  if (depth >= MAX_FRAME_WALK) return '[too deep]'
  if (Array.isArray(v)) return v.map((x) => scrubFrame(x, depth + 1))
  const o = v as Record<string, unknown>
  const variable = o.variable as Record<string, unknown> | undefined
  const secretSetting = isSecretSetting(o.key) || isSecretSetting(typeof variable === 'object' && variable !== null ? variable.name : undefined)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(o)) {
    if (secretSetting && (k === 'value' || k === 'attributeValue') && x !== undefined && x !== null) {
      out[k] = REDACTED
    } else if (secretSetting && k === 'variableAttribute' && Array.isArray(x)) {
      out[k] = x.map((a) => (typeof a === 'object' && a !== null && 'value' in a ? { ...(a as object), value: REDACTED } : a))
    } else {
      // In a frame, `key` is a 1.6 configuration key's name (ChangeConfiguration, GetConfiguration), not key material.
      out[k] = k !== 'key' && isSecretKey(k) && x !== undefined && x !== null && x !== '' ? REDACTED : scrubFrame(x, depth + 1)
    }
  }
  return out
}

/**
 * The WebSocket handshake decisions, pure: charge point id from the URL, Basic credentials,
 * sub-protocol choice. Each failure is an HTTP status and a reason a person can read.
 */
import { type Dialect, dialectForSubprotocol, dialects } from '../ocpp/dialect.js'

export interface HandshakeError { status: 400 | 404, reason: string, code: string }
export type Result<T> = { ok: true, value: T } | { ok: false, error: HandshakeError }

const err = (status: 400 | 404, code: string, reason: string): { ok: false, error: HandshakeError } =>
  ({ ok: false, error: { status, reason, code } })

export const MAX_ID_LENGTH = 255

/**
 * The charge point id is the rest of the path after `prefix/`, percent-decoded, query string
 * excluded, case preserved (as EMQX). An id must be exactly one path segment: `/ocpp/a/b` is
 * refused rather than guessing which segment is meant.
 */
export function chargePointIdFromUrl (url: string, prefix: string): Result<string> {
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (path !== prefix && !path.startsWith(prefix + '/')) {
    return err(404, 'bad_path', `path must be ${prefix}/{chargePointId}`)
  }
  const raw = path.slice(prefix.length + 1)
  if (raw === '') return err(400, 'empty_id', `missing charge point id: connect to ${prefix}/{chargePointId}`)
  if (raw.includes('/')) return err(400, 'bad_id', 'charge point id must be a single path segment (encode "/" as %2F is not allowed either)')
  let id: string
  try {
    id = decodeURIComponent(raw)
  } catch {
    return err(400, 'bad_id', 'charge point id is not valid percent-encoding')
  }
  if (id.length > MAX_ID_LENGTH) return err(400, 'bad_id', `charge point id is longer than ${MAX_ID_LENGTH} characters`)
  // MQTT topic levels cannot hold these: `/` splits, `+` and `#` are wildcards, NUL is forbidden.
  if (/[/+#]/.test(id)) return err(400, 'bad_id', 'charge point id must not contain "/", "+" or "#"')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return err(400, 'bad_id', 'charge point id must not contain control characters')
  return { ok: true, value: id }
}

export interface BasicCredentials {
  username: string
  /** The password decoded as UTF-8 (lossy for a binary one: see passwordBytes). */
  password: string
  /**
   * The password byte for byte. OCPP 1.6 (security whitepaper) sets AuthorizationKey
   * hex-encoded and the charger sends the decoded bytes, which may be any binary; these are
   * what a password is compared as.
   */
  passwordBytes: Buffer
}

const COLON = 0x3a

/** RFC 7617 Basic credentials, or undefined when absent or unreadable. */
export function parseBasicAuth (header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (m === null) return undefined
  const raw = Buffer.from(m[1] as string, 'base64')
  // The user-id cannot contain a colon (RFC 7617 §2); the password may hold any byte.
  const colon = raw.indexOf(COLON)
  if (colon === -1) return undefined
  const passwordBytes = raw.subarray(colon + 1)
  return { username: raw.subarray(0, colon).toString('utf8'), password: passwordBytes.toString('utf8'), passwordBytes }
}

export interface ProtocolChoice {
  /** The sub-protocol to answer, or undefined to answer none (client offered none). */
  subprotocol: string | undefined
  dialect: Dialect
}

/**
 * Pick by server preference (the order of `supported`) among those the client offered;
 * never answer a protocol the client did not offer (RFC 6455 §4.2.2). A client offering none
 * is taken as OCPP 1.6 without a protocol header, unless `failIfNone`.
 */
export function chooseSubprotocol (header: string | undefined, supported: readonly string[], failIfNone: boolean): Result<ProtocolChoice> {
  const offered = (header ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (offered.length === 0) {
    if (failIfNone) return err(400, 'no_subprotocol', `no WebSocket sub-protocol offered; this server requires one of: ${supported.join(', ')}`)
    if (!supported.includes('ocpp1.6')) return err(400, 'no_subprotocol', `no WebSocket sub-protocol offered and ocpp1.6 is not enabled; offer one of: ${supported.join(', ')}`)
    return { ok: true, value: { subprotocol: undefined, dialect: dialects['1.6'] } }
  }
  for (const name of supported) {
    if (offered.includes(name)) {
      const dialect = dialectForSubprotocol(name)
      if (dialect !== undefined) return { ok: true, value: { subprotocol: name, dialect } }
    }
  }
  return err(400, 'unsupported_subprotocol', `none of the offered sub-protocols (${offered.join(', ')}) is supported; supported: ${supported.join(', ')}`)
}

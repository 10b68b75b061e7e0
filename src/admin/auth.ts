/**
 * Who may call the admin server: `Authorization: Bearer KEY` against the keys file, for every
 * path under `/api`, and for `/metrics`, `/healthz`, `/readyz` too with `admin.metrics_auth`.
 * A non-loopback bind without a keys file is refused before anything listens.
 */
import { isLoopback } from '../bridge/adapters/exposure.js'
import type { GatewayConfig } from '../config/load.js'
import { GatewayError } from '../errors.js'
import { matchApiKey, type ApiKeyRole, type ApiKeys } from './api-keys.js'

const OPEN_PATHS = new Set(['/metrics', '/healthz', '/readyz'])

/**
 * The API's description and its browsable page are open: they say what the API is, never
 * what it holds, and the page asks for the key itself before any call it makes.
 */
const DOC_PATHS = ['/api/v1/openapi.json', '/api/v1/docs']

/** Throws OCPPGW_ERR_ADMIN_OPEN for an admin server others could reach with no key to ask. */
export function checkAdminExposure (admin: Pick<GatewayConfig['admin'], 'bind' | 'apiKeysFile'>): void {
  if (admin.bind === undefined || admin.apiKeysFile !== undefined || isLoopback(admin.bind.host)) return
  throw new GatewayError('OCPPGW_ERR_ADMIN_OPEN', `admin HTTP server on ${admin.bind.host}:${admin.bind.port} would be reachable from other hosts without API keys: set admin.api_keys_file (ocpp-gateway apikey add --file F --name NAME), or bind 127.0.0.1 (admin.bind / --admin-bind); docs/errors.md`)
}

/**
 * Whether a request to `path` (no query) must carry a key. The dashboard's page and files
 * (`/`, `/assets/*`, `/vendor/*`) hold no data and are open; everything under `/api` is closed,
 * also when spelled so that the router still finds it: percent-escapes (`/%61pi/…`), a
 * different case, repeated slashes or dot segments are undone before the check.
 */
export function needsKey (path: string, metricsAuth: boolean): boolean {
  const p = canonical(path)
  if (OPEN_PATHS.has(p)) return metricsAuth
  if (DOC_PATHS.some((d) => p === d || p.startsWith(`${d}/`))) return false
  return p === '/api' || p.startsWith('/api/')
}

/** The path as a lenient router could read it: decoded, lower case, `//`, `/./` and `/../` undone. */
function canonical (path: string): string {
  let p = path
  for (let i = 0; i < 3 && p.includes('%'); i++) {
    try { p = decodeURIComponent(p) } catch { break }
  }
  const out: string[] = []
  for (const seg of p.toLowerCase().split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') out.pop()
    else out.push(seg)
  }
  return `/${out.join('/')}`
}

export type KeyCheck = { ok: true, name: string, role: ApiKeyRole } | { ok: false, reason: 'missing_key' | 'wrong_key' }

export function checkKey (keys: ApiKeys, authorization: string | undefined): KeyCheck {
  const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '')
  if (m === null) return { ok: false, reason: 'missing_key' }
  const name = matchApiKey(keys, m[1] as string)
  const key = name === undefined ? undefined : keys.get(name)
  return name === undefined || key === undefined ? { ok: false, reason: 'wrong_key' } : { ok: true, name, role: key.role }
}

/** Whether a key of `role` may make a request with `method`: a viewer reads (GET, HEAD) only. */
export function mayUse (role: ApiKeyRole, method: string): boolean {
  return role === 'admin' || method === 'GET' || method === 'HEAD'
}

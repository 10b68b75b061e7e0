/**
 * The dashboard: a single page at `/` and its ES modules, served as files with no build step.
 * Our own modules are under `/assets/` (src/admin/public); the few libraries the page imports
 * (preact, htm, uPlot) are served from node_modules under `/vendor/`, by name from a fixed table,
 * so nothing else of node_modules is reachable. The page holds no data: it needs no key, and
 * every call it makes goes to /api with the key the operator typed (auth.ts keeps /api closed).
 *
 * Every answer of this plugin carries a strict Content-Security-Policy: scripts from this
 * origin only, plus the page's one inline script, the import map, allowed by its SHA-256.
 *
 * @example
 *   await app.register(dashboard)   // GET / → index.html
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

/** `/vendor/<name>` → the file inside its package. */
const VENDOR: Record<string, { pkg: string, file: string }> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs' },
  'hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs' },
  'uPlot.esm.js': { pkg: 'uplot', file: 'dist/uPlot.esm.js' },
  'uPlot.min.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' }
}

/** src/admin/public, from this file compiled to dist/src/admin or run from src/admin. */
export function publicDir (): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const parts = here.split(sep)
  const dist = parts.lastIndexOf('dist')
  const root = dist >= 0 ? parts.slice(0, dist).join(sep) : join(here, '..', '..')
  return join(root, 'src', 'admin', 'public')
}

/** The directory of an installed package, found the way the gateway's own imports find it. */
function packageDir (pkg: string): string {
  const entry = fileURLToPath(import.meta.resolve(pkg))
  const marker = `${sep}node_modules${sep}${pkg}${sep}`
  const at = entry.lastIndexOf(marker)
  if (at < 0) throw new Error(`package ${pkg} not found under node_modules`)
  return entry.slice(0, at + marker.length)
}

/** The Content-Security-Policy for a page whose only inline script is `inlineScript`. */
export function contentSecurityPolicy (inlineScript: string): string {
  const hash = createHash('sha256').update(inlineScript).digest('base64')
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join('; ')
}

function importMapOf (html: string): string {
  const m = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)
  if (m === null) throw new Error('index.html has no import map')
  return m[1] as string
}

export async function dashboard (app: FastifyInstance): Promise<void> {
  const root = publicDir()
  const html = readFileSync(join(root, 'index.html'), 'utf8')
  const csp = contentSecurityPolicy(importMapOf(html))
  const vendor = new Map(Object.entries(VENDOR).map(([name, v]) => [name, { dir: packageDir(v.pkg), file: v.file }]))

  // Encapsulated (no fastify-plugin): these headers are set on this plugin's answers only.
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', csp)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    reply.header('cross-origin-opener-policy', 'same-origin')
  })
  await app.register(fastifyStatic, { root, prefix: '/assets/', index: false, wildcard: true, cacheControl: true, maxAge: 0 })
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html))
  app.get('/vendor/:name', async (req, reply) => {
    const v = vendor.get((req.params as { name: string }).name)
    if (v === undefined) return reply.callNotFound()
    return reply.header('cache-control', 'public, max-age=3600').sendFile(v.file, v.dir, { cacheControl: false })
  })
}

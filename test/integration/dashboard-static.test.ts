/**
 * The dashboard's files over real HTTP from a real gateway: `/` and its modules need no key,
 * the right content types, a strict Content-Security-Policy whose hash is the page's import
 * map, only the listed files of node_modules, no way out of the public folder, and /api still
 * closed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { startTestGateway } from '../helpers/gateway.js'

/** A GET with the path sent as written (fetch() would resolve `..` before sending). */
function rawGet (port: number, path: string): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

test('the page, its modules and the vendored libraries: open, typed, under a strict CSP', async () => {
  const t = await startTestGateway()
  try {
    const port = t.gw.adminPort ?? 0
    const page = await rawGet(port, '/')
    assert.equal(page.status, 200)
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
    const csp = String(page.headers['content-security-policy'])
    const directives = new Map(csp.split(/;\s*/).map((d) => { const [k, ...v] = d.split(' '); return [k, v.join(' ')] }))
    assert.equal(directives.get('default-src'), "'none'")
    assert.equal(directives.get('connect-src'), "'self'")
    assert.equal(directives.get('style-src'), "'self'", 'no inline styles')
    assert.equal(directives.get('frame-ancestors'), "'none'")
    assert.equal(directives.get('base-uri'), "'none'")
    assert.ok(!csp.includes('unsafe-'), csp)
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)?.[1]
    assert.ok(importMap !== undefined)
    assert.equal(directives.get('script-src'), `'self' 'sha256-${createHash('sha256').update(importMap).digest('base64')}'`, 'the one inline script is allowed by its hash')
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    assert.equal(page.headers['x-frame-options'], 'DENY')
    assert.equal(page.headers['referrer-policy'], 'no-referrer')
    // Every module the import map names is served, as JavaScript.
    for (const url of Object.values(JSON.parse(importMap).imports as Record<string, string>)) {
      const r = await rawGet(port, url)
      assert.equal(r.status, 200, url)
      assert.equal(r.headers['content-type'], 'application/javascript; charset=utf-8', url)
      assert.ok(r.body.length > 1000, url)
      assert.ok(String(r.headers['content-security-policy']).startsWith("default-src 'none'"), url)
    }
    for (const [url, type] of [['/assets/app.js', 'application/javascript; charset=utf-8'], ['/assets/style.css', 'text/css; charset=utf-8'], ['/vendor/uPlot.min.css', 'text/css; charset=utf-8'], ['/assets/icon.svg', 'image/svg+xml']] as const) {
      const r = await rawGet(port, url)
      assert.deepEqual([r.status, r.headers['content-type']], [200, type], url)
    }
    // Nothing else: not other files of node_modules, not outside src/admin/public.
    for (const path of ['/vendor/package.json', '/vendor/..%2Fpackage.json', '/assets/../package.json', '/assets/%2e%2e/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2f..%2fpackage.json', '/node_modules/preact/package.json']) {
      const r = await rawGet(port, path)
      assert.ok(r.status === 404 || r.status === 403 || r.status === 400, `${path}: ${r.status}`)
      assert.ok(!r.body.includes('"dependencies"'), path)
    }
    // The API stays closed, also spelled otherwise.
    for (const path of ['/api/v1/stats', '/api/v1/chargers', '/%61pi/v1/status', '/assets/../api/v1/status', '//api/v1/status']) {
      assert.equal((await rawGet(port, path)).status, 401, path)
    }
  } finally {
    await t.stop()
  }
})

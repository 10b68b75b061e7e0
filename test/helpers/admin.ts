/** A test gateway with the admin API on, an admin key and a viewer key, and a small fetch client. */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashApiKey, newApiKey } from '../../src/admin/api-keys.js'
import { startTestGateway, type TestGateway } from './gateway.js'

export interface AdminClient {
  port: number
  api: (path: string, opts?: { method?: string, body?: unknown, key?: string }) => Promise<{ status: number, body: any }>
}

/** A gateway with an admin key and a viewer key, validation on, a short queue. */
export async function startAdminGateway (config: Record<string, unknown> = {}): Promise<{ t: TestGateway, admin: AdminClient, adminKey: string, viewerKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-calls-'))
  const file = join(dir, 'keys')
  const adminKey = newApiKey()
  const viewerKey = newApiKey()
  await writeFile(file, `ops:${hashApiKey(adminKey)}\ngrafana:${hashApiKey(viewerKey, 'viewer')}\n`)
  const t = await startTestGateway({ config: { message_format_checking: 'all', dnstream: { max_mqueue_len: 1 }, ...config, admin: { bind: '127.0.0.1:0', api_keys_file: file, ...(config.admin as object | undefined) } } })
  const port = t.gw.adminPort ?? 0
  const api: AdminClient['api'] = async (path, opts = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? adminKey}` }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'), headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
    const text = await res.text()
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  return { t, admin: { port, api }, adminKey, viewerKey }
}

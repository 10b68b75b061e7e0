/** `ocpp-gateway --print-config`, run as a user runs it: every secret redacted, the rest useful. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const run = promisify(execFile)

const secrets = ['s3cretpw', 'mqttpw-9', 'Bearer tok123', 'tok123', 'k-abc', 'flagpw-7', 'keypw-5']

describe('CLI --print-config', () => {
  test('prints no secret from the file, the environment or the flags, and every other key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocppgw-print-'))
    const file = join(dir, 'gw.json')
    writeFileSync(file, JSON.stringify({
      mountpoint: 'site1/',
      mqtt: { url: 'mqtt://user:s3cretpw@host:1883', username: 'gw-user', password: 'mqttpw-9' },
      authentication: [{
        backend: 'http',
        url: 'https://auth.example/ocpp',
        headers: { authorization: 'Bearer tok123', 'x-api-key': 'k-abc', 'content-type': 'application/json' }
      }],
      listeners: { wss: { tls: { bind: '127.0.0.1:0', ssl_options: { certfile: '/etc/gw/server.pem', keyfile: '/etc/gw/server.key' } } } }
    }))
    const { stdout } = await run(process.execPath, [cli, '--print-config', '--config', file, '--mqtt-password', 'flagpw-7'], {
      env: { ...process.env, OCPP_GW_LISTENERS__WSS__TLS__SSL_OPTIONS__PASSWORD: 'keypw-5' }
    })
    for (const s of secrets) assert.ok(!stdout.includes(s), `stdout holds ${s}`)

    const c = JSON.parse(stdout)
    assert.equal(c.mqtt.url, 'mqtt://user:[REDACTED]@host:1883')
    assert.equal(c.mqtt.password, '[REDACTED]')
    assert.equal(c.mqtt.username, 'gw-user')
    const http = c.authentication[0]
    assert.equal(http.url, 'https://auth.example/ocpp')
    assert.deepEqual(http.headers, { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', 'content-type': 'application/json' })
    assert.equal(c.listeners.wss.tls.ssl_options.password, '[REDACTED]')
    assert.equal(c.listeners.wss.tls.ssl_options.keyfile, '/etc/gw/server.key')
    assert.equal(c.mountpoint, 'site1/')
    assert.equal(c.dnstream.max_mqueue_len, 100)
    assert.equal(c.listeners.ws.default.bind, '0.0.0.0:33033')
  })
})

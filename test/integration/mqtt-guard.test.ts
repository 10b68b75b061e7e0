/**
 * The embedded broker's guard (issue 12, item 2): loopback until users are configured, a
 * non-loopback bind without users refused at start. Real sockets on 127.0.0.1 port 0; no
 * test binds a non-loopback address (the refusal comes before anything listens).
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from '../../src/observability/logger.js'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { isGatewayError } from '../../src/errors.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { accepts, tryConnect, writeUsersFile } from './mqtt-guard-helpers.js'
import { waitFor } from '../helpers/clients.js'

/** A logger whose lines a test can read. */
function capture (): { logger: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l))
      cb()
    }
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

const base = {
  allow_anonymous: true,
  handshake_limits: { conn_rate_per_address: { enable: false } },
  listeners: { ws: { default: { bind: '127.0.0.1:0' } } }
}

describe('embedded broker exposure', () => {
  for (const [key, embedded] of [
    ['mqtt.embedded.bind', { bind: '0.0.0.0:0', ws_bind: 'off' }],
    ['mqtt.embedded.ws_bind', { bind: '127.0.0.1:0', ws_bind: '0.0.0.0:0' }]
  ] as const) {
    test(`${key} on 0.0.0.0 without users: the start fails with OCPPGW_ERR_MQTT_OPEN, nothing listens`, async () => {
      const { logger } = capture()
      await assert.rejects(startGateway(buildConfig([base, { mqtt: { embedded } }]), { logger }), (err: unknown) => {
        assert.ok(isGatewayError(err, 'OCPPGW_ERR_MQTT_OPEN'), String(err))
        assert.match((err as Error).message, new RegExp(`^${key.replace(/\./g, '\\.')}: 0\\.0\\.0\\.0:0 is reachable from other hosts`))
        return true
      })
    })
  }

  test('loopback without users: starts, and the log says how to open it', async () => {
    const { logger, lines } = capture()
    const gw: Gateway = await startGateway(buildConfig([base, { mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: '127.0.0.1:0' } } }]), { logger })
    try {
      assert.ok(await accepts(gw.mqttPort ?? 0))
      const line = lines.find((l) => /embedded MQTT broker on/.test(l.msg))
      assert.ok(line !== undefined, JSON.stringify(lines.map((l) => l.msg)))
      assert.equal(line.level, 30)
      assert.match(line.msg, /loopback only, no authentication\. To let other hosts in, set mqtt\.embedded\.users_file/)
    } finally {
      await gw.close()
    }
  })
})

interface Guarded {
  gw: Gateway
  mqttUrl: string
  cpUrl: string
  usersFile: string
  lines: Array<Record<string, any>>
  stop: () => Promise<void>
}

const USERS = { backend1: 'b-secret', watcher: 'w-secret', nobody: 'n-secret' }

/** A gateway whose embedded broker has users: backend1 (backend), watcher (observer), nobody (no role). */
async function startGuarded (embedded: Record<string, unknown> = {}): Promise<Guarded> {
  const dir = mkdtempSync(join(tmpdir(), 'ocppgw-mqtt-'))
  const usersFile = join(dir, 'mqtt-users')
  await writeUsersFile(usersFile, USERS)
  const { logger, lines } = capture()
  const gw = await startGateway(buildConfig([base, {
    mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off', users_file: usersFile, roles: { backend1: 'backend', watcher: 'observer' }, ...embedded } }
  }]), { logger, sweepPeriodMs: 100, shutdownGraceMs: 300 })
  const listener = gw.listeners[0]
  return {
    gw,
    mqttUrl: `mqtt://127.0.0.1:${gw.mqttPort ?? 0}`,
    cpUrl: `ws://127.0.0.1:${listener?.port ?? 0}/ocpp`,
    usersFile,
    lines,
    stop: async () => { await gw.close(); rmSync(dir, { recursive: true, force: true }) }
  }
}

describe('embedded broker authentication', () => {
  test('right password: connected; wrong password or unknown user: CONNACK 4; no credentials: CONNACK 5; each counted and logged', async () => {
    const g = await startGuarded()
    try {
      const ok = await tryConnect(g.mqttUrl, { username: 'backend1', password: 'b-secret' })
      assert.ok(ok.client?.connected)
      await ok.client?.endAsync()
      assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'backend1', password: 'wrong' }), { refused: 4 })
      assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'mallory', password: 'b-secret' }), { refused: 4 })
      assert.deepEqual(await tryConnect(g.mqttUrl), { refused: 5 })
      assert.equal(g.gw.metrics.get('mqtt_auth_failures_total'), 3)
      assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'bad_password'), 1)
      assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'unknown_id'), 1)
      assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'missing_credentials'), 1)
      const refused = g.lines.filter((l) => l.msg === 'MQTT client refused')
      assert.deepEqual(refused.map((l) => l.reason), ['bad_password', 'unknown_id', 'missing_credentials'])
      assert.ok(refused.every((l) => JSON.stringify(l).includes('b-secret') === false), 'no password in the log')
      assert.ok(g.lines.some((l) => /clients authenticate \(mqtt\.embedded\.users_file\)/.test(l.msg)))
    } finally {
      await g.stop()
    }
  })

  test('allow_anonymous with users: a client without credentials gets in, a wrong password still does not', async () => {
    const g = await startGuarded({ allow_anonymous: true })
    try {
      const anon = await tryConnect(g.mqttUrl)
      assert.ok(anon.client?.connected)
      await anon.client?.endAsync()
      assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'backend1', password: 'wrong' }), { refused: 4 })
      assert.ok(g.lines.some((l) => l.level === 40 && /^WARNING: .*allow_anonymous: true/.test(l.msg)))
    } finally {
      await g.stop()
    }
  })

  test('a missing users file fails the start with OCPPGW_ERR_CREDENTIALS_FILE', async () => {
    const { logger } = capture()
    await assert.rejects(startGateway(buildConfig([base, { mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off', users_file: join(tmpdir(), 'no-such-dir-ocppgw', 'users') } } }]), { logger }),
      (err: unknown) => isGatewayError(err, 'OCPPGW_ERR_CREDENTIALS_FILE'))
  })

  test('the file is reloaded: a new user gets in, a removed user is refused and its connection closed', async () => {
    const g = await startGuarded()
    try {
      const kept = await tryConnect(g.mqttUrl, { username: 'nobody', password: 'n-secret' })
      assert.ok(kept.client?.connected)
      const closed = new Promise<void>((resolve) => kept.client?.once('close', () => resolve()))
      await writeUsersFile(g.usersFile, { backend1: 'b-secret', newcomer: 'x-secret' })
      await waitFor(() => g.lines.filter((l) => l.msg === 'MQTT users file loaded').length >= 2, 10_000)
      await closed
      const fresh = await tryConnect(g.mqttUrl, { username: 'newcomer', password: 'x-secret' })
      assert.ok(fresh.client?.connected)
      await fresh.client?.endAsync()
      assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'nobody', password: 'n-secret' }), { refused: 4 })
    } finally {
      await g.stop()
    }
  })
})

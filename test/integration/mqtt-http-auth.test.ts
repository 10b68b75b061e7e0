/**
 * MQTT logins of the embedded broker checked by an HTTP service (mqtt.embedded.authentication):
 * a real node:http server on port 0 answers allow / allow with a role / is_superuser / deny /
 * 500 / a role nobody knows; real MQTT.js clients against a real gateway get the CONNACK of each
 * answer, the role it carries (a backend may publish downstream, an observer may not), and
 * every refusal is counted and logged without the password. With a users file too, its users
 * are decided by the file alone.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { tryConnect, writeUsersFile } from '../helpers/mqtt-guard.js'
import { connectChargePoint } from '../helpers/clients.js'
import { capturedLog } from '../helpers/captured-log.js'

/** What the service answers, by user name: [status, body]. */
const ANSWERS: Record<string, [number, string]> = {
  'svc-backend': [200, '{"result":"allow","role":"backend"}'],
  'svc-observer': [200, '{"result":"allow","role":"observer"}'],
  'svc-super': [200, '{"result":"allow","is_superuser":true}'],
  'svc-plain': [200, '{"result":"allow"}'],
  'svc-roled': [204, ''],
  'svc-deny': [200, '{"result":"deny"}'],
  'svc-down': [500, 'oops'],
  'svc-admin': [200, '{"result":"allow","role":"admin"}'],
  'svc-badtype': [200, '{"result":"allow","role":7}']
}

interface Service { server: Server, url: string, bodies: Array<Record<string, unknown>> }

async function startService (): Promise<Service> {
  const bodies: Array<Record<string, unknown>> = []
  const server = createServer((req, res) => {
    let text = ''
    req.on('data', (d: Buffer) => { text += d.toString() })
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>
      bodies.push(body)
      const [status, answer] = ANSWERS[String(body.username)] ?? [200, '{"result":"deny"}']
      res.writeHead(status, { 'content-type': 'application/json' }).end(answer)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  const port = a !== null && typeof a === 'object' ? a.port : 0
  return { server, url: `http://127.0.0.1:${port}/mqtt/auth`, bodies }
}

const capture = (): ReturnType<typeof capturedLog> => capturedLog()

async function startWith (service: Service, embedded: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Promise<{ gw: Gateway, mqttUrl: string, cpUrl: string, lines: Array<Record<string, any>> }> {
  const { logger, lines } = capture()
  const gw = await startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    allow_anonymous: true,
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off', roles: { 'svc-roled': 'backend' }, authentication: { url: service.url, cache: { enable: false } }, ...embedded } },
    ...top
  }]), { logger, sweepPeriodMs: 100, shutdownGraceMs: 300 })
  return { gw, mqttUrl: `mqtt://127.0.0.1:${gw.mqttPort ?? 0}`, cpUrl: `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`, lines }
}

describe('embedded broker with an HTTP authenticator', () => {
  let service: Service
  let g: Awaited<ReturnType<typeof startWith>>
  before(async () => {
    service = await startService()
    g = await startWith(service)
  })
  after(async () => {
    await g.gw.close()
    service.server.close()
  })

  test('the request carries the MQTT client id, the credentials and listener "mqtt"; the start-up line names the service', async () => {
    const r = await tryConnect(g.mqttUrl, { username: 'svc-plain', password: 'pw-1', clientId: 'dashboard-7' })
    assert.ok(r.client?.connected)
    await r.client?.endAsync()
    const body = service.bodies.at(-1)
    assert.equal(body?.clientid, 'dashboard-7')
    assert.equal(body?.username, 'svc-plain')
    assert.equal(body?.password, 'pw-1')
    assert.equal(body?.listener, 'mqtt')
    assert.ok(g.lines.some((l) => /clients authenticate \(mqtt\.embedded\.authentication\)/.test(l.msg)))
  })

  test('allow → connected; deny → CONNACK 4; 500 → 3; an unknown role or a role of the wrong type → 3; each counted by reason and logged without the password', async () => {
    const before = (reason: string): number => g.gw.metrics.get('mqtt_auth_failures_total', reason)
    const counts = { denied: before('denied'), auth_unavailable: before('auth_unavailable'), auth_bad_response: before('auth_bad_response') }
    for (const user of ['svc-backend', 'svc-observer', 'svc-super', 'svc-plain', 'svc-roled']) {
      const r = await tryConnect(g.mqttUrl, { username: user, password: 'secret-of-' + user })
      assert.ok(r.client?.connected, user)
      await r.client?.endAsync()
    }
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-deny', password: 'secret-of-deny' }), { refused: 4 })
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-down', password: 'secret-of-down' }), { refused: 3 })
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-admin', password: 'secret-of-admin' }), { refused: 3 })
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-badtype', password: 'secret-of-badtype' }), { refused: 3 })
    assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'denied'), counts.denied + 1)
    assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'auth_unavailable'), counts.auth_unavailable + 1)
    assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'auth_bad_response'), counts.auth_bad_response + 2)
    const refused = g.lines.filter((l) => l.msg === 'MQTT client refused').map((l) => [l.username, l.reason])
    assert.deepEqual(refused, [['svc-deny', 'denied'], ['svc-down', 'auth_unavailable'], ['svc-admin', 'auth_bad_response'], ['svc-badtype', 'auth_bad_response']])
    assert.ok(g.lines.some((l) => l.msg.startsWith('MQTT HTTP authenticator unavailable') && /status 500/.test(l.err)))
    assert.ok(g.lines.some((l) => /neither backend nor observer/.test(l.msg) && l.role === 'admin'))
    assert.ok(!JSON.stringify(g.lines).includes('secret-of-'), 'no password in the log')
  })

  test('the role of the answer rules the ACL: a backend (role, is_superuser, mqtt.embedded.roles) publishes downstream, an observer (role, or nothing said) is disconnected', async () => {
    const cp = await connectChargePoint(`${g.cpUrl}/CP1`, ['ocpp1.6'])
    try {
      for (const [i, user] of ['svc-backend', 'svc-super', 'svc-roled'].entries()) {
        const r = await tryConnect(g.mqttUrl, { username: user, password: 'pw' })
        assert.ok(r.client !== undefined)
        await r.client.publishAsync('ocpp/cs/CP1', JSON.stringify({ MessageTypeId: 2, UniqueId: `u${i}`, Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
        const call = await cp.frames.wait((f) => f[1] === `u${i}`)
        assert.equal(call[2], 'Reset', user)
        cp.send([3, `u${i}`, { status: 'Accepted' }])
        await r.client.endAsync()
      }
      const denied = g.gw.metrics.get('mqtt_publish_denied_total', 'observer')
      for (const user of ['svc-observer', 'svc-plain']) {
        const r = await tryConnect(g.mqttUrl, { username: user, password: 'pw' })
        assert.ok(r.client !== undefined)
        const c = r.client
        const closed = new Promise<void>((resolve) => c.once('close', () => resolve()))
        r.client.publish('ocpp/cs/x', '{}', { qos: 1 })
        await closed
        r.client.end(true)
      }
      assert.equal(g.gw.metrics.get('mqtt_publish_denied_total', 'observer'), denied + 2)
    } finally {
      await cp.close()
    }
  })
})

test('HTTP denials lock out the user name like wrong passwords (CONNACK 5 locked_out, the service not asked)', async () => {
  const service = await startService()
  const g = await startWith(service, {}, { handshake_limits: { conn_rate_per_address: { enable: false }, auth_failure_per_cid: { max_count: 2, window_time: '1m', ban_time: '1m' } } })
  try {
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-deny', password: 'a' }), { refused: 4 })
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-deny', password: 'b' }), { refused: 4 })
    const asked = service.bodies.length
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-deny', password: 'c' }), { refused: 5 })
    assert.equal(service.bodies.length, asked, 'a locked-out login is not sent to the service')
    assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'locked_out'), 1)
    // A service that is down is not the client's fault: no lockout from 5xx.
    for (let i = 0; i < 3; i++) assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-down', password: 'x' }), { refused: 3 })
  } finally {
    await g.gw.close()
    service.server.close()
  }
})

test('with a users file too: its users are decided by the file alone, other names by the service', async () => {
  const service = await startService()
  const dir = mkdtempSync(join(tmpdir(), 'ocppgw-mqtt-http-'))
  const usersFile = join(dir, 'users')
  await writeUsersFile(usersFile, { 'svc-backend': 'file-pw' })
  const g = await startWith(service, { users_file: usersFile })
  try {
    const ok = await tryConnect(g.mqttUrl, { username: 'svc-backend', password: 'file-pw' })
    assert.ok(ok.client?.connected)
    await ok.client?.endAsync()
    // The service would allow this one; the file's wrong password is final.
    assert.deepEqual(await tryConnect(g.mqttUrl, { username: 'svc-backend', password: 'other' }), { refused: 4 })
    assert.equal(service.bodies.length, 0, 'file users never reach the service')
    assert.equal(g.gw.metrics.get('mqtt_auth_failures_total', 'bad_password'), 1)
    const viaHttp = await tryConnect(g.mqttUrl, { username: 'svc-super', password: 'pw' })
    assert.ok(viaHttp.client?.connected)
    await viaHttp.client?.endAsync()
    assert.equal(service.bodies.length, 1)
    assert.ok(g.lines.some((l) => /clients authenticate \(mqtt\.embedded\.users_file, then mqtt\.embedded\.authentication\)/.test(l.msg)))
  } finally {
    await g.gw.close()
    service.server.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

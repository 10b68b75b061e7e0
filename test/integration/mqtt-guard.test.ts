/**
 * The embedded broker's guard (issue 12, item 2): loopback until users are configured, a
 * non-loopback bind without users refused at start. Real sockets on 127.0.0.1 port 0; no
 * test binds a non-loopback address (the refusal comes before anything listens).
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { isGatewayError } from '../../src/errors.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { connect } from 'node:net'
import { accepts, inboxOf, tryConnect, writeUsersFile } from '../helpers/mqtt-guard.js'
import { connectChargePoint, waitFor, type Inbox, type Message } from '../helpers/clients.js'
import { capturedLog } from '../helpers/captured-log.js'

const capture = (): ReturnType<typeof capturedLog> => capturedLog()

const base = {
  allow_anonymous: true,
  handshake_limits: { conn_rate_per_address: { enable: false } },
  listeners: { ws: { default: { bind: '127.0.0.1:0' } } }
}

describe('embedded broker exposure', () => {
  for (const [key, embedded] of [
    ['mqtt.embedded.bind', { bind: '0.0.0.0:0', ws_bind: 'off' }],
    ['mqtt.embedded.ws_bind', { bind: '127.0.0.1:0', ws_bind: '0.0.0.0:0' }],
    // Refused before any certificate is read: these files need not exist.
    ['mqtt.embedded.wss_bind', { bind: '127.0.0.1:0', ws_bind: 'off', wss_bind: '0.0.0.0:0', ssl_options: { certfile: '/nonexistent/c.pem', keyfile: '/nonexistent/k.pem' } }]
  ] as const) {
    test(`${key} on 0.0.0.0 without users: the start fails with OCPPGW_ERR_MQTT_OPEN, nothing listens`, async () => {
      const { logger } = capture()
      await assert.rejects(startGateway(buildConfig([{ admin: { bind: 'off' } }, base, { mqtt: { embedded } }]), { logger }), (err: unknown) => {
        assert.ok(isGatewayError(err, 'OCPPGW_ERR_MQTT_OPEN'), String(err))
        assert.match((err as Error).message, new RegExp(`^${key.replace(/\./g, '\\.')}: 0\\.0\\.0\\.0:0 is reachable from other hosts`))
        return true
      })
    })
  }

  test('loopback without users: starts, and the log says how to open it', async () => {
    const { logger, lines } = capture()
    const gw: Gateway = await startGateway(buildConfig([{ admin: { bind: 'off' } }, base, { mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: '127.0.0.1:0' } } }]), { logger })
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
  const gw = await startGateway(buildConfig([{ admin: { bind: 'off' } }, base, {
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
    await assert.rejects(startGateway(buildConfig([{ admin: { bind: 'off' } }, base, { mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off', users_file: join(tmpdir(), 'no-such-dir-ocppgw', 'users') } } }]), { logger }),
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

describe('embedded broker authorization by role', () => {
  /** A client of `user`, subscribed to `filters`, with its inbox. */
  async function client (g: Guarded, user: keyof typeof USERS, filters: string[] = []): Promise<{ c: MqttClient, inbox: Inbox<Message>, granted: number[] }> {
    const { client: c } = await tryConnect(g.mqttUrl, { username: user, password: USERS[user] })
    assert.ok(c !== undefined)
    const inbox = inboxOf(c)
    // MQTT.js rejects a SUBACK holding 0x80; the packet it carries has every return code.
    const granted = filters.length === 0
      ? []
      : await c.subscribeAsync(filters, { qos: 1 }).then((subs) => subs.map((s) => s.qos), (err: Error & { packet?: { granted?: number[] } }) => {
        if (err.packet?.granted === undefined) throw err
        return err.packet.granted
      })
    return { c, inbox, granted }
  }
  const closedOf = (c: MqttClient): Promise<void> => new Promise((resolve) => c.once('close', () => resolve()))
  const settle = (ms = 300): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

  test("a backend's Call reaches the charger and its reply comes back (the normal path with auth on)", async () => {
    const g = await startGuarded()
    try {
      const b = await client(g, 'backend1', ['ocpp/#'])
      assert.deepEqual(b.granted, [1])
      const cp = await connectChargePoint(`${g.cpUrl}/CP1`, ['ocpp1.6'])
      await b.inbox.wait((m) => m.topic === 'ocpp/events/CP1' && m.json?.event === 'connected')
      cp.send([2, 'up-1', 'Heartbeat', {}])
      await b.inbox.wait((m) => m.topic === 'ocpp/cp/CP1' && m.json?.UniqueId === 'up-1')
      await b.c.publishAsync('ocpp/cs/CP1', JSON.stringify({ MessageTypeId: 2, UniqueId: 'dn-1', Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
      const call = await cp.frames.wait((f) => f[1] === 'dn-1')
      assert.deepEqual(call, [2, 'dn-1', 'Reset', { type: 'Soft' }])
      cp.send([3, 'dn-1', { status: 'Accepted' }])
      const reply = await b.inbox.wait((m) => m.topic === 'ocpp/cp/CP1/Reply' && m.json?.UniqueId === 'dn-1')
      assert.deepEqual(reply.json.Payload, { status: 'Accepted' })
      assert.equal(b.inbox.items.some((m) => m.topic.startsWith('ocpp/cs/')), false, 'downstream traffic is not readable')
      await cp.close()
      await b.c.endAsync()
    } finally {
      await g.stop()
    }
  })

  test('an observer cannot publish to ocpp/cs/X: the charger never receives it, the observer is disconnected', async () => {
    const g = await startGuarded()
    try {
      const cp = await connectChargePoint(`${g.cpUrl}/CP1`, ['ocpp1.6'])
      for (const user of ['watcher', 'nobody'] as const) {
        const o = await client(g, user)
        const closed = closedOf(o.c)
        o.c.publish('ocpp/cs/CP1', JSON.stringify({ MessageTypeId: 2, UniqueId: `evil-${user}`, Action: 'Reset', Payload: { type: 'Hard' } }), { qos: 1 })
        await closed
        o.c.end(true)
      }
      await settle()
      assert.deepEqual(cp.frames.items, [], 'the charger got nothing')
      assert.equal(g.gw.metrics.get('mqtt_publish_denied_total', 'observer'), 2)
      assert.ok(g.lines.some((l) => l.msg.startsWith('MQTT publish refused') && l.topic === 'ocpp/cs/CP1' && l.username === 'watcher'))
      await cp.close()
    } finally {
      await g.stop()
    }
  })

  test('a backend cannot forge ocpp/cp/X, events or a retained message: subscribers never see them', async () => {
    const g = await startGuarded()
    try {
      const o = await client(g, 'watcher', ['#'])
      assert.deepEqual(o.granted, [1])
      for (const [topic, retain] of [['ocpp/cp/CP1', false], ['ocpp/events/CP1', true], ['ocpp/cp/CP1/Reply', false]] as const) {
        const b = await client(g, 'backend1')
        const closed = closedOf(b.c)
        b.c.publish(topic, JSON.stringify({ MessageTypeId: 2, UniqueId: 'forged', Action: 'BootNotification', Payload: {} }), { qos: 1, retain })
        await closed
        b.c.end(true)
      }
      await settle()
      assert.deepEqual(o.inbox.items, [])
      // A late subscriber gets no forged retained event either.
      const late = await client(g, 'watcher', ['ocpp/events/+'])
      await settle()
      assert.deepEqual(late.inbox.items, [])
      assert.equal(g.gw.metrics.get('mqtt_publish_denied_total', 'backend'), 3)
      await o.c.endAsync()
      await late.c.endAsync()
    } finally {
      await g.stop()
    }
  })

  test('subscriptions: # granted but filtered to readable topics; downstream, presence, $SYS and foreign filters get 0x80', async () => {
    const g = await startGuarded()
    try {
      const o = await client(g, 'watcher', ['#', 'ocpp/cs/+', 'ocpp/presence/#', '$SYS/#', 'elsewhere/#'])
      assert.deepEqual(o.granted, [1, 128, 128, 128, 128])
      assert.equal(g.gw.metrics.get('mqtt_subscribe_denied_total', 'observer'), 4)
      const b = await client(g, 'backend1')
      const cp = await connectChargePoint(`${g.cpUrl}/CP1`, ['ocpp1.6'])
      cp.send([2, 'u1', 'Heartbeat', {}])
      await o.inbox.wait((m) => m.topic === 'ocpp/cp/CP1')
      await b.c.publishAsync('ocpp/cs/CP1', JSON.stringify({ MessageTypeId: 3, UniqueId: 'u1', Payload: { currentTime: '2024-01-01T00:00:00Z' } }), { qos: 1 })
      await cp.frames.wait((f) => f[1] === 'u1')
      await settle()
      assert.deepEqual([...new Set(o.inbox.items.map((m) => m.topic))].sort(), ['ocpp/cp/CP1', 'ocpp/events/CP1'])
      await cp.close()
      await o.c.endAsync()
      await b.c.endAsync()
    } finally {
      await g.stop()
    }
  })
})

describe('embedded broker bounds', () => {
  test('a packet over max_packet_size closes that client at its header; the gateway and its other clients go on', async () => {
    const g = await startGuarded({ max_packet_size: 65536 })
    try {
      const b = await tryConnect(g.mqttUrl, { username: 'backend1', password: 'b-secret' })
      assert.ok(b.client !== undefined)
      const inbox = inboxOf(b.client)
      await b.client.subscribeAsync('ocpp/#', { qos: 1 })
      for (let round = 0; round < 3; round++) {
        // A raw client: CONNECT, then a PUBLISH announcing 200 MB, then its body in 64 KiB chunks.
        const s = connect(g.gw.mqttPort ?? 0, '127.0.0.1')
        s.on('error', () => {}) // the reset of the refused socket
        await new Promise((resolve) => s.once('connect', resolve))
        s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `big-${round}`, keepalive: 30, username: 'backend1', password: Buffer.from('b-secret') }))
        await new Promise((resolve) => s.once('data', resolve)) // CONNACK
        const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
        s.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64])) // PUBLISH, Remaining Length 200 MiB
        let sent = 0
        const chunk = Buffer.alloc(65536)
        while (!s.destroyed && sent < 200 * 1024 * 1024) {
          if (!s.write(chunk)) await Promise.race([new Promise((resolve) => s.once('drain', resolve)), closed])
          sent += chunk.length
        }
        await closed
        assert.ok(sent < 64 * 1024 * 1024, `closed after ${sent} bytes`)
      }
      // The gateway's memory is measured in a process of its own: mqtt-rss.test.ts.
      assert.equal(g.gw.metrics.get('mqtt_packets_too_large_total'), 3)
      // The others keep working: a Call and its reply through the same broker.
      const cp = await connectChargePoint(`${g.cpUrl}/CP1`, ['ocpp1.6'])
      await inbox.wait((m) => m.topic === 'ocpp/events/CP1')
      await b.client.publishAsync('ocpp/cs/CP1', JSON.stringify({ MessageTypeId: 2, UniqueId: 'after', Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
      await cp.frames.wait((f) => f[1] === 'after')
      cp.send([3, 'after', { status: 'Accepted' }])
      await inbox.wait((m) => m.topic === 'ocpp/cp/CP1/Reply' && m.json?.UniqueId === 'after')
      await cp.close()
      await b.client.endAsync()
    } finally {
      await g.stop()
    }
  })

  test('max_clients: the connection over it is closed at once and counted', async () => {
    const g = await startGuarded({ max_clients: 2 })
    try {
      const a = await tryConnect(g.mqttUrl, { username: 'watcher', password: 'w-secret' })
      const b = await tryConnect(g.mqttUrl, { username: 'watcher', password: 'w-secret' })
      await assert.rejects(tryConnect(g.mqttUrl, { username: 'watcher', password: 'w-secret' }))
      assert.equal(g.gw.metrics.get('mqtt_clients_refused_total'), 1)
      await a.client?.endAsync()
      await waitFor(() => !(a.client?.connected ?? false))
      await new Promise((resolve) => setTimeout(resolve, 100))
      const c = await tryConnect(g.mqttUrl, { username: 'watcher', password: 'w-secret' })
      assert.ok(c.client?.connected, 'a slot freed by a close is usable again')
      await b.client?.endAsync()
      await c.client?.endAsync()
    } finally {
      await g.stop()
    }
  })
})

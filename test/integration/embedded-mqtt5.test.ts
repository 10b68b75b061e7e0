/**
 * MQTT 5 on the embedded broker (issue 16): real MQTT.js clients at protocolVersion 5 connect,
 * subscribe and publish with properties (user properties, response topic, correlation data,
 * message expiry, content type) that arrive intact; a 3.1.1 client alongside keeps working;
 * reason codes for what the ACL refuses; a real charge point's Call through the gateway reaches
 * a v5 backend and its answer goes back. Real sockets on 127.0.0.1 port 0.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt'
import { EmbeddedBroker } from '../../src/bridge/adapters/embedded-broker.js'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { Inbox, connectChargePoint } from '../helpers/clients.js'
import { writeUsersFile } from '../helpers/mqtt-guard.js'

interface Received { topic: string, payload: string, packet: IPublishPacket }

interface Peer { client: MqttClient, connack: IConnackPacket, inbox: Inbox<Received> }

async function peer (url: string, opts: IClientOptions = {}): Promise<Peer> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, clientId: `t5-${Math.random().toString(16).slice(2)}`, ...opts })
  const inbox = new Inbox<Received>()
  client.on('message', (topic, payload, packet) => inbox.push({ topic, payload: payload.toString(), packet }))
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return { client, connack, inbox }
}

describe('embedded broker: MQTT 5 clients (no ACL)', () => {
  let broker: EmbeddedBroker
  let url: string
  before(async () => {
    broker = await EmbeddedBroker.start({ bind: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) })
    url = `mqtt://127.0.0.1:${broker.tcpPort ?? 0}`
  })
  after(async () => { await broker.close() })

  test('a v5 client connects (CONNACK reason code 0), subscribes (SUBACK granted QoS), and gets a v5 publish with its properties intact', async () => {
    const sub = await peer(url, { protocolVersion: 5 })
    const pub = await peer(url, { protocolVersion: 5 })
    try {
      assert.equal(sub.connack.reasonCode, 0)
      assert.equal(sub.client.options.protocolVersion, 5)
      const granted = await sub.client.subscribeAsync('v5/props/+', { qos: 1 })
      assert.deepEqual(granted.map((g) => g.qos), [1])
      const correlationData = Buffer.from([0, 1, 2, 0xfe, 0xff])
      await pub.client.publishAsync('v5/props/a', '{"x":1}', {
        qos: 1,
        properties: {
          userProperties: { tenant: 'acme', multi: ['one', 'two'] },
          responseTopic: 'v5/answers/a',
          correlationData,
          messageExpiryInterval: 60,
          contentType: 'application/json',
          payloadFormatIndicator: true
        }
      })
      const got = await sub.inbox.wait((m) => m.topic === 'v5/props/a')
      assert.equal(got.payload, '{"x":1}')
      assert.equal(got.packet.qos, 1)
      const p = got.packet.properties ?? {}
      assert.deepEqual({ ...p.userProperties }, { tenant: 'acme', multi: ['one', 'two'] })
      assert.equal(p.responseTopic, 'v5/answers/a')
      assert.deepEqual(p.correlationData, correlationData)
      assert.equal(p.contentType, 'application/json')
      assert.equal(p.payloadFormatIndicator, true)
      // §3.3.2.3.3: forwarded with the lifetime that remains, never more than was sent.
      assert.ok(typeof p.messageExpiryInterval === 'number' && p.messageExpiryInterval > 0 && p.messageExpiryInterval <= 60, String(p.messageExpiryInterval))
    } finally {
      await sub.client.endAsync()
      await pub.client.endAsync()
    }
  })

  test('a 3.1.1 client alongside: it gets the v5 publish (payload, no properties), and its own publish reaches the v5 client', async () => {
    const v5 = await peer(url, { protocolVersion: 5 })
    const v4 = await peer(url, { protocolVersion: 4 })
    try {
      assert.equal(v4.connack.returnCode, 0)
      await v5.client.subscribeAsync('mixed/#', { qos: 2 })
      await v4.client.subscribeAsync('mixed/#', { qos: 2 })
      await v5.client.publishAsync('mixed/from5', 'five', { qos: 2, properties: { userProperties: { k: 'v' }, correlationData: Buffer.from('c1') } })
      const at4 = await v4.inbox.wait((m) => m.topic === 'mixed/from5')
      assert.equal(at4.payload, 'five')
      assert.equal(at4.packet.properties, undefined)
      await v4.client.publishAsync('mixed/from4', 'four', { qos: 1 })
      const at5 = await v5.inbox.wait((m) => m.topic === 'mixed/from4')
      assert.equal(at5.payload, 'four')
      assert.equal(at5.packet.qos, 1)
    } finally {
      await v5.client.endAsync()
      await v4.client.endAsync()
    }
  })

  test('message expiry: a retained message past its Message Expiry Interval is not delivered to a later subscriber; one within it is, with the rest of its lifetime', async () => {
    const pub = await peer(url, { protocolVersion: 5 })
    try {
      await pub.client.publishAsync('exp/short', 'gone', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } })
      await pub.client.publishAsync('exp/long', 'kept', { qos: 1, retain: true, properties: { messageExpiryInterval: 3600 } })
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const late = await peer(url, { protocolVersion: 5 })
      try {
        await late.client.subscribeAsync('exp/+', { qos: 1 })
        const kept = await late.inbox.wait((m) => m.topic === 'exp/long')
        assert.equal(kept.payload, 'kept')
        assert.ok((kept.packet.properties?.messageExpiryInterval ?? 0) <= 3600)
        // The retained messages of one SUBSCRIBE come together: the expired one would be here by now.
        await new Promise((resolve) => setTimeout(resolve, 100))
        assert.deepEqual(late.inbox.items.map((m) => m.topic), ['exp/long'])
      } finally {
        await late.client.endAsync()
      }
    } finally {
      await pub.client.endAsync()
    }
  })

  test('names of Object.prototype (GHSA-52qw-whmv-87c5, unfixed in aedes 2.0.0-beta.1) close that client only: client id, filter, topic; the broker goes on', async () => {
    for (const version of [4, 5] as const) {
      for (const clientId of ['constructor', '__proto__']) {
        const c = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: version, clientId, connectTimeout: 2000 })
        await new Promise<void>((resolve) => { c.once('close', () => resolve()) })
        assert.equal(c.connected, false)
        c.end(true)
      }
      const p = await peer(url, { protocolVersion: version })
      const closed = new Promise<void>((resolve) => p.client.once('close', () => resolve()))
      p.client.subscribe('toString', { qos: 1 })
      await closed
      p.client.end(true)
      const q = await peer(url, { protocolVersion: version })
      const closedToo = new Promise<void>((resolve) => q.client.once('close', () => resolve()))
      q.client.publish('hasOwnProperty', 'x', { qos: 1 })
      await closedToo
      q.client.end(true)
    }
    const ok = await peer(url, { protocolVersion: 5 })
    await ok.client.subscribeAsync('still/+', { qos: 1 })
    await ok.client.publishAsync('still/up', 'yes', { qos: 1 })
    assert.equal((await ok.inbox.wait((m) => m.topic === 'still/up')).payload, 'yes')
    await ok.client.endAsync()
  })
})

describe('embedded broker: MQTT 5 through the gateway (users, ACL)', () => {
  let gw: Gateway
  let dir: string
  let mqttUrl: string
  let cpUrl: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ocppgw-mqtt5-'))
    const usersFile = join(dir, 'mqtt-users')
    await writeUsersFile(usersFile, { be: 'b-secret', watcher: 'w-secret' })
    gw = await startGateway(buildConfig([{
      admin: { bind: 'off' },
      allow_anonymous: true,
      handshake_limits: { conn_rate_per_address: { enable: false } },
      listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
      mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off', users_file: usersFile, roles: { be: 'backend', watcher: 'observer' } } },
      log: { level: 'silent' }
    }]), { logger: pino({ level: 'silent' }), sweepPeriodMs: 100, shutdownGraceMs: 300 })
    mqttUrl = `mqtt://127.0.0.1:${gw.mqttPort ?? 0}`
    cpUrl = `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`
  })
  after(async () => {
    await gw.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a charge point\'s Call reaches a v5 backend and a 3.1.1 backend alike; the v5 backend\'s answer reaches the charge point', async () => {
    const v5 = await peer(mqttUrl, { protocolVersion: 5, username: 'be', password: 'b-secret' })
    const v4 = await peer(mqttUrl, { protocolVersion: 4, username: 'be', password: 'b-secret' })
    const cp = await connectChargePoint(`${cpUrl}/CP-V5`, ['ocpp1.6'])
    try {
      await v5.client.subscribeAsync('ocpp/cp/+', { qos: 1 })
      await v4.client.subscribeAsync('ocpp/cp/+', { qos: 1 })
      cp.send([2, 'hb-1', 'Heartbeat', {}])
      for (const b of [v5, v4]) {
        const call = await b.inbox.wait((m) => m.topic === 'ocpp/cp/CP-V5')
        assert.deepEqual(JSON.parse(call.payload), { MessageTypeId: 2, UniqueId: 'hb-1', Action: 'Heartbeat', Payload: {} })
      }
      await v5.client.publishAsync('ocpp/cs/CP-V5', JSON.stringify({ MessageTypeId: 3, UniqueId: 'hb-1', Payload: { currentTime: '2026-01-01T00:00:00Z' } }), { qos: 1, properties: { userProperties: { from: 'v5' } } })
      assert.deepEqual(await cp.frames.wait((f) => f[1] === 'hb-1'), [3, 'hb-1', { currentTime: '2026-01-01T00:00:00Z' }])
    } finally {
      await cp.close()
      await v5.client.endAsync()
      await v4.client.endAsync()
    }
  })

  test('reason codes: a refused subscription gets SUBACK 0x87, a refused QoS 1 publish PUBACK 0x87, and the v5 connection stays up', async () => {
    const watcher = await peer(mqttUrl, { protocolVersion: 5, username: 'watcher', password: 'w-secret' })
    try {
      // MQTT.js rejects a SUBSCRIBE with any failure code, the SUBACK attached: one code per filter.
      const refused = await watcher.client.subscribeAsync(['ocpp/cs/#', 'ocpp/cp/+'], { qos: 1 }).then(() => undefined, (err: Error & { packet?: { granted: number[] } }) => err)
      assert.match(String(refused), /Not authorized/)
      assert.deepEqual(refused?.packet?.granted, [0x87, 1])
      await assert.rejects(watcher.client.publishAsync('ocpp/cs/CP-X', '{}', { qos: 1 }), (err: Error & { code?: number }) => err.code === 0x87)
      assert.equal(watcher.client.connected, true)
      // Still usable: a ping round trip and another subscription.
      const again = await watcher.client.subscribeAsync('ocpp/cp/+/Reply', { qos: 0 })
      assert.deepEqual(again.map((g) => g.qos), [0])
    } finally {
      await watcher.client.endAsync()
    }
  })

  test('a wrong password: a v5 client gets CONNACK reason code 0x86 (Bad User Name or Password)', async () => {
    await assert.rejects(peer(mqttUrl, { protocolVersion: 5, username: 'be', password: 'nope' }), (err: Error & { code?: number }) => err.code === 0x86)
  })
})

/**
 * The gateway's own MQTT connection on a broker that speaks only MQTT 3.1.1 (issue 16): it
 * tries MQTT 5, is refused with "unacceptable protocol version" as §3.1.2.2 says, and speaks
 * 3.1.1 instead. Two nodes on it: Calls both ways answered exactly once, a Call to a charge
 * point nobody holds answered offline once, and an orderly stop leaves no session behind.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { startMosquitto, mosquittoSkip, type Mosquitto } from '../helpers/mosquitto.js'
import { startMqtt311Proxy, type Mqtt311Proxy } from '../helpers/mqtt311-proxy.js'
import { connectBackend, connectChargePoint, waitFor, type Backend } from '../helpers/clients.js'
import { capturedLog } from '../helpers/captured-log.js'
import { waitHolders } from '../helpers/cluster-clients.js'

const skip = mosquittoSkip()

describe('a broker that speaks only MQTT 3.1.1', { skip }, () => {
  let mosquitto: Mosquitto
  let proxy: Mqtt311Proxy
  let a: Gateway
  let b: Gateway
  let backend: Backend
  const logA = capturedLog()
  const url = (gw: Gateway): string => `ws://127.0.0.1:${gw.listeners[0]?.port ?? 0}/ocpp`
  const node = (id: string, logger: pino.Logger | ReturnType<typeof capturedLog>['logger']): Promise<Gateway> => startGateway(buildConfig([{ admin: { bind: 'off' } }, {
    node_id: id,
    allow_anonymous: true,
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { url: proxy.url, client_id: `gw-${id}` },
    log: { level: 'silent' }
  }]), { logger, sweepPeriodMs: 100, shutdownGraceMs: 500 })

  before(async () => {
    mosquitto = await startMosquitto()
    proxy = await startMqtt311Proxy(mosquitto.port)
    a = await node('node-a', logA.logger)
    b = await node('node-b', pino({ level: 'silent' }))
    backend = await connectBackend(mosquitto.url)
  })

  after(async () => {
    await backend?.close()
    await b?.close()
    await proxy?.close()
    await mosquitto?.stop()
  })

  test('the gateway falls back to 3.1.1, says so once, and bridges both ways exactly once', async () => {
    // Each node: a refused MQTT 5 CONNECT, then 3.1.1 connections (the session wipe, the session).
    assert.equal(proxy.refused, 2)
    assert.equal((a.mqtt as unknown as { protocolVersion: number }).protocolVersion, 4)
    const fallback = logA.lines.filter((l) => /does not speak MQTT 5/.test(String(l.msg)))
    assert.equal(fallback.length, 1)
    assert.equal(fallback[0]?.level, 40)

    const cp = await connectChargePoint(`${url(a)}/CP311`)
    await waitHolders(mosquitto.url, 'CP311', ['node-a'])
    cp.send([2, 'up-1', 'Heartbeat', {}])
    const up = await backend.inbox.wait((m) => m.topic === 'ocpp/cp/CP311')
    assert.equal(up.json.UniqueId, 'up-1')
    await backend.publish('ocpp/cs/CP311', { MessageTypeId: 3, UniqueId: 'up-1', Payload: { currentTime: '2026-12-04T00:00:00Z' } })
    assert.deepEqual((await cp.frames.wait((f) => f[1] === 'up-1')).slice(0, 2), [3, 'up-1'])

    // A backend Call: one frame at the charge point, one reply on MQTT, from node a only.
    await backend.publish('ocpp/cs/CP311', { MessageTypeId: 2, UniqueId: 'dn-1', Action: 'Reset', Payload: { type: 'Soft' } })
    const call = await cp.frames.wait((f) => f[1] === 'dn-1')
    assert.deepEqual(call.slice(0, 3), [2, 'dn-1', 'Reset'])
    cp.send([3, 'dn-1', { status: 'Accepted' }])
    await backend.inbox.wait((m) => m.topic === 'ocpp/cp/CP311/Reply' && m.json.UniqueId === 'dn-1')
    // A Call to a charge point nobody holds: answered offline once, by one of the two nodes.
    await backend.publish('ocpp/cs/NOBODY311', { MessageTypeId: 2, UniqueId: 'off-1', Action: 'Reset', Payload: { type: 'Soft' } })
    const offline = await backend.inbox.wait((m) => m.topic === 'ocpp/cp/NOBODY311/Reply')
    assert.equal(offline.json.ErrorDetails?.reason, 'offline')
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(cp.frames.items.filter((f) => f[1] === 'dn-1').length, 1, 'the charge point got the Call once')
    assert.equal(backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/CP311').length, 1, 'one upstream Call')
    assert.equal(backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/CP311/Reply' && m.json.UniqueId === 'dn-1').length, 1, 'one reply')
    assert.equal(backend.inbox.items.filter((m) => m.topic === 'ocpp/cp/NOBODY311/Reply').length, 1, 'one offline answer')
    await cp.close()
  })

  test('an orderly stop ends the node\'s 3.1.1 session at the broker', async () => {
    await a.close()
    // Were the session kept, a persistent connection with the node's client id would find it.
    const probe = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 4, clientId: 'gw-node-a', clean: false, reconnectPeriod: 0 })
    try {
      await waitFor(() => probe.connected)
      const connack = (probe as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket
      assert.equal(connack?.sessionPresent, false)
    } finally {
      await probe.endAsync()
    }
  })
})

/**
 * MQTT over TLS on the embedded broker (mqtt.embedded.tls_bind + ssl_options): a backend
 * connects with mqtts and the CA, and is served as on TCP; a plain client on the TLS port gets
 * nowhere; a missing certificate fails the start with its code.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import mqtt from 'mqtt'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'
import { makeTestCerts, type TestCerts } from '../helpers/certs.js'

describe('embedded broker over TLS', () => {
  let certs: TestCerts
  let t: TestGateway
  before(async () => {
    certs = makeTestCerts('CP001')
    t = await startTestGateway({ config: { mqtt: { embedded: { tls_bind: '127.0.0.1:0', ssl_options: { certfile: certs.server.cert, keyfile: certs.server.key } } } } })
  })
  after(async () => { await t.stop(); certs.cleanup() })

  test('a backend on mqtts receives the chargers\' Calls and its Calls reach them', async () => {
    const port = t.gw.mqttTlsPort
    assert.ok(port !== undefined && port > 0)
    const backend = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, { ca: readFileSync(certs.ca.cert), servername: 'localhost', reconnectPeriod: 0 })
    await backend.subscribeAsync('ocpp/cp/#', { qos: 1 })
    const got = new Promise<string>((resolve) => backend.on('message', (topic) => resolve(topic)))
    const cp = await connectChargePoint(`${t.url}/tls-cp`)
    cp.send([2, 'h1', 'Heartbeat', {}])
    assert.equal(await got, 'ocpp/cp/tls-cp')
    await backend.publishAsync('ocpp/cs/tls-cp', JSON.stringify({ MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
    const call = await cp.frames.wait((f) => f[0] === 2)
    assert.equal(call[1], 'r1')
    await backend.endAsync()
    await cp.close()
  })

  test('a plain MQTT client on the TLS port does not get in', async () => {
    const plain = mqtt.connect(`mqtt://127.0.0.1:${t.gw.mqttTlsPort ?? 0}`, { reconnectPeriod: 0, connectTimeout: 2000 })
    const outcome = await new Promise<string>((resolve) => {
      plain.once('connect', () => resolve('connected'))
      plain.once('error', () => resolve('error'))
      plain.once('close', () => resolve('closed'))
    })
    assert.notEqual(outcome, 'connected')
    plain.end(true)
  })
})

test('a missing certificate for mqtt.embedded.tls_bind fails the start with OCPPGW_ERR_TLS_CONFIG', async () => {
  await assert.rejects(startTestGateway({ config: { mqtt: { embedded: { tls_bind: '127.0.0.1:0', ssl_options: { certfile: join('/nonexistent', 'c.pem'), keyfile: join('/nonexistent', 'k.pem') } } } } }), (err: Error & { code?: string }) => err.code === 'OCPPGW_ERR_TLS_CONFIG')
})

test('tls_bind without ssl_options is a config error naming the key', async () => {
  await assert.rejects(startTestGateway({ config: { mqtt: { embedded: { tls_bind: '127.0.0.1:0' } } } }), /mqtt\.embedded\.ssl_options/)
})

/**
 * MQTT over secure WebSocket on the embedded broker (mqtt.embedded.wss_bind, the ssl_options of
 * tls_bind): a backend connects with MQTT.js over wss:// trusting only the test CA; with
 * verify_peer (profile 3) a client without a certificate of that CA does not get in, and is
 * counted; SIGHUP's reload() installs renewed files on both TLS listeners; a missing
 * certificate fails the start with its code.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import mqtt from 'mqtt'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'
import { makeTestCerts, type CertPair, type TestCerts } from '../helpers/certs.js'

/** The outcome of an MQTT.js connection over wss:// with these TLS options. */
async function wssOutcome (port: number, opts: Record<string, unknown>): Promise<string> {
  const c = mqtt.connect(`wss://localhost:${port}`, { reconnectPeriod: 0, connectTimeout: 3000, ...opts })
  const outcome = await new Promise<string>((resolve) => {
    c.once('connect', () => resolve('connected'))
    c.once('error', (err: Error & { code?: string | number }) => resolve(`error ${String(err.code ?? err.message)}`))
    c.once('close', () => resolve('closed'))
  })
  c.end(true)
  return outcome
}

/** The CN of the certificate the server on this port presents. */
async function serverCN (port: number, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost' }, () => {
      const cn = s.getPeerCertificate().subject.CN
      s.end()
      resolve(String(cn))
    })
    s.once('error', reject)
  })
}

const clientOf = (pair: CertPair): { cert: Buffer, key: Buffer } => ({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) })

describe('embedded broker over secure WebSocket', () => {
  let certs: TestCerts
  let t: TestGateway
  before(async () => {
    certs = makeTestCerts('CP001')
    t = await startTestGateway({ config: { mqtt: { embedded: { wss_bind: '127.0.0.1:0', ssl_options: { certfile: certs.server.cert, keyfile: certs.server.key } } } } })
  })
  after(async () => { await t.stop(); certs.cleanup() })

  test('a backend on wss:// (the test CA, rejectUnauthorized) receives the chargers\' Calls and its Calls reach them', async () => {
    const port = t.gw.mqttWssPort
    assert.ok(port !== undefined && port > 0)
    assert.equal(t.gw.mqttTlsPort, undefined)
    const backend = await mqtt.connectAsync(`wss://localhost:${port}`, { ca: readFileSync(certs.ca.cert), rejectUnauthorized: true, reconnectPeriod: 0 })
    await backend.subscribeAsync('ocpp/cp/#', { qos: 1 })
    const got = new Promise<string>((resolve) => backend.on('message', (topic) => resolve(topic)))
    const cp = await connectChargePoint(`${t.url}/wss-cp`)
    cp.send([2, 'h1', 'Heartbeat', {}])
    assert.equal(await got, 'ocpp/cp/wss-cp')
    await backend.publishAsync('ocpp/cs/wss-cp', JSON.stringify({ MessageTypeId: 2, UniqueId: 'r1', Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
    const call = await cp.frames.wait((f) => f[0] === 2)
    assert.equal(call[1], 'r1')
    await backend.endAsync()
    await cp.close()
  })

  test('a client that does not trust the server certificate does not connect', async () => {
    assert.match(await wssOutcome(t.gw.mqttWssPort ?? 0, { ca: readFileSync(certs.otherCa.cert), rejectUnauthorized: true }), /^error/)
  })
})

describe('embedded broker over secure WebSocket, profile 3 (verify_peer)', () => {
  let certs: TestCerts
  let t: TestGateway
  before(async () => {
    certs = makeTestCerts('CP001')
    t = await startTestGateway({ config: { mqtt: { embedded: { wss_bind: '127.0.0.1:0', ssl_options: { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca.cert, verify: 'verify_peer' } } } } })
  })
  after(async () => { await t.stop(); certs.cleanup() })

  test('a client certificate of the CA: connected', async () => {
    assert.equal(await wssOutcome(t.gw.mqttWssPort ?? 0, { ca: readFileSync(certs.ca.cert), ...clientOf(certs.clientGood) }), 'connected')
  })

  test('no certificate, a foreign or an expired one: refused in the handshake, counted by reason', async () => {
    const port = t.gw.mqttWssPort ?? 0
    const ca = readFileSync(certs.ca.cert)
    for (const opts of [{ ca }, { ca, ...clientOf(certs.clientOtherCa) }, { ca, ...clientOf(certs.clientExpired) }]) {
      assert.notEqual(await wssOutcome(port, opts), 'connected')
    }
    const m = t.gw.metrics
    assert.equal(m.get('mqtt_clients_refused_total', 'no_client_certificate'), 1)
    assert.equal(m.get('mqtt_clients_refused_total', 'untrusted_client_certificate'), 1)
    assert.equal(m.get('mqtt_clients_refused_total', 'expired_client_certificate'), 1)
  })
})

test('reload() (SIGHUP) installs renewed files on the TLS and the secure WebSocket listener', async () => {
  const certs = makeTestCerts('CP001')
  const live = { certfile: join(certs.dir, 'live.pem'), keyfile: join(certs.dir, 'live.key') }
  copyFileSync(certs.server.cert, live.certfile)
  copyFileSync(certs.server.key, live.keyfile)
  const t = await startTestGateway({ config: { mqtt: { embedded: { tls_bind: '127.0.0.1:0', wss_bind: '127.0.0.1:0', ssl_options: live } } } })
  try {
    const ports = [t.gw.mqttTlsPort ?? 0, t.gw.mqttWssPort ?? 0]
    for (const port of ports) assert.equal(await serverCN(port, certs.ca.cert), 'localhost')
    // Written aside and renamed in, as a certificate manager does.
    copyFileSync(certs.server2.key, live.keyfile + '.new')
    copyFileSync(certs.server2.cert, live.certfile + '.new')
    renameSync(live.keyfile + '.new', live.keyfile)
    renameSync(live.certfile + '.new', live.certfile)
    await t.gw.reload()
    for (const port of ports) assert.equal(await serverCN(port, certs.ca.cert), 'localhost-renewed')
    assert.equal(await wssOutcome(ports[1] ?? 0, { ca: readFileSync(certs.ca.cert) }), 'connected')
  } finally {
    await t.stop()
    certs.cleanup()
  }
})

test('a missing certificate for mqtt.embedded.wss_bind fails the start with OCPPGW_ERR_TLS_CONFIG', async () => {
  await assert.rejects(startTestGateway({ config: { mqtt: { embedded: { wss_bind: '127.0.0.1:0', ssl_options: { certfile: join('/nonexistent', 'c.pem'), keyfile: join('/nonexistent', 'k.pem') } } } } }), (err: Error & { code?: string }) => err.code === 'OCPPGW_ERR_TLS_CONFIG')
})

test('wss_bind without ssl_options is a config error naming the key', async () => {
  await assert.rejects(startTestGateway({ config: { mqtt: { embedded: { wss_bind: '127.0.0.1:0' } } } }), /mqtt\.embedded\.ssl_options/)
})

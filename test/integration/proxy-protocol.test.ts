/**
 * A listener behind a TCP load balancer speaking the PROXY protocol (proxy_protocol: true):
 * the charger's address from the header is what the events, the logs and the limits see, over
 * ws and wss alike; no header, a bad one, or a peer outside trusted_proxies is refused.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import WebSocket from 'ws'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { makeTestCerts, type TestCerts } from '../helpers/certs.js'

/** A WebSocket whose TCP connection first writes `header` (as a balancer does). */
function openVia (url: string, port: number, header: string | undefined, opts: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket } | { error: Error }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['ocpp1.6'], {
      ...opts,
      createConnection: ((): Socket => {
        const s = netConnect(port, '127.0.0.1')
        if (header !== undefined) s.write(header)
        // wss: TLS over the same TCP connection, after the header.
        return url.startsWith('wss:') ? tlsConnect({ socket: s, rejectUnauthorized: false }) : s
      }) as never
    })
    ws.once('open', () => resolve({ ws }))
    ws.once('error', (error) => resolve({ error }))
  })
}

describe('PROXY protocol (ws)', () => {
  let t: TestGateway
  let port: number
  before(async () => {
    t = await startTestGateway({ config: { listeners: { ws: { default: { proxy_protocol: true, handshake_timeout: '1s' } } } } })
    port = t.gw.listeners[0]?.port ?? 0
  })
  after(async () => { await t.stop() })

  test('the v1 header\'s client is the peer in the connected event', async () => {
    const r = await openVia(`${t.url}/pp-1`, port, 'PROXY TCP4 203.0.113.7 10.0.0.1 5555 33033\r\n')
    assert.ok('ws' in r, 'not opened')
    const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/pp-1' && m.json.event === 'connected')
    assert.equal(ev.json.peer, '203.0.113.7:5555')
    r.ws.close()
  })

  test('no header and a bad header are refused and counted', async () => {
    const none = await openVia(`${t.url}/pp-2`, port, undefined)
    assert.ok('error' in none)
    const bad = await openVia(`${t.url}/pp-3`, port, 'PROXY TCP4 nowhere 10.0.0.1 1 2\r\n')
    assert.ok('error' in bad)
    assert.equal(t.gw.metrics.get('connections_rejected_total', 'proxy_header'), 2)
  })
})

describe('PROXY protocol: trusted_proxies', () => {
  let t: TestGateway
  before(async () => { t = await startTestGateway({ config: { listeners: { ws: { default: { proxy_protocol: true, trusted_proxies: ['10.0.0.0/8'] } } } } }) })
  after(async () => { await t.stop() })

  test('a peer outside trusted_proxies is refused, header or not', async () => {
    const r = await openVia(`${t.url}/pp-4`, t.gw.listeners[0]?.port ?? 0, 'PROXY TCP4 203.0.113.7 10.0.0.1 5555 33033\r\n')
    assert.ok('error' in r)
    assert.equal(t.gw.metrics.get('connections_rejected_total', 'proxy_untrusted'), 1)
  })
})

describe('PROXY protocol (wss): the header comes before the TLS handshake', () => {
  let certs: TestCerts
  let t: TestGateway
  before(async () => {
    certs = makeTestCerts('CP001')
    t = await startTestGateway({
      config: {
        listeners: {
          ws: { default: { enable: false } },
          wss: { default: { bind: '127.0.0.1:0', proxy_protocol: true, ssl_options: { certfile: certs.server.cert, keyfile: certs.server.key } } }
        }
      }
    })
  })
  after(async () => { await t.stop(); certs.cleanup() })

  test('the charger behind the balancer is seen with its own address', async () => {
    const port = t.gw.listeners[0]?.port ?? 0
    const r = await openVia(`wss://127.0.0.1:${port}/ocpp/pp-tls`, port, 'PROXY TCP4 198.51.100.20 10.0.0.1 6000 33043\r\n', { ca: certs.ca.cert, rejectUnauthorized: false })
    assert.ok('ws' in r, 'error' in r ? r.error.message : '')
    const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/pp-tls' && m.json.event === 'connected')
    assert.equal(ev.json.peer, '198.51.100.20:6000')
    r.ws.close()
  })
})

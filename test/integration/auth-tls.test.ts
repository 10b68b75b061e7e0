import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createServer as createHttpsServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connect, type TLSSocket } from 'node:tls'
import { WebSocket, WebSocketServer } from 'ws'
import { pino } from 'pino'
import { AuthChain } from '../../src/auth/chain.js'
import { buildConfig } from '../../src/config/load.js'
import type { TlsFiles } from '../../src/config/security.js'
import { GatewayError } from '../../src/errors.js'
import { loadTlsOptions, loadTlsOptionsSync, TlsReloader } from '../../src/transport/tls-context.js'
import { peerCertificateCN, tlsRejection } from '../../src/transport/tls-errors.js'
import { WsListener } from '../../src/transport/ws-listener.js'
import { Metrics } from '../../src/observability/metrics.js'
import { makeTestCerts, type CertPair, type TestCerts } from '../helpers/certs.js'

let certs: TestCerts
before(() => { certs = makeTestCerts('CP001') })
after(() => { certs.cleanup() })

async function listen (server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

async function close (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
}

/** Refused handshakes as the server classifies them (what a log line and a counter hang off). */
function tlsErrors (server: Server): string[] {
  const seen: string[] = []
  server.on('tlsClientError', (e: NodeJS.ErrnoException, sock: TLSSocket) => seen.push(tlsRejection(e, sock).reason))
  return seen
}

async function until (cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

/** GET over https with an optional client certificate; resolves status and body, rejects on TLS failure. */
async function get (port: number, path: string, client?: CertPair): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const r = request({
      host: '127.0.0.1',
      port,
      path,
      ca: readFileSync(certs.ca.cert),
      cert: client === undefined ? undefined : readFileSync(client.cert),
      key: client === undefined ? undefined : readFileSync(client.key),
      agent: false,
      timeout: 5000
    }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    r.on('timeout', () => r.destroy(new Error('timeout')))
    r.on('error', reject)
    r.end()
  })
}

/** The server certificate's CN a fresh TLS connection sees. */
async function serverCN (port: number, client?: CertPair): Promise<string> {
  return await new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(certs.ca.cert),
      servername: 'localhost',
      cert: client === undefined ? undefined : readFileSync(client.cert),
      key: client === undefined ? undefined : readFileSync(client.key)
    }, () => {
      const cn = s.getPeerCertificate().subject.CN
      s.end()
      resolve(String(cn))
    })
    s.on('error', reject)
  })
}

describe('TLS options', () => {
  test('profile 3 asks for and requires a client certificate; profile 2 does not', async () => {
    const files = { certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca.cert }
    const p3 = await loadTlsOptions(files, 3)
    assert.equal(p3.requestCert, true)
    assert.equal(p3.rejectUnauthorized, true)
    assert.equal(p3.minVersion, 'TLSv1.2')
    const p2 = await loadTlsOptions(files, 2)
    assert.equal(p2.requestCert, false)
  })

  test('bad files are reported by name, never by content', async () => {
    await assert.rejects(loadTlsOptions({ certfile: join(certs.dir, 'absent.pem'), keyfile: certs.server.key }, 2), (e: Error & { code?: string }) => {
      assert.ok(e instanceof GatewayError)
      assert.equal(e.code, 'OCPPGW_ERR_TLS_CONFIG')
      assert.match(e.message, /cannot read certfile .*absent\.pem \(ENOENT\)/)
      return true
    })
    await assert.rejects(loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.clientGood.key }, 2), (e: Error) => {
      assert.match(e.message, /unusable TLS files/)
      assert.doesNotMatch(e.message, /BEGIN|PRIVATE/)
      return true
    })
    await assert.rejects(loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.server.key }, 3), /needs cacertfile/)
    await assert.rejects(loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.server.key }, 1), /does not use TLS/)
    assert.throws(() => loadTlsOptionsSync({ certfile: certs.server.cert, keyfile: join(certs.dir, 'nokey.pem') }, 2), /cannot read keyfile .*nokey\.pem \(ENOENT\)/)
    assert.equal(loadTlsOptionsSync({ certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca.cert }, 3).requestCert, true)
  })
})

describe('security profile 3 over real TLS', () => {
  let server: Server
  let port: number
  let errors: string[]
  before(async () => {
    const chain = new AuthChain({ authenticators: [] })
    server = createHttpsServer(await loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.server.key, cacertfile: certs.ca.cert }, 3), (req, res) => {
      // What the listener does before the upgrade: bind the certificate to the id in the path.
      const cid = decodeURIComponent((req.url ?? '').replace(/^\/ocpp\//, ''))
      const certCN = peerCertificateCN(req.socket as TLSSocket)
      void chain.authenticate({ cid, certCN, peer: req.socket.remoteAddress ?? '', listener: 'wss:p3', profile: 3 }).then(d => {
        res.writeHead(d.ok ? 200 : d.status).end(d.ok ? `cn=${certCN ?? ''}` : '')
      })
    })
    errors = tlsErrors(server)
    port = await listen(server)
  })
  after(async () => { await close(server) })

  test('a certificate from the CA whose CN is the charge point id is accepted', async () => {
    assert.deepEqual(await get(port, '/ocpp/CP001', certs.clientGood), { status: 200, body: 'cn=CP001' })
  })

  test('a valid certificate for another CN is refused with 403, with no detail in the body', async () => {
    assert.deepEqual(await get(port, '/ocpp/CP001', certs.clientOtherCn), { status: 403, body: '' })
    assert.deepEqual(await get(port, '/ocpp/CP001-other', certs.clientGood), { status: 403, body: '' })
  })

  test('no certificate, another CA, or an expired certificate: the TLS handshake fails, and the server knows why', async () => {
    const cases: Array<[CertPair | undefined, string]> = [
      [undefined, 'no_client_certificate'],
      [certs.clientOtherCa, 'untrusted_client_certificate'],
      [certs.clientExpired, 'expired_client_certificate']
    ]
    for (const [client, reason] of cases) {
      const before = errors.length
      await assert.rejects(get(port, '/ocpp/CP001', client), (e: NodeJS.ErrnoException) => {
        // TLS 1.3: the client learns it from an alert or a reset after its side of the handshake.
        assert.match(e.code ?? '', /ECONNRESET|ERR_SSL_/)
        return true
      })
      await until(() => errors.length > before, reason)
      assert.equal(errors[before], reason)
    }
  })

  test('plain HTTP to the TLS port is refused and classified as not_tls', async () => {
    const before = errors.length
    const { request: httpRequest } = await import('node:http')
    await assert.rejects(new Promise((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port, path: '/ocpp/CP001', agent: false }, resolve).on('error', reject).end()
    }))
    await until(() => errors.length > before, 'not_tls')
    assert.equal(errors[before], 'not_tls')
  })
})

describe('security profile 2 over real TLS', () => {
  let server: Server
  let port: number
  let wss: WebSocketServer
  before(async () => {
    server = createHttpsServer(await loadTlsOptions({ certfile: certs.server.cert, keyfile: certs.server.key }, 2), (_req, res) => { res.writeHead(200).end('ok') })
    wss = new WebSocketServer({ server })
    wss.on('connection', ws => { ws.on('message', m => ws.send(m)) })
    port = await listen(server)
  })
  after(async () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    await close(server)
  })

  test('no client certificate is needed', async () => {
    assert.equal((await get(port, '/ocpp/CP001')).status, 200)
  })

  test('plain ws to the wss port is refused', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/CP001`, 'ocpp1.6')
    const outcome = await new Promise<string>(resolve => {
      ws.on('open', () => resolve('open'))
      ws.on('error', () => resolve('error'))
      ws.on('unexpected-response', () => resolve('refused'))
    })
    ws.terminate()
    assert.notEqual(outcome, 'open')
  })

  test('wss works for a client that trusts the CA', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ocpp/CP001`, 'ocpp1.6', { ca: readFileSync(certs.ca.cert) })
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject) })
    ws.close()
  })
})

describe('certificate reload', () => {
  function liveFiles (name: string): TlsFiles {
    const dir = join(certs.dir, name)
    mkdirSync(dir, { recursive: true })
    const files = { certfile: join(dir, 'cert.pem'), keyfile: join(dir, 'key.pem'), cacertfile: join(dir, 'ca.pem') }
    copyFileSync(certs.server.cert, files.certfile)
    copyFileSync(certs.server.key, files.keyfile)
    copyFileSync(certs.ca.cert, files.cacertfile)
    return files
  }

  async function echoServer (files: TlsFiles, profile: 2 | 3): Promise<{ server: Server, wss: WebSocketServer, port: number }> {
    const server = createHttpsServer(await loadTlsOptions(files, profile))
    const wss = new WebSocketServer({ server })
    wss.on('connection', ws => { ws.on('message', m => ws.send(m)) })
    return { server, wss, port: await listen(server) }
  }

  async function openWs (port: number, client?: CertPair): Promise<WebSocket> {
    const ws = new WebSocket(`wss://localhost:${port}/ocpp/CP001`, 'ocpp1.6', {
      ca: readFileSync(certs.ca.cert),
      cert: client === undefined ? undefined : readFileSync(client.cert),
      key: client === undefined ? undefined : readFileSync(client.key)
    })
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject) })
    return ws
  }

  async function echo (ws: WebSocket, text: string): Promise<string> {
    return await new Promise((resolve, reject) => {
      ws.once('message', m => resolve(String(m)))
      ws.once('close', () => reject(new Error('closed')))
      ws.send(text)
    })
  }

  function waitFor (register: (cb: () => void) => void, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000)
      register(() => { clearTimeout(t); resolve() })
    })
  }

  test('replacing the files: existing connections stay open, new ones get the new certificate', async () => {
    const files = liveFiles('watch')
    const { server, wss, port } = await echoServer(files, 3)
    let onReload: () => void = () => {}
    const reloader = new TlsReloader(server, files, { debounceMs: 50, pollIntervalMs: 100, onReload: () => onReload(), onError: () => {} })
    try {
      const old = await openWs(port, certs.clientGood)
      const oldCN = (old as unknown as { _socket: TLSSocket })._socket.getPeerCertificate().subject.CN
      assert.equal(oldCN, 'localhost')

      const reloaded = waitFor(cb => { onReload = cb }, 'reload')
      // Write new files beside, then rename over (as certbot/cert-manager do); key first, then cert.
      writeFileSync(files.keyfile + '.new', readFileSync(certs.server2.key))
      writeFileSync(files.certfile + '.new', readFileSync(certs.server2.cert))
      renameSync(files.keyfile + '.new', files.keyfile)
      renameSync(files.certfile + '.new', files.certfile)
      await reloaded

      assert.equal(await echo(old, 'still here'), 'still here', 'the existing connection survived the reload')
      const fresh = await openWs(port, certs.clientGood)
      const freshCN = (fresh as unknown as { _socket: TLSSocket })._socket.getPeerCertificate().subject.CN
      assert.equal(freshCN, 'localhost-renewed')
      assert.equal(await serverCN(port, certs.clientGood), 'localhost-renewed')
      assert.equal(await echo(fresh, 'new'), 'new')
      old.close()
      fresh.close()
    } finally {
      reloader.close()
      for (const c of wss.clients) c.terminate() // upgraded sockets are not the http server's to close
      wss.close()
      await close(server)
    }
  })

  test('a broken set of files is reported and the previous certificate stays in use; reload() installs fixed ones', async () => {
    const files = liveFiles('manual')
    const server = createHttpsServer(await loadTlsOptions(files, 2), (_q, res) => { res.end() })
    const port = await listen(server)
    const errors: Error[] = []
    let reloads = 0
    const reloader = new TlsReloader(server, files, { watch: false, onReload: () => { reloads++ }, onError: e => { errors.push(e) } })
    try {
      // The CLI owns SIGHUP and calls reload(); the reloader itself installs no handler.
      assert.equal(process.listenerCount('SIGHUP'), 0)
      // Key that does not belong to the certificate.
      writeFileSync(files.keyfile, readFileSync(certs.clientGood.key))
      assert.equal(await reloader.reload(), false)
      assert.match(errors[0]?.message ?? '', /unusable TLS files/)
      assert.equal(await serverCN(port), 'localhost')

      // Fix the files, then reload on demand.
      writeFileSync(files.keyfile, readFileSync(certs.server2.key))
      writeFileSync(files.certfile, readFileSync(certs.server2.cert))
      assert.equal(await reloader.reload(), true)
      assert.equal(reloads, 1)
      assert.equal(await serverCN(port), 'localhost-renewed')
    } finally {
      reloader.close()
      await close(server)
    }
  })

  test('WsListener.reload(): a wss listener takes new files for new connections; a ws listener has nothing to do', async () => {
    const files = liveFiles('listener')
    const config = buildConfig([{
      listeners: {
        ws: { default: { bind: '127.0.0.1:0' } },
        wss: { tls: { bind: '127.0.0.1:0', ssl_options: { certfile: files.certfile, keyfile: files.keyfile } } }
      }
    }])
    const handler = { prepare: async () => undefined, connect: () => {}, abort: () => {} }
    const silent = pino({ level: 'silent' })
    const listeners = config.listeners.map(l => new WsListener(l, silent, new Metrics(), handler))
    const wss = listeners.find(l => l.config.type === 'wss')
    const ws = listeners.find(l => l.config.type === 'ws')
    assert.ok(wss !== undefined && ws !== undefined)
    try {
      assert.equal(process.listenerCount('SIGHUP'), 0, 'a wss listener installs no SIGHUP handler')
      for (const l of listeners) await l.listen()
      assert.equal(await serverCN(wss.port), 'localhost')
      writeFileSync(files.keyfile, readFileSync(certs.server2.key))
      writeFileSync(files.certfile, readFileSync(certs.server2.cert))
      await wss.reload()
      assert.equal(await serverCN(wss.port), 'localhost-renewed')
      await ws.reload()
    } finally {
      for (const l of listeners) await l.stopAccepting()
    }
  })
})

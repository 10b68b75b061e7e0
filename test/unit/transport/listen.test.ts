/**
 * listenOrExplain: the error a person reads when a port cannot be had. EADDRINUSE with two
 * real servers on 127.0.0.1 (loopback, port 0); EACCES and the rest with a stand-in server
 * that fails listen() with the given system error.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { describe, test } from 'node:test'
import { GatewayError } from '../../../src/errors.js'
import { listenOrExplain } from '../../../src/transport/listen.js'

/** A server whose listen() fails with `code` (or succeeds when undefined), recording its arguments. */
function fakeServer (code: string | undefined, message = `listen ${code ?? ''}`): { server: Server, calls: unknown[][] } {
  const calls: unknown[][] = []
  const ee = new EventEmitter()
  const server = Object.assign(ee, {
    listen (port: number, host: string, cb: () => void) {
      calls.push([port, host])
      process.nextTick(() => {
        if (code === undefined) cb()
        else ee.emit('error', Object.assign(new Error(message), { code }))
      })
      return server
    }
  })
  return { server: server as unknown as Server, calls }
}

const close = (s: Server): Promise<void> => new Promise((resolve) => { s.close(() => resolve()) })

describe('listenOrExplain', () => {
  test('a port already held on 127.0.0.1: OCPPGW_ERR_PORT_IN_USE naming what, where and the hint', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as AddressInfo).port
    const second = createServer()
    try {
      await assert.rejects(listenOrExplain(second, { host: '127.0.0.1', port }, 'MQTT listener', '--mqtt-port', 'another process, e.g. another MQTT broker,'), (e: unknown) => {
        assert.ok(e instanceof GatewayError)
        assert.equal(e.code, 'OCPPGW_ERR_PORT_IN_USE')
        assert.equal(e.message, `MQTT listener: port 127.0.0.1:${port} is already in use (another process, e.g. another MQTT broker, holds it). Choose another port with --mqtt-port.`)
        assert.equal((e.cause as NodeJS.ErrnoException).code, 'EADDRINUSE')
        return true
      })
      assert.equal(second.listening, false)
      assert.equal(second.listenerCount('error'), 0)
      // Without a holder the message names no kind of server (an OCPP port is not held by a broker).
      await assert.rejects(listenOrExplain(second, { host: '127.0.0.1', port }, 'OCPP listener "default"', '--bind'),
        (e: unknown) => (e as Error).message === `OCPP listener "default": port 127.0.0.1:${port} is already in use (another process holds it). Choose another port with --bind.`)
    } finally {
      await close(holder)
    }
  })

  test('a free port: resolves listening, and its error listener is gone', async () => {
    const s = createServer()
    try {
      await listenOrExplain(s, { host: '127.0.0.1', port: 0 }, 'ws listener', 'x')
      assert.equal(s.listening, true)
      assert.equal((s.address() as AddressInfo).address, '127.0.0.1')
      assert.equal(s.listenerCount('error'), 0)
    } finally {
      await close(s)
    }
  })

  test('EACCES: OCPPGW_ERR_PORT_DENIED', async () => {
    const { server, calls } = fakeServer('EACCES')
    await assert.rejects(listenOrExplain(server, { host: '0.0.0.0', port: 80 }, 'ws listener "default"', 'listeners.ws.default.bind'), (e: unknown) => {
      assert.ok(e instanceof GatewayError)
      assert.equal(e.code, 'OCPPGW_ERR_PORT_DENIED')
      assert.equal(e.message, 'ws listener "default": not allowed to listen on 0.0.0.0:80 (ports below 1024 need privileges). Choose another port with listeners.ws.default.bind.')
      assert.equal((e.cause as NodeJS.ErrnoException).code, 'EACCES')
      return true
    })
    assert.deepEqual(calls, [[80, '0.0.0.0']])
  })

  test('any other code: OCPPGW_ERR_LISTEN with the system message', async () => {
    const { server } = fakeServer('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL: address not available 192.0.2.1:1883')
    await assert.rejects(listenOrExplain(server, { host: '192.0.2.1', port: 1883 }, 'MQTT listener', '--mqtt-port'), (e: unknown) => {
      assert.ok(e instanceof GatewayError)
      assert.equal(e.code, 'OCPPGW_ERR_LISTEN')
      assert.equal(e.message, 'MQTT listener: cannot listen on 192.0.2.1:1883: listen EADDRNOTAVAIL: address not available 192.0.2.1:1883')
      assert.equal((e.cause as NodeJS.ErrnoException).code, 'EADDRNOTAVAIL')
      return true
    })
    assert.equal(server.listenerCount('error'), 0)
  })

  test('an error without a code: OCPPGW_ERR_LISTEN', async () => {
    const { server } = fakeServer(undefined)
    const ee = server as unknown as EventEmitter
    const failing = Object.assign(ee, {
      listen () { process.nextTick(() => ee.emit('error', new Error('odd'))); return failing }
    }) as unknown as Server
    await assert.rejects(listenOrExplain(failing, { host: 'h', port: 1 }, 'w', 'x'), (e: unknown) => e instanceof GatewayError && e.code === 'OCPPGW_ERR_LISTEN' && e.message === 'w: cannot listen on h:1: odd')
  })

  test('a stand-in that listens: resolves, error listener removed', async () => {
    const { server, calls } = fakeServer(undefined)
    await listenOrExplain(server, { host: '::1', port: 8080 }, 'w', 'x')
    assert.deepEqual(calls, [[8080, '::1']])
    assert.equal(server.listenerCount('error'), 0)
  })
})

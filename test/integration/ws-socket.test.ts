/**
 * The ws adapter of ChargePointSocket over real sockets (port 0): what the session sees of a
 * charge point's WebSocket, through the listener that makes it.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { pino } from 'pino'
import { WebSocket } from 'ws'
import { buildConfig } from '../../src/config/load.js'
import { Metrics } from '../../src/observability/metrics.js'
import type { ChargePointSocket } from '../../src/transport/socket.js'
import { WsListener } from '../../src/transport/ws-listener.js'

type Event = ['message', string, boolean] | ['pong'] | ['close', number, string] | ['error', string]

interface Server {
  socket: ChargePointSocket
  events: Event[]
  /** Resolves when `n` events have been seen. */
  seen: (n: number) => Promise<void>
}

let listener: WsListener
let accepted: (s: Server) => void = () => {}

before(async () => {
  const config = buildConfig([{ listeners: { ws: { default: { bind: '127.0.0.1:0', websocket: { max_frame_size: 1024 } } } } }])
  const lc = config.listeners[0]
  assert.ok(lc !== undefined)
  listener = new WsListener(lc, pino({ level: 'silent' }), new Metrics(), {
    prepare: async () => undefined,
    abort: () => {},
    connect: (socket) => {
      const events: Event[] = []
      let wake = (): void => {}
      const push = (e: Event): void => { events.push(e); wake() }
      socket.listen({
        message: (data, isBinary) => { assert.ok(Buffer.isBuffer(data)); push(['message', data.toString(), isBinary]) },
        pong: () => push(['pong']),
        close: (code, reason) => push(['close', code, reason]),
        error: (err) => push(['error', err.code ?? err.message])
      })
      const seen = async (n: number): Promise<void> => {
        const deadline = setTimeout(() => wake(), 5000)
        while (events.length < n) {
          const before = events.length
          await new Promise<void>(resolve => { wake = resolve })
          if (events.length === before) { clearTimeout(deadline); throw new Error(`timed out: ${JSON.stringify(events)}`) }
        }
        clearTimeout(deadline)
      }
      accepted({ socket, events, seen })
    }
  })
  await listener.listen()
})

after(async () => {
  listener.terminateAll()
  await listener.stopAccepting()
})

async function open (): Promise<{ client: WebSocket, server: Server }> {
  const server = new Promise<Server>(resolve => { accepted = resolve })
  const client = new WebSocket(`ws://127.0.0.1:${listener.port}/ocpp/CP1`, 'ocpp1.6')
  await new Promise((resolve, reject) => { client.once('open', resolve); client.once('error', reject) })
  return { client, server: await server }
}

function clientClosed (client: WebSocket): Promise<[number, string]> {
  return new Promise(resolve => client.once('close', (code, reason) => resolve([code, reason.toString()])))
}

describe('wsSocket (ChargePointSocket over ws)', () => {
  test('text and binary messages, pongs, send, and the client closing with a code and reason', async () => {
    const { client, server } = await open()
    const received = new Promise<string>(resolve => client.once('message', m => resolve(String(m))))
    server.socket.send('[3,"1",{}]')
    assert.equal(await received, '[3,"1",{}]')
    assert.equal(typeof server.socket.bufferedAmount, 'number')
    client.send('[2,"a","Heartbeat",{}]')
    client.send(Buffer.from([1, 2]), { binary: true })
    server.socket.ping() // the client answers by itself
    await server.seen(3)
    client.close(4000, 'bye')
    await server.seen(4)
    assert.deepEqual(server.events, [
      ['message', '[2,"a","Heartbeat",{}]', false],
      ['message', '\u0001\u0002', true],
      ['pong'],
      ['close', 4000, 'bye']
    ])
    assert.throws(() => server.socket.listen({ message () {}, pong () {}, close () {}, error () {} }), /only once/)
  })

  test('close(code, reason) from the gateway reaches the client; close is reported once', async () => {
    const { client, server } = await open()
    const closed = clientClosed(client)
    server.socket.close(1000, 'replaced')
    assert.deepEqual(await closed, [1000, 'replaced'])
    await server.seen(1)
    assert.deepEqual(server.events, [['close', 1000, 'replaced']])
  })

  test('terminate() drops the connection without a closing handshake', async () => {
    const { client, server } = await open()
    const closed = clientClosed(client)
    server.socket.terminate()
    assert.equal((await closed)[0], 1006)
    await server.seen(1)
    assert.equal(server.events[0]?.[0], 'close')
    assert.equal(server.events.length, 1)
  })

  test('a frame over the limit: error with its ws code, then close 1009', async () => {
    const { client, server } = await open()
    const closed = clientClosed(client)
    client.send('x'.repeat(2048))
    assert.equal((await closed)[0], 1009)
    await server.seen(2)
    assert.deepEqual(server.events[0], ['error', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'])
    assert.equal(server.events[1]?.[0], 'close')
    assert.equal(server.events[1]?.[1], 1006) // ws closed the socket itself; no close frame came back
  })
})

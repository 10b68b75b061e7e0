/**
 * The ws adapter's mapping of ws events, with an EventEmitter standing in for the WebSocket
 * (the adapter only calls on/once and the four methods). test/integration/ws-socket.test.ts
 * checks the same over a real ws connection; this checks what a real one cannot show
 * cheaply: close reported once, one set of listeners, listeners shared between sockets.
 */
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, test } from 'node:test'
import type { WebSocket } from 'ws'
import type { SocketEvents } from '../../../src/transport/socket.js'
import { wsSocket, WsSocket } from '../../../src/transport/ws-socket.js'

class FakeWs extends EventEmitter {
  bufferedAmount = 0
  readonly did: unknown[][] = []
  send (text: string): void { this.did.push(['send', text]) }
  ping (): void { this.did.push(['ping']) }
  close (code: number, reason: string): void { this.did.push(['close', code, reason]) }
  terminate (): void { this.did.push(['terminate']) }
}

type Seen = ['message', Buffer, boolean] | ['pong'] | ['close', number, string] | ['error', Error]

function recorder (): { events: SocketEvents, seen: Seen[] } {
  const seen: Seen[] = []
  return {
    seen,
    events: {
      message: (data, isBinary) => { seen.push(['message', data, isBinary]) },
      pong: () => { seen.push(['pong']) },
      close: (code, reason) => { seen.push(['close', code, reason]) },
      error: (err) => { seen.push(['error', err]) }
    }
  }
}

const open = (): { fake: FakeWs, socket: WsSocket } => {
  const fake = new FakeWs()
  return { fake, socket: wsSocket(fake as unknown as WebSocket) }
}

describe('WsSocket event mapping', () => {
  test('message, pong, error and close reach the events as the session wants them', () => {
    const { fake, socket } = open()
    const { events, seen } = recorder()
    socket.listen(events)
    const text = Buffer.from('[2,"1","Heartbeat",{}]')
    const bin = Buffer.from([1, 2, 3])
    const err = Object.assign(new Error('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' })
    fake.emit('message', text, false)
    fake.emit('message', bin, true)
    fake.emit('pong', Buffer.alloc(0))
    fake.emit('error', err)
    fake.emit('close', 1009, Buffer.from('too big'))
    assert.deepEqual(seen, [['message', text, false], ['message', bin, true], ['pong'], ['error', err], ['close', 1009, 'too big']])
    assert.equal(seen[0]?.[1], text, 'the same Buffer, not a copy')
    assert.equal(seen[3]?.[1], err, 'the same error')
  })

  test('close is reported once, as a string (empty when ws gives an empty Buffer)', () => {
    const { fake, socket } = open()
    const { events, seen } = recorder()
    socket.listen(events)
    fake.emit('close', 1006, Buffer.alloc(0))
    fake.emit('close', 1000, Buffer.from('again'))
    assert.deepEqual(seen, [['close', 1006, '']])
    assert.equal(fake.listenerCount('close'), 0)
  })

  test('listen() twice throws and adds no second set of listeners', () => {
    const { fake, socket } = open()
    const first = recorder()
    socket.listen(first.events)
    const second = recorder()
    assert.throws(() => socket.listen(second.events), { message: 'ChargePointSocket.listen() may be called only once' })
    assert.deepEqual(['message', 'pong', 'error', 'close'].map((e) => fake.listenerCount(e)), [1, 1, 1, 1])
    fake.emit('pong')
    assert.deepEqual(first.seen, [['pong']])
    assert.deepEqual(second.seen, [])
  })

  test('a second adapter over the same WebSocket cannot listen again either', () => {
    const { fake, socket } = open()
    socket.listen(recorder().events)
    assert.throws(() => new WsSocket(fake as unknown as WebSocket).listen(recorder().events), /only once/)
  })

  test('the listeners are shared functions, not closures per socket, and each socket reaches its own events', () => {
    const a = open()
    const b = open()
    const ra = recorder()
    const rb = recorder()
    a.socket.listen(ra.events)
    b.socket.listen(rb.events)
    for (const e of ['message', 'pong', 'error', 'close']) {
      assert.equal(a.fake.listeners(e)[0], b.fake.listeners(e)[0], e)
    }
    b.fake.emit('pong')
    a.fake.emit('message', Buffer.from('x'), false)
    assert.deepEqual(ra.seen, [['message', Buffer.from('x'), false]])
    assert.deepEqual(rb.seen, [['pong']])
  })

  test('send, ping, close and terminate go to the WebSocket; bufferedAmount is read live; ws is exposed', () => {
    const { fake, socket } = open()
    socket.send('[3,"1",{}]')
    socket.ping()
    socket.close(1000, 'replaced')
    socket.terminate()
    assert.deepEqual(fake.did, [['send', '[3,"1",{}]'], ['ping'], ['close', 1000, 'replaced'], ['terminate']])
    assert.equal(socket.bufferedAmount, 0)
    fake.bufferedAmount = 4096
    assert.equal(socket.bufferedAmount, 4096)
    assert.equal(socket.ws, fake as unknown)
  })

  test('nothing is listened to before listen()', () => {
    const { fake } = open()
    assert.deepEqual(fake.eventNames(), [])
  })
})

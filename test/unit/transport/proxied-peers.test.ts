/**
 * ProxiedPeers.accept (src/transport/proxy-protocol.ts) on a stand-in for a paused net.Socket:
 * the header read over several 'readable's, the bytes after it put back, the socket handed to
 * the server, the peer mapping kept while the socket lives; a bad header and a timeout refuse
 * it. The header parser itself is test/unit/transport/proxy-protocol.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { Command, IPv4Address, IPv4ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js'
import { ProxiedPeers } from '../../../src/transport/proxy-protocol.js'

/** What accept() calls on a paused socket: read() until null, unshift, destroy, the peer, events. */
class FakeSocket extends EventEmitter {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly queue: Buffer[] = []
  readonly unshifted: Buffer[] = []
  destroyed = 0
  reads = 0
  constructor (peer: { address?: string, port?: number } = { address: '10.0.0.2', port: 33033 }) {
    super()
    this.remoteAddress = peer.address
    this.remotePort = peer.port
  }

  read (): Buffer | null { this.reads++; return this.queue.shift() ?? null }
  unshift (b: Buffer): void { this.unshifted.push(Buffer.from(b)); this.queue.unshift(b) }
  destroy (): this { this.destroyed++; return this }
  /** Data arriving: queued, then one 'readable'. */
  arrive (...chunks: Array<string | Buffer>): void {
    for (const c of chunks) this.queue.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)
    this.emit('readable')
  }
}

/** Only emit('connection', socket) is called on the server. */
class FakeServer extends EventEmitter {
  readonly connections: unknown[] = []
  constructor () { super(); this.on('connection', (s: unknown) => this.connections.push(s)) }
}

function setup (timeoutMs = 1000, peer?: { address?: string, port?: number }) {
  const peers = new ProxiedPeers()
  const socket = new FakeSocket(peer)
  const server = new FakeServer()
  const errors: string[] = []
  peers.accept(socket as unknown as Socket, server as unknown as Server, timeoutMs, (m) => errors.push(m))
  return { peers, socket, server, errors }
}

const V1 = 'PROXY TCP4 203.0.113.7 10.0.0.1 5555 443\r\n'

test('a v1 header split over two reads: handed to the server once, the bytes after it put back, the peer mapped', (t) => {
  const { peers, socket, server, errors } = setup()
  t.after(() => socket.emit('close'))
  socket.arrive(V1.slice(0, 20))
  assert.deepEqual(server.connections, [])
  assert.equal(peers.get('10.0.0.2', 33033), undefined)
  socket.arrive(V1.slice(20) + 'GET / HTTP/1.1\r\n')
  assert.equal(server.connections.length, 1)
  assert.equal(server.connections[0], socket)
  assert.deepEqual(socket.unshifted.map((b) => b.toString('latin1')), ['GET / HTTP/1.1\r\n'])
  assert.deepEqual(socket.queue.map((b) => b.toString('latin1')), ['GET / HTTP/1.1\r\n'], 'left for the server to read')
  assert.deepEqual(peers.get('10.0.0.2', 33033), { address: '203.0.113.7', port: 5555 })
  assert.equal(peers.get('10.0.0.2', 33034), undefined)
  assert.equal(peers.get('10.0.0.3', 33033), undefined)
  assert.equal(peers.size, 1)
  assert.deepEqual(errors, [])
  assert.equal(socket.destroyed, 0)
  assert.equal(socket.listenerCount('readable'), 0, 'no longer reading')
})

test('the header in many small chunks within one readable; nothing after it: nothing unshifted', (t) => {
  const { peers, socket, server, errors } = setup()
  t.after(() => socket.emit('close'))
  socket.arrive(...V1.split('').map((ch) => Buffer.from(ch, 'latin1')))
  assert.equal(server.connections.length, 1)
  assert.deepEqual(socket.unshifted, [])
  assert.deepEqual(peers.get('10.0.0.2', 33033), { address: '203.0.113.7', port: 5555 })
  assert.deepEqual(errors, [])
})

test('chunks after the header chunk stay unread; later readables are not read by accept', (t) => {
  const { socket, server } = setup()
  t.after(() => socket.emit('close'))
  socket.arrive(V1, 'second')
  assert.equal(server.connections.length, 1)
  assert.equal(socket.reads, 1)
  assert.deepEqual(socket.queue.map((b) => b.toString()), ['second'])
  socket.arrive('third')
  assert.equal(socket.reads, 1)
  assert.equal(server.connections.length, 1)
})

test('the mapping is removed on close', () => {
  const { peers, socket } = setup()
  socket.arrive(V1)
  assert.equal(peers.size, 1)
  socket.emit('close')
  assert.equal(peers.get('10.0.0.2', 33033), undefined)
  assert.equal(peers.size, 0)
})

test('two connections from the balancer map by its port', () => {
  const peers = new ProxiedPeers()
  const server = new FakeServer()
  const a = new FakeSocket({ address: '10.0.0.2', port: 1000 })
  const b = new FakeSocket({ address: '10.0.0.2', port: 1001 })
  peers.accept(a as unknown as Socket, server as unknown as Server, 1000, () => {})
  peers.accept(b as unknown as Socket, server as unknown as Server, 1000, () => {})
  a.arrive(V1)
  b.arrive('PROXY TCP6 2001:db8::7 2001:db8::1 6000 443\r\n')
  assert.deepEqual(peers.get('10.0.0.2', 1000), { address: '203.0.113.7', port: 5555 })
  assert.deepEqual(peers.get('10.0.0.2', 1001), { address: '2001:db8::7', port: 6000 })
  a.emit('close')
  assert.equal(peers.get('10.0.0.2', 1000), undefined)
  assert.deepEqual(peers.get('10.0.0.2', 1001), { address: '2001:db8::7', port: 6000 })
  b.emit('close')
  assert.equal(peers.size, 0)
})

test('a v2 header with a payload behind it; a LOCAL one (health check) is handed on without a mapping', () => {
  const v4 = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv4ProxyAddress(IPv4Address.createFrom([198, 51, 100, 9]), 4711, IPv4Address.createFrom([10, 0, 0, 1]), 443)).build())
  const one = setup()
  one.socket.arrive(Buffer.concat([v4.subarray(0, 10)]))
  one.socket.arrive(Buffer.concat([v4.subarray(10), Buffer.from([0x16, 0x03, 0x01])]))
  assert.equal(one.server.connections.length, 1)
  assert.deepEqual(one.socket.unshifted, [Buffer.from([0x16, 0x03, 0x01])])
  assert.deepEqual(one.peers.get('10.0.0.2', 33033), { address: '198.51.100.9', port: 4711 })
  one.socket.emit('close')

  const local = Buffer.from(new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new IPv4ProxyAddress(IPv4Address.createFrom([0, 0, 0, 0]), 0, IPv4Address.createFrom([0, 0, 0, 0]), 0)).build())
  const two = setup()
  two.socket.arrive(local)
  assert.equal(two.server.connections.length, 1)
  assert.equal(two.peers.size, 0)
  assert.equal(two.socket.listenerCount('close'), 0, 'no mapping to remove')
  assert.deepEqual(two.errors, [])
})

test('a socket without a remote address is keyed as such', () => {
  const { peers, socket } = setup(1000, {})
  socket.arrive(V1)
  assert.deepEqual(peers.get(undefined, undefined), { address: '203.0.113.7', port: 5555 })
  assert.equal(peers.get('10.0.0.2', 33033), undefined)
  socket.emit('close')
  assert.equal(peers.size, 0)
})

test('a bad header: onError with the parser\'s message, the socket destroyed, never handed on', () => {
  const { peers, socket, server, errors } = setup()
  socket.arrive('GET / HTTP/1.1\r\n')
  assert.deepEqual(errors, ['no PROXY protocol header'])
  assert.equal(socket.destroyed, 1)
  assert.deepEqual(server.connections, [])
  assert.deepEqual(socket.unshifted, [])
  assert.equal(peers.size, 0)
  assert.equal(socket.listenerCount('readable'), 0)
})

test('a header that turns bad on its second read is refused', () => {
  const { socket, server, errors } = setup()
  socket.arrive('PROXY TCP4 ')
  assert.deepEqual(errors, [])
  socket.arrive('not-an-ip 10.0.0.1 1 2\r\n')
  assert.deepEqual(errors, ['PROXY v1 header: "not-an-ip" is not an IP address'])
  assert.equal(socket.destroyed, 1)
  assert.deepEqual(server.connections, [])
})

test('no complete header in time: onError, destroyed, never handed on', async () => {
  const { socket, server, errors } = setup(20)
  socket.arrive('PROXY TCP4 203.0.113.7')
  await new Promise((resolve) => setTimeout(resolve, 40))
  assert.deepEqual(errors, ['no complete PROXY header in time'])
  assert.equal(socket.destroyed, 1)
  assert.deepEqual(server.connections, [])
  assert.equal(socket.listenerCount('readable'), 0)
  socket.arrive('0.0.1 5555 443\r\n')
  assert.deepEqual(server.connections, [], 'late bytes are not read')
})

test('a complete header in time: the timer is cleared (no late onError or destroy)', async () => {
  const { socket, errors } = setup(20)
  socket.arrive(V1)
  await new Promise((resolve) => setTimeout(resolve, 40))
  assert.deepEqual(errors, [])
  assert.equal(socket.destroyed, 0)
  socket.emit('close')
})

test('a socket error before the header clears the timer: no timeout reported', async () => {
  const { socket, errors } = setup(20)
  socket.emit('error', new Error('ECONNRESET'))
  await new Promise((resolve) => setTimeout(resolve, 40))
  assert.deepEqual(errors, [])
  assert.equal(socket.destroyed, 0)
})

test('a peer that closes before sending its header (a balancer\'s health check) is not reported as a bad header', async () => {
  const { socket, server, errors } = setup(20)
  socket.emit('close')
  await new Promise((resolve) => setTimeout(resolve, 40))
  assert.deepEqual(errors, [])
  assert.equal(server.connections.length, 0)
})

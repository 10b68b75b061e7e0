import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, TransportProtocol, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js'
import { parseProxyHeader } from '../../../src/transport/proxy-protocol.js'

const v1 = (src: string, port: number, family = INETProtocol.TCP4): Buffer => Buffer.from(new V1ProxyProtocol(family, new Peer(src, port), new Peer(family === INETProtocol.TCP4 ? '10.0.0.1' : '::1', 33033)).build())

test('v1 TCP4 and TCP6: the client address and port, and the header length', () => {
  const h = v1('203.0.113.7', 5555)
  assert.deepEqual(parseProxyHeader(Buffer.concat([h, Buffer.from('GET / HTTP/1.1\r\n')])), { state: 'done', length: h.length, source: { address: '203.0.113.7', port: 5555 } })
  const h6 = v1('2001:db8::7', 6000, INETProtocol.TCP6)
  assert.deepEqual(parseProxyHeader(h6), { state: 'done', length: h6.length, source: { address: '2001:db8::7', port: 6000 } })
})

test('v1 UNKNOWN names no client; a partial header asks for more; garbage and a missing header are errors', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { state: 'done', length: 15, source: undefined })
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7')), { state: 'more' })
  assert.deepEqual(parseProxyHeader(Buffer.from('PRO')), { state: 'more' })
  assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).state, 'error')
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 not-an-ip 10.0.0.1 1 2\r\n')).state, 'error')
  assert.equal(parseProxyHeader(Buffer.from('PROXY ' + 'x'.repeat(120))).state, 'error', 'over 107 bytes without CRLF')
})

test('v2 PROXY over IPv4 and IPv6, LOCAL (a health check), and a header split in two reads', () => {
  const v4 = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv4ProxyAddress(IPv4Address.createFrom([198, 51, 100, 9]), 4711, IPv4Address.createFrom([10, 0, 0, 1]), 33033)).build())
  assert.deepEqual(parseProxyHeader(v4), { state: 'done', length: v4.length, source: { address: '198.51.100.9', port: 4711 } })
  assert.deepEqual(parseProxyHeader(v4.subarray(0, 10)), { state: 'more' })
  assert.deepEqual(parseProxyHeader(v4.subarray(0, v4.length - 1)), { state: 'more' })
  const v6 = Buffer.from(new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv6ProxyAddress(IPv6Address.createFrom([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]), 80, IPv6Address.createFrom([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 33033)).build())
  assert.deepEqual(parseProxyHeader(v6), { state: 'done', length: v6.length, source: { address: '2001:db8::7', port: 80 } })
  const local = Buffer.from(new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new IPv4ProxyAddress(IPv4Address.createFrom([0, 0, 0, 0]), 0, IPv4Address.createFrom([0, 0, 0, 0]), 0)).build())
  assert.deepEqual(parseProxyHeader(local), { state: 'done', length: local.length, source: undefined })
})

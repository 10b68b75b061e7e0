import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { clientAddress, hopAddress, parseCidr, trustedProxies } from '../../../src/transport/client-address.js'

describe('CIDR matching', () => {
  test('IPv4 and IPv6 prefixes, bare addresses, IPv4-mapped peers', () => {
    const t = trustedProxies(['10.0.0.0/8', '192.0.2.7', '2001:db8:aa::/48', '::1'])
    assert.equal(t.has('10.1.2.3'), true)
    assert.equal(t.has('11.0.0.1'), false)
    assert.equal(t.has('192.0.2.7'), true)
    assert.equal(t.has('192.0.2.8'), false)
    assert.equal(t.has('::ffff:10.9.9.9'), true, 'what a dual-stack socket reports')
    assert.equal(t.has('2001:db8:aa:ffff::1'), true)
    assert.equal(t.has('2001:db8:ab::1'), false)
    assert.equal(t.has('::1'), true)
    assert.equal(t.has('::2'), false)
    assert.equal(t.has('not-an-ip'), false)
    assert.equal(t.has(''), false)
  })

  test('prefix edges: /0 is everything, /32 one address; bad CIDRs are refused', () => {
    assert.equal(trustedProxies(['0.0.0.0/0']).has('203.0.113.1'), true)
    assert.equal(trustedProxies(['0.0.0.0/0']).has('2001:db8::1'), false, 'an IPv4 range does not cover IPv6')
    assert.equal(trustedProxies(['203.0.113.1/32']).has('203.0.113.2'), false)
    assert.equal(trustedProxies(['203.0.113.0/31']).has('203.0.113.1'), true)
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0/8', 'example.com', '10.0.0.0/', '10.0.0.0/8/8', '']) {
      assert.equal(parseCidr(bad), undefined, bad)
      assert.throws(() => trustedProxies([bad]), RangeError, bad)
    }
  })
})

describe('X-Forwarded-For entries', () => {
  test('addresses with and without ports, brackets; junk is undefined', () => {
    assert.equal(hopAddress(' 203.0.113.9 '), '203.0.113.9')
    assert.equal(hopAddress('203.0.113.9:4711'), '203.0.113.9')
    assert.equal(hopAddress('[2001:db8::1]:4711'), '2001:db8::1')
    assert.equal(hopAddress('[2001:db8::1]'), '2001:db8::1')
    assert.equal(hopAddress('2001:db8::1'), '2001:db8::1')
    assert.equal(hopAddress('::ffff:203.0.113.9'), '203.0.113.9')
    for (const junk of ['unknown', '_hidden', '', '203.0.113', '203.0.113.9:port', 'fe80::1%eth0', '[203.0.113.9', '1.2.3.4.5']) {
      assert.equal(hopAddress(junk), undefined, junk)
    }
  })
})

describe('client address', () => {
  const trusted = trustedProxies(['10.0.0.0/8'])

  test('from an untrusted peer the header is ignored (spoofed)', () => {
    assert.equal(clientAddress('198.51.100.4', '203.0.113.9', trusted), '198.51.100.4')
    assert.equal(clientAddress('198.51.100.4', '10.0.0.1', trusted), '198.51.100.4')
    assert.equal(clientAddress('10.0.0.5', '203.0.113.9', trustedProxies([])), '10.0.0.5', 'no trusted proxies: never read')
  })

  test('from a trusted peer: the header, or the peer when there is none', () => {
    assert.equal(clientAddress('10.0.0.5', '203.0.113.9', trusted), '203.0.113.9')
    assert.equal(clientAddress('::ffff:10.0.0.5', '203.0.113.9', trusted), '203.0.113.9')
    assert.equal(clientAddress('10.0.0.5', undefined, trusted), '10.0.0.5')
    assert.equal(clientAddress('10.0.0.5', '', trusted), '10.0.0.5')
  })

  test('a chain of proxies: the right-most untrusted address; what the client wrote to its left is not used', () => {
    // client wrote "1.1.1.1", then its real address and two of our proxies were appended.
    assert.equal(clientAddress('10.0.0.5', '1.1.1.1, 203.0.113.9, 10.0.0.7, 10.0.0.6', trusted), '203.0.113.9')
    // The same with repeated headers (Node joins them) and ports.
    assert.equal(clientAddress('10.0.0.5', ['1.1.1.1', '203.0.113.9:5555, 10.0.0.7'], trusted), '203.0.113.9')
    // A client that puts a trusted address in front gains nothing: its own address is to the right.
    assert.equal(clientAddress('10.0.0.5', '10.0.0.99, 203.0.113.9', trusted), '203.0.113.9')
  })

  test('every hop trusted: the left-most; junk stops the walk at the trusted hop to its right', () => {
    assert.equal(clientAddress('10.0.0.5', '10.2.2.2, 10.0.0.7', trusted), '10.2.2.2')
    assert.equal(clientAddress('10.0.0.5', '203.0.113.9, unknown, 10.0.0.7', trusted), '10.0.0.7')
    assert.equal(clientAddress('10.0.0.5', 'garbage', trusted), '10.0.0.5')
  })
})

/** The MQTT packet-size bound read from fixed headers, across any chunking. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { packetSizeGuard } from '../../../src/bridge/adapters/packet-size.js'

const publish = (bytes: number): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes), qos: 0, retain: false, dup: false })

test('packets up to the limit pass, in one chunk or byte by byte', () => {
  const stream = Buffer.concat([publish(10), publish(1000), mqttPacket.generate({ cmd: 'pingreq' }), publish(200)])
  assert.equal(packetSizeGuard(1100)(stream), true)
  const feed = packetSizeGuard(1100)
  for (const b of stream) assert.equal(feed(Buffer.from([b])), true)
})

test('the exact size counts header bytes: a packet of max bytes passes, max + 1 fails', () => {
  const p = publish(1000)
  assert.equal(packetSizeGuard(p.length)(p), true)
  assert.equal(packetSizeGuard(p.length - 1)(p), false)
})

test('a packet announced over the limit fails on its header, before its body arrives', () => {
  const big = publish(300 * 1024)
  const feed = packetSizeGuard(256 * 1024)
  assert.equal(feed(big.subarray(0, 5)), false)
  assert.equal(feed(Buffer.alloc(1)), false, 'stays failed')
})

test('a 200 MB announcement fails from its first four bytes; a fifth length byte is malformed', () => {
  // 0x30 PUBLISH, Remaining Length 200 MiB in four bytes.
  let n = 200 * 1024 * 1024
  const len: number[] = []
  do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 0x80; len.push(d) } while (n > 0)
  assert.equal(packetSizeGuard(1024 * 1024)(Buffer.from([0x30, ...len])), false)
  assert.equal(packetSizeGuard(Number.MAX_SAFE_INTEGER)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), false)
})

/** coalesceWrites on a real loopback socket, written through mqtt-packet as aedes and MQTT.js do. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Socket, type Server } from 'node:net'
import { once } from 'node:events'
import mqttPacket from 'mqtt-packet'
import { coalesceWrites, MAX_HOLD_MS } from '../../src/bridge/adapters/coalesce-writes.js'

interface Pair { client: Socket, received: () => Buffer[], server: Server, close: () => Promise<void> }

async function pair (): Promise<Pair> {
  const chunks: Buffer[] = []
  const server = createServer((s) => { s.on('data', (d: Buffer) => chunks.push(d)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect((server.address() as { port: number }).port, '127.0.0.1')
  await once(client, 'connect')
  return {
    client,
    received: () => chunks,
    server,
    close: async () => { client.destroy(); server.close(); await once(server, 'close') }
  }
}

/** Count the system-call-level writes of a socket (Writable's _write / _writev). */
function countWrites (s: Socket): () => number {
  let n = 0
  const w = s as unknown as { _write: (...a: unknown[]) => void, _writev: (...a: unknown[]) => void }
  const write = w._write.bind(s)
  const writev = w._writev.bind(s)
  w._write = (...a) => { n++; write(...a) }
  w._writev = (...a) => { n++; writev(...a) }
  return () => n
}

const packet = (i: number): mqttPacket.IPublishPacket => ({ cmd: 'publish', topic: `t/${i}`, payload: Buffer.from(`m${i}`), qos: 0, dup: false, retain: false })

/** Write `count` packets, each from its own tick (as aedes and MQTT.js do), in one event-loop turn. */
function writeInTicks (s: Socket, count: number, work: () => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    const step = (i: number): void => {
      work()
      mqttPacket.writeToStream(packet(i), s)
      if (i + 1 < count) process.nextTick(step, i + 1)
      else setImmediate(() => setImmediate(resolve))
    }
    step(0)
  })
}

async function arrived (p: Pair, count: number): Promise<void> {
  const expected = Buffer.concat(Array.from({ length: count }, (_, i) => mqttPacket.generate(packet(i))))
  const deadline = Date.now() + 5000
  while (Buffer.concat(p.received()).length < expected.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(Buffer.concat(p.received()), expected, 'every packet arrives, in order, unchanged')
}

describe('coalesceWrites', () => {
  test('without it, mqtt-packet writes each packet on its own (the control)', async () => {
    const p = await pair()
    try {
      const writes = countWrites(p.client)
      await writeInTicks(p.client, 100)
      await arrived(p, 100)
      assert.equal(writes(), 100)
    } finally {
      await p.close()
    }
  })

  test('the packets of one turn after the first go out in one write', async () => {
    const p = await pair()
    try {
      // No time bound: the count is then the same on a fast and a slow machine.
      coalesceWrites(p.client, Infinity)
      coalesceWrites(p.client, Infinity) // twice is once
      const writes = countWrites(p.client)
      await writeInTicks(p.client, 100)
      await arrived(p, 100)
      assert.equal(writes(), 2, 'the first packet at once, the 99 others together')
    } finally {
      await p.close()
    }
  })

  test('a long turn holds packets at most MAX_HOLD_MS before they go out', async () => {
    const p = await pair()
    try {
      coalesceWrites(p.client, MAX_HOLD_MS)
      const writes = countWrites(p.client)
      // Each packet takes longer to make than the hold: every second one ends a hold.
      const busy = (): void => { const end = performance.now() + 2 * MAX_HOLD_MS; while (performance.now() < end); }
      await writeInTicks(p.client, 40, busy)
      await arrived(p, 40)
      assert.ok(writes() >= 20, `held packets went out while the turn ran (${writes()} writes; 2 without the bound)`)
      assert.ok(writes() <= 21, `and still two at a time (${writes()} writes)`)
    } finally {
      await p.close()
    }
  })
})

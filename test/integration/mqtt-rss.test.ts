/**
 * A 200 MB PUBLISH costs the embedded broker its first bytes, not 200 MB, measured where it
 * counts: the gateway runs in a child process (test/helpers/gateway-child.ts) and its resident
 * set is read from /proc/<pid>/status (VmRSS) before and after clients stream 200 MiB PUBLISHes
 * at it, on the TCP and on the WebSocket listener (the PUBLISH split over many WebSocket
 * messages, and one fragmented WebSocket message that never ends). Each client is closed early
 * and counted in mqtt_packets_too_large_total. Linux only (/proc).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import mqttPacket from 'mqtt-packet'
import { WebSocket } from 'ws'

const child = fileURLToPath(new URL('../helpers/gateway-child.js', import.meta.url))
const MiB = 1024 * 1024
const SIZE = 200 * MiB
/**
 * Growth allowed over three 200 MiB attempts, far under the one attempt (200 MiB) a buffered
 * packet would cost. Measured on Node 20 / Linux: TCP 0.0-0.1 MiB, WebSocket messages 0.2-0.6
 * MiB (the header is read in the first 64 KiB); one fragmented WebSocket message 11.6-12.1 MiB,
 * since ws holds the fragments up to its maxPayload (2 x max_packet_size = 2 MiB) before it
 * refuses the message, and that garbage and the allocator's arenas are not returned at once.
 */
const BOUND = 16 * MiB
const BOUND_FRAGMENTED = 24 * MiB
const skip = existsSync('/proc/self/status') ? undefined : 'needs /proc (Linux)'

function rssOf (pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error('no VmRSS')
  return Number(m[1]) * 1024
}

async function startChild (): Promise<{ proc: ChildProcess, mqttPort: number, mqttWsPort: number, counter: (name: string) => Promise<number>, stop: () => Promise<void> }> {
  const config = {
    allow_anonymous: true,
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: '127.0.0.1:0' } },
    log: { level: 'silent' }
  }
  const proc = fork(child, [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const [ready] = await once(proc, 'message') as [{ mqttPort: number, mqttWsPort: number }]
  const counter = async (name: string): Promise<number> => {
    proc.send({ get: name })
    for (;;) {
      const [m] = await once(proc, 'message') as [{ name?: string, value?: number }]
      if (m.name === name) return m.value ?? 0
    }
  }
  const stop = async (): Promise<void> => {
    const exited = once(proc, 'exit')
    proc.send({ close: true })
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  return { proc, mqttPort: ready.mqttPort, mqttWsPort: ready.mqttWsPort, counter, stop }
}

const connectPacket = (clientId: string): Buffer => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 30 })
/** PUBLISH, Remaining Length 200 MiB (MQTT 3.1.1 §2.2.3: 7 bits a byte, low first). */
const BIG_PUBLISH_HEADER = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x64])
const CHUNK = Buffer.alloc(64 * 1024)

/** A raw TCP client: CONNECT, then a 200 MiB PUBLISH in 64 KiB writes; the bytes sent before the close. */
async function bigOverTcp (port: number, clientId: string): Promise<number> {
  const s = connect(port, '127.0.0.1')
  s.on('error', () => {}) // the reset of the refused socket
  await once(s, 'connect')
  s.write(connectPacket(clientId))
  await new Promise((resolve) => s.once('data', resolve)) // CONNACK
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  s.write(BIG_PUBLISH_HEADER)
  let sent = 0
  while (!s.destroyed && sent < SIZE) {
    if (!s.write(CHUNK)) await Promise.race([new Promise((resolve) => s.once('drain', resolve)), closed])
    sent += CHUNK.length
  }
  await closed
  return sent
}

/**
 * A raw MQTT-over-WebSocket client: CONNECT, then a 200 MiB PUBLISH as 64 KiB WebSocket
 * messages (`fragmented`: as the fragments of one message that never ends).
 */
async function bigOverWs (port: number, clientId: string, fragmented: boolean): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, 'mqtt')
  ws.on('error', () => {})
  await once(ws, 'open')
  ws.send(connectPacket(clientId))
  await once(ws, 'message') // CONNACK
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  let sent = 0
  // false once the socket is gone (the server closed it)
  const send = (data: Buffer, fin: boolean): Promise<boolean> => new Promise((resolve) => ws.send(data, { binary: true, fin }, (err) => resolve(err == null)))
  await send(BIG_PUBLISH_HEADER, !fragmented)
  while (ws.readyState === WebSocket.OPEN && sent < SIZE) {
    if (!await send(CHUNK, !fragmented)) break
    sent += CHUNK.length
    // A write into a kernel buffer with room completes without a turn of the event loop: give
    // the client one, or it never reads the server's close frame.
    await new Promise((resolve) => setImmediate(resolve))
  }
  await closed
  return sent
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

for (const [name, bound, attempt] of [
  ['TCP', BOUND, (c: { mqttPort: number }, i: number) => bigOverTcp(c.mqttPort, `big-${i}`)],
  ['WebSocket, one MQTT packet over many messages', BOUND, (c: { mqttWsPort: number }, i: number) => bigOverWs(c.mqttWsPort, `big-${i}`, false)],
  ['WebSocket, one fragmented message', BOUND_FRAGMENTED, (c: { mqttWsPort: number }, i: number) => bigOverWs(c.mqttWsPort, `big-${i}`, true)]
] as const) {
  test(`${name}: three 200 MiB PUBLISHes grow the gateway's RSS by less than ${bound / MiB} MiB; each client closed early and counted`, { skip }, async () => {
    const c = await startChild()
    try {
      // One ordinary connection first, so code loaded on first use is not counted as growth.
      await attemptSmall(c.mqttPort)
      await settle(200)
      const before = rssOf(c.proc.pid ?? 0)
      const sent: number[] = []
      for (let i = 0; i < 3; i++) {
        sent.push(await attempt(c, i))
        assert.ok((sent[i] ?? 0) < 16 * MiB, `closed after ${sent[i] ?? 0} bytes`)
      }
      await settle(200)
      const grown = rssOf(c.proc.pid ?? 0) - before
      process.stdout.write(`# ${name}: RSS ${(before / MiB).toFixed(1)} MiB, grew ${(grown / MiB).toFixed(1)} MiB; clients closed after ${sent.map((n) => (n / MiB).toFixed(1)).join(', ')} MiB\n`)
      assert.ok(grown < bound, `RSS grew by ${(grown / MiB).toFixed(1)} MiB`)
      assert.equal(await c.counter('mqtt_packets_too_large_total'), 3)
    } finally {
      await c.stop()
    }
  })
}

/** CONNECT and DISCONNECT over TCP. */
async function attemptSmall (port: number): Promise<void> {
  const s = connect(port, '127.0.0.1')
  s.on('error', () => {})
  await once(s, 'connect')
  s.write(connectPacket('warm-up'))
  await new Promise((resolve) => s.once('data', resolve))
  s.end(mqttPacket.generate({ cmd: 'disconnect' }))
  await new Promise((resolve) => s.once('close', resolve))
}

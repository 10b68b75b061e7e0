/**
 * What every client connection of the embedded broker goes through before aedes sees it, on
 * each listener (TCP, TLS, WebSocket, secure WebSocket): the packet-size bound on what it
 * sends and the bound on what it has not taken.
 */
import type { Duplex } from 'node:stream'
import { packetSizeGuard } from './packet-size.js'

/**
 * Checks every byte a client sends against the packet-size bound before aedes parses it. aedes
 * pulls its input with conn.read() in paused mode (lib/client.js, nextBatch), so wrapping
 * read() on our own connection object sees every chunk first, costs nothing per packet beyond
 * the header arithmetic, and needs no extra stream on the hot path.
 */
export function limitPackets (conn: Duplex, max: number, onTooLarge: () => void): void {
  const feed = packetSizeGuard(max)
  const read = conn.read.bind(conn)
  conn.read = (size?: number) => {
    const chunk = read(size) as Buffer | null
    if (chunk === null || feed(chunk)) return chunk
    onTooLarge()
    return null
  }
}

/**
 * One client's backlog is its own: aedes waits for a client's 'drain' before it finishes a
 * delivery, and its emitter waits for every subscriber's delivery, so one subscriber that
 * stopped reading froze every other client (measured: a paused subscriber stopped a second
 * one at 300 of 1,000 messages, for aedes' whole 60 s drainTimeout). Here a write always
 * reports room, so nobody waits on this client, and what it has not taken is bounded instead:
 * past `max` unsent bytes it is closed. One property read per write.
 */
export function limitBuffered (conn: Duplex, buffered: () => number, max: number, onOver: () => void): void {
  const write = conn.write.bind(conn) as (...args: unknown[]) => boolean
  let over = false
  conn.write = ((...args: unknown[]): boolean => {
    if (over) return true // closing: nothing more for it
    if (buffered() > max) {
      over = true
      onOver()
      return true
    }
    write(...args)
    return true
  }) as typeof conn.write
}

/**
 * Fewer writes on an MQTT connection that carries many small packets.
 *
 * mqtt-packet (under aedes and MQTT.js) corks the socket for each packet and uncorks it on
 * the next tick, and aedes and MQTT.js write packets from callbacks of their own: under load
 * each packet costs a writev system call of its own. Here the first packet of an event-loop
 * turn goes out as before (no added latency when traffic is light), and the packets that
 * follow it in the same turn are held by one more cork until setImmediate, then go out in one
 * writev. A turn that runs long (big messages parsed one after another) does not hold its
 * packets longer than maxHoldMs (MAX_HOLD_MS): past it, what is held goes out after the
 * current callback, and holding starts over. Backpressure is unchanged: write() still returns
 * false above the high-water mark, and 'drain' follows the flush.
 */
import { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

/** The longest a packet waits for the ones after it, in ms. */
export const MAX_HOLD_MS = 1

const patched = new WeakSet<Socket>()

/**
 * An MQTT connection's stream as the gateway (and the bench backend) wants it: no Nagle delay,
 * since the packets are small and latency-bound, and, on a TCP or TLS socket, the writes of one
 * event-loop turn coalesced. Called on every (re)connection; a second call changes nothing.
 */
export function tuneMqttSocket (stream: unknown, coalesce = true): void {
  (stream as Partial<Socket>).setNoDelay?.(true)
  if (coalesce && stream instanceof Socket) coalesceWrites(stream)
}

export function coalesceWrites (socket: Socket, maxHoldMs = MAX_HOLD_MS): void {
  if (patched.has(socket)) return
  patched.add(socket)
  let turn = false
  let holding = false
  let heldSince = 0
  let releasing = false
  const letGo = (): void => {
    if (holding) {
      holding = false
      socket.uncork()
    }
  }
  const endTurn = (): void => {
    turn = false
    letGo()
  }
  // After mqtt-packet's own uncorks of this tick (queued before it), so the buffer flushes.
  const release = (): void => {
    releasing = false
    letGo()
  }
  const cork = socket.cork
  // mqtt-packet corks once per packet, before writing it.
  socket.cork = function (this: Socket): void {
    if (!turn) {
      turn = true
      setImmediate(endTurn)
    } else if (!holding) {
      if (!socket.destroyed) {
        holding = true
        heldSince = performance.now()
        cork.call(this)
      }
    } else if (!releasing && performance.now() - heldSince >= maxHoldMs) {
      releasing = true
      process.nextTick(release)
    }
    cork.call(this)
  }
}

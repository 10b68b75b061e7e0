/**
 * Fewer writes on an MQTT connection that carries many small packets.
 *
 * mqtt-packet (under aedes and MQTT.js) corks the socket for each packet and uncorks it on
 * the next tick, and aedes writes every packet from its own callback: under load each packet
 * costs a writev system call of its own. Here the first packet of an event-loop turn goes out
 * as before (no added latency when traffic is light), and the packets that follow it in the
 * same turn are held by one more cork until setImmediate, then go out in one writev.
 * Backpressure is unchanged: write() still returns false above the high-water mark, and
 * 'drain' follows the flush.
 */
import type { Socket } from 'node:net'

const patched = new WeakSet<Socket>()

export function coalesceWrites (socket: Socket): void {
  if (patched.has(socket)) return
  patched.add(socket)
  let turn = false
  let holding = false
  const endTurn = (): void => {
    turn = false
    if (holding) {
      holding = false
      socket.uncork()
    }
  }
  const cork = socket.cork
  // mqtt-packet corks once per packet, before writing it.
  socket.cork = function (this: Socket): void {
    if (!turn) {
      turn = true
      setImmediate(endTurn)
    } else if (!holding && !socket.destroyed) {
      holding = true
      cork.call(this)
    }
    cork.call(this)
  }
}

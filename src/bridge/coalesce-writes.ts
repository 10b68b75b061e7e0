/**
 * One write per event-loop turn on an MQTT connection that carries many small packets.
 *
 * mqtt-packet (under aedes and MQTT.js) corks the socket for each packet and uncorks it on
 * the next tick, and every packet is written from its own callback: under load each packet
 * costs a writev system call of its own. Corking the socket until setImmediate lets every
 * packet written in this turn of the event loop go out in one writev; the wait is at most
 * the rest of this turn. Backpressure is unchanged: write() still returns false above the
 * high-water mark, and 'drain' follows the flush.
 */
import type { Socket } from 'node:net'

const patched = new WeakSet<Socket>()

export function coalesceWrites (socket: Socket): void {
  if (patched.has(socket)) return
  patched.add(socket)
  let corked = false
  const flush = (): void => {
    corked = false
    socket.uncork()
  }
  const write = socket.write
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      setImmediate(flush)
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as Socket['write']
}

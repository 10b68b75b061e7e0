/**
 * A ChargePointSocket without a network, for unit tests of the session: it records what the
 * session writes and lets the test play the charge point (frames, pongs, close, errors).
 */
import type { ChargePointSocket, SocketEvents } from '../../src/transport/socket.js'

export class FakeSocket implements ChargePointSocket {
  /** Text frames the session sent, parsed. */
  readonly sent: unknown[] = []
  pings = 0
  /** How the session closed it: a closing handshake or a terminate. */
  closedWith: { code: number, reason: string } | 'terminated' | undefined
  bufferedAmount = 0
  private events: SocketEvents | undefined

  listen (events: SocketEvents): void {
    if (this.events !== undefined) throw new Error('listen() called twice')
    this.events = events
  }

  send (text: string): void { this.sent.push(JSON.parse(text)) }
  ping (): void { this.pings++ }
  close (code: number, reason: string): void { this.closedWith ??= { code, reason } }
  terminate (): void { this.closedWith ??= 'terminated' }

  // ---- the charge point's side ----

  /** A text frame from the charge point: a value (serialised) or raw text. */
  receive (frame: unknown): void {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame)
    this.on().message(Buffer.from(text), false)
  }

  receiveBinary (data: Buffer): void { this.on().message(data, true) }
  pong (): void { this.on().pong() }
  /** The peer closed (or the socket ended): what ws reports. */
  peerClose (code = 1000, reason = ''): void { this.on().close(code, reason) }
  error (code: string, message = code): void { this.on().error(Object.assign(new Error(message), { code })) }

  /** The last frame sent, or undefined. */
  get last (): unknown { return this.sent[this.sent.length - 1] }

  private on (): SocketEvents {
    if (this.events === undefined) throw new Error('no listener: the session did not call listen()')
    return this.events
  }
}

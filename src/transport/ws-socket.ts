/**
 * The `ws` adapter of {@link ChargePointSocket}: the one place the session's socket meets the
 * ws library.
 *
 * A gateway holds 100,000 of these, so each is one small object and the ws listeners are
 * module-level functions (ws calls them with `this` = the WebSocket, as ws does for its own
 * socket listeners): no closure per socket, and none that could keep the scope it was made in
 * (the upgrade request, its credentials) alive for the life of the connection.
 *
 * @example
 *   wss.handleUpgrade(req, socket, head, (ws) => {
 *     const cp = wsSocket(ws)
 *     cp.listen({ message: (data, isBinary) => {…}, pong: () => {…}, close: (code, reason) => {…}, error: (err) => {…} })
 *     cp.send('[2,"1","Reset",{"type":"Soft"}]')
 *   })
 */
import type { RawData, WebSocket } from 'ws'
import type { ChargePointSocket, SocketEvents } from './socket.js'

const kEvents = Symbol('ocpp-gateway.socketEvents')

interface Listened extends WebSocket { [kEvents]?: SocketEvents }

/** Set by listen() before any of the listeners below is added. */
const eventsOf = (ws: WebSocket): SocketEvents => (ws as Listened)[kEvents] as SocketEvents

// With ws's default binaryType ('nodebuffer') a message, even a fragmented one, is one Buffer.
function onMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
  eventsOf(this).message(data as Buffer, isBinary)
}

function onPong (this: WebSocket): void {
  eventsOf(this).pong()
}

function onClose (this: WebSocket, code: number, reason: Buffer): void {
  eventsOf(this).close(code, reason.toString())
}

function onError (this: WebSocket, err: Error & { code?: string }): void {
  eventsOf(this).error(err)
}

export class WsSocket implements ChargePointSocket {
  /** The ws WebSocket, for code not yet on {@link ChargePointSocket}. */
  constructor (readonly ws: WebSocket) {}

  get bufferedAmount (): number { return this.ws.bufferedAmount }

  listen (events: SocketEvents): void {
    const ws = this.ws as Listened
    if (ws[kEvents] !== undefined) throw new Error('ChargePointSocket.listen() may be called only once')
    ws[kEvents] = events
    ws.on('message', onMessage)
    ws.on('pong', onPong)
    ws.on('error', onError)
    ws.once('close', onClose)
  }

  send (text: string): void { this.ws.send(text) }

  ping (): void { this.ws.ping() }

  close (code: number, reason: string): void { this.ws.close(code, reason) }

  terminate (): void { this.ws.terminate() }
}

/** Adapt an open ws WebSocket (from `handleUpgrade`) to a {@link ChargePointSocket}. */
export function wsSocket (ws: WebSocket): WsSocket {
  return new WsSocket(ws)
}

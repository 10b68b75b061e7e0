/**
 * The charge point's socket as the session sees it: what the session needs from a WebSocket
 * and nothing more, so the session can be driven by a fake in unit tests (as aedes is driven
 * over a duplex pair) and the `ws` library stays behind one adapter (ws-socket.ts).
 */

/** What the socket tells its owner. Set once with {@link ChargePointSocket.listen}. */
export interface SocketEvents {
  /** A complete message: text (OCPP-J) or binary (refused by the session). */
  message: (data: Buffer, isBinary: boolean) => void
  /** The peer answered a ping. */
  pong: () => void
  /** The socket is closed (by either side); called once. */
  close: (code: number, reason: string) => void
  /**
   * A protocol error the socket closes itself after (frame too large, invalid UTF-8...),
   * with `code` such as `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`; `close` follows.
   */
  error: (err: Error & { code?: string }) => void
}

export interface ChargePointSocket {
  /** Bytes written but not yet sent: the backpressure signal. */
  readonly bufferedAmount: number
  listen: (events: SocketEvents) => void
  send: (text: string) => void
  ping: () => void
  /** Closing handshake with a code (RFC 6455 §7.4) and a reason. */
  close: (code: number, reason: string) => void
  /** Drop the connection without a closing handshake. */
  terminate: () => void
}

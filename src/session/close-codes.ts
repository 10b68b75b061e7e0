/**
 * WebSocket close codes the gateway uses (RFC 6455 §7.4; 4000-4999 are ours), and the
 * `reason` member of the disconnect event for each way a connection can end.
 */
export const CloseCode = {
  NORMAL: 1000,
  /** Gateway shutting down. */
  GOING_AWAY: 1001,
  /** Binary frame received: OCPP-J is text only. */
  UNSUPPORTED_DATA: 1003,
  /** Too many malformed frames within the window. */
  POLICY_VIOLATION: 1008,
  /** Invalid UTF-8 in a text frame (closed by ws). */
  INVALID_PAYLOAD: 1007,
  /** Frame over listeners.ws.*.websocket.max_frame_size (closed by ws). */
  MESSAGE_TOO_BIG: 1009,
  /** No text frame within heartbeat interval x heartbeat_checking_times_backoff. */
  KEEPALIVE_TIMEOUT: 4001,
  /** A newer connection with the same charge point id took over. */
  TAKEOVER: 4002,
  /** No first frame within idle_timeout. */
  IDLE_TIMEOUT: 4003,
  /** Closed by an operator (admin API: DELETE /api/v1/chargers/{id}). */
  KICKED: 4004,
  /** Closed by a backend: a `disconnect` command on the control topic (`{mountpoint}ctl/{id}`). */
  CLOSED_BY_BACKEND: 4005
} as const

export type DisconnectReason =
  | 'closed_by_charger'
  | 'keepalive_timeout'
  | 'ping_timeout'
  | 'takeover'
  | 'shutdown'
  | 'binary_frame'
  | 'frame_too_large'
  | 'invalid_utf8'
  | 'idle_timeout'
  | 'socket_error'
  | 'too_many_malformed'
  | 'slow_consumer'
  /** Cluster: the node that held the connection was lost; reported by another node. */
  | 'node_lost'
  /** An operator closed the connection through the admin API. */
  | 'kicked'
  /** A backend closed it with a `disconnect` command on the control topic. */
  | 'closed_by_backend'

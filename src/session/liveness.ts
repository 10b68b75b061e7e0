/**
 * Everything time-driven about one session, in one place, run by the session table's one
 * sweep of all sessions (no timer per connection): Calls that were not answered in time (both
 * ways), a charge point that does not read (slow consumer), keepalive (EMQX semantics: no
 * text frame within heartbeat interval x heartbeat_checking_times_backoff), idle timeout (no
 * first frame), and WebSocket pings with their timeout.
 */
import { CloseCode } from './close-codes.js'
import { pump } from './downstream.js'
import type { Session } from './session.js'

export function checkLiveness (s: Session, now: number): void {
  if (s.closed) return
  const { config, metrics } = s.ctx
  const awaiting = config.dnstream.awaitingTimeoutMs
  const expired = s.calls.expire(now, awaiting)
  if (expired !== undefined) {
    s.log.warn({ id: expired.id, action: expired.action }, 'charge point did not answer in time')
    s.answerBackend(expired, 'timeout', `gateway: the charge point did not answer within ${awaiting} ms (dnstream.awaiting_timeout)`)
    pump(s, now)
  }
  const upTimeout = config.upstream.awaitingTimeoutMs
  if (Number.isFinite(upTimeout)) {
    for (const [id, p] of s.pendingUp) {
      if (now - p.at < upTimeout) break // insertion order = age order
      s.pendingUp.delete(id)
      s.refuse(id, s.dialect.errorCodes.internalError, `the backend did not answer ${p.action} within ${upTimeout} ms`, 'backend_timeout')
    }
  }
  if (s.closed) return
  const limits = s.info.limits
  if (s.socket.bufferedAmount > limits.highWatermark) {
    if (s.overWatermarkSince === 0) s.overWatermarkSince = now
    else if (now - s.overWatermarkSince > limits.slowConsumerTimeoutMs) {
      metrics.inc('slow_consumers_closed_total')
      s.terminate('slow_consumer')
      return
    }
  } else {
    s.overWatermarkSince = 0
  }
  // Keepalive: closed after (backoff + 1/2) heartbeat intervals without a text frame. EMQX
  // tolerates between backoff and backoff + 1 intervals of silence depending on where its timer
  // falls; a charger that keeps its interval must never be closed for a few ms of jitter, so
  // half an interval of grace. An interval of 0 is no keepalive check (as MQTT's keepalive 0);
  // the WebSocket ping below still finds dead sockets.
  const interval = s.heartbeatIntervalMs
  if (interval > 0 && now - s.lastFrameAt > interval * (config.heartbeatBackoff + 0.5)) {
    metrics.inc('keepalive_timeouts_total')
    s.close(CloseCode.KEEPALIVE_TIMEOUT, 'keepalive timeout', 'keepalive_timeout')
    return
  }
  if (s.receivedFrames === 0 && now - s.connectedAt > config.idleTimeoutMs) {
    s.close(CloseCode.IDLE_TIMEOUT, 'no message within idle_timeout', 'idle_timeout')
    return
  }
  const ping = limits.pingIntervalMs
  if (!Number.isFinite(ping) || ping <= 0) return
  if (now - s.lastActivityAt > 2 * ping) {
    metrics.inc('ping_timeouts_total')
    s.terminate('ping_timeout')
  } else if (now - s.lastPingAt >= ping) {
    s.lastPingAt = now
    s.socket.ping()
  }
}

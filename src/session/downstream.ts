/**
 * The backend -> charge point rules, for frames already decoded from their envelopes: Calls
 * go through the call queue (one in flight, OCPP-J §4.1.1), answers must match a pending
 * charge point Call, SENDs and CALLRESULTERRORs (2.1) go as they come.
 */
import type { CallErrorFrame, CallFrame, CallResultFrame, Frame, SendFrame } from '../ocpp/frame.js'
import type { Session } from './session.js'

export function fromBackend (s: Session, frame: Frame): void {
  switch (frame.type) {
    case 2: offerCall(s, frame); return
    case 3:
    case 4: onAnswer(s, frame); return
    case 6: onSend(s, frame); return
    default: s.send(frame) // 5: never answered, sent as it comes
  }
}

/** A backend Call: sent now, queued, or answered by the gateway. */
export function offerCall (s: Session, frame: CallFrame): void {
  const invalid = s.validate('dnstream', 'request', frame.action, frame.payload)
  if (invalid?.decision === 'check') {
    // The version's code as ErrorCode (README: "gateway CallError with the version's code");
    // ErrorDetails.code kept for backends written against the earlier envelope.
    const code = s.dialect.errorCodes[invalid.failure.kind]
    s.answerBackend(frame, 'invalid_payload', `gateway: not sent, the Call is invalid: ${invalid.failure.message}`, { error: invalid.failure.message, code }, code)
    return
  }
  switch (s.calls.offer(frame)) {
    case 'send':
      s.calls.sent(frame, Date.now())
      s.send(frame)
      return
    case 'queued':
      return
    case 'full':
      s.ctx.metrics.inc('calls_rejected_total', 'queue_full')
      s.answerBackend(frame, 'queue_full', `gateway: ${s.ctx.config.dnstream.maxMqueueLen} Calls already queued for this charge point (dnstream.max_mqueue_len)`)
      return
    case 'duplicate':
      s.ctx.metrics.inc('calls_rejected_total', 'duplicate_id')
      s.answerBackend(frame, 'duplicate_id', 'gateway: a Call with this UniqueId is already in flight or queued for this charge point')
  }
}

/** Send the next queued backend Call when none is in flight. */
export function pump (s: Session, now: number): void {
  const next = s.calls.next()
  if (next === undefined) return
  s.calls.sent(next, now)
  s.send(next)
}

/** The backend's CallResult or CallError to a charge point Call. */
function onAnswer (s: Session, frame: CallResultFrame | CallErrorFrame): void {
  const pending = s.pendingUp.get(frame.id)
  if (pending === undefined) {
    s.ctx.metrics.inc('envelopes_unmatched_total')
    s.log.warn({ id: frame.id }, 'backend answer to no pending charge point Call: not sent')
    s.backend.report('unmatched_answer', 'the backend answered a Call the charge point did not send or that was already answered', { UniqueId: frame.id })
    return
  }
  if (frame.type === 3) {
    const invalid = s.validate('dnstream', 'response', pending.action, frame.payload)
    if (invalid?.decision === 'check') {
      // Not sent: the charge point's Call stays pending, so a corrected answer can follow.
      const code = s.dialect.errorCodes[invalid.failure.kind]
      s.answerBackend({ id: frame.id, action: pending.action }, 'invalid_payload', `gateway: not sent, the CallResult is invalid: ${invalid.failure.message}`, { error: invalid.failure.message }, code)
      return
    }
    if (pending.action === 'BootNotification') applyBootInterval(s, frame.payload)
  }
  s.pendingUp.delete(frame.id)
  s.ctx.metrics.callSeconds.backend.observe((Date.now() - pending.at) / 1000)
  s.send(frame, pending.action)
}

/** OCPP 2.1 SEND from the backend: never answered, so a refused one is reported. */
function onSend (s: Session, frame: SendFrame): void {
  const invalid = s.validate('dnstream', 'request', frame.action, frame.payload)
  if (invalid?.decision === 'check') {
    s.backend.report('invalid_send', `not sent: ${invalid.failure.message}`, { UniqueId: frame.id, Action: frame.action })
    return
  }
  s.send(frame)
}

/** OCPP: the interval of an accepted BootNotification becomes the heartbeat interval. */
function applyBootInterval (s: Session, payload: Record<string, unknown>): void {
  const interval = payload.interval
  // 0 is kept too: no keepalive check for this charger (liveness.ts), rather than a close.
  if (payload.status === 'Accepted' && typeof interval === 'number' && Number.isFinite(interval) && interval >= 0) {
    s.heartbeatIntervalMs = interval * 1000
    // Checked first: s.log would make the session's child logger for a line not written.
    if (s.ctx.log.isLevelEnabled('debug')) s.log.debug({ interval }, 'heartbeat interval from BootNotification')
  }
}

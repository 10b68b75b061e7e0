/**
 * The charge point -> backend rules: one dispatcher on the message type, one handler per
 * kind (as aedes' handlers/ per packet). What cannot be forwarded is answered to the charge
 * point (a Call) or reported to the backends (anything that is never answered).
 */
import { decodeFrame, expectsAnswer, type CallErrorFrame, type CallFrame, type CallResultErrorFrame, type CallResultFrame, type FrameError, type SendFrame } from '../ocpp/frame.js'
import { CREDENTIAL_ACTIONS, credentialChange } from '../ocpp/credential-changes.js'
import { redactFrame } from '../observability/redact.js'
import type { UndeliveredReason } from './backend-port.js'
import { CloseCode } from './close-codes.js'
import { pump } from './downstream.js'
import type { Session } from './session.js'

/** A message from the socket. */
export function fromChargePoint (s: Session, data: Buffer, isBinary: boolean, now: number): void {
  s.lastActivityAt = now
  if (isBinary) {
    s.ctx.metrics.inc('frames_malformed_total', 'binary')
    s.log.warn('binary frame received; OCPP-J is text only: closing')
    s.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported', 'binary_frame')
    return
  }
  s.lastFrameAt = now
  const text = data.toString('utf8')
  const { metrics, config } = s.ctx
  s.receivedFrames++
  metrics.inc('frames_in_total')
  if (config.log.frames) s.log.info({ dir: 'in', frame: redactFrame(text) }, 'frame')
  s.ctx.audit?.record(s.cid, 'in', text)
  if (s.trace !== undefined && !s.trace.push('in', text, now)) s.trace = undefined
  const result = decodeFrame(text, s.dialect, undefined, config.maxJsonDepth)
  if (!result.ok) {
    onMalformed(s, result.error, text, now)
    return
  }
  const frame = result.frame
  // An answer is counted under the action of the Call it answers (when it answers the one in flight).
  const inflight = s.calls.inflight
  metrics.frame('in', frame.type, frame.type === 2 || frame.type === 6 ? frame.action : inflight?.frame.id === frame.id ? inflight.frame.action : undefined)
  switch (frame.type) {
    case 2: onCall(s, frame, text, now); return
    case 3: onCallResult(s, frame, text, now); return
    case 4: onCallError(s, frame, text, now); return
    case 5: onCallResultError(s, frame, text); return
    case 6: onSend(s, frame, text)
  }
}

function onCall (s: Session, frame: CallFrame, text: string, now: number): void {
  if (s.pendingUp.size > 0) {
    // OCPP-J §4.1.1: a sender SHOULD NOT send a Call before its previous one is answered.
    // We forward it anyway (rejecting would lock out such firmware) and count it.
    s.ctx.metrics.inc('calls_concurrent_from_charger_total')
  }
  const invalid = s.validate('upstream', 'request', frame.action, frame.payload)
  if (invalid?.decision === 'check') {
    s.refuse(frame.id, s.dialect.errorCodes[invalid.failure.kind], invalid.failure.message)
    return
  }
  const max = s.ctx.config.upstream.maxPendingCalls
  if (s.pendingUp.size >= max && !s.pendingUp.has(frame.id)) {
    // Answered, not forgotten: dropping the oldest would refuse its backend answer later.
    s.log.warn({ id: frame.id, action: frame.action, max }, 'too many Calls awaiting the backend: refused')
    s.refuse(frame.id, 'GenericError', `gateway: ${max} Calls from this charge point already await the backend's answer (upstream.max_pending_calls); OCPP-J allows one at a time`, 'too_many_pending')
    return
  }
  s.pendingUp.set(frame.id, { action: frame.action, at: now })
  s.backend.forward(frame, text, frame.action, invalid?.failure.message, (why, description) => undelivered(s, frame.id, why, description))
}

/**
 * A Call the bridge could not publish (the broker stayed away past its bound): it will never
 * reach a backend, so the charge point gets the CallError now rather than waiting forever.
 */
function undelivered (s: Session, id: string, why: UndeliveredReason, description: string): void {
  // Already answered (upstream.awaiting_timeout), or the charge point is gone: nothing owed.
  if (!s.pendingUp.delete(id) || s.closed) return
  s.log.warn({ id, reason: why }, 'Call not forwarded: the MQTT broker is unreachable; answered with a CallError')
  s.refuse(id, s.dialect.errorCodes.internalError, `gateway: the Call could not be forwarded to the backends: ${description}`, `mqtt_${why}`)
}

/** OCPP 2.1 SEND: never answered, so a refused one is reported to the backends instead. */
function onSend (s: Session, frame: SendFrame, text: string): void {
  const invalid = s.validate('upstream', 'request', frame.action, frame.payload)
  if (invalid?.decision === 'check') {
    s.backend.report('invalid_send', invalid.failure.message, { UniqueId: frame.id, Action: frame.action })
    return
  }
  s.backend.forward(frame, text, frame.action, invalid?.failure.message)
}

function onCallResult (s: Session, frame: CallResultFrame, text: string, now: number): void {
  const sentAt = s.calls.inflight?.sentAt ?? now
  const call = s.calls.answer(frame.id)
  if (call === undefined) {
    reportUnmatched(s, frame, text)
    return
  }
  s.ctx.metrics.callSeconds.charger.observe((now - sentAt) / 1000)
  const invalid = s.validate('upstream', 'response', call.action, frame.payload)
  if (invalid?.decision === 'check') {
    s.answerBackend(call, 'invalid_charger_answer', `gateway: the charge point's CallResult is invalid: ${invalid.failure.message}`, { payload: frame.payload, error: invalid.failure.message })
  } else {
    s.answered(frame, text, call.action, invalid?.failure.message)
    // An operator's Call (admin API) changes credentials as much as a backend's.
    if (CREDENTIAL_ACTIONS.has(call.action)) noteCredentialChange(s, call, frame)
  }
  pump(s, now)
}

/** A password or security profile change the charge point just accepted: the store keeps up. */
function noteCredentialChange (s: Session, call: CallFrame, result: CallResultFrame): void {
  const change = credentialChange(call.action, call.payload, result.payload)
  if (change !== undefined) s.ctx.credentials?.accepted(s.cid, change)
}

function onCallError (s: Session, frame: CallErrorFrame, text: string, now: number): void {
  const sentAt = s.calls.inflight?.sentAt ?? now
  const call = s.calls.answer(frame.id)
  if (call === undefined) {
    reportUnmatched(s, frame, text)
    return
  }
  s.ctx.metrics.callSeconds.charger.observe((now - sentAt) / 1000)
  s.answered(frame, text, call.action, undefined)
  pump(s, now)
}

/** OCPP 2.1 CALLRESULTERROR: the charge point could not use a backend's CallResult. */
function onCallResultError (s: Session, frame: CallResultErrorFrame, text: string): void {
  s.backend.forward(frame, text, undefined, undefined)
}

/** A CallResult/CallError from the charge point that answers nothing in flight. */
function reportUnmatched (s: Session, frame: CallResultFrame | CallErrorFrame, text: string): void {
  const late = s.calls.wasTimedOut(frame.id)
  const why = late ? 'late_answer' : 'unmatched_answer'
  s.ctx.metrics.inc('frames_unmatched_total', why)
  s.log.warn({ id: frame.id, type: frame.type, late }, late ? 'answer after the Call timed out: not forwarded' : 'answer to no pending Call: not forwarded')
  s.backend.report(why, late ? 'the charge point answered after dnstream.awaiting_timeout; the backend already got a timeout error' : 'the charge point answered a Call that is not in flight', { UniqueId: frame.id, Frame: text.slice(0, 4096) })
}

function onMalformed (s: Session, error: FrameError, text: string, now: number): void {
  s.ctx.metrics.inc('frames_malformed_total', error.kind)
  const limits = s.info.limits
  const m = s.malformed
  if (now - m.since > limits.malformedWindowMs) {
    m.since = now
    m.count = 0
  }
  if (++m.count > limits.maxMalformedFrames) {
    s.log.warn({ limit: limits.maxMalformedFrames }, 'too many malformed frames: closing')
    s.close(CloseCode.POLICY_VIOLATION, 'too many malformed frames', 'too_many_malformed')
    return
  }
  const code = s.dialect.errorCodes[error.kind]
  s.log.warn({ id: error.id, code, err: error.message, frame: text.slice(0, 256) }, 'malformed frame')
  if (expectsAnswer(error.type)) {
    s.refuse(error.id, code, error.message)
  } else {
    // An answer (CallResult/CallError) is never answered (OCPP-J §4.1.3): report it to backends.
    s.backend.report('malformed_frame', error.message, { ErrorCode: code, UniqueId: error.id, Frame: text.slice(0, 4096) })
  }
}

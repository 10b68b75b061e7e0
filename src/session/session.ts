/**
 * One connected charge point: turns its OCPP-J frames into MQTT envelopes and the
 * backend's envelopes into frames, and keeps the promise that every message is accounted
 * for: each backend Call gets exactly one answer (the charge point's, or one made by the
 * gateway), each Call from the charge point is published or answered with a CallError.
 */
import type { WebSocket } from 'ws'
import { decodeFrame, encodeFrame, expectsAnswer, type CallFrame, type Frame, type FrameError } from '../ocpp/frame.js'
import type { Dialect } from '../ocpp/dialect.js'
import { envelopeToFrame, frameToEnvelope, gatewayErrorEnvelope, upstreamEnvelopeText } from '../bridge/envelope.js'
import type { QoS } from '../bridge/mqtt-port.js'
import type { Logger } from '../observability/logger.js'
import type { GatewayContext } from './context.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'
import { CallQueue } from './call-queue.js'
import { checkDecision, type Direction, type ValidationFailure } from '../schema/index.js'

/** Charge point Calls remembered while the backend answers; one is the rule (OCPP-J §4.1.1). */
const MAX_PENDING_UP = 32

export interface SessionLimits {
  pingIntervalMs: number
  maxMalformedFrames: number
  malformedWindowMs: number
  highWatermark: number
  slowConsumerTimeoutMs: number
}

export interface SessionInfo {
  cid: string
  dialect: Dialect
  subprotocol: string | undefined
  peer: string
  username: string | undefined
  listener: string
  limits: SessionLimits
}

/** Why the gateway, not the charge point, answers a backend Call (ErrorDetails.reason). */
export type GatewayErrorReason = 'offline' | 'queue_full' | 'timeout' | 'disconnected' | 'shutdown' | 'duplicate_id' | 'invalid_envelope' | 'invalid_payload' | 'invalid_charger_answer'

export class Session {
  readonly cid: string
  readonly dialect: Dialect
  readonly connectedAt = Date.now()
  private logger: Logger | undefined
  /** Last text frame (keepalive, EMQX semantics). */
  lastFrameAt = Date.now()
  /** Last sign of life of the socket: any frame or pong. */
  lastActivityAt = Date.now()
  lastPingAt = Date.now()
  heartbeatIntervalMs: number
  receivedFrames = 0
  closed = false
  /** Backend Calls to this charge point: one in flight, the rest queued. */
  readonly calls: CallQueue
  /** Charge point Calls waiting for the backend's answer: id -> Action and time. */
  private readonly pendingUp = new Map<string, { action: string, at: number }>()
  private malformed = 0
  private malformedSince = 0
  private overWatermarkSince = 0
  private endReason: DisconnectReason | undefined
  private onEnd?: (s: Session, reason: DisconnectReason, code: number, detail: string) => void

  constructor (readonly ws: WebSocket, readonly info: SessionInfo, private readonly ctx: GatewayContext) {
    this.cid = info.cid
    this.dialect = info.dialect
    this.heartbeatIntervalMs = ctx.config.defaultHeartbeatIntervalMs
    this.calls = new CallQueue(ctx.config.dnstream.maxMqueueLen)
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary))
    ws.on('pong', () => { this.lastActivityAt = Date.now() })
    ws.on('error', (err: Error & { code?: string }) => this.onSocketError(err))
    ws.on('close', (code, reason) => this.end('closed_by_charger', code, reason.toString()))
  }

  /** This charge point's logger, made on first use: most sessions never log a line. */
  get log (): Logger {
    return (this.logger ??= this.ctx.log.child({ cid: this.cid }))
  }

  /** Called once by the registry: where the session reports its end. */
  bind (onEnd: (s: Session, reason: DisconnectReason, code: number, detail: string) => void): void {
    this.onEnd = onEnd
  }

  // ---- charge point -> MQTT ----

  private onMessage (data: Buffer, isBinary: boolean): void {
    const now = Date.now()
    this.lastActivityAt = now
    if (isBinary) {
      this.ctx.metrics.inc('frames_malformed_total', 'binary')
      this.log.warn('binary frame received; OCPP-J is text only: closing')
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported', 'binary_frame')
      return
    }
    this.lastFrameAt = now
    this.onText(data.toString('utf8'), now)
  }

  private onText (text: string, now: number): void {
    const ctx = this.ctx
    this.receivedFrames++
    ctx.metrics.inc('frames_in_total')
    if (ctx.config.log.frames) this.log.info({ dir: 'in', frame: text }, 'frame')
    const result = decodeFrame(text, this.dialect)
    if (!result.ok) {
      this.onMalformed(result.error, text, now)
      return
    }
    const frame = result.frame
    const topics = ctx.topics
    const vars = { cid: this.cid, id: frame.id, type: frame.type, version: this.dialect.version, action: undefined as string | undefined }
    const qos = ctx.config.upstream.qos
    switch (frame.type) {
      case 2:
        if (this.pendingUp.size > 0) {
          // OCPP-J §4.1.1: a sender SHOULD NOT send a Call before its previous one is answered.
          // We forward it anyway (rejecting would lock out such firmware) and count it.
          ctx.metrics.inc('calls_concurrent_from_charger_total')
        }
        const invalid = this.validate('upstream', 'request', frame.action, frame.payload)
        if (invalid?.decision === 'check') {
          const code = this.dialect.errorCodes[invalid.failure.kind]
          ctx.metrics.inc('calls_answered_with_error_total', code)
          this.send({ type: 4, id: frame.id, code, description: invalid.failure.message, details: {} })
          return
        }
        if (this.pendingUp.size >= MAX_PENDING_UP) this.pendingUp.delete(this.pendingUp.keys().next().value as string)
        this.pendingUp.set(frame.id, { action: frame.action, at: now })
        vars.action = frame.action
        this.publishUp(topics.call(vars), frame, text, undefined, invalid?.failure, qos)
        return
      case 6: {
        const invalid = this.validate('upstream', 'request', frame.action, frame.payload)
        if (invalid?.decision === 'check') {
          // A SEND is never answered (OCPP 2.1): the backends hear of it instead.
          this.reportError('invalid_send', invalid.failure.message, { UniqueId: frame.id, Action: frame.action })
          return
        }
        vars.action = frame.action
        this.publishUp(topics.call(vars), frame, text, undefined, invalid?.failure, qos)
        return
      }
      case 3:
      case 4: {
        const call = this.calls.answer(frame.id)
        if (call === undefined) {
          this.reportUnmatched(frame, text)
          return
        }
        vars.action = call.action
        const invalid = frame.type === 3 ? this.validate('upstream', 'response', call.action, frame.payload) : undefined
        if (invalid?.decision === 'check' && frame.type === 3) {
          this.answerForCharger(call, 'invalid_charger_answer', `gateway: the charge point's CallResult is invalid: ${invalid.failure.message}`, { payload: frame.payload, error: invalid.failure.message })
        } else {
          const topic = frame.type === 3 ? topics.reply(vars) : topics.error(vars)
          this.publishUp(topic, frame, text, call.action, invalid?.failure, qos)
        }
        this.pump(now)
        return
      }
      case 5:
        ctx.publishJson(topics.error(vars), frameToEnvelope(frame), qos)
    }
  }

  /**
   * Publish the envelope of a frame from the charge point. Its payload's text is spliced from
   * the frame as received (upstreamEnvelopeText), not serialised a second time; the failure
   * handling is publishJson's: logged and counted, never thrown.
   */
  private publishUp (topic: string, frame: Frame, text: string, action: string | undefined, failure: ValidationFailure | undefined, qos: QoS): void {
    const ctx = this.ctx
    const envelope = upstreamEnvelopeText(frame, text, action, failure?.message)
    if (envelope === undefined) {
      ctx.publishJson(topic, marked(frameToEnvelope(frame, action), failure), qos)
      return
    }
    ctx.publishText(topic, envelope, qos)
  }

  /** A CallResult/CallError from the charge point that answers nothing in flight. */
  private reportUnmatched (frame: Frame, text: string): void {
    const late = this.calls.wasTimedOut(frame.id)
    const why = late ? 'late_answer' : 'unmatched_answer'
    this.ctx.metrics.inc('frames_unmatched_total', why)
    this.log.warn({ id: frame.id, type: frame.type, late }, late ? 'answer after the Call timed out: not forwarded' : 'answer to no pending Call: not forwarded')
    this.reportError(why, late ? 'the charge point answered after dnstream.awaiting_timeout; the backend already got a timeout error' : 'the charge point answered a Call that is not in flight', { UniqueId: frame.id, Frame: text.slice(0, 4096) })
  }

  private onMalformed (error: FrameError, text: string, now: number): void {
    const ctx = this.ctx
    ctx.metrics.inc('frames_malformed_total', error.kind)
    const limits = this.info.limits
    if (now - this.malformedSince > limits.malformedWindowMs) {
      this.malformedSince = now
      this.malformed = 0
    }
    if (++this.malformed > limits.maxMalformedFrames) {
      this.log.warn({ limit: limits.maxMalformedFrames }, 'too many malformed frames: closing')
      this.close(CloseCode.POLICY_VIOLATION, 'too many malformed frames', 'too_many_malformed')
      return
    }
    const code = this.dialect.errorCodes[error.kind]
    this.log.warn({ id: error.id, code, err: error.message, frame: text.slice(0, 256) }, 'malformed frame')
    if (expectsAnswer(error.type)) {
      ctx.metrics.inc('calls_answered_with_error_total', code)
      this.send({ type: 4, id: error.id, code, description: error.message, details: {} })
    } else {
      // An answer (CallResult/CallError) is never answered (OCPP-J §4.1.3): report it to backends.
      this.reportError('malformed_frame', error.message, { ErrorCode: code, UniqueId: error.id, Frame: text.slice(0, 4096) })
    }
  }

  // ---- MQTT -> charge point ----

  /** An envelope from the backend on this charge point's downstream topic. */
  onDownstream (payload: Buffer): void {
    const ctx = this.ctx
    ctx.metrics.inc('mqtt_received_total')
    if (payload.length > ctx.config.dnstream.maxPayloadSize) {
      this.rejectEnvelope(undefined, undefined, `envelope of ${payload.length} bytes exceeds dnstream.max_payload_size (${ctx.config.dnstream.maxPayloadSize})`, 'too_large')
      return
    }
    const result = envelopeToFrame(payload, this.dialect)
    if (!result.ok) {
      this.rejectEnvelope(result.error.id, result.error.action, result.error.message, 'invalid')
      return
    }
    const frame = result.frame
    switch (frame.type) {
      case 2:
        this.offerCall(frame)
        return
      case 3:
      case 4: {
        const pending = this.pendingUp.get(frame.id)
        if (pending === undefined) {
          ctx.metrics.inc('envelopes_unmatched_total')
          this.log.warn({ id: frame.id }, 'backend answer to no pending charge point Call: not sent')
          this.reportError('unmatched_answer', 'the backend answered a Call the charge point did not send or that was already answered', { UniqueId: frame.id })
          return
        }
        if (frame.type === 3) {
          const invalid = this.validate('dnstream', 'response', pending.action, frame.payload)
          if (invalid?.decision === 'check') {
            // Not sent: the charge point's Call stays pending, so a corrected answer can follow.
            const code = this.dialect.errorCodes[invalid.failure.kind]
            const vars = { cid: this.cid, id: frame.id, type: 4, action: pending.action, version: this.dialect.version }
            ctx.metrics.inc('gateway_answers_total', 'invalid_payload')
            ctx.publishJson(ctx.topics.error(vars), gatewayErrorEnvelope(frame.id, code, `gateway: not sent, the CallResult is invalid: ${invalid.failure.message}`, { reason: 'invalid_payload', error: invalid.failure.message }, pending.action), ctx.config.upstream.qos)
            return
          }
          if (pending.action === 'BootNotification') this.applyBootInterval(frame.payload)
        }
        this.pendingUp.delete(frame.id)
        this.send(frame)
        return
      }
      default: // 5 and 6 (2.1): never answered, sent as they come
        if (frame.type === 6) {
          const invalid = this.validate('dnstream', 'request', frame.action, frame.payload)
          if (invalid?.decision === 'check') {
            this.reportError('invalid_send', `not sent: ${invalid.failure.message}`, { UniqueId: frame.id, Action: frame.action })
            return
          }
        }
        this.send(frame)
    }
  }

  private offerCall (frame: CallFrame): void {
    const invalid = this.validate('dnstream', 'request', frame.action, frame.payload)
    if (invalid?.decision === 'check') {
      this.answerForCharger(frame, 'invalid_payload', `gateway: not sent, the Call is invalid: ${invalid.failure.message}`, { error: invalid.failure.message, code: this.dialect.errorCodes[invalid.failure.kind] })
      return
    }
    switch (this.calls.offer(frame)) {
      case 'send':
        this.calls.sent(frame, Date.now())
        this.send(frame)
        return
      case 'queued':
        return
      case 'full':
        this.ctx.metrics.inc('calls_rejected_total', 'queue_full')
        this.answerForCharger(frame, 'queue_full', `gateway: ${this.ctx.config.dnstream.maxMqueueLen} Calls already queued for this charge point (dnstream.max_mqueue_len)`)
        return
      case 'duplicate':
        this.ctx.metrics.inc('calls_rejected_total', 'duplicate_id')
        this.answerForCharger(frame, 'duplicate_id', 'gateway: a Call with this UniqueId is already in flight or queued for this charge point')
    }
  }

  /** Send the next queued Call when none is in flight. */
  private pump (now: number): void {
    const next = this.calls.next()
    if (next === undefined) return
    this.calls.sent(next, now)
    this.send(next)
  }

  /** Calls handed over from an older connection of the same charge point. */
  adopt (waiting: CallFrame[]): void {
    for (const f of waiting) this.offerCall(f)
  }

  /**
   * Answer a backend Call on the charge point's behalf: a CallError on the error topic,
   * marked `Origin: "gateway"` with ErrorDetails.reason.
   */
  answerForCharger (frame: CallFrame, reason: GatewayErrorReason, description: string, details: Record<string, unknown> = {}): void {
    const ctx = this.ctx
    ctx.metrics.inc('gateway_answers_total', reason)
    const vars = { cid: this.cid, id: frame.id, type: 4, action: frame.action, version: this.dialect.version }
    ctx.publishJson(ctx.topics.error(vars), gatewayErrorEnvelope(frame.id, 'GenericError', description, { reason, ...details }, frame.action), ctx.config.upstream.qos)
  }

  /**
   * Schema check per message_format_checking; undefined when valid or not checked. A 'warn'
   * result is forwarded, marked, logged and counted; a 'check' result is refused by the caller.
   */
  private validate (direction: Direction, kind: 'request' | 'response', action: string, payload: Record<string, unknown>): { decision: 'check' | 'warn', failure: ValidationFailure } | undefined {
    const validators = this.ctx.validators
    if (validators === undefined) return undefined
    const decision = checkDecision(this.ctx.config.formatChecking, direction, action)
    if (decision === 'skip') return undefined
    const failure = kind === 'request'
      ? validators.validateRequest(this.dialect.version, action, payload)
      : validators.validateResponse(this.dialect.version, action, payload)
    if (failure === null) return undefined
    this.ctx.metrics.inc('validation_failures_total', `${direction}_${decision}`)
    this.log.warn({ direction, kind, action, err: failure.message, decision }, 'message failed schema validation')
    return { decision, failure }
  }

  /** OCPP: the interval of an accepted BootNotification becomes the heartbeat interval. */
  private applyBootInterval (payload: Record<string, unknown>): void {
    const interval = payload.interval
    if (payload.status === 'Accepted' && typeof interval === 'number' && Number.isFinite(interval) && interval > 0) {
      this.heartbeatIntervalMs = interval * 1000
      // Checked first: this.log would make the session's child logger for a line not written.
      if (this.ctx.log.isLevelEnabled('debug')) this.log.debug({ interval }, 'heartbeat interval from BootNotification')
    }
  }

  private rejectEnvelope (id: string | undefined, action: string | undefined, message: string, why: string): void {
    const ctx = this.ctx
    ctx.metrics.inc('envelopes_invalid_total', why)
    this.log.warn({ id, err: message }, 'invalid downstream envelope')
    const code = this.dialect.errorCodes.formatViolation
    if (id !== undefined) {
      const vars = { cid: this.cid, id, type: 4, action, version: this.dialect.version }
      ctx.publishJson(ctx.topics.error(vars), gatewayErrorEnvelope(id, code, `gateway: invalid envelope: ${message}`, { reason: 'invalid_envelope' }, action), ctx.config.upstream.qos)
    } else {
      this.reportError('invalid_envelope', message, { ErrorCode: code })
    }
  }

  /** A report on the gateway error topic, for problems that have no reply to carry them. */
  reportError (error: string, description: string, extra: Record<string, unknown> = {}): void {
    const ctx = this.ctx
    ctx.publishJson(ctx.topics.gatewayError({ cid: this.cid, version: this.dialect.version }), {
      Origin: 'gateway', Error: error, ErrorDescription: description, cid: this.cid, ...extra
    }, ctx.config.events.qos)
  }

  send (frame: Frame): void {
    if (this.closed) return
    const text = encodeFrame(frame)
    if (this.ctx.config.log.frames) this.log.info({ dir: 'out', frame: text }, 'frame')
    this.ctx.metrics.inc('frames_out_total')
    this.ws.send(text)
    const limits = this.info.limits
    if (this.ws.bufferedAmount > 4 * limits.highWatermark) {
      // Far over the mark: the charge point is not reading. Bound memory now.
      this.ctx.metrics.inc('slow_consumers_closed_total')
      this.terminate('slow_consumer')
    }
  }

  // ---- timers (driven by the registry's one sweep) ----

  /** Timeouts of this session; returns false when the session was closed. */
  tick (now: number): void {
    const config = this.ctx.config
    const expired = this.calls.expire(now, config.dnstream.awaitingTimeoutMs)
    if (expired !== undefined) {
      this.log.warn({ id: expired.id, action: expired.action }, 'charge point did not answer in time')
      this.answerForCharger(expired, 'timeout', `gateway: the charge point did not answer within ${config.dnstream.awaitingTimeoutMs} ms (dnstream.awaiting_timeout)`)
      this.pump(now)
    }
    const upTimeout = config.upstream.awaitingTimeoutMs
    if (Number.isFinite(upTimeout)) {
      for (const [id, p] of this.pendingUp) {
        if (now - p.at < upTimeout) break // insertion order = age order
        this.pendingUp.delete(id)
        this.ctx.metrics.inc('calls_answered_with_error_total', 'backend_timeout')
        this.send({ type: 4, id, code: this.dialect.errorCodes.internalError, description: `the backend did not answer ${p.action} within ${upTimeout} ms`, details: {} })
      }
    }
    const limits = this.info.limits
    if (this.ws.bufferedAmount > limits.highWatermark) {
      if (this.overWatermarkSince === 0) this.overWatermarkSince = now
      else if (now - this.overWatermarkSince > limits.slowConsumerTimeoutMs) {
        this.ctx.metrics.inc('slow_consumers_closed_total')
        this.terminate('slow_consumer')
      }
    } else {
      this.overWatermarkSince = 0
    }
  }

  private onSocketError (err: Error & { code?: string }): void {
    // ws closes the socket itself after these, with the code given.
    const reasons: Record<string, DisconnectReason> = {
      WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'frame_too_large',
      WS_ERR_INVALID_UTF8: 'invalid_utf8'
    }
    const reason = reasons[err.code ?? ''] ?? 'socket_error'
    this.ctx.metrics.inc('frames_malformed_total', reason)
    this.log.warn({ err: err.message, code: err.code }, 'websocket error')
    this.endReason ??= reason
  }

  /** Close with a code and record why; the disconnect event carries the reason. */
  close (code: number, text: string, reason: DisconnectReason): void {
    if (this.closed) return
    this.endReason = reason
    this.ws.close(code, text)
    this.end(reason, code, text)
  }

  /** Drop a socket without a closing handshake (half-open, or not reading). */
  terminate (reason: DisconnectReason): void {
    if (this.closed) return
    this.endReason = reason
    this.ws.terminate()
    this.end(reason, 1006, reason)
  }

  private end (reason: DisconnectReason, code: number, detail: string): void {
    if (this.closed) return
    this.closed = true
    const why = this.endReason ?? reason
    // Every backend Call still owed an answer gets one.
    const owed = this.calls.drain()
    for (const f of owed) {
      this.answerForCharger(f, why === 'shutdown' ? 'shutdown' : 'disconnected', `gateway: the charge point disconnected (${why}) before answering`)
    }
    this.onEnd?.(this, why, code, detail)
  }
}

/** warn mode: forward, but say on the envelope what failed validation. */
function marked (env: Record<string, unknown>, failure: ValidationFailure | undefined): Record<string, unknown> {
  if (failure !== undefined) env.ValidationError = failure.message
  return env
}

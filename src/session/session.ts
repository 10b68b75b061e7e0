/**
 * One connected charge point: turns its OCPP-J frames into MQTT envelopes and the
 * backend's envelopes into frames, and keeps the little state that needs (pending Call ids
 * for Action correlation and the BootNotification interval, liveness times).
 */
import type { WebSocket } from 'ws'
import { decodeFrame, encodeFrame, expectsAnswer, type Frame, type FrameError } from '../ocpp/frame.js'
import type { Dialect } from '../ocpp/dialect.js'
import { envelopeToFrame, frameToEnvelope, gatewayErrorEnvelope } from '../bridge/envelope.js'
import type { Logger } from '../observability/logger.js'
import type { GatewayContext } from './context.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'

/** Calls we remember per direction; a well-behaved peer has one outstanding (OCPP-J §4.1.1). */
const MAX_PENDING = 32

export interface SessionInfo {
  cid: string
  dialect: Dialect
  subprotocol: string | undefined
  peer: string
  username: string | undefined
  password: string | undefined
  listener: string
  pingIntervalMs: number
}

export class Session {
  readonly cid: string
  readonly dialect: Dialect
  readonly connectedAt = Date.now()
  readonly log: Logger
  /** Last text frame (keepalive, EMQX semantics). */
  lastFrameAt = Date.now()
  /** Last sign of life of the socket: any frame or pong. */
  lastActivityAt = Date.now()
  lastPingAt = Date.now()
  heartbeatIntervalMs: number
  receivedFrames = 0
  closed = false
  /** Charge point Calls waiting for the backend's answer: id -> Action. */
  private readonly pendingUp = new Map<string, string>()
  /** Backend Calls waiting for the charge point's answer: id -> Action. */
  private readonly pendingDown = new Map<string, string>()
  private onEnd?: (s: Session, reason: DisconnectReason, code: number, detail: string) => void

  constructor (readonly ws: WebSocket, readonly info: SessionInfo, private readonly ctx: GatewayContext) {
    this.cid = info.cid
    this.dialect = info.dialect
    this.heartbeatIntervalMs = ctx.config.defaultHeartbeatIntervalMs
    this.log = ctx.log.child({ cid: info.cid })
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary))
    ws.on('pong', () => { this.lastActivityAt = Date.now() })
    ws.on('error', (err: Error & { code?: string }) => this.onSocketError(err))
    ws.on('close', (code, reason) => this.end('closed_by_charger', code, reason.toString()))
  }

  /** Called once by the registry: where the session reports its end. */
  bind (onEnd: (s: Session, reason: DisconnectReason, code: number, detail: string) => void): void {
    this.onEnd = onEnd
  }

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
    this.onText(data.toString('utf8'))
  }

  private onText (text: string): void {
    const ctx = this.ctx
    this.receivedFrames++
    ctx.metrics.inc('frames_in_total')
    if (ctx.config.log.frames) this.log.info({ dir: 'in', frame: text }, 'frame')
    const result = decodeFrame(text, this.dialect)
    if (!result.ok) {
      this.onMalformed(result.error, text)
      return
    }
    const frame = result.frame
    const topics = ctx.topics
    const vars = { cid: this.cid, id: frame.id, type: frame.type, version: this.dialect.version, action: undefined as string | undefined }
    const qos = ctx.config.upstream.qos
    switch (frame.type) {
      case 2:
        remember(this.pendingUp, frame.id, frame.action)
        vars.action = frame.action
        ctx.publishJson(topics.call(vars), frameToEnvelope(frame), qos)
        return
      case 6:
        vars.action = frame.action
        ctx.publishJson(topics.call(vars), frameToEnvelope(frame), qos)
        return
      case 3:
      case 4: {
        const action = this.pendingDown.get(frame.id)
        if (action === undefined) {
          // Not an answer to anything we sent; forwarded anyway (a backend may have sent
          // the Call through another path) but counted, so it can be seen.
          ctx.metrics.inc('frames_unmatched_total')
          this.log.debug({ id: frame.id, type: frame.type }, 'answer to no pending backend Call')
        } else {
          this.pendingDown.delete(frame.id)
        }
        vars.action = action
        const topic = frame.type === 3 ? topics.reply(vars) : topics.error(vars)
        ctx.publishJson(topic, frameToEnvelope(frame, action), qos)
        return
      }
      case 5:
        ctx.publishJson(topics.error(vars), frameToEnvelope(frame), qos)
    }
  }

  private onMalformed (error: FrameError, text: string): void {
    const ctx = this.ctx
    ctx.metrics.inc('frames_malformed_total', error.kind)
    const code = this.dialect.errorCodes[error.kind]
    this.log.warn({ id: error.id, code, err: error.message, frame: text.slice(0, 256) }, 'malformed frame')
    if (expectsAnswer(error.type)) {
      ctx.metrics.inc('calls_answered_with_error_total', code)
      this.send({ type: 4, id: error.id, code, description: error.message, details: {} })
    } else {
      // An answer (CallResult/CallError) is never answered (OCPP-J §4.1.3): report it to backends.
      ctx.publishJson(ctx.topics.gatewayError({ cid: this.cid, version: this.dialect.version }), {
        Origin: 'gateway', Error: 'malformed_frame', ErrorCode: code, ErrorDescription: error.message, UniqueId: error.id, cid: this.cid, Frame: text.slice(0, 4096)
      }, ctx.config.events.qos)
    }
  }

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
    if (frame.type === 2) {
      remember(this.pendingDown, frame.id, frame.action)
    } else if (frame.type === 3 || frame.type === 4) {
      const action = this.pendingUp.get(frame.id)
      this.pendingUp.delete(frame.id)
      if (frame.type === 3 && action === 'BootNotification') this.applyBootInterval(frame.payload)
    }
    this.send(frame)
  }

  /** OCPP: the interval of an accepted BootNotification becomes the heartbeat interval. */
  private applyBootInterval (payload: Record<string, unknown>): void {
    const interval = payload.interval
    if (payload.status === 'Accepted' && typeof interval === 'number' && Number.isFinite(interval) && interval > 0) {
      this.heartbeatIntervalMs = interval * 1000
      this.log.debug({ interval }, 'heartbeat interval from BootNotification')
    }
  }

  private rejectEnvelope (id: string | undefined, action: string | undefined, message: string, why: string): void {
    const ctx = this.ctx
    ctx.metrics.inc('envelopes_invalid_total', why)
    this.log.warn({ id, err: message }, 'invalid downstream envelope')
    const code = this.dialect.errorCodes.formatViolation
    const vars = { cid: this.cid, id, type: 4, action, version: this.dialect.version }
    if (id !== undefined) {
      ctx.publishJson(ctx.topics.error(vars), gatewayErrorEnvelope(id, code, `gateway: invalid envelope: ${message}`, { reason: 'invalid_envelope' }, action), ctx.config.upstream.qos)
    } else {
      ctx.publishJson(ctx.topics.gatewayError(vars), { Origin: 'gateway', Error: 'invalid_envelope', ErrorCode: code, ErrorDescription: message, cid: this.cid }, ctx.config.events.qos)
    }
  }

  send (frame: Frame): void {
    if (this.closed) return
    const text = encodeFrame(frame)
    if (this.ctx.config.log.frames) this.log.info({ dir: 'out', frame: text }, 'frame')
    this.ctx.metrics.inc('frames_out_total')
    this.ws.send(text)
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
    this.pendingReason ??= reason
  }

  private pendingReason: DisconnectReason | undefined

  /** Close with a code and record why; the disconnect event carries the reason. */
  close (code: number, text: string, reason: DisconnectReason): void {
    if (this.closed) return
    this.pendingReason = reason
    this.ws.close(code, text)
    this.end(reason, code, text)
  }

  /** Drop a dead socket without a closing handshake (half-open). */
  terminate (reason: DisconnectReason): void {
    if (this.closed) return
    this.ws.terminate()
    this.end(reason, 1006, reason)
  }

  private end (reason: DisconnectReason, code: number, detail: string): void {
    if (this.closed) return
    this.closed = true
    this.onEnd?.(this, this.pendingReason ?? reason, code, detail)
  }
}

function remember (map: Map<string, string>, id: string, action: string): void {
  if (map.size >= MAX_PENDING) {
    const oldest = map.keys().next().value
    if (oldest !== undefined) map.delete(oldest)
  }
  map.set(id, action)
}

/**
 * One connected charge point, on the OCPP-J side of the bridge. It reads frames from its
 * socket and writes frames to it, and speaks to the backends through its BackendPort; it
 * knows no topic, no envelope and no MQTT. It keeps the promise that every message is
 * accounted for: each backend Call gets exactly one answer (the charge point's, or one made
 * by the gateway), each Call from the charge point is forwarded or answered with a CallError.
 *
 * The rules live beside it, one file per direction: upstream.ts (charge point -> backend),
 * downstream.ts (backend -> charge point), liveness.ts (everything driven by time).
 *
 * @example
 *   const s = new Session(socket, info, backend, ctx)   // socket: a ChargePointSocket
 *   s.bind((s, reason) => { ... })                        // told once when it ends
 *   s.fromBackend(frame)                                  // a frame from the backends
 *   s.tick(Date.now())                                    // from the one liveness sweep
 */
import { encodeFrame, type CallErrorFrame, type CallFrame, type CallResultFrame, type Frame, type JsonObject } from '../ocpp/frame.js'
import type { Dialect } from '../ocpp/dialect.js'
import type { ChargePointSocket } from '../transport/socket.js'
import type { Logger } from '../observability/logger.js'
import { redactFrame } from '../observability/redact.js'
import { checkDecision, type Direction, type ValidationFailure } from '../schema/index.js'
import type { AnswerTarget, BackendPort, GatewayErrorReason } from './backend-port.js'
import type { SessionContext } from './context.js'
import { CallQueue } from './call-queue.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'
import { fromChargePoint } from './upstream.js'
import { fromBackend, offerCall } from './downstream.js'
import { checkLiveness } from './liveness.js'
import { FrameTrace } from './trace.js'
import { abandoned, type Settle } from './local-calls.js'

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

export type EndListener = (s: Session, reason: DisconnectReason, code: number, detail: string) => void

/** A schema check that failed: 'check' refuses the message, 'warn' forwards it marked. */
export interface Invalid { decision: 'check' | 'warn', failure: ValidationFailure }

/** ws closes the socket itself after these errors, with the code given. */
const socketErrorReasons: Readonly<Record<string, DisconnectReason>> = Object.freeze({
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 'frame_too_large',
  WS_ERR_INVALID_UTF8: 'invalid_utf8'
})

/** The close code ws sends for each of those (RFC 6455 §7.4.1). */
const socketErrorCodes: Readonly<Partial<Record<DisconnectReason, number>>> = Object.freeze({
  frame_too_large: CloseCode.MESSAGE_TOO_BIG,
  invalid_utf8: CloseCode.INVALID_PAYLOAD
})

export class Session {
  readonly cid: string
  readonly dialect: Dialect
  readonly connectedAt = Date.now()
  /** Last text frame (keepalive, EMQX semantics). */
  lastFrameAt = this.connectedAt
  /** Last sign of life of the socket: any frame or pong. */
  lastActivityAt = this.connectedAt
  lastPingAt = this.connectedAt
  heartbeatIntervalMs: number
  receivedFrames = 0
  closed = false
  /** Backend Calls to this charge point: one in flight, the rest queued. */
  readonly calls: CallQueue
  /** Charge point Calls waiting for the backend's answer, oldest first: id -> Action and time. */
  readonly pendingUp = new Map<string, { action: string, at: number }>()
  /** Malformed frames within the current window (upstream.ts). */
  malformed = { count: 0, since: 0 }
  /** Since when the socket's send buffer is over the high-water mark; 0 when it is not. */
  overWatermarkSince = 0
  /** The last frames, kept only once an operator asked (trace.ts); undefined for almost every session. */
  trace: FrameTrace | undefined
  /** The gateway's own Calls owed an answer (local-calls.ts), by UniqueId; undefined when none ever was. */
  private local: Map<string, Settle> | undefined
  private logger: Logger | undefined
  private endReason: DisconnectReason | undefined
  /** The close code ws sent itself after a protocol error (it reports 1006 on the close event). */
  private endCode: number | undefined
  private onEnd: EndListener | undefined

  constructor (readonly socket: ChargePointSocket, readonly info: SessionInfo, readonly backend: BackendPort, readonly ctx: SessionContext) {
    this.cid = info.cid
    this.dialect = info.dialect
    this.heartbeatIntervalMs = ctx.config.defaultHeartbeatIntervalMs
    this.calls = new CallQueue(ctx.config.dnstream.maxMqueueLen)
    socket.listen({
      message: (data, isBinary) => this.onMessage(data, isBinary),
      pong: () => { this.lastActivityAt = Date.now() },
      error: (err) => this.onSocketError(err),
      close: (code, reason) => this.end('closed_by_charger', code, reason)
    })
  }

  /** This charge point's logger, made on first use: most sessions never log a line. */
  get log (): Logger {
    return (this.logger ??= this.ctx.log.child({ cid: this.cid }))
  }

  /**
   * A message from the socket, with the last-resort guard: whatever one message does wrong
   * costs that message (a CallError or a report, a log line, a counter), never the process.
   */
  private onMessage (data: Buffer, isBinary: boolean): void {
    try {
      fromChargePoint(this, data, isBinary, Date.now())
    } catch (err) {
      this.onInternalError(err, data)
    }
  }

  private onInternalError (err: unknown, data: Buffer): void {
    this.ctx.metrics.inc('internal_errors_total', 'upstream')
    this.log.error({ err: (err as Error)?.message ?? String(err), stack: (err as Error)?.stack }, 'internal error on a frame from the charge point: answered, not forwarded')
    try {
      const front = /^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"/.exec(data.toString('utf8', 0, 64))
      if (front !== null) this.refuse(front[1] as string, this.dialect.errorCodes.internalError, 'gateway: internal error while handling this message', 'internal_error')
      else this.backend.report('internal_error', 'gateway: internal error while handling a frame from the charge point; not forwarded', {})
    } catch (e) {
      this.log.error({ err: (e as Error)?.message }, 'internal error while answering an internal error')
    }
  }

  /** Called once by the session table: where the session reports its end. */
  bind (onEnd: EndListener): void {
    this.onEnd = onEnd
  }

  /** A frame from the backends, already decoded from its envelope. */
  fromBackend (frame: Frame): void {
    if (this.closed) {
      // Ended: its owed Calls were answered at the end; a Call now would never be.
      if (frame.type === 2) this.answerBackend(frame, 'disconnected', 'gateway: the charge point disconnected before the Call could be sent')
      return
    }
    fromBackend(this, frame)
  }

  /** The Calls still queued on an older connection of the same charge point, taken over. */
  adopt (old: Session): void {
    for (const f of old.calls.takeWaiting()) {
      const settle = old.local?.get(f.id)
      if (settle === undefined) {
        offerCall(this, f)
      } else {
        old.local?.delete(f.id)
        this.callLocal(f, settle)
      }
    }
  }

  /**
   * A Call of the gateway's own (the admin API), through the backends' queue and rules; its
   * answer, or the gateway's error in its place, goes to `settle` (exactly once), not to MQTT.
   */
  callLocal (frame: CallFrame, settle: Settle): void {
    if (this.closed) {
      settle({ kind: 'gateway', reason: 'disconnected', description: 'gateway: the charge point disconnected before the Call could be sent', details: {} })
      return
    }
    (this.local ??= new Map()).set(frame.id, settle)
    offerCall(this, frame)
  }

  /**
   * The caller of a local Call gave up (its own timeout): a Call still queued is taken out;
   * one in flight stays owed (OCPP-J: one at a time), and its answer is dropped when it comes.
   * Returns whether the Call had been sent.
   */
  abandonLocal (id: string): boolean {
    if (this.local?.has(id) !== true) return false
    if (this.calls.remove(id)) {
      this.local.delete(id)
      return false
    }
    this.local.set(id, abandoned)
    return true
  }

  /** Calls of the gateway's own owed an answer (the admin API's), in flight or queued. */
  get localCalls (): number { return this.local?.size ?? 0 }

  /**
   * The charge point's CallResult or CallError to a backend Call (`action` is the Call's):
   * to the backends, or to the local caller when the gateway made the Call.
   */
  answered (frame: CallResultFrame | CallErrorFrame, text: string, action: string, validationError: string | undefined): void {
    const settle = this.takeLocal(frame.id)
    if (settle === undefined) {
      this.backend.forward(frame, text, action, validationError)
    } else if (frame.type === 3) {
      settle({ kind: 'result', payload: frame.payload })
    } else {
      settle({ kind: 'call_error', code: frame.code, description: frame.description, details: frame.details })
    }
  }

  private takeLocal (id: string): Settle | undefined {
    const local = this.local
    if (local === undefined) return undefined
    const settle = local.get(id)
    if (settle !== undefined) local.delete(id)
    return settle
  }

  /** The trace of this session's frames, started now if none is kept (trace.ts). */
  traceFrames (size: number, idleMs: number): FrameTrace {
    const t = (this.trace ??= new FrameTrace(size, idleMs))
    t.lastAskedAt = Date.now()
    return t
  }

  /** The liveness checks, from the one sweep of all sessions. */
  tick (now: number): void {
    checkLiveness(this, now)
  }

  /** Write a frame; `action` is the Call's when the frame answers one (for the metrics). */
  send (frame: Frame, action?: string): void {
    if (this.closed) return
    const text = encodeFrame(frame)
    if (this.ctx.config.log.frames) this.log.info({ dir: 'out', frame: redactFrame(text) }, 'frame')
    this.ctx.audit?.record(this.cid, 'out', text)
    this.ctx.metrics.inc('frames_out_total')
    this.ctx.metrics.frame('out', frame.type, frame.type === 2 || frame.type === 6 ? frame.action : action)
    if (this.trace !== undefined && !this.trace.push('out', text, Date.now())) this.trace = undefined
    this.socket.send(text)
    if (this.socket.bufferedAmount > 4 * this.info.limits.highWatermark) {
      // Far over the mark: the charge point is not reading. Bound memory now.
      this.ctx.metrics.inc('slow_consumers_closed_total')
      this.terminate('slow_consumer')
    }
  }

  /** A CallError to the charge point answering its Call `id` (counted by code, or by `label`). */
  refuse (id: string, code: string, description: string, label = code): void {
    this.ctx.metrics.inc('calls_answered_with_error_total', label)
    this.send({ type: 4, id, code, description, details: {} })
  }

  /**
   * Answer the backends on the charge point's behalf (a backend Call it will not get, or a
   * backend CallResult that was not sent), with ErrorDetails.reason saying why.
   */
  answerBackend (to: AnswerTarget, reason: GatewayErrorReason, description: string, details: JsonObject = {}, code = 'GenericError'): void {
    const settle = this.takeLocal(to.id)
    if (settle !== undefined) {
      settle({ kind: 'gateway', reason, description, details: { ...details, code } })
      return
    }
    this.ctx.metrics.inc('gateway_answers_total', reason)
    this.backend.answer(to, code, description, { reason, ...details })
  }

  /**
   * Schema check per message_format_checking; undefined when valid or not checked. A 'warn'
   * result is forwarded, marked, logged and counted; a 'check' result is refused by the caller.
   */
  validate (direction: Direction, kind: 'request' | 'response', action: string, payload: JsonObject): Invalid | undefined {
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

  private onSocketError (err: Error & { code?: string }): void {
    const reason = socketErrorReasons[err.code ?? ''] ?? 'socket_error'
    this.ctx.metrics.inc('frames_malformed_total', reason)
    this.log.warn({ err: err.message, code: err.code }, 'websocket error')
    this.endReason ??= reason
    this.endCode ??= socketErrorCodes[reason]
  }

  /** Close with a code and record why; the disconnect event carries the reason. */
  close (code: number, text: string, reason: DisconnectReason): void {
    if (this.closed) return
    this.endReason = reason
    this.socket.close(code, text)
    this.end(reason, code, text)
  }

  /** Drop a socket without a closing handshake (half-open, or not reading). */
  terminate (reason: DisconnectReason): void {
    if (this.closed) return
    this.endReason = reason
    this.socket.terminate()
    this.end(reason, 1006, reason)
  }

  private end (reason: DisconnectReason, code: number, detail: string): void {
    if (this.closed) return
    this.closed = true
    const why = this.endReason ?? reason
    // Every backend Call still owed an answer gets one.
    for (const f of this.calls.drain()) {
      this.answerBackend(f, why === 'shutdown' ? 'shutdown' : 'disconnected', `gateway: the charge point disconnected (${why}) before answering`)
    }
    this.trace?.end()
    this.onEnd?.(this, why, this.endCode ?? code, detail)
  }
}

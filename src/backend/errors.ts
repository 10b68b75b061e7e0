/**
 * What a handler throws to answer with a CallError, and what `backend.call()` rejects with:
 * one class per source of the failure, so a caller tells apart the charge point's refusal,
 * the gateway's own answer, a local timeout and a closed backend.
 *
 * @example
 *   try {
 *     await backend.call('CP1', 'Reset', { type: 'Soft' })
 *   } catch (err) {
 *     if (err instanceof GatewayAnswerError && err.reason === 'offline') retryLater()
 *     else if (err instanceof ChargerCallError) log(err.code, err.description)
 *     else if (err instanceof CallTimeoutError) ...
 *   }
 */
import { GatewayError, type ErrorCode } from '../errors.js'
import type { JsonObject } from '../ocpp/frame.js'

/**
 * Thrown by a handler: the charge point gets a CallError with this code, description and
 * details (OCPP-J: `[4, id, code, description, details]`).
 *
 * @example
 *   backend.handle('DataTransfer', () => { throw new OcppError('NotSupported', 'no vendor extensions') })
 */
export class OcppError extends Error {
  constructor (readonly code: string, readonly description = '', readonly details: JsonObject = {}) {
    super(description === '' ? code : `${code}: ${description}`)
    this.name = 'OcppError'
  }
}

/** Why the gateway answered a Call itself (`ErrorDetails.reason`; README "Every message accounted for"). */
export type GatewayReason =
  | 'offline' | 'timeout' | 'queue_full' | 'disconnected' | 'shutdown' | 'duplicate_id'
  | 'invalid_payload' | 'invalid_envelope' | 'invalid_charger_answer' | (string & {})

/** Base of every rejection of `backend.call()`: which Call it was. */
export class CallFailedError extends GatewayError {
  constructor (code: ErrorCode, message: string, readonly cid: string, readonly action: string, readonly uniqueId: string) {
    super(code, message)
    this.name = 'CallFailedError'
  }
}

/** The charge point answered with a CallError (`OCPPGW_ERR_CALL_ERROR`). */
export class ChargerCallError extends CallFailedError {
  constructor (cid: string, action: string, uniqueId: string, readonly errorCode: string, readonly description: string, readonly details: JsonObject) {
    super('OCPPGW_ERR_CALL_ERROR', `${cid} answered ${action} with ${errorCode}${description === '' ? '' : `: ${description}`}`, cid, action, uniqueId)
    this.name = 'ChargerCallError'
  }
}

/**
 * The gateway answered instead of the charge point (`OCPPGW_ERR_CALL_GATEWAY`): the envelope
 * carried `"Origin":"gateway"`; `reason` is its `ErrorDetails.reason`.
 */
export class GatewayAnswerError extends CallFailedError {
  readonly reason: GatewayReason
  constructor (cid: string, action: string, uniqueId: string, readonly errorCode: string, readonly description: string, readonly details: JsonObject) {
    const reason = typeof details.reason === 'string' ? details.reason : 'unknown'
    super('OCPPGW_ERR_CALL_GATEWAY', `gateway answered ${action} to ${cid}: ${reason}${description === '' ? '' : ` (${description})`}`, cid, action, uniqueId)
    this.reason = reason
    this.name = 'GatewayAnswerError'
  }
}

/** No answer within the Call's `timeout` (`OCPPGW_ERR_CALL_TIMEOUT`); a later answer is dropped. */
export class CallTimeoutError extends CallFailedError {
  constructor (cid: string, action: string, uniqueId: string, readonly timeoutMs: number) {
    super('OCPPGW_ERR_CALL_TIMEOUT', `no answer from ${cid} to ${action} within ${timeoutMs} ms`, cid, action, uniqueId)
    this.name = 'CallTimeoutError'
  }
}

/** `backend.close()` was called, or the Call could not be published (`OCPPGW_ERR_BACKEND_CLOSED`). */
export class BackendClosedError extends CallFailedError {
  constructor (cid: string, action: string, uniqueId: string, detail = 'the backend was closed') {
    super('OCPPGW_ERR_BACKEND_CLOSED', `${action} to ${cid}: ${detail}`, cid, action, uniqueId)
    this.name = 'BackendClosedError'
  }
}

/**
 * With validation on: the Call's payload fails its schema (`which: 'request'`, nothing was
 * sent) or the charge point's CallResult does (`which: 'response'`, `payload` holds it).
 */
export class CallValidationError extends CallFailedError {
  constructor (cid: string, action: string, uniqueId: string, readonly which: 'request' | 'response', readonly detail: string, readonly payload?: unknown) {
    super('OCPPGW_ERR_CALL_INVALID', `${action} ${which} ${which === 'request' ? 'to' : 'from'} ${cid} fails the schema: ${detail}`, cid, action, uniqueId)
    this.name = 'CallValidationError'
  }
}

/** An option of connectBackend() is invalid (`OCPPGW_ERR_BACKEND_OPTION`); `option` names it. */
export class BackendOptionError extends GatewayError {
  constructor (readonly option: string, message: string) {
    super('OCPPGW_ERR_BACKEND_OPTION', `${option}: ${message}`)
    this.name = 'BackendOptionError'
  }
}

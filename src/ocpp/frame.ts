/**
 * OCPP-J frame codec. Pure and total: `decodeFrame` never throws, it returns either a
 * frame or a typed error carrying the message id when it could be read ("-1" otherwise).
 */
import { type Dialect, MessageType, type RpcErrorKind } from './dialect.js'
import { DEFAULT_MAX_JSON_DEPTH, jsonTooDeep } from './json-depth.js'

export type JsonObject = Record<string, unknown>

export interface CallFrame { type: 2, id: string, action: string, payload: JsonObject }
export interface CallResultFrame { type: 3, id: string, payload: JsonObject }
export interface CallErrorFrame { type: 4, id: string, code: string, description: string, details: JsonObject }
export interface CallResultErrorFrame { type: 5, id: string, code: string, description: string, details: JsonObject }
export interface SendFrame { type: 6, id: string, action: string, payload: JsonObject }

export type Frame = CallFrame | CallResultFrame | CallErrorFrame | CallResultErrorFrame | SendFrame

export interface FrameError {
  kind: RpcErrorKind
  /** The message id if it could be read, otherwise "-1" (OCPP-J 2.0.1 Part 4 §4.2.3). */
  id: string
  /** The message type if it could be read; decides whether the sender expects an answer. */
  type: number | undefined
  message: string
}

export type DecodeResult = { ok: true, frame: Frame } | { ok: false, error: FrameError }

/** OCPP-J: "messageId ... maximum of 36 characters". */
export const MAX_MESSAGE_ID_LENGTH = 36
export const UNKNOWN_ID = '-1'

/**
 * An Action as OCPP names them: a bounded identifier (the longest in 2.1 has 33 letters). It
 * goes into topics, logs and schema look-ups, so nothing else is let through.
 */
export const ACTION_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/

export function isJsonObject (v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function fail (kind: RpcErrorKind, message: string, id = UNKNOWN_ID, type?: number): DecodeResult {
  return { ok: false, error: { kind, id, type, message } }
}

/** Valid id per OCPP-J: a non-empty string of at most 36 characters. */
export function isValidMessageId (id: unknown, maxLength = MAX_MESSAGE_ID_LENGTH): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= maxLength
}

export function decodeFrame (text: string, dialect: Dialect, maxIdLength = MAX_MESSAGE_ID_LENGTH, maxDepth = DEFAULT_MAX_JSON_DEPTH): DecodeResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail('rpcFramework', 'message is not valid JSON')
  }
  if (!Array.isArray(value)) return fail('rpcFramework', 'message is not a JSON array')
  const type: unknown = value[0]
  if (typeof type !== 'number' || !Number.isInteger(type)) {
    return fail('rpcFramework', 'MessageTypeId is not an integer')
  }
  const id: unknown = value[1]
  if (jsonTooDeep(value, maxDepth)) {
    // Nothing recursive may touch it: refused here, with its id when that is readable.
    return fail('formatViolation', `message nests deeper than ${maxDepth} levels (max_json_depth)`, isValidMessageId(id, maxIdLength) ? id : UNKNOWN_ID, type)
  }
  if (!isValidMessageId(id, maxIdLength)) {
    return fail('rpcFramework', typeof id === 'string'
      ? `MessageId must be 1 to ${maxIdLength} characters`
      : 'MessageId is not a string', UNKNOWN_ID, type)
  }
  if (!dialect.messageTypes.has(type)) {
    return fail('messageTypeNotSupported', `MessageTypeId ${type} is not supported by OCPP ${dialect.version}`, id, type)
  }
  switch (type) {
    case MessageType.CALL:
    case MessageType.SEND: {
      if (value.length !== 4) return fail('rpcFramework', `a message of type ${type} has 4 elements, got ${value.length}`, id, type)
      const action: unknown = value[2]
      const payload: unknown = value[3]
      if (typeof action !== 'string' || action.length === 0) return fail('rpcFramework', 'Action is not a non-empty string', id, type)
      if (!ACTION_PATTERN.test(action)) return fail('rpcFramework', 'Action must be 1 to 64 letters, digits, "_", "-" or "."', id, type)
      if (!isJsonObject(payload)) return fail('formatViolation', 'Payload is not a JSON object', id, type)
      return { ok: true, frame: { type, id, action, payload } }
    }
    case MessageType.CALLRESULT: {
      if (value.length !== 3) return fail('rpcFramework', `a CALLRESULT has 3 elements, got ${value.length}`, id, type)
      const payload: unknown = value[2]
      if (!isJsonObject(payload)) return fail('formatViolation', 'Payload is not a JSON object', id, type)
      return { ok: true, frame: { type, id, payload } }
    }
    default: { // CALLERROR, CALLRESULTERROR
      // ErrorDetails is mandatory in the spec, but firmware in the field omits it: accept 4 elements.
      if (value.length !== 5 && value.length !== 4) return fail('rpcFramework', `a message of type ${type} has 5 elements, got ${value.length}`, id, type)
      const [, , code, description, details = {}] = value as unknown[]
      if (typeof code !== 'string' || code.length === 0) return fail('rpcFramework', 'ErrorCode is not a non-empty string', id, type)
      if (typeof description !== 'string') return fail('rpcFramework', 'ErrorDescription is not a string', id, type)
      if (!isJsonObject(details)) return fail('formatViolation', 'ErrorDetails is not a JSON object', id, type)
      return { ok: true, frame: { type: type as 4 | 5, id, code, description, details } }
    }
  }
}

/** Serialise one frame as an OCPP-J array. */
export function encodeFrame (frame: Frame): string {
  switch (frame.type) {
    case MessageType.CALL:
    case MessageType.SEND:
      return JSON.stringify([frame.type, frame.id, frame.action, frame.payload])
    case MessageType.CALLRESULT:
      return JSON.stringify([frame.type, frame.id, frame.payload])
    default:
      return JSON.stringify([frame.type, frame.id, frame.code, frame.description, frame.details])
  }
}

/** Whether a frame of this type expects an answer, so a decode error must be answered. */
export function expectsAnswer (type: number | undefined): boolean {
  // An unreadable type may have been a Call: answering is the safe side (2.0.1 Part 4 §4.2.3).
  return type === undefined || type === MessageType.CALL || !([3, 4, 5, 6] as number[]).includes(type)
}

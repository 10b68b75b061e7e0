/**
 * OCPP-J frames <-> EMQX's JSON envelopes. Pure.
 *
 * Up (charge point -> MQTT):
 *   2 Call            {MessageTypeId, UniqueId, Action, Payload}
 *   3 CallResult      {MessageTypeId, UniqueId, Payload, Action?}        Action of the Call it answers
 *   4 CallError       {MessageTypeId, UniqueId, ErrorCode, ErrorDescription, ErrorDetails, Action?}
 *   5 CallResultError {MessageTypeId, UniqueId, ErrorCode, ErrorDescription, ErrorDetails}  (2.1)
 *   6 Send            {MessageTypeId, UniqueId, Action, Payload}          (2.1)
 * Down (backend -> charge point): the same shapes; Action on 3/4 is optional and ignored.
 * Envelopes made by the gateway itself carry `"Origin": "gateway"`.
 */
import { type Frame, type JsonObject, isJsonObject, isValidMessageId, MAX_MESSAGE_ID_LENGTH } from '../ocpp/frame.js'
import type { Dialect } from '../ocpp/dialect.js'
import { DEFAULT_MAX_JSON_DEPTH, jsonTooDeep } from '../ocpp/json-depth.js'

export function frameToEnvelope (frame: Frame, action?: string): JsonObject {
  switch (frame.type) {
    case 2:
    case 6:
      return { MessageTypeId: frame.type, UniqueId: frame.id, Action: frame.action, Payload: frame.payload }
    case 3:
      return action === undefined
        ? { MessageTypeId: 3, UniqueId: frame.id, Payload: frame.payload }
        : { MessageTypeId: 3, UniqueId: frame.id, Action: action, Payload: frame.payload }
    default: {
      const env: JsonObject = { MessageTypeId: frame.type, UniqueId: frame.id, ErrorCode: frame.code, ErrorDescription: frame.description, ErrorDetails: frame.details }
      if (action !== undefined) env.Action = action
      return env
    }
  }
}

/**
 * `JSON.stringify(frameToEnvelope(frame, action))` (plus `ValidationError` when given) for a
 * frame from the charge point, with the payload's JSON text taken as is from `frameText`, the
 * text the frame was decoded from: the payload is parsed once, never serialised again (a
 * 20 KB MeterValues otherwise costs a JSON.stringify of 20 KB). The members and their order
 * are those of frameToEnvelope; the payload is the same JSON value, in the charge point's own
 * spelling (whitespace, escapes, number formats). Undefined for types without a payload
 * (CallError), or when the payload cannot be found, and the caller serialises instead.
 */
export function upstreamEnvelopeText (frame: Frame, frameText: string, action?: string, validationError?: string): string | undefined {
  let head: string
  let payload: string | undefined
  switch (frame.type) {
    case 2:
    case 6:
      payload = payloadText(frameText, 3)
      head = `{"MessageTypeId":${frame.type},"UniqueId":${JSON.stringify(frame.id)},"Action":${JSON.stringify(frame.action)},"Payload":`
      break
    case 3:
      payload = payloadText(frameText, 2)
      head = `{"MessageTypeId":3,"UniqueId":${JSON.stringify(frame.id)},${action === undefined ? '' : `"Action":${JSON.stringify(action)},`}"Payload":`
      break
    default:
      return undefined
  }
  if (payload === undefined) return undefined
  return head + payload + (validationError === undefined ? '}' : `,"ValidationError":${JSON.stringify(validationError)}}`)
}

/**
 * The text of the last element of a frame that JSON.parse accepted, when it is an object:
 * what follows the `before`-th top-level comma up to the closing bracket. The elements
 * before it are scalars (the type, the id, the Action), so only their strings need skipping.
 */
function payloadText (text: string, before: number): string | undefined {
  let i = text.indexOf('[') + 1
  if (i === 0) return undefined
  let commas = 0
  for (; i < text.length && commas < before; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // A string: on to its closing quote, over escaped characters.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++
    } else if (c === 0x2c) {
      commas++
    } else if (c === 0x7b || c === 0x5b) {
      return undefined // not a scalar: not the frame this expects
    }
  }
  const end = text.lastIndexOf(']')
  if (commas < before || end < i) return undefined
  const raw = text.slice(i, end).trim()
  return raw.charCodeAt(0) === 0x7b && raw.charCodeAt(raw.length - 1) === 0x7d ? raw : undefined
}

export interface EnvelopeError {
  /** The UniqueId when it could be read, so the backend can be answered on the reply topic. */
  id: string | undefined
  action: string | undefined
  message: string
}

export type EnvelopeResult = { ok: true, frame: Frame } | { ok: false, error: EnvelopeError }

function bad (message: string, id?: string, action?: string): EnvelopeResult {
  return { ok: false, error: { id, action, message } }
}

const UNIQUE_ID_MEMBER = new RegExp(`"UniqueId"\\s*:\\s*"((?:[^"\\\\]|\\\\.){1,${MAX_MESSAGE_ID_LENGTH}})"`)
const ACTION_MEMBER = /"Action"\s*:\s*"([A-Za-z0-9_.-]{1,64})"/

/**
 * The UniqueId (and Action) of an envelope that is not parsed (too large to be): read from its
 * text, the first `"UniqueId"` member, bounded, so the backend can still be answered.
 */
export function peekEnvelopeId (text: string): { id: string | undefined, action: string | undefined } {
  const m = UNIQUE_ID_MEMBER.exec(text)
  let id: string | undefined
  if (m !== null) {
    try { id = JSON.parse(`"${m[1] as string}"`) as string } catch { id = undefined }
    if (!isValidMessageId(id)) id = undefined
  }
  return { id, action: ACTION_MEMBER.exec(text)?.[1] }
}

/** Parse a downstream envelope. Total: never throws. */
export function envelopeToFrame (payload: Buffer | string, dialect: Dialect, maxDepth = DEFAULT_MAX_JSON_DEPTH): EnvelopeResult {
  let env: unknown
  try {
    env = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'))
  } catch {
    return bad('envelope is not valid JSON')
  }
  if (!isJsonObject(env)) return bad('envelope is not a JSON object')
  const rawId = env.UniqueId
  const id = isValidMessageId(rawId) ? rawId : undefined
  const action = typeof env.Action === 'string' ? env.Action : undefined
  const type = env.MessageTypeId
  if (jsonTooDeep(env, maxDepth)) {
    // Nothing recursive may touch it: refused here, answered when its UniqueId is readable.
    return bad(`envelope nests deeper than ${maxDepth} levels (max_json_depth)`, id, action)
  }
  if (id === undefined) {
    return bad(typeof rawId === 'string' ? `UniqueId must be 1 to ${MAX_MESSAGE_ID_LENGTH} characters` : 'UniqueId is missing or not a string', undefined, action)
  }
  if (typeof type !== 'number' || !dialect.messageTypes.has(type)) {
    return bad(`MessageTypeId ${JSON.stringify(type)} is not one of ${[...dialect.messageTypes].join(', ')} (OCPP ${dialect.version})`, id, action)
  }
  switch (type) {
    case 2:
    case 6: {
      if (action === undefined || action.length === 0) return bad('Action is missing or not a string', id)
      if (!isJsonObject(env.Payload)) return bad('Payload is missing or not a JSON object', id, action)
      return { ok: true, frame: { type, id, action, payload: env.Payload } }
    }
    case 3:
      if (!isJsonObject(env.Payload)) return bad('Payload is missing or not a JSON object', id, action)
      return { ok: true, frame: { type: 3, id, payload: env.Payload } }
    default: {
      const { ErrorCode: code, ErrorDescription: description = '', ErrorDetails: details = {} } = env
      if (typeof code !== 'string' || code.length === 0) return bad('ErrorCode is missing or not a string', id, action)
      if (typeof description !== 'string') return bad('ErrorDescription is not a string', id, action)
      if (!isJsonObject(details)) return bad('ErrorDetails is not a JSON object', id, action)
      return { ok: true, frame: { type: type as 4 | 5, id, code, description, details } }
    }
  }
}

/** A CallError envelope made by the gateway (not by the charge point). */
export function gatewayErrorEnvelope (id: string, code: string, description: string, details: JsonObject = {}, action?: string): JsonObject {
  const env: JsonObject = { MessageTypeId: 4, UniqueId: id, ErrorCode: code, ErrorDescription: description, ErrorDetails: details, Origin: 'gateway' }
  if (action !== undefined) env.Action = action
  return env
}

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

/** Parse a downstream envelope. Total: never throws. */
export function envelopeToFrame (payload: Buffer | string, dialect: Dialect): EnvelopeResult {
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

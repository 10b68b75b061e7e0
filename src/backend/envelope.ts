/**
 * The backend's side of the EMQX envelopes (README "The contract"). Pure: parse what the
 * gateway publishes (total, never throws) and build what the backend publishes.
 *
 *   up    2 Call / 6 SEND   {MessageTypeId, UniqueId, Action, Payload}
 *   up    3 CallResult      {MessageTypeId, UniqueId, Payload, Action?}
 *   up    4 CallError / 5   {MessageTypeId, UniqueId, ErrorCode, ErrorDescription, ErrorDetails?, Action?, Origin?}
 *   down  the same shapes; Action on 3 and 4 is optional (sent: EMQX's examples carry it)
 *
 * `Action` on answers and `Origin: "gateway"` are this gateway's extensions: used when present,
 * never required.
 */
import { isJsonObject, isValidMessageId, type JsonObject } from '../ocpp/frame.js'

export interface UpCall { type: 2 | 6, id: string, action: string, payload: JsonObject }
export interface UpResult { type: 3, id: string, action: string | undefined, payload: JsonObject }
/** `gateway`: made by the gateway (`"Origin":"gateway"`), not by the charge point. */
export interface UpError { type: 4 | 5, id: string, action: string | undefined, code: string, description: string, details: JsonObject, gateway: boolean }
export type Upstream = UpCall | UpResult | UpError

export const isCall = (m: Upstream): m is UpCall => m.type === 2 || m.type === 6

export type ParseResult = { ok: true, msg: Upstream } | { ok: false, error: string, id: string | undefined }

function fail (error: string, id?: string): ParseResult {
  return { ok: false, error, id }
}

/** An envelope from the gateway. Total: a bad one is a result, not an exception. */
export function parseUpstream (payload: Buffer | string): ParseResult {
  let env: unknown
  try {
    env = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'))
  } catch {
    return fail('not JSON')
  }
  if (!isJsonObject(env)) return fail('not a JSON object')
  const id = env.UniqueId
  if (!isValidMessageId(id)) return fail('UniqueId missing or invalid')
  const action = typeof env.Action === 'string' && env.Action.length > 0 ? env.Action : undefined
  switch (env.MessageTypeId) {
    case 2:
    case 6:
      if (action === undefined) return fail('Action missing', id)
      if (!isJsonObject(env.Payload)) return fail('Payload is not an object', id)
      return { ok: true, msg: { type: env.MessageTypeId, id, action, payload: env.Payload } }
    case 3:
      if (!isJsonObject(env.Payload)) return fail('Payload is not an object', id)
      return { ok: true, msg: { type: 3, id, action, payload: env.Payload } }
    case 4:
    case 5: {
      const code = env.ErrorCode
      if (typeof code !== 'string') return fail('ErrorCode missing', id)
      const description = typeof env.ErrorDescription === 'string' ? env.ErrorDescription : ''
      // EMQX drops ErrorDetails; ours keeps it.
      const details = isJsonObject(env.ErrorDetails) ? env.ErrorDetails : {}
      return { ok: true, msg: { type: env.MessageTypeId, id, action, code, description, details, gateway: env.Origin === 'gateway' } }
    }
    default:
      return fail(`MessageTypeId ${JSON.stringify(env.MessageTypeId)} unknown`, id)
  }
}

export function callEnvelope (id: string, action: string, payload: unknown, type: 2 | 6 = 2): string {
  return JSON.stringify({ MessageTypeId: type, UniqueId: id, Action: action, Payload: payload })
}

export function resultEnvelope (id: string, action: string, payload: unknown): string {
  return JSON.stringify({ MessageTypeId: 3, UniqueId: id, Action: action, Payload: payload })
}

export function errorEnvelope (id: string, action: string, code: string, description: string, details: JsonObject = {}): string {
  return JSON.stringify({ MessageTypeId: 4, UniqueId: id, Action: action, ErrorCode: code, ErrorDescription: description, ErrorDetails: details })
}

/**
 * Calls the gateway makes itself (the admin API's `POST /api/v1/chargers/{id}/calls`), not a
 * backend. They take the backends' road to the charge point: the same call queue (one in
 * flight, OCPP-J §4.1.1), the same bound (dnstream.max_mqueue_len), the same validation
 * (message_format_checking, dnstream), the same timeout (dnstream.awaiting_timeout). Only
 * their answer differs: it goes to the caller's {@link Settle}, never to MQTT, since no
 * backend sent them. The session keeps a map id -> settle only while one is owed.
 */
import type { JsonObject } from '../ocpp/frame.js'
import type { GatewayErrorReason } from './backend-port.js'

export type LocalOutcome =
  /** The charge point's CallResult. */
  | { kind: 'result', payload: JsonObject }
  /** The charge point's CallError. */
  | { kind: 'call_error', code: string, description: string, details: JsonObject }
  /** The gateway's own answer, as a backend would get it (ErrorDetails.reason). */
  | { kind: 'gateway', reason: GatewayErrorReason, description: string, details: JsonObject }

/** Told exactly once per local Call. */
export type Settle = (outcome: LocalOutcome) => void

/** What a late answer to a local Call the caller gave up on goes to: nowhere. */
export const abandoned: Settle = () => {}

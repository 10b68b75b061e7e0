/**
 * What a session needs from the backend side, one port per charge point (already bound to
 * its id and OCPP version). The session speaks OCPP-J frames only; the bridge behind this
 * port turns them into MQTT envelopes on topics. A fake of it drives the session in unit tests.
 */
import type { Frame, JsonObject } from '../ocpp/frame.js'

/** Why the gateway, not the charge point, answers a backend Call (ErrorDetails.reason). */
export type GatewayErrorReason = 'offline' | 'queue_full' | 'timeout' | 'disconnected' | 'shutdown' | 'duplicate_id' | 'invalid_envelope' | 'invalid_payload' | 'invalid_charger_answer'

/** The message a gateway-made answer answers: a backend Call, or a backend CallResult refused. */
export interface AnswerTarget {
  id: string
  action: string | undefined
}

/**
 * Why a frame for the backends was never published: the bridge held it for a broker that stayed
 * away past its bound (`timeout`), had too many waiting (`queue_full`), closed, or failed.
 */
export type UndeliveredReason = 'queue_full' | 'timeout' | 'closed' | 'error'

/** Told once, for a forwarded frame that will never reach a backend. */
export type OnUndelivered = (reason: UndeliveredReason, description: string) => void

export interface BackendPort {
  /**
   * A frame from the charge point, for the backends: a Call or Send, a CallResult or CallError
   * answering a backend Call (`action` is that Call's), a CallResultError. `text` is the frame
   * as received, so its payload can be passed on without a second serialisation.
   * `validationError` is set in warn mode: forwarded, but marked. `undelivered` (given for a
   * Call): told if it is never published, so that the charge point gets a CallError instead of
   * waiting for an answer that cannot come.
   */
  forward: (frame: Frame, text: string, action: string | undefined, validationError: string | undefined, undelivered?: OnUndelivered) => void
  /**
   * A CallError made by the gateway on the charge point's behalf (marked as the gateway's):
   * `details.reason` says why (a {@link GatewayErrorReason}).
   */
  answer: (to: AnswerTarget, code: string, description: string, details: JsonObject) => void
  /** A problem no reply can carry (an unmatched answer, a refused Send...), for the operators. */
  report: (error: string, description: string, extra: JsonObject) => void
}

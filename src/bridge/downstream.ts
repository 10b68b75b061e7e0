/**
 * A backend's envelope for a charge point held here: bounded, decoded, and handed to its
 * session as a frame; an envelope that cannot be is answered on the reply topic when its
 * UniqueId can be read, reported on the error topic when not.
 */
import type { Metrics } from '../observability/metrics.js'
import type { Session } from '../session/session.js'
import { envelopeToFrame, peekEnvelopeId } from './envelope.js'

/** Returns the envelope's UniqueId when it has a readable one (what a cluster takeover hands over). */
/**
 * `expect`: told the UniqueId of a Call (or of an envelope answered as invalid) before it is
 * handed on, so that its answer, however soon, finds its MQTT 5 response route.
 */
export function deliverEnvelope (session: Session, payload: Buffer, maxPayloadSize: number, maxDepth: number, metrics: Metrics, expect?: (id: string) => void): string | undefined {
  metrics.inc('mqtt_received_total')
  if (payload.length > maxPayloadSize) {
    // Not parsed, but answered when its UniqueId can be read: the backend can match the answer.
    const { id, action } = peekEnvelopeId(payload.toString('utf8'))
    if (id !== undefined) expect?.(id)
    rejectEnvelope(session, metrics, id, action, `envelope of ${payload.length} bytes exceeds dnstream.max_payload_size (${maxPayloadSize})`, 'too_large')
    return id
  }
  const result = envelopeToFrame(payload, session.dialect, maxDepth)
  if (!result.ok) {
    if (result.error.id !== undefined) expect?.(result.error.id)
    rejectEnvelope(session, metrics, result.error.id, result.error.action, result.error.message, 'invalid')
    return result.error.id
  }
  if (result.frame.type === 2) expect?.(result.frame.id)
  session.fromBackend(result.frame)
  return result.frame.id
}

function rejectEnvelope (session: Session, metrics: Metrics, id: string | undefined, action: string | undefined, message: string, why: 'too_large' | 'invalid'): void {
  metrics.inc('envelopes_invalid_total', why)
  session.log.warn({ id, err: message }, 'invalid downstream envelope')
  const code = session.dialect.errorCodes.formatViolation
  if (id !== undefined) session.backend.answer({ id, action }, code, `gateway: invalid envelope: ${message}`, { reason: 'invalid_envelope' })
  else session.backend.report('invalid_envelope', message, { ErrorCode: code })
}

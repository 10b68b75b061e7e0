/**
 * The frame of a text as decodeFrame makes it (OCPP 2.1), without decodeFrame's Action
 * grammar: the splice tests give upstreamEnvelopeText Actions no charge point can send any more
 * (commas, quotes, brackets), because the splice must stay right for whatever JSON string sits
 * before the payload.
 */
import assert from 'node:assert/strict'
import { dialects } from '../../src/ocpp/dialect.js'
import { decodeFrame, type Frame } from '../../src/ocpp/frame.js'

export function decoded (text: string): Frame {
  const r = decodeFrame(text, dialects['2.1'])
  if (r.ok) return r.frame
  const v = JSON.parse(text) as unknown[]
  assert.equal(r.error.message, 'Action must be 1 to 64 letters, digits, "_", "-" or "."', text)
  return { type: v[0] as 2 | 6, id: v[1] as string, action: v[2] as string, payload: v[3] as Record<string, unknown> }
}

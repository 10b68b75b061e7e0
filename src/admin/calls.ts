/**
 * `POST /api/v1/chargers/{id}/calls`: an operator's Call to a connected charge point,
 * answered synchronously. It takes the backends' road (session/local-calls.ts): the call
 * queue and its bound, message_format_checking, dnstream.awaiting_timeout; its answer comes
 * back here and is never published on MQTT. It is in the frame trace like any other frame.
 *
 * UniqueIds are `adm-` + 16 base64url characters (96 random bits, 20 characters, within
 * OCPP's 36): backends choose theirs freely, so ours are random rather than a counter a
 * backend could also be counting; a clash is refused by the queue (duplicate_id), never
 * mixed up.
 *
 * The HTTP status says who answered (the contract the dashboard reads):
 *   200 result (CallResult) · 502 call_error (CallError) or invalid_answer · 400 invalid_payload,
 *   bad_request · 404 offline · 409 disconnected · 503 queue_full · 504 timeout
 */
import { randomBytes } from 'node:crypto'
import { parseDuration } from '../config/duration.js'
import type { OcppVersion } from '../ocpp/dialect.js'
import type { CallFrame, JsonObject } from '../ocpp/frame.js'
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { redactText } from '../observability/redact.js'
import { loadActionSchemas, type ActionSchemas } from '../schema/schema-source.js'
import type { LocalOutcome } from '../session/local-calls.js'
import type { Session } from '../session/session.js'

/** The longest an operator may wait for one answer. */
export const MAX_CALL_TIMEOUT_MS = 300_000

export interface CallBody { action: string, payload: JsonObject, timeout?: string }

export interface CallAnswer { status: number, body: Record<string, unknown> }

export interface CallOptions {
  /** When the body gives none: dnstream.awaiting_timeout, what a backend's Call gets. */
  defaultTimeoutMs: number
  metrics: Metrics
  log: Logger
  /** Who asked (the API key's name), for the log line. */
  key: string | undefined
}

const actionsByVersion = new Map<OcppVersion, ReadonlyMap<string, ActionSchemas>>()

function actionsOf (version: OcppVersion): ReadonlyMap<string, ActionSchemas> {
  let m = actionsByVersion.get(version)
  if (m === undefined) actionsByVersion.set(version, (m = loadActionSchemas(version)))
  return m
}

export function newAdminUniqueId (): string {
  return `adm-${randomBytes(12).toString('base64url')}`
}

/** Why a request is refused before anything is sent, or undefined. */
export function checkCall (version: OcppVersion, body: CallBody): { message: string } | undefined {
  const schemas = actionsOf(version).get(body.action)
  if (schemas === undefined) return { message: `${JSON.stringify(body.action.slice(0, 64))} is not an OCPP ${version} action` }
  // OCPP 2.1 SEND-only messages have no answer to wait for.
  if (schemas.response === undefined) return { message: `${body.action} is a SEND message in OCPP ${version}: it has no answer, so it is not sent as a Call` }
  if (body.timeout !== undefined) {
    const ms = parseDuration(body.timeout)
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > MAX_CALL_TIMEOUT_MS) return { message: `timeout must be a duration from 1ms to ${MAX_CALL_TIMEOUT_MS / 1000}s (e.g. "30s")` }
  }
  return undefined
}

/** Send the Call and wait for its answer (or the gateway's error in its place). */
export async function adminCall (session: Session, body: CallBody, opts: CallOptions): Promise<CallAnswer> {
  const id = newAdminUniqueId()
  const timeoutMs = body.timeout === undefined ? opts.defaultTimeoutMs : parseDuration(body.timeout) as number
  const started = performance.now()
  const outcome = await new Promise<LocalOutcome | 'timeout'>((resolve) => {
    const timer = setTimeout(() => {
      session.abandonLocal(id)
      resolve('timeout')
    }, timeoutMs)
    session.callLocal({ type: 2, id, action: body.action, payload: body.payload } satisfies CallFrame, (o) => {
      clearTimeout(timer)
      resolve(o)
    })
  })
  const elapsed = Math.round(performance.now() - started)
  const answer = toHttp(outcome, id, elapsed, timeoutMs)
  const result = String(answer.body.result === undefined ? answer.body.error : 'result')
  opts.metrics.inc('admin_calls_total', result)
  // One line per Call; never the payload (it may carry secrets), the charge point's error text scrubbed.
  opts.log.info({
    cid: session.cid,
    action: body.action,
    unique_id: id,
    result,
    status: answer.status,
    elapsed_ms: elapsed,
    key: opts.key,
    ...(typeof answer.body.code === 'string' ? { code: answer.body.code } : {}),
    ...(typeof answer.body.description === 'string' ? { description: redactText(answer.body.description) } : {})
  }, 'admin Call')
  return answer
}

function toHttp (o: LocalOutcome | 'timeout', id: string, elapsed: number, timeoutMs: number): CallAnswer {
  if (o === 'timeout') return { status: 504, body: { error: 'timeout', message: `the charge point did not answer within ${timeoutMs} ms`, unique_id: id, elapsed_ms: elapsed } }
  switch (o.kind) {
    case 'result':
      return { status: 200, body: { result: 'CallResult', unique_id: id, payload: o.payload, elapsed_ms: elapsed } }
    case 'call_error':
      return { status: 502, body: { error: 'call_error', message: `the charge point answered CallError ${o.code}`, unique_id: id, code: o.code, description: o.description, details: o.details, elapsed_ms: elapsed } }
  }
  const base = { message: o.description, unique_id: id, elapsed_ms: elapsed }
  switch (o.reason) {
    case 'timeout': return { status: 504, body: { error: 'timeout', ...base } }
    case 'queue_full': return { status: 503, body: { error: 'queue_full', ...base } }
    case 'invalid_payload': return { status: 400, body: { error: 'invalid_payload', ...base, details: o.details } }
    case 'disconnected':
    case 'shutdown': return { status: 409, body: { error: 'disconnected', ...base } }
    case 'invalid_charger_answer': return { status: 502, body: { error: 'invalid_answer', ...base, details: o.details } }
    case 'duplicate_id': return { status: 409, body: { error: 'duplicate_id', ...base } }
    default: return { status: 500, body: { error: 'internal', ...base } }
  }
}

/**
 * A charge point's Call -> its handler -> the answer to publish. No I/O: `answerCall` returns
 * the CallResult or CallError, and the backend publishes it.
 *
 * - a handler's value is the CallResult's payload;
 * - a thrown OcppError is a CallError with its code, description and details;
 * - no handler: `NotImplemented` (the same spelling in 1.6, 2.0.1 and 2.1: src/ocpp/dialect.ts);
 * - anything else thrown: `InternalError`, and an error log line with the charger and Action.
 */
import { dialects, type OcppVersion } from '../ocpp/dialect.js'
import { isJsonObject, type JsonObject } from '../ocpp/frame.js'
import { OcppError } from './errors.js'
import type { BackendLogger } from './options.js'
import type { PayloadChecks } from './validation.js'

/** What a handler knows about the Call it answers. */
export interface CallContext<V extends OcppVersion = OcppVersion> {
  /** The charge point id. */
  readonly cid: string
  /** Its OCPP version: from the topic, the connection event, or `defaultVersion`. */
  readonly version: V
  /** The Call's UniqueId. */
  readonly uniqueId: string
  readonly action: string
  /** 2: a Call (answered); 6: an OCPP 2.1 SEND (never answered; the handler's value is dropped). */
  readonly messageType: 2 | 6
  /** The MQTT topic it came on. */
  readonly topic: string
}

// Handlers are stored without their payload types; the typed registration is in backend.ts.
export type AnyHandler = (ctx: CallContext, payload: never) => unknown

/** Handlers by Action, for every version and per version (a version's own one wins). */
export class HandlerTable {
  private readonly forAll = new Map<string, AnyHandler>()
  private readonly perVersion = new Map<OcppVersion, Map<string, AnyHandler>>()

  set (version: OcppVersion | undefined, action: string, handler: AnyHandler): void {
    if (version === undefined) {
      this.forAll.set(action, handler)
      return
    }
    let table = this.perVersion.get(version)
    if (table === undefined) this.perVersion.set(version, table = new Map())
    table.set(action, handler)
  }

  get (version: OcppVersion, action: string): AnyHandler | undefined {
    return this.perVersion.get(version)?.get(action) ?? this.forAll.get(action)
  }
}

export type CallAnswer =
  | { type: 3, payload: JsonObject }
  | { type: 4, code: string, description: string, details: JsonObject }

export interface DispatchDeps {
  handlers: HandlerTable
  log: BackendLogger
  /** Validation of the charge point's Calls (incoming) and our answers (outgoing), when on. */
  checkIncoming?: PayloadChecks
  checkOutgoing?: PayloadChecks
}

const error = (code: string, description: string, details: JsonObject = {}): CallAnswer => ({ type: 4, code, description, details })

/**
 * Run the handler of a Call. Resolves with the answer, or undefined for a SEND (nothing is
 * answered; a failing SEND handler is logged). Never rejects.
 */
export async function answerCall (deps: DispatchDeps, ctx: CallContext, payload: JsonObject): Promise<CallAnswer | undefined> {
  const codes = dialects[ctx.version].errorCodes
  const where = { cid: ctx.cid, action: ctx.action, uniqueId: ctx.uniqueId, version: ctx.version }
  const bad = deps.checkIncoming?.request(ctx.version, ctx.action, payload)
  // An Action outside the version's schemas is left to the handler table (NotImplemented or a
  // vendor handler); a schema failure is answered with the version's code for it.
  if (bad != null && bad.kind !== 'notImplemented') {
    deps.log.info({ ...where, error: bad.message }, 'Call fails its schema: answered with a CallError')
    return ctx.messageType === 6 ? undefined : error(codes[bad.kind], bad.message)
  }
  const handler = deps.handlers.get(ctx.version, ctx.action)
  if (handler === undefined) {
    if (ctx.messageType === 6) return undefined
    return error(codes.notImplemented, `${ctx.action} is not handled by this backend`)
  }
  let value: unknown
  try {
    value = await handler(ctx, payload as never)
  } catch (err) {
    if (err instanceof OcppError) return ctx.messageType === 6 ? undefined : error(err.code, err.description, err.details)
    deps.log.error({ ...where, err }, 'handler threw: answered InternalError')
    return ctx.messageType === 6 ? undefined : error(codes.internalError, 'the backend failed to handle the Call')
  }
  if (ctx.messageType === 6) return undefined
  const result = value === undefined ? {} : value
  if (!isJsonObject(result)) {
    deps.log.error({ ...where }, 'handler returned something that is not an object: answered InternalError')
    return error(codes.internalError, 'the backend failed to handle the Call')
  }
  const wrong = deps.checkOutgoing?.response(ctx.version, ctx.action, result)
  if (wrong != null && wrong.kind !== 'notImplemented') {
    deps.log.error({ ...where, error: wrong.message }, 'handler answer fails its schema: answered InternalError')
    return error(codes.internalError, `the backend's answer fails the schema: ${wrong.message}`)
  }
  return { type: 3, payload: result }
}

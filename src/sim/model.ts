/**
 * The charge point model: what a simulated charger says and how it answers, independent of
 * sockets and timing (the charger in charger.ts owns those). One subclass per OCPP version
 * holds every payload of that version; the scenario loop is shared here.
 */
import { type RpcErrorKind } from '../ocpp/dialect.js'
import { type JsonObject, encodeFrame } from '../ocpp/frame.js'
import { type Scenario } from './options.js'

export interface OutgoingCall {
  action: string
  payload: JsonObject
  /** An OCPP 2.1 SEND (type 6): written and never answered, not a Call of the scenario count. */
  send?: boolean
  /** Pre-encoded padding that `encodeCall` splices in place of PAD_TOKEN (see `padding`). */
  pad?: string
}

export type ServerCallAnswer =
  | { result: JsonObject }
  | { error: RpcErrorKind, description: string }

/** A CallResult the model cannot process: answered with a CALLRESULTERROR where the version has one (2.1). */
export interface ResultRefusal { error: RpcErrorKind, description: string }

export interface BootOutcome {
  accepted: boolean
  /** Seconds: heartbeat interval when accepted, retry delay otherwise (0 when absent). */
  interval: number
}

export interface ModelContext {
  id: string
  scenario: Scenario
  /** Target MeterValues payload size in bytes; 0 for a natural payload. */
  meterSize: number
  /** Sent as the BootNotification payload instead of the model's own (the seed walk-through's). */
  bootPayload?: Readonly<JsonObject> | undefined
}

/** A step of a scenario loop; undefined skips it (e.g. a SEND to a stream that is not open). */
export type Step = () => OutgoingCall | undefined

/** The DataTransfer messageId whose CallResult the `frames` scenario refuses on purpose (2.1). */
export const REFUSED_RESULT_MESSAGE_ID = 'RefuseResult'
export const SIM_VENDOR_ID = 'ocpp-gateway-sim'

/** MeterValues sent between the start and the end of one simulated session. */
export const METER_VALUES_PER_SESSION = 3
/** Energy added per meter reading, Wh. */
const ENERGY_STEP_WH = 250

export abstract class ChargePointModel {
  /**
   * Calls the charger must send before its next scenario Call: the StatusNotifications after
   * boot, messages asked for by TriggerMessage. The charger drains this first.
   */
  readonly urgent: OutgoingCall[] = []
  /** Heartbeat interval in seconds; set by the boot answer or a configuration change. */
  heartbeatInterval: number | undefined
  /** Energy register, Wh. */
  protected energyWh = 0
  protected sessionStep = 0
  /** A transaction is open (between start and stop). */
  protected charging = false

  constructor (readonly ctx: ModelContext) {}

  /** The BootNotification: the model's own, or the payload given in the options. */
  boot (): OutgoingCall {
    const given = this.ctx.bootPayload
    return given === undefined ? this.ownBoot() : { action: 'BootNotification', payload: structuredClone(given) as JsonObject }
  }

  protected abstract ownBoot (): OutgoingCall
  abstract heartbeat (): OutgoingCall
  /** StatusNotifications for every connector, as sent after an accepted boot. */
  abstract statusAll (): OutgoingCall[]
  /** The charging session as an ordered list of steps, run in a loop. */
  protected abstract readonly session: readonly Step[]
  /**
   * The `frames` scenario: every message type this version has. Here a Call answered by a
   * CallResult (Heartbeat) and a DataTransfer; 2.1 adds a SEND and a refused CallResult.
   */
  protected readonly frames: readonly Step[] = [
    () => this.heartbeat(),
    () => this.dataTransfer('frames')
  ]

  protected framesStep = 0
  /** A MeterValues Call outside a transaction (the metervalues scenario). */
  abstract meterValues (): OutgoingCall
  /** Server-initiated Calls this version understands; anything else is NotImplemented. */
  protected abstract readonly handlers: Readonly<Record<string, (payload: JsonObject) => ServerCallAnswer>>

  /** Server Calls both versions answer alike (the per-version tables spread these in). */
  protected commonHandlers (): Record<string, (payload: JsonObject) => ServerCallAnswer> {
    return {
      TriggerMessage: (p) => ({ result: { status: this.trigger(p['requestedMessage']) ? 'Accepted' : 'NotImplemented' } }),
      DataTransfer: (p) => ({ result: p['data'] === undefined ? { status: 'Accepted' } : { status: 'Accepted', data: p['data'] } }),
      ChangeAvailability: () => ({ result: { status: 'Accepted' } }),
      ClearCache: () => ({ result: { status: 'Accepted' } }),
      UnlockConnector: () => ({ result: { status: 'Unlocked' } })
    }
  }
  /** React to the CallResult of a Call this model sent; a refusal when it cannot process it. */
  protected abstract result (action: string, payload: JsonObject): ResultRefusal | undefined

  /** The BootNotification answer: accepted, and the interval. */
  bootResult (payload: JsonObject): BootOutcome {
    const interval = typeof payload['interval'] === 'number' && payload['interval'] >= 0 ? payload['interval'] : 0
    return { accepted: payload['status'] === 'Accepted', interval }
  }

  /** The next Call (or SEND) of the scenario, or undefined when the scenario has none (idle). */
  next (): OutgoingCall | undefined {
    switch (this.ctx.scenario) {
      case 'session': return this.loop(this.session, 'sessionStep')
      case 'frames': return this.loop(this.frames, 'framesStep')
      case 'heartbeat': return this.heartbeat()
      case 'boot': return this.boot()
      case 'metervalues': return this.meterValues()
      case 'idle': return undefined
    }
  }

  /** The next step of a loop that does not skip itself (every loop has a Call that does not). */
  private loop (steps: readonly Step[], at: 'sessionStep' | 'framesStep'): OutgoingCall | undefined {
    for (let tries = 0; tries < steps.length; tries++) {
      const step = steps[this[at]]!
      this[at] = (this[at] + 1) % steps.length
      const call = step()
      if (call !== undefined) return call
    }
    return undefined
  }

  /** The CallResult of one of our Calls; a refusal when the model cannot process it. */
  onResult (action: string, payload: JsonObject, request?: JsonObject): ResultRefusal | undefined {
    if (action === 'DataTransfer' && request?.['messageId'] === REFUSED_RESULT_MESSAGE_ID) {
      return { error: 'genericError', description: `the simulator refuses the CallResult of a DataTransfer with messageId ${REFUSED_RESULT_MESSAGE_ID} (scenario frames)` }
    }
    return this.result(action, payload)
  }

  protected dataTransfer (messageId: string): OutgoingCall {
    return { action: 'DataTransfer', payload: { vendorId: SIM_VENDOR_ID, messageId, data: 'sim' } }
  }

  /** A CallError answered one of our Calls: a session step that failed starts the session over. */
  onError (action: string): void {
    if (this.ctx.scenario === 'session' && action !== 'Heartbeat' && !this.charging) this.sessionStep = 0
  }

  handle (action: string, payload: JsonObject): ServerCallAnswer {
    const handler = Object.hasOwn(this.handlers, action) ? this.handlers[action] : undefined
    if (handler === undefined) return { error: 'notImplemented', description: `${action} is not implemented by the simulator` }
    return handler(payload)
  }

  /** Queue a message asked for by TriggerMessage; false when this version cannot send it. */
  protected trigger (message: unknown): boolean {
    switch (message) {
      case 'BootNotification': this.urgent.push(this.boot()); return true
      case 'Heartbeat': this.urgent.push(this.heartbeat()); return true
      case 'StatusNotification': this.urgent.push(...this.statusAll()); return true
      case 'MeterValues': this.urgent.push(this.meterValues()); return true
      default: return false
    }
  }

  protected meterStep (): number {
    this.energyWh += ENERGY_STEP_WH
    return this.energyWh
  }

  /** Restart the session loop at step `i` (e.g. authorization refused: back to the start). */
  protected restartSessionAt (i: number): void {
    this.sessionStep = i
  }
}

/** Stands in a payload for pre-encoded padding; never sent (a NUL is in no real payload). */
export const PAD_TOKEN = '\u0000pad'
const PAD_TOKEN_JSON = JSON.stringify(PAD_TOKEN)

export interface Padding {
  /** What to put in the padded array: [PAD_TOKEN], or nothing when no padding is asked. */
  entries: unknown[]
  /** The filler entries encoded once, comma-separated; undefined when none. */
  json: string | undefined
}

/**
 * Filler entries that pad a payload built by `build` to about `target` bytes of JSON.
 * They are encoded once per charger and spliced into each frame by `encodeCall`: encoding
 * 20 KB of static JSON on every Call made the simulator, not the server, the bottleneck of
 * the message-size benchmark (a third of its CPU time went to it).
 */
export function padding (target: number, build: (extra: unknown[]) => JsonObject, filler: JsonObject): Padding {
  if (target <= 0) return { entries: [], json: undefined }
  const base = Buffer.byteLength(JSON.stringify(build([])))
  const one = JSON.stringify(filler)
  const n = Math.max(0, Math.round((target - base) / (Buffer.byteLength(one) + 1))) // + the comma
  if (n === 0) return { entries: [], json: undefined }
  return { entries: [PAD_TOKEN], json: new Array<string>(n).fill(one).join(',') }
}

/** The OCPP-J text of a Call: encodeFrame, then the pre-encoded padding spliced in. */
export function encodeCall (id: string, call: OutgoingCall): string {
  const text = encodeFrame({ type: 2, id, action: call.action, payload: call.payload })
  if (call.pad === undefined) return text
  const at = text.indexOf(PAD_TOKEN_JSON)
  return at < 0 ? text : text.slice(0, at) + call.pad + text.slice(at + PAD_TOKEN_JSON.length)
}

/**
 * Simulator options: one definition, validated once by `resolveSimOptions`, then frozen.
 * Times in the options are in seconds, like the command-line flags; sizes in bytes.
 */
import { type OcppVersion } from '../ocpp/dialect.js'
import { type JsonObject, MAX_MESSAGE_ID_LENGTH, isJsonObject } from '../ocpp/frame.js'
import { deepFreeze } from '../config/freeze.js'
import { GatewayError } from '../errors.js'

export const SCENARIOS = ['session', 'heartbeat', 'boot', 'metervalues', 'idle', 'frames'] as const
/**
 * - `session`: boot, status, then charging sessions in a loop (authorize, start, meter values,
 *   stop), with Heartbeats at the interval; the realistic mix.
 * - `heartbeat`: boot, then Heartbeat after Heartbeat (the smallest round trip).
 * - `boot`: BootNotification after BootNotification.
 * - `metervalues`: boot, then MeterValues after MeterValues (see `meterSize`).
 * - `idle`: boot and status, then only Heartbeats at the interval (for memory per connection).
 * - `frames`: boot and status, then every message type of the version in a loop: a Heartbeat
 *   (Call, CallResult) and a DataTransfer; in 2.1 also a NotifyPeriodicEventStream SEND (6)
 *   and a CALLRESULTERROR (5) refusing the DataTransfer's CallResult on purpose.
 */
export type Scenario = typeof SCENARIOS[number]

export const SIM_PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const
export type SimProtocol = typeof SIM_PROTOCOLS[number]

export const protocolVersion: Readonly<Record<SimProtocol, OcppVersion>> = { 'ocpp1.6': '1.6', 'ocpp2.0.1': '2.0.1', 'ocpp2.1': '2.1' }

export interface SimOptions {
  /** OCPP-J endpoint; the charger id is appended as the last path segment, percent-encoded. */
  url: string
  protocol?: SimProtocol
  /** Number of charge points. Default 1. */
  count?: number
  /** Ids are `${idPrefix}${idStart + i}`. Defaults "cp" and 1. */
  idPrefix?: string
  idStart?: number
  /**
   * Explicit charger ids, used instead of `idPrefix` + number (e.g. `['chargePointSim']`);
   * `count` defaults to their number and, when given, must equal it.
   */
  ids?: string[]
  /** New connections per second; 0 opens them as fast as possible. Default 0. */
  ramp?: number
  /**
   * At most this many handshakes in progress at once; 0 = no limit. A storm far above the
   * server's accept backlog loses SYNs, which come back after 1 s, 3 s, ...: the limit measures
   * how fast the server accepts rather than the kernel's retransmission timer.
   */
  maxPending?: number
  /**
   * Hold each charger's BootNotification until every first connection attempt (of this
   * process) has settled: the connect phase then measures connects alone, as when chargers that
   * already booted reconnect after a restart of the server; the boots follow. Default false.
   */
  bootAfterConnect?: boolean
  /**
   * Seconds to run once every first connection attempt has settled (the measurement window);
   * 0 runs until every charger has sent `calls` Calls, or until stopped. Default 0.
   */
  duration?: number
  /**
   * Seconds between the end of the connect phase and the start of the measurement window:
   * the boots, the first Calls and the server's warm-up are left out of the figures. Default 0.
   */
  warmup?: number
  /** Scenario Calls per second per charger; 0 is closed loop (next Call when answered). */
  rate?: number
  scenario?: Scenario
  /** Pad MeterValues payloads to about this many bytes of JSON; 0 sends a natural one. */
  meterSize?: number
  /** Heartbeat interval in seconds, overriding the one in the BootNotification answer. */
  heartbeat?: number
  /** Stop a charger (and close its socket) after it sent this many Calls; 0 = no limit. */
  calls?: number
  /**
   * UniqueId of each charger's first Call (its BootNotification), e.g. the seed walk-through's
   * "19223201"; the next Calls count on from its trailing number (19223202, ...), or get
   * `-2`, `-3`, ... appended when it has none. Default: "1", "2", ...
   */
  firstId?: string
  /** The BootNotification payload to send instead of the simulator's own (a JSON object). */
  bootPayload?: JsonObject
  /** Basic auth; `${id}` in either is replaced by the charger id. Username defaults to the id. */
  username?: string
  password?: string
  /** Local addresses to connect from, round-robin per charger (e.g. 127.0.0.1..127.0.0.8). */
  sources?: string[]
  /** Seconds to wait for an answer to a Call before counting a timeout. Default 30. */
  callTimeout?: number
  /** Seconds for the TCP + WebSocket handshake. Default 10. */
  connectTimeout?: number
  /** Seconds before reconnecting after a lost or failed connection; 0 never reconnects. */
  reconnect?: number
  /** Seconds to let outstanding Calls finish when stopping. Default 2. */
  stopGrace?: number
  /** Largest frame accepted from the server, bytes. Default 10 MiB. */
  maxPayload?: number
  /** Index of the first charger in a larger run split across worker processes (source pick). */
  indexOffset?: number
  signal?: AbortSignal
}

export type ResolvedSimOptions = Readonly<Required<Omit<SimOptions, 'signal' | 'heartbeat' | 'username' | 'password' | 'firstId' | 'bootPayload'>>> & {
  readonly heartbeat: number | undefined
  readonly firstId: string | undefined
  readonly bootPayload: Readonly<JsonObject> | undefined
  readonly username: string | undefined
  readonly password: string | undefined
  readonly signal: AbortSignal | undefined
}

/** `OCPPGW_ERR_SIM_OPTION`: an option has an invalid value; the message names it. */
export class SimOptionError extends GatewayError {
  constructor (readonly option: string, message: string) {
    super('OCPPGW_ERR_SIM_OPTION', `${option}: ${message}`)
    this.name = 'SimOptionError'
  }
}

function num (name: string, v: number | undefined, dflt: number, { min = 0, integer = false, max = Infinity } = {}): number {
  const n = v ?? dflt
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new SimOptionError(name, `expected ${integer ? 'an integer' : 'a number'} >= ${min}${max < Infinity ? ` and <= ${max}` : ''}, got ${String(v)}`)
  }
  return n
}

function bool (name: string, v: boolean | undefined): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new SimOptionError(name, `expected true or false, got ${String(v)}`)
  return v === true
}

export function resolveSimOptions (o: SimOptions): ResolvedSimOptions {
  let url: URL
  try {
    url = new URL(o.url)
  } catch {
    throw new SimOptionError('url', `not a URL: ${String(o.url)}`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new SimOptionError('url', 'expected a ws:// or wss:// URL')
  const protocol = o.protocol ?? 'ocpp1.6'
  if (!SIM_PROTOCOLS.includes(protocol)) throw new SimOptionError('protocol', `expected one of ${SIM_PROTOCOLS.join(', ')}`)
  const scenario = o.scenario ?? 'session'
  if (!SCENARIOS.includes(scenario)) throw new SimOptionError('scenario', `expected one of ${SCENARIOS.join(', ')}`)
  const sources = o.sources ?? []
  if (!Array.isArray(sources) || sources.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new SimOptionError('sources', 'expected a list of local addresses')
  }
  const idPrefix = o.idPrefix ?? 'cp'
  if (typeof idPrefix !== 'string') throw new SimOptionError('idPrefix', 'expected a string')
  const ids = o.ids ?? []
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string' || id.length === 0)) {
    throw new SimOptionError('ids', 'expected a list of non-empty charger ids')
  }
  // Two chargers with one id would take each other's connection over, again and again.
  if (new Set(ids).size !== ids.length) throw new SimOptionError('ids', 'an id is listed twice')
  if (ids.length > 0 && o.count !== undefined && o.count !== ids.length) {
    throw new SimOptionError('count', `${String(o.count)} does not match the ${ids.length} ids given`)
  }
  const firstId = o.firstId
  if (firstId !== undefined && (typeof firstId !== 'string' || firstId.length === 0 || firstId.length > MAX_MESSAGE_ID_LENGTH)) {
    throw new SimOptionError('firstId', `expected 1 to ${MAX_MESSAGE_ID_LENGTH} characters (an OCPP-J message id), got ${JSON.stringify(firstId)}`)
  }
  const bootPayload = o.bootPayload
  if (bootPayload !== undefined && !isJsonObject(bootPayload)) throw new SimOptionError('bootPayload', 'expected a JSON object')
  const resolved: ResolvedSimOptions = {
    url: o.url,
    protocol,
    count: num('count', o.count, ids.length > 0 ? ids.length : 1, { min: 1, integer: true }),
    idPrefix,
    idStart: num('idStart', o.idStart, 1, { integer: true }),
    ids: Object.freeze([...ids]) as string[],
    ramp: num('ramp', o.ramp, 0),
    maxPending: num('maxPending', o.maxPending, 0, { integer: true }),
    bootAfterConnect: bool('bootAfterConnect', o.bootAfterConnect),
    duration: num('duration', o.duration, 0),
    warmup: num('warmup', o.warmup, 0),
    rate: num('rate', o.rate, 0, { max: 1000 }),
    scenario,
    meterSize: num('meterSize', o.meterSize, 0, { integer: true, max: 16 * 1024 * 1024 }),
    heartbeat: o.heartbeat === undefined ? undefined : num('heartbeat', o.heartbeat, 0, { min: 0.001 }),
    calls: num('calls', o.calls, 0, { integer: true }),
    firstId,
    bootPayload: bootPayload === undefined ? undefined : deepFreeze(structuredClone(bootPayload)),
    username: o.username,
    password: o.password,
    sources: Object.freeze([...sources]) as string[],
    callTimeout: num('callTimeout', o.callTimeout, 30, { min: 0.001 }),
    connectTimeout: num('connectTimeout', o.connectTimeout, 10, { min: 0.001 }),
    reconnect: num('reconnect', o.reconnect, 0),
    stopGrace: num('stopGrace', o.stopGrace, 2),
    maxPayload: num('maxPayload', o.maxPayload, 10 * 1024 * 1024, { min: 1, integer: true }),
    indexOffset: num('indexOffset', o.indexOffset, 0, { integer: true }),
    signal: o.signal
  }
  return Object.freeze(resolved)
}

/** The charger's id for index i (0-based) of this process. */
export function chargerId (o: ResolvedSimOptions, i: number): string {
  return o.ids[i] ?? `${o.idPrefix}${o.idStart + i}`
}

/** The WebSocket URL of one charger: the id appended as the last path segment, percent-encoded. */
export function chargerUrl (base: string, id: string): string {
  const u = new URL(base)
  u.pathname = (u.pathname.endsWith('/') ? u.pathname : u.pathname + '/') + encodeURIComponent(id)
  return u.toString()
}

/**
 * The UniqueIds of one charger's Calls, in order: "1", "2", ... or, from a first id, that id
 * and then its trailing number counted on (width kept: "0099" -> "0100"), or `-2`, `-3`, ...
 * appended when it ends in no digit. An id that would outgrow OCPP-J's 36 characters falls back
 * to the plain count.
 */
export function messageIds (first: string | undefined): () => string {
  let n = 0
  if (first === undefined) return () => String(++n)
  const m = /^(.*?)(\d+)$/.exec(first)
  const prefix = m === null ? `${first}-` : m[1]!
  const digits = m === null ? '' : m[2]!
  const start = m === null ? 1n : BigInt(digits)
  return () => {
    const i = n++
    if (i === 0) return first
    const id = prefix + String(start + BigInt(i)).padStart(digits.length, '0')
    return id.length <= MAX_MESSAGE_ID_LENGTH ? id : String(i + 1)
  }
}

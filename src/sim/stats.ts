/**
 * Plain counters and histograms of one simulator process. Everything a worker sends to its
 * parent is here, as plain data that adds up (`addCounters`, `Histogram.merge`).
 */
import { Histogram, type HistogramData } from './histogram.js'

export type CountByKey = Record<string, number>

export interface SimCounters {
  connectAttempts: number
  /** Successful WebSocket opens, reconnects included. */
  connects: number
  /** Connections open now. */
  open: number
  /** Failed attempts by kind: refused, timeout, http401, subprotocol, addrNotAvail, ... */
  connectFailures: CountByKey
  /** Connections closed by the server (or the network), by close code. */
  disconnects: CountByKey
  reconnects: number
  callsSent: number
  callsByAction: CountByKey
  /** CallResults to our Calls. */
  results: number
  /** CallErrors to our Calls, by error code. */
  callErrors: CountByKey
  /** Calls that got no answer within the call timeout. */
  timeouts: number
  /** Calls outstanding when the server closed the connection. */
  closed: number
  /** Frames the simulator could not use: undecodable, unknown message id, unexpected type. */
  protocol: number
  /** Answers that arrived after their Call had timed out. */
  late: number
  serverCalls: number
  serverCallsByAction: CountByKey
  /** Server Calls answered with NotImplemented. */
  serverNotImplemented: number
  messagesIn: number
  messagesOut: number
  bytesIn: number
  bytesOut: number
  /** Chargers that sent all their Calls (`calls` option). */
  finished: number
  /** Rate-paced Calls that started later than scheduled (the previous one was still out). */
  behind: number
  /** OCPP 2.1 SENDs (type 6) written, and received from the server. */
  sendsSent: number
  sendsReceived: number
  /** OCPP 2.1 CALLRESULTERRORs (type 5) written (a server's CallResult refused), and received. */
  callResultErrorsSent: number
  callResultErrorsReceived: number
}

export function emptyCounters (): SimCounters {
  return {
    connectAttempts: 0,
    connects: 0,
    open: 0,
    connectFailures: {},
    disconnects: {},
    reconnects: 0,
    callsSent: 0,
    callsByAction: {},
    results: 0,
    callErrors: {},
    timeouts: 0,
    closed: 0,
    protocol: 0,
    late: 0,
    serverCalls: 0,
    serverCallsByAction: {},
    serverNotImplemented: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    finished: 0,
    behind: 0,
    sendsSent: 0,
    sendsReceived: 0,
    callResultErrorsSent: 0,
    callResultErrorsReceived: 0
  }
}

export function bump (map: CountByKey, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n
}

export function sumCounts (map: CountByKey): number {
  let n = 0
  for (const k in map) n += map[k]!
  return n
}

/** Add `b` into `a` (numbers add, maps add per key). */
export function addCounters (a: SimCounters, b: SimCounters): SimCounters {
  for (const key of Object.keys(a) as Array<keyof SimCounters>) {
    const x = a[key]
    const y = b[key]
    if (typeof x === 'number' && typeof y === 'number') (a[key] as number) = x + y
    else if (typeof x === 'object' && typeof y === 'object') for (const k in y) bump(x, k, y[k]!)
  }
  return a
}

export function answered (c: SimCounters): number {
  return c.results + sumCounts(c.callErrors)
}

export function errorTotal (c: SimCounters): number {
  return c.timeouts + c.closed + c.protocol + sumCounts(c.callErrors)
}

/** What a progress line needs; also what a worker sends its parent every second. */
export interface ProgressSnapshot {
  atMs: number
  counters: SimCounters
  /** Latency of the round trips completed since the previous snapshot. */
  recent: HistogramData
  /** Chargers whose first connection attempt has not settled yet. */
  pendingConnects: number
}

export class SimStats {
  readonly c = emptyCounters()
  /** Round-trip latency over the measurement window, µs. */
  readonly latency = new Histogram()
  /** Round-trip latency since the last progress snapshot, µs. */
  readonly recent = new Histogram()
  /** WebSocket handshake time of successful connects, µs. */
  readonly connectLatency = new Histogram()

  roundTrip (us: number): void {
    this.latency.record(us)
    this.recent.record(us)
  }

  /** Start the measurement window: latency recorded from here on only. */
  openWindow (): void {
    this.latency.reset()
  }

  /** A snapshot for progress; resets the recent-latency histogram. */
  snapshot (atMs: number, pendingConnects: number): ProgressSnapshot {
    const recent = this.recent.toJSON()
    this.recent.reset()
    return { atMs, counters: structuredClone(this.c), recent, pendingConnects }
  }
}

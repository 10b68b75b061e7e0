/**
 * The end-of-run summary: built from the raw report of one process, or of several worker
 * processes merged (counters add, histograms merge, rates add up per process).
 */
import { Histogram, type HistogramData } from './histogram.js'
import { type ResolvedSimOptions } from './options.js'
import { type CountByKey, type SimCounters, addCounters, answered, emptyCounters, errorTotal, sumCounts } from './stats.js'

/** Raw result of one simulator process: plain data, sent as is from a worker to its parent. */
export interface ProcessReport {
  counters: SimCounters
  latency: HistogramData
  connectLatency: HistogramData
  /** Epoch ms at the start. */
  startedAt: number
  elapsedMs: number
  /** From the first connection attempt until every first attempt had settled. */
  connectPhaseMs: number
  /** First attempts that connected. */
  initialConnects: number
  /** The measurement window: from the end of the connect phase to the stop. */
  windowMs: number
  windowRoundTrips: number
  windowMessages: number
  cpuUserUs: number
  cpuSystemUs: number
  /** Share of wall time the event loop was busy, 0..1 (perf_hooks eventLoopUtilization). */
  eventLoopUtilization: number
  rssBytes: number
}

export interface LatencySummary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
}

export interface SimSummary {
  url: string
  protocol: string
  scenario: string
  count: number
  /** Calls/s per charger asked for; 0 = closed loop. */
  rate: number
  ramp: number
  meterSize: number
  durationS: number
  /** Seconds between the connect phase and the measurement window (not measured). */
  warmupS: number
  startedAt: string
  elapsedS: number
  connect: {
    attempted: number
    succeeded: number
    failed: number
    /** refused, timeout, http401, http404, subprotocol, addrNotAvail, tooManyFiles, reset, dns, other */
    failedByKind: CountByKey
    /** Time from the first connection attempt until every charger's first attempt settled. */
    timeS: number
    /** First attempts connected per second over `timeS`. */
    ratePerS: number
    /** WebSocket handshake time (TCP connect + HTTP upgrade), ms. */
    handshakeMs: LatencySummary
    /** Connections the server closed during the run, by close code. */
    disconnects: CountByKey
    reconnects: number
  }
  calls: {
    sent: number
    /** CallResults + CallErrors to our Calls: completed round trips. */
    answered: number
    results: number
    callErrors: number
    byAction: CountByKey
    /** Round trips per second over the measurement window. */
    roundTripsPerS: number
    windowS: number
    /** Rate-paced Calls that could not start on time because the previous one was still out. */
    behind: number
    /** Chargers that sent all the Calls asked for (`calls`). */
    finishedChargers: number
  }
  /** Round-trip latency over the measurement window, ms. */
  latencyMs: LatencySummary
  errors: {
    total: number
    timeout: number
    /** Calls outstanding when the server closed the connection. */
    closed: number
    /** Frames that could not be used: undecodable, unknown message id, binary. */
    protocol: number
    /** Answers after the Call had timed out (not in total: the timeout was counted). */
    late: number
    callError: CountByKey
  }
  serverCalls: { received: number, notImplemented: number, byAction: CountByKey }
  /** OCPP 2.1's one-way frames: SENDs (6) and CALLRESULTERRORs (5), each way. */
  oneWay: { sendsSent: number, sendsReceived: number, callResultErrorsSent: number, callResultErrorsReceived: number }
  messages: { sent: number, received: number, bytesSent: number, bytesReceived: number, perS: number }
  /** The simulator's own cost: if it is saturated, the numbers above measure it, not the server. */
  simulator: {
    processes: number
    cpuUserMs: number
    cpuSystemMs: number
    /** CPU time / wall time, summed over processes (1 = one core busy). */
    cpuShare: number
    maxProcessCpuShare: number
    maxEventLoopUtilization: number
    rssBytes: number
    saturated: boolean
  }
}

/** A process whose event loop is busier than this is the bottleneck, not the server. */
export const SATURATION = 0.9

const r3 = (x: number): number => Math.round(x * 1000) / 1000
const r1 = (x: number): number => Math.round(x * 10) / 10

export function latencySummary (h: Histogram): LatencySummary {
  const ms = (us: number): number => r3(us / 1000)
  return {
    count: h.count,
    min: ms(h.count === 0 ? 0 : h.min),
    mean: ms(h.mean()),
    p50: ms(h.percentile(50)),
    p90: ms(h.percentile(90)),
    p95: ms(h.percentile(95)),
    p99: ms(h.percentile(99)),
    p999: ms(h.percentile(99.9)),
    max: ms(h.max)
  }
}

export function buildSummary (opts: ResolvedSimOptions, reports: ProcessReport[]): SimSummary {
  const c = emptyCounters()
  const latency = new Histogram()
  const handshake = new Histogram()
  let rtRate = 0
  let msgRate = 0
  let connectPhaseMs = 0
  let initialConnects = 0
  let windowMs = 0
  let elapsedMs = 0
  let startedAt = Infinity
  let user = 0
  let system = 0
  let maxShare = 0
  let maxElu = 0
  let rss = 0
  for (const r of reports) {
    addCounters(c, r.counters)
    latency.merge(r.latency)
    handshake.merge(r.connectLatency)
    if (r.windowMs > 0) {
      rtRate += r.windowRoundTrips / (r.windowMs / 1000)
      msgRate += r.windowMessages / (r.windowMs / 1000)
    }
    connectPhaseMs = Math.max(connectPhaseMs, r.connectPhaseMs)
    initialConnects += r.initialConnects
    windowMs = Math.max(windowMs, r.windowMs)
    elapsedMs = Math.max(elapsedMs, r.elapsedMs)
    startedAt = Math.min(startedAt, r.startedAt)
    user += r.cpuUserUs
    system += r.cpuSystemUs
    maxShare = Math.max(maxShare, r.elapsedMs > 0 ? (r.cpuUserUs + r.cpuSystemUs) / 1000 / r.elapsedMs : 0)
    maxElu = Math.max(maxElu, r.eventLoopUtilization)
    rss += r.rssBytes
  }
  const failed = sumCounts(c.connectFailures)
  return {
    url: opts.url,
    protocol: opts.protocol,
    scenario: opts.scenario,
    count: opts.count,
    rate: opts.rate,
    ramp: opts.ramp,
    meterSize: opts.meterSize,
    durationS: opts.duration,
    warmupS: opts.warmup,
    startedAt: new Date(Number.isFinite(startedAt) ? startedAt : Date.now()).toISOString(),
    elapsedS: r3(elapsedMs / 1000),
    connect: {
      attempted: c.connectAttempts,
      succeeded: c.connects,
      failed,
      failedByKind: c.connectFailures,
      timeS: r3(connectPhaseMs / 1000),
      ratePerS: connectPhaseMs > 0 ? r1(initialConnects / (connectPhaseMs / 1000)) : 0,
      handshakeMs: latencySummary(handshake),
      disconnects: c.disconnects,
      reconnects: c.reconnects
    },
    calls: {
      sent: c.callsSent,
      answered: answered(c),
      results: c.results,
      callErrors: sumCounts(c.callErrors),
      byAction: c.callsByAction,
      roundTripsPerS: r1(rtRate),
      windowS: r3(windowMs / 1000),
      behind: c.behind,
      finishedChargers: c.finished
    },
    latencyMs: latencySummary(latency),
    errors: {
      total: errorTotal(c),
      timeout: c.timeouts,
      closed: c.closed,
      protocol: c.protocol,
      late: c.late,
      callError: c.callErrors
    },
    serverCalls: { received: c.serverCalls, notImplemented: c.serverNotImplemented, byAction: c.serverCallsByAction },
    oneWay: { sendsSent: c.sendsSent, sendsReceived: c.sendsReceived, callResultErrorsSent: c.callResultErrorsSent, callResultErrorsReceived: c.callResultErrorsReceived },
    messages: { sent: c.messagesOut, received: c.messagesIn, bytesSent: c.bytesOut, bytesReceived: c.bytesIn, perS: r1(msgRate) },
    simulator: {
      processes: reports.length,
      cpuUserMs: Math.round(user / 1000),
      cpuSystemMs: Math.round(system / 1000),
      cpuShare: elapsedMs > 0 ? r3((user + system) / 1000 / elapsedMs) : 0,
      maxProcessCpuShare: r3(maxShare),
      maxEventLoopUtilization: r3(maxElu),
      rssBytes: rss,
      saturated: maxElu >= SATURATION || maxShare >= SATURATION
    }
  }
}

const kv = (m: CountByKey): string => {
  const keys = Object.keys(m)
  return keys.length === 0 ? '-' : keys.sort().map((k) => `${k}=${m[k]!}`).join(' ')
}

/** A few lines for a person, printed at the end of a command-line run. */
export function formatSummary (s: SimSummary): string {
  const l = s.latencyMs
  const sim = s.simulator
  return [
    `${s.count} x ${s.protocol} ${s.scenario} -> ${s.url} (${s.elapsedS} s)`,
    `connect: ${s.connect.succeeded}/${s.connect.attempted} ok in ${s.connect.timeS} s (${s.connect.ratePerS}/s), handshake p50 ${s.connect.handshakeMs.p50} ms p99 ${s.connect.handshakeMs.p99} ms; failed: ${kv(s.connect.failedByKind)}; disconnects: ${kv(s.connect.disconnects)}`,
    `calls: ${s.calls.sent} sent, ${s.calls.answered} answered, ${s.calls.roundTripsPerS} round trips/s over ${s.calls.windowS} s`,
    `latency ms: p50 ${l.p50} p95 ${l.p95} p99 ${l.p99} max ${l.max} (n=${l.count})`,
    `errors: ${s.errors.total} (timeout ${s.errors.timeout}, closed ${s.errors.closed}, protocol ${s.errors.protocol}, CallError: ${kv(s.errors.callError)})`,
    `server calls: ${s.serverCalls.received} (${kv(s.serverCalls.byAction)})`,
    ...(Object.values(s.oneWay).some((n) => n > 0)
      ? [`2.1 one-way: SEND ${s.oneWay.sendsSent} sent, ${s.oneWay.sendsReceived} received; CALLRESULTERROR ${s.oneWay.callResultErrorsSent} sent, ${s.oneWay.callResultErrorsReceived} received`]
      : []),
    `simulator: cpu ${Math.round(sim.cpuShare * 100)} % of one core over ${sim.processes} process(es), event loop busy ${Math.round(sim.maxEventLoopUtilization * 100)} %` +
      (sim.saturated ? ' -- SATURATED: the simulator, not the server, limited these numbers (use --workers)' : '')
  ].join('\n')
}

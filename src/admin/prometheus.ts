/**
 * The gateway's counters and its session table as Prometheus metrics (prom-client), read at
 * scrape time: the hot path stays a property increment (observability/metrics.ts), and each
 * gateway has a registry of its own, so several gateways in one process do not clash.
 *
 * Names: `ocpp_gateway_<counter>` for each counter of {@link counterNames}. A counter kept by
 * reason has one series per `reason`, and a series without the label for what was counted
 * without one, so `sum()` over the family is the total. Charge point ids are never a label.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { counterNames, FRAME_TYPE_NAMES, type Metrics, type PlainHistogram } from '../observability/metrics.js'

export const METRIC_PREFIX = 'ocpp_gateway_'

/** What the connected-chargers gauge counts: one entry per session. */
export interface ConnectedCharger { version: string, listener: string }

/** Calls owed by one session, read at scrape time. */
export interface SessionCalls {
  /** Calls to the charge point waiting behind the one in flight (dnstream.max_mqueue_len bounds them). */
  queuedToCharger: number
  /** 0 or 1: OCPP-J allows one Call in flight to a charge point. */
  inFlightToCharger: number
  /** The charge point's Calls awaiting the backend's answer. */
  inFlightFromCharger: number
}

export interface PrometheusSources {
  metrics: Metrics
  chargers: () => Iterable<ConnectedCharger>
  /** Per session; absent = the queue gauges read 0. */
  calls?: () => Iterable<SessionCalls>
}

/** A prom-client metric from a {@link PlainHistogram} per label value (prom-client's own would cost a label lookup per observe). */
function histogramOf (name: string, help: string, label: string, series: Record<string, PlainHistogram>): { name: string, get: () => unknown } {
  return {
    name,
    get: () => {
      const values: Array<{ metricName: string, labels: Record<string, string | number>, value: number }> = []
      for (const [key, h] of Object.entries(series)) {
        let cumulative = 0
        h.bounds.forEach((le, i) => {
          cumulative += h.counts[i] as number
          values.push({ metricName: `${name}_bucket`, labels: { [label]: key, le }, value: cumulative })
        })
        values.push({ metricName: `${name}_bucket`, labels: { [label]: key, le: '+Inf' }, value: h.count })
        values.push({ metricName: `${name}_sum`, labels: { [label]: key }, value: h.sum })
        values.push({ metricName: `${name}_count`, labels: { [label]: key }, value: h.count })
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    }
  }
}

/** The reasons of one counter, from its labelled keys `name{reason="..."}`. */
function reasonsOf (metrics: Metrics, name: string): Array<[string, number]> {
  const head = `${name}{reason="`
  const out: Array<[string, number]> = []
  for (const [key, value] of metrics.labelled) {
    if (key.startsWith(head)) out.push([key.slice(head.length, -2), value])
  }
  return out
}

export function createRegistry (src: PrometheusSources): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })
  registry.registerMetric(new Gauge({
    name: `${METRIC_PREFIX}chargers_connected`,
    help: 'Charge points connected to this node, by OCPP version and listener',
    labelNames: ['version', 'listener'],
    registers: [],
    collect () {
      this.reset()
      const counts = new Map<string, ConnectedCharger & { n: number }>()
      for (const c of src.chargers()) {
        const key = `${c.version}\0${c.listener}`
        const e = counts.get(key)
        if (e === undefined) counts.set(key, { ...c, n: 1 })
        else e.n++
      }
      for (const e of counts.values()) this.set({ version: e.version, listener: e.listener }, e.n)
    }
  }))
  registry.registerMetric(new Counter({
    name: `${METRIC_PREFIX}frames_total`,
    help: 'OCPP-J frames by direction (in = from charge points), message type and action (the Call\'s for an answer; other = outside the OCPP schema sets or unknown)',
    labelNames: ['direction', 'type', 'action'],
    registers: [],
    collect () {
      this.reset()
      for (const direction of ['in', 'out'] as const) {
        src.metrics.frames[direction].forEach((byAction, t) => {
          for (const [action, n] of byAction) this.inc({ direction, type: FRAME_TYPE_NAMES[t] as string, action }, n)
        })
      }
    }
  }))
  // prom-client's types want a class instance; the registry only reads name and get().
  registry.registerMetric(histogramOf(`${METRIC_PREFIX}call_answer_seconds`,
    'Time to answer a Call: answered_by=charger from sending a Call to a charge point to its CallResult/CallError, answered_by=backend from a charge point\'s Call to the backend\'s answer',
    'answered_by', src.metrics.callSeconds) as never)
  const queueGauge = (name: string, help: string, pick: (c: SessionCalls) => Array<[string, number]>): void => {
    registry.registerMetric(new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames: ['direction'],
      registers: [],
      collect () {
        const sums = new Map<string, number>()
        for (const c of src.calls?.() ?? []) for (const [d, n] of pick(c)) sums.set(d, (sums.get(d) ?? 0) + n)
        this.reset()
        for (const d of pick({ queuedToCharger: 0, inFlightToCharger: 0, inFlightFromCharger: 0 }).map(([k]) => k)) this.set({ direction: d }, sums.get(d) ?? 0)
      }
    }))
  }
  queueGauge('calls_queued', 'Calls waiting to be sent to charge points, behind the one in flight (direction=to_charger)', (c) => [['to_charger', c.queuedToCharger]])
  queueGauge('calls_in_flight', 'Calls sent and not yet answered: to_charger (answer owed by a charge point), from_charger (owed by a backend)', (c) => [['to_charger', c.inFlightToCharger], ['from_charger', c.inFlightFromCharger]])
  for (const name of counterNames) {
    registry.registerMetric(new Counter({
      name: `${METRIC_PREFIX}${name}`,
      help: `Gateway counter ${name} (by reason where the gateway keeps one)`,
      labelNames: ['reason'],
      registers: [],
      collect () {
        this.reset()
        const total = src.metrics.counters[name]
        let labelled = 0
        for (const [reason, v] of reasonsOf(src.metrics, name)) {
          labelled += v
          this.inc({ reason }, v)
        }
        this.inc(Math.max(0, total - labelled))
      }
    }))
  }
  return registry
}

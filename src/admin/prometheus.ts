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
import { counterNames, type Metrics } from '../observability/metrics.js'

export const METRIC_PREFIX = 'ocpp_gateway_'

/** What the connected-chargers gauge counts: one entry per session. */
export interface ConnectedCharger { version: string, listener: string }

export interface PrometheusSources {
  metrics: Metrics
  chargers: () => Iterable<ConnectedCharger>
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

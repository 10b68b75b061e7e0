/**
 * `GET /api/v1/stats`: the gateway's counters as one JSON snapshot, for the dashboard's live
 * charts. A client polls it (every second or two) and computes rates from the deltas between two
 * snapshots, so nothing is drawn or sent per frame, however many chargers are connected.
 *
 * @example
 *   GET /api/v1/stats
 *   {"at":"2026-12-03T17:40:00.000Z","uptime_ms":61234,"connected":10000,
 *    "counters":{"frames_in_total":123456,...},
 *    "by_reason":{"connections_rejected_total":{"bad_password":3},...}}
 */
import type { FastifyInstance } from 'fastify'
import { counterNames, type CounterName, type Metrics } from '../observability/metrics.js'

export interface Stats {
  at: string
  uptime_ms: number
  connected: number
  counters: Record<CounterName, number>
  /** Only counters kept by reason, and only the reasons seen. */
  by_reason: Partial<Record<CounterName, Record<string, number>>>
}

export interface StatsSources {
  metrics: Metrics
  /** Charge points connected to this node now. */
  connected: () => number
  startedAt: number
}

const KEY = /^([a-z_]+)\{reason="(.*)"\}$/

export function statsOf (src: StatsSources, now = Date.now()): Stats {
  const counters = Object.fromEntries(counterNames.map((n) => [n, src.metrics.counters[n]])) as Record<CounterName, number>
  const byReason: Partial<Record<CounterName, Record<string, number>>> = {}
  for (const [key, value] of src.metrics.labelled) {
    const m = KEY.exec(key)
    if (m === null) continue
    const name = m[1] as CounterName
    const reasons = byReason[name] ??= {}
    reasons[m[2] as string] = value
  }
  return { at: new Date(now).toISOString(), uptime_ms: now - src.startedAt, connected: src.connected(), counters, by_reason: byReason }
}

export function addStatsRoute (app: FastifyInstance, src: StatsSources): void {
  app.get('/api/v1/stats', async () => statsOf(src))
}

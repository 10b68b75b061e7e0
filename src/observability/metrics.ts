/**
 * Plain counters and gauges on the hot path (a property increment), exported as a snapshot.
 * Every error path in the gateway increments one of these.
 */
export const counterNames = [
  'connections_accepted_total',
  'connections_rejected_total',
  'disconnections_total',
  'takeovers_total',
  'keepalive_timeouts_total',
  'ping_timeouts_total',
  'frames_in_total',
  'frames_out_total',
  'frames_malformed_total',
  'frames_unmatched_total',
  'calls_answered_with_error_total',
  'mqtt_published_total',
  'mqtt_publish_errors_total',
  'mqtt_received_total',
  'envelopes_invalid_total',
  'envelopes_unroutable_total',
  'events_published_total',
  'envelopes_unmatched_total',
  /** Backend Calls whose MQTT 5 Response Topic was not honoured (a gateway topic, wildcards). */
  'response_topics_refused_total',
  'calls_concurrent_from_charger_total',
  'calls_rejected_total',
  'gateway_answers_total',
  'slow_consumers_closed_total',
  'validation_failures_total',
  'unknown_chargers_total',
  /** Embedded broker: CONNECTs refused, by reason (bad_password, unknown_id, missing_credentials…). */
  'mqtt_auth_failures_total',
  /** Embedded broker: PUBLISHes refused by role (the client is disconnected, MQTT 3.1.1 §3.3.5). */
  'mqtt_publish_denied_total',
  /** Embedded broker: subscriptions refused by role (SUBACK 0x80). */
  'mqtt_subscribe_denied_total',
  /** Embedded broker: clients closed for a packet over mqtt.embedded.max_packet_size. */
  'mqtt_packets_too_large_total',
  /** Embedded broker: connections closed at once, mqtt.embedded.max_clients reached. */
  'mqtt_clients_refused_total',
  /**
   * Credential changes seen through the gateway and accepted by the charge point, by reason:
   * password_stored / password_not_stored (no rotating credentials file has the id) /
   * password_failed (the file could not be written) / password_completed (the charge point
   * connected with it; the old one is gone) / profile_upgrade_stored / profile_unchanged /
   * profile_not_stored / profile_failed / profile_raised (the charge point used the upgrade:
   * lower profiles are refused from now on).
   */
  'credential_changes_total',
  /** Commands on the control topic ({mountpoint}ctl/{cid}), by result: closed, offline, invalid, relayed (to the node holding the charge point). */
  'control_commands_total',
  /** The frame audit sink (log.audit) could not write or rotate its file; frames go on, the sink may miss some. */
  'frame_audit_errors_total',
  /** A bug met on one message (by direction): answered or reported, the process goes on. */
  'internal_errors_total',
  /** Retained downstream messages replayed by the broker: never delivered to a charge point. */
  'envelopes_retained_ignored_total',
  /** Embedded broker bounds: messages not queued for a full client, clients closed for not reading, persistent sessions expired. */
  'mqtt_messages_dropped_total',
  'mqtt_slow_clients_closed_total',
  'mqtt_sessions_expired_total',
  /** Cluster: this node closed a charge point that connected to another node (newest wins across nodes). */
  'cluster_takeovers_total',
  /** Cluster: other nodes seen lost (their MQTT will), and the charge points cleaned up after them. */
  'cluster_nodes_lost_total',
  'cluster_chargers_lost_total',
  /** Cluster: downstream messages left to the node that held the charge point when this one took it over. */
  'cluster_handed_over_total',
  /** Cluster: presence lookups of charge points this node does not hold (the shared subscription's pick), and messages it relayed to their holder. */
  'cluster_lookups_total',
  'cluster_relayed_total',
  /** External broker: messages that waited in the outbox (broker away, or its in-flight window full). */
  'mqtt_queued_total',
  /** External broker: messages never published, by reason (queue_full, timeout, closed); a Call among them got a CallError. */
  'mqtt_undelivered_total',
  /** External broker: reconnections, and those to a broker that had lost this node's session (subscribed again). */
  'mqtt_reconnects_total',
  'mqtt_sessions_lost_total',
  /** Admin HTTP API: requests answered with an error, by reason (not_found, bad_request, unauthorized, forbidden, internal). */
  'admin_requests_rejected_total',
  /** Admin HTTP API: Calls sent to charge points by operators, by result (result, call_error, offline, timeout, queue_full, invalid_payload, bad_request, disconnected, invalid_answer). */
  'admin_calls_total',
  /** Admin HTTP API: frames not written to a slow `?follow=1` reader (its stream was over its bound). */
  'admin_sse_frames_dropped_total'
] as const
export type CounterName = typeof counterNames[number]

/** OCPP-J MessageTypeId -> the `type` label of frames_total (index = the id). */
export const FRAME_TYPE_NAMES: readonly string[] = Object.freeze(['', '', 'CALL', 'CALLRESULT', 'CALLERROR', 'CALLRESULTERROR', 'SEND'])

/** The `action` label of an action outside the known set, or of an answer to no known Call. */
export const OTHER_ACTION = 'other'

/** Without a known action set, at most this many distinct actions per direction and type get a label. */
const MAX_UNLISTED_ACTIONS = 64

/** Upper bounds (seconds) of the Call answer-time buckets: 5 ms to the default 30 s timeouts and past them. */
export const CALL_SECONDS_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])

/** A histogram on the hot path: one loop over a dozen bounds and two additions, no labels. */
export class PlainHistogram {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[]
  sum = 0
  count = 0

  constructor (readonly bounds: readonly number[] = CALL_SECONDS_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe (v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > (b[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += v
    this.count++
  }
}

export interface MetricsOptions {
  /** The OCPP actions that get an `action` label of their own (every version's schema set); others are `other`. */
  actions?: ReadonlySet<string>
}

export class Metrics {
  readonly counters: Record<CounterName, number>
  /** Labelled counters, e.g. rejected by reason: key "connections_rejected_total{reason=...}". */
  readonly labelled = new Map<string, number>()
  sessions = 0
  /** Frames by direction, then MessageTypeId (index), then action label -> count. */
  readonly frames: Readonly<Record<'in' | 'out', ReadonlyArray<Map<string, number>>>>
  /**
   * How long Calls took to be answered: `charger` = a Call sent to a charge point (a
   * backend's or the admin API's) until its CallResult/CallError; `backend` = a charge
   * point's Call until the backend's answer was sent on.
   */
  readonly callSeconds = { charger: new PlainHistogram(), backend: new PlainHistogram() }
  private readonly actions: ReadonlySet<string> | undefined

  constructor (opts: MetricsOptions = {}) {
    this.counters = Object.fromEntries(counterNames.map((n) => [n, 0])) as Record<CounterName, number>
    const maps = (): Array<Map<string, number>> => FRAME_TYPE_NAMES.map(() => new Map<string, number>())
    this.frames = { in: maps(), out: maps() }
    this.actions = opts.actions
  }

  /** One frame of `type` (its Call's action when known): two map operations, no allocation for a seen label. */
  frame (dir: 'in' | 'out', type: number, action: string | undefined): void {
    const m = this.frames[dir][type]
    if (m === undefined) return
    let label = OTHER_ACTION
    if (action !== undefined) {
      const known = this.actions
      if (known !== undefined ? known.has(action) : m.has(action) || m.size < MAX_UNLISTED_ACTIONS) label = action
    }
    m.set(label, (m.get(label) ?? 0) + 1)
  }

  inc (name: CounterName, label?: string, by = 1): void {
    this.counters[name] += by
    if (label !== undefined) {
      const key = `${name}{reason="${label}"}`
      this.labelled.set(key, (this.labelled.get(key) ?? 0) + by)
    }
  }

  /** Count of a labelled counter, 0 when never incremented. */
  get (name: CounterName, label?: string): number {
    return label === undefined ? this.counters[name] : this.labelled.get(`${name}{reason="${label}"}`) ?? 0
  }

  snapshot (): Record<string, number> {
    return { ...this.counters, ...Object.fromEntries(this.labelled), sessions: this.sessions }
  }
}

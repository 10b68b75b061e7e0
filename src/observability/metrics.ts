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
  /** Admin HTTP API: requests answered with an error, by reason (not_found, bad_request, unauthorized, internal). */
  'admin_requests_rejected_total'
] as const
export type CounterName = typeof counterNames[number]

export class Metrics {
  readonly counters: Record<CounterName, number>
  /** Labelled counters, e.g. rejected by reason: key "connections_rejected_total{reason=...}". */
  readonly labelled = new Map<string, number>()
  sessions = 0

  constructor () {
    this.counters = Object.fromEntries(counterNames.map((n) => [n, 0])) as Record<CounterName, number>
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

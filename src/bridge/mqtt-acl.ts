/**
 * Who may do what on the embedded broker, by role (pure: topics in, yes or no out). The
 * filters come from the configured templates (./topics.ts), mountpoint included:
 *
 * - read (subscribe, and what is delivered): upstream Calls and SENDs (per-Action overrides
 *   too), replies, errors, connection events and gateway error reports, and answers to MQTT 5
 *   request/response Calls under `{mountpoint}responses/#` (./responses.ts);
 * - publish: downstream topics and the control topic (`{mountpoint}ctl/{cid}`: commands
 *   such as disconnect), and only for `backend`; its answers (`ctl/{cid}/Reply`) are read-only;
 * - never for a client, whatever the role: what the gateway publishes (upstream, replies,
 *   events, errors, presence). The gateway publishes in process (aedes.publish), which does
 *   not pass through these rules.
 *
 * @example
 *   const acl = compileAcl(config)
 *   acl.canPublish('backend', 'ocpp/cs/CP1')   // true
 *   acl.canPublish('backend', 'ocpp/cp/CP1')   // false: a forged charger message
 *   acl.canRead('observer', 'ocpp/cp/CP1')     // true
 */
import { topicWildcard, type TopicConfig } from './topics.js'

/** `gateway`: the worker processes of this gateway (--workers) on the primary's broker; not for users. */
export const mqttRoles = ['backend', 'observer', 'gateway'] as const
export type MqttRole = typeof mqttRoles[number]

export interface MqttAcl {
  /** A client of this role may publish on this topic. */
  canPublish: (role: MqttRole, topic: string) => boolean
  /** A subscription to this filter can match a topic the role may read (else SUBACK 0x80). */
  canSubscribe: (role: MqttRole, filter: string) => boolean
  /** A message on this topic may be delivered to a client of this role. */
  canRead: (role: MqttRole, topic: string) => boolean
  /** The filters, for the start-up log and the docs. */
  readonly readable: readonly string[]
  readonly writable: readonly string[]
}

type Levels = readonly string[]

/**
 * MQTT 3.1.1 §4.7: whether `topic` matches `filter` (`+` one level, `#` this level and every
 * one below, including none). §4.7.2: a filter starting with a wildcard does not match a topic
 * starting with `$`.
 */
export function topicMatches (filter: Levels, topic: Levels): boolean {
  if ((filter[0] === '+' || filter[0] === '#') && topic[0]?.startsWith('$') === true) return false
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]
    if (f === '#') return true
    if (i >= topic.length) return false
    if (f !== '+' && f !== topic[i]) return false
  }
  return filter.length === topic.length
}

/** Whether some topic matches both filters. */
export function filtersOverlap (a: Levels, b: Levels): boolean {
  const dollarA = a[0]?.startsWith('$') === true
  const dollarB = b[0]?.startsWith('$') === true
  // §4.7.2: a leading wildcard never reaches `$` topics.
  if ((dollarA && (b[0] === '+' || b[0] === '#')) || (dollarB && (a[0] === '+' || a[0] === '#'))) return false
  for (let i = 0; ; i++) {
    const x = a[i]
    const y = b[i]
    if (x === '#' || y === '#') return true
    if (x === undefined || y === undefined) return x === y
    if (x !== '+' && y !== '+' && x !== y) return false
  }
}

const levels = (s: string): Levels => s.split('/')

export function compileAcl (c: TopicConfig): MqttAcl {
  const m = c.mountpoint
  const readable = [...new Set([
    m + c.upstream.topic,
    ...Object.values(c.upstream.topicOverrideMapping).map((t) => m + t),
    m + c.upstream.replyTopic,
    m + c.upstream.errorTopic,
    m + c.events.topic,
    m + c.events.errorTopic,
    m + 'ctl/${cid}/Reply'
  ].map(topicWildcard).concat(`${topicWildcard(m)}responses/#`))]
  // Presence (cluster bookkeeping) is the gateway's too; nobody reads it but the nodes.
  const gatewayOnly = [...readable, topicWildcard(m) + 'presence/#'].map(levels)
  const writable = [topicWildcard(m + c.dnstream.topic), topicWildcard(m + 'ctl/${cid}')]
  const read = readable.map(levels)
  const write = writable.map(levels)

  const canRead = (role: MqttRole, topic: string): boolean => {
    if (role === 'gateway') return true
    const t = levels(topic)
    return read.some((f) => topicMatches(f, t))
  }
  return {
    readable,
    writable,
    canRead,
    canSubscribe: (role, filter) => {
      if (role === 'gateway') return true
      const f = levels(filter)
      return read.some((r) => filtersOverlap(r, f))
    },
    canPublish: (role, topic) => {
      if (role === 'gateway') return true
      if (role !== 'backend') return false
      const t = levels(topic)
      // Deny first: a downstream template that overlaps an upstream one must not let a
      // backend forge charger messages on the overlap.
      return write.some((f) => topicMatches(f, t)) && !gatewayOnly.some((f) => topicMatches(f, t))
    }
  }
}

/**
 * MQTT shared subscriptions (`$share/{group}/{filter}`, MQTT 5 §4.8.2; the same syntax from 3.1.1
 * clients, as EMQX and Mosquitto take it) on the embedded broker, which aedes does not have: a
 * message matching the filter goes to one member of the group, not to each.
 *
 * How it sits in aedes: a client's SUBSCRIBE `$share/g/f` reaches aedes rewritten to
 * `SHARE_ALIAS + g/f` (./client-packets.ts; aedes 2 answers a v5 `$share/` filter 0x9E itself),
 * so aedes stores and restores it like any subscription and hands it, with the client's
 * delivery function, to `aedes.subscribe`. That method is wrapped here: an alias filter adds
 * the function as a member of group g (one emitter subscription to f per group dispatches to
 * the members); its unsubscribe (UNSUBSCRIBE, or the client going away) removes it. So a
 * disconnected member gets nothing and the rest get everything; each member's own QoS, ACL
 * (authorizeForward) and no-local apply as to any of its subscriptions; retained messages are
 * not sent for a shared subscription (§4.8.2: the alias matches no retained topic).
 *
 * Strategies (EMQX's `broker.shared_subscription_strategy` names):
 * - round_robin: members in turn (the default);
 * - random: any member;
 * - hash_clientid: by the charge point id of the topic (the level `${cid}` / `${clientid}` of
 *   the gateway's topic templates; EMQX's OCPP gateway publishes as the charge point's own MQTT
 *   client, so its hash_clientid is this), else by the publishing MQTT client's id: one
 *   charger's messages (Calls, replies, events) all go to one member, in order;
 * - hash_topic: by the whole topic.
 * The hashes are rendezvous hashes over the members: when a member leaves, only its chargers
 * move; the others stay where they were.
 */
import type { AedesPublishPacket } from 'aedes'
import { topicParser, type TopicConfig } from '../topics.js'

import type { SharedStrategy } from '../../config/defaults.js'

export type { SharedStrategy }

/** What aedes sees instead of `$share/`: not a prefix a client can subscribe to as such (the rewrite maps it back and forth). */
export const SHARE_ALIAS = '$share-embedded/'
const SHARE = '$share/'

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void
type Done = (err?: Error | null) => void

/** `$share/g/f` or its alias -> { group: g, filter: f }; undefined for anything else or a malformed one (§4.8.2: a group without wildcards, a filter). */
export function parseShare (topic: string): { group: string, filter: string } | undefined {
  const prefix = topic.startsWith(SHARE) ? SHARE : topic.startsWith(SHARE_ALIAS) ? SHARE_ALIAS : undefined
  if (prefix === undefined) return undefined
  const rest = topic.slice(prefix.length)
  const slash = rest.indexOf('/')
  if (slash <= 0) return undefined
  const group = rest.slice(0, slash)
  const filter = rest.slice(slash + 1)
  if (/[+#]/.test(group) || filter === '') return undefined
  return { group, filter }
}

/** A client's `$share/g/f` as aedes is to see it (anything else unchanged). */
export function toAlias (topic: string): string {
  const s = topic.startsWith(SHARE) ? parseShare(topic) : undefined
  return s === undefined ? topic : `${SHARE_ALIAS}${s.group}/${s.filter}`
}

/** The filter a shared subscription (either spelling) matches with; others unchanged: what the ACL judges. */
export function plainFilter (topic: string): string {
  return parseShare(topic)?.filter ?? topic
}

/** The charge point id in a topic of the gateway's templates, for hash_clientid. */
export function chargerIdParser (c: TopicConfig): (topic: string) => string | undefined {
  const m = c.mountpoint
  const templates = [c.upstream.topic, ...Object.values(c.upstream.topicOverrideMapping), c.upstream.replyTopic, c.upstream.errorTopic, c.events.topic, c.events.errorTopic, c.dnstream.topic]
  const parsers = [...new Set(templates.map((t) => m + t))].filter((t) => /\$\{(cid|clientid)\}/.test(t)).map(topicParser)
  return (topic) => {
    for (const parse of parsers) {
      const cid = parse(topic)?.cid
      if (cid !== undefined) return cid
    }
    return undefined
  }
}

/** FNV-1a, 32 bits: cheap and well spread for short keys. */
function fnv1a (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** What the groups need of a member's aedes client. */
interface Owner { id: string, clean: boolean, subscriptions: Record<string, { qos?: number, func?: unknown } | undefined> }

interface Member {
  id: number
  deliver: Deliver
  /** The QoS the member was granted (aedes itself lowers only exact-topic deliveries). */
  qos: number
  /** A persistent session: a QoS 1/2 message goes into its queue first, as aedes does for its own subscriptions. */
  queue?: (packet: AedesPublishPacket) => Promise<unknown>
  /** Finds the member's client once it is registered (see SharedSubscriptions.member). */
  resolve?: () => void
}

export interface AedesLike {
  subscribe: (topic: string, func: Deliver, done?: Done) => void
  unsubscribe: (topic: string, func: Deliver, done?: Done) => void
  clients: Record<string, Owner | undefined>
  persistence: { outgoingEnqueue: (sub: { clientId: string }, packet: AedesPublishPacket) => Promise<unknown> }
}

class Group {
  readonly members: Member[] = []
  private turn = 0
  constructor (readonly filter: string, private readonly pick: (g: Group, packet: AedesPublishPacket) => string | undefined, private readonly strategy: SharedStrategy) {}

  readonly dispatch: Deliver = (packet, cb) => {
    const n = this.members.length
    // §4.7.2: a filter starting with a wildcard does not match `$` topics ($SYS).
    if (n === 0 || (/^[+#]/.test(this.filter) && packet.topic.startsWith('$'))) { cb(); return }
    const member = (n === 1 ? this.members[0] : this.choose(packet, n)) as Member
    member.resolve?.()
    const p = packet.qos > member.qos ? { ...packet, qos: member.qos as 0 | 1 | 2 } : packet
    if (member.queue === undefined || p.qos === 0) { member.deliver(p, cb); return }
    member.queue(p).then(() => member.deliver(p, cb), () => member.deliver(p, cb))
  }

  private choose (packet: AedesPublishPacket, n: number): Member {
    if (this.strategy === 'round_robin') {
      const m = this.members[this.turn % n] as Member
      this.turn = (this.turn + 1) % n
      return m
    }
    if (this.strategy === 'random') return this.members[Math.floor(Math.random() * n)] as Member
    const key = this.pick(this, packet) ?? packet.topic
    let best = this.members[0] as Member
    let bestScore = -1
    for (const m of this.members) {
      const score = fnv1a(`${key}\u0000${m.id}`)
      if (score > bestScore) { bestScore = score; best = m }
    }
    return best
  }
}

export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>()
  private nextId = 0

  constructor (private readonly strategy: SharedStrategy = 'round_robin', private readonly chargerIdOf: (topic: string) => string | undefined = () => undefined) {}

  /** Groups with at least one member, by `group/filter` (for tests and the admin view). */
  sizes (): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [key, g] of this.groups) out[key] = g.members.length
    return out
  }

  /** Wrap aedes' subscribe and unsubscribe (the emitter's) so that alias filters are group memberships. */
  install (aedes: AedesLike): void {
    const subscribe = aedes.subscribe.bind(aedes)
    const unsubscribe = aedes.unsubscribe.bind(aedes)
    aedes.subscribe = (topic, func, done) => {
      const share = topic.startsWith(SHARE_ALIAS) ? parseShare(topic) : undefined
      if (share === undefined) { subscribe(topic, func, done); return }
      const key = `${share.group}/${share.filter}`
      let group = this.groups.get(key)
      const fresh = group === undefined
      group ??= new Group(share.filter, (_g, p) => this.keyOf(p), this.strategy)
      this.groups.set(key, group)
      group.members.push(this.member(aedes, topic, func))
      if (fresh) subscribe(share.filter, group.dispatch, done)
      else done?.()
    }
    aedes.unsubscribe = (topic, func, done) => {
      const share = topic.startsWith(SHARE_ALIAS) ? parseShare(topic) : undefined
      if (share === undefined) { unsubscribe(topic, func, done); return }
      const key = `${share.group}/${share.filter}`
      const group = this.groups.get(key)
      const i = group?.members.findIndex((m) => m.deliver === func) ?? -1
      if (group === undefined || i === -1) { done?.(); return }
      group.members.splice(i, 1)
      if (group.members.length > 0) { done?.(); return }
      this.groups.delete(key)
      unsubscribe(share.filter, group.dispatch, done)
    }
  }

  /**
   * aedes records the subscription on its client (client.subscriptions[topic].func) just before
   * it calls subscribe(): that is how the member's client, QoS and session are found, among the
   * registered clients. A session restored at CONNECT subscribes before its client is registered,
   * so the search is repeated at the member's first message, then never again.
   */
  private member (aedes: AedesLike, topic: string, func: Deliver): Member {
    const m: Member = { id: this.nextId++, deliver: func, qos: 2 }
    const find = (): boolean => {
      for (const id in aedes.clients) {
        const c = aedes.clients[id]
        if (c?.subscriptions[topic]?.func !== func) continue
        m.qos = c.subscriptions[topic]?.qos ?? 2
        if (!c.clean) m.queue = (packet) => aedes.persistence.outgoingEnqueue({ clientId: c.id }, packet)
        return true
      }
      return false
    }
    if (!find()) m.resolve = () => { m.resolve = undefined; find() }
    return m
  }

  private keyOf (packet: AedesPublishPacket): string | undefined {
    if (this.strategy === 'hash_topic') return packet.topic
    return this.chargerIdOf(packet.topic) ?? (packet as { clientId?: string }).clientId
  }
}

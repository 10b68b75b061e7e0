/**
 * All sessions of this gateway node by charge point id: the duplicate-id policy (newest
 * wins), the downstream subscription per id, connection events, and the one liveness sweep.
 */
import type { MessageHandler } from '../bridge/mqtt-port.js'
import type { GatewayContext } from './context.js'
import { Session } from './session.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'
import { Presence } from './presence.js'
import { envelopeToFrame, gatewayErrorEnvelope } from '../bridge/envelope.js'
import { dialects } from '../ocpp/dialect.js'

export interface SweepOptions {
  /** How often the sweep runs. */
  periodMs: number
}

interface Subscription {
  topic: string
  cid: string
  /** The broker subscription's handler; undefined when the node-wide one routes (embedded). */
  handler: MessageHandler | undefined
  ready: Promise<void>
  /** Sessions and upgrades in progress that use this subscription. */
  refs: number
}

const RESOLVED = Promise.resolve()

export class Registry {
  private readonly sessions = new Map<string, Session>()
  /** Downstream topics held here (subscribed on an external broker), by topic. */
  private readonly subs = new Map<string, Subscription>()
  /**
   * Embedded broker: one node, so one wildcard subscription routes every downstream topic by a
   * Map lookup, instead of a broker subscription per charge point (cheaper per message, per
   * connect and per idle charger). External broker: a subscription per charge point, so that
   * each node receives its own chargers' messages only.
   */
  private readonly routeAll: boolean
  private readonly timer: NodeJS.Timeout
  /** Other nodes' charge points (external broker only; in process there is one node). */
  readonly presence: Presence | undefined
  private wide?: { filter: string, handler: MessageHandler }
  private readonly cidOfTopic: (topic: string) => string | undefined

  constructor (private readonly ctx: GatewayContext, sweep: SweepOptions) {
    this.timer = setInterval(() => this.sweep(Date.now()), sweep.periodMs)
    this.timer.unref()
    if (ctx.mqtt.kind === 'external') this.presence = new Presence(ctx.mqtt, ctx.config.mountpoint, ctx.nodeId)
    this.cidOfTopic = topicParser(ctx.config.mountpoint + ctx.config.dnstream.topic)
    this.routeAll = ctx.mqtt.kind === 'embedded'
  }

  /**
   * Subscribe what the node needs besides per charge point topics: other nodes' presence, and
   * every downstream topic: on an external broker as a subscription shared across nodes, to
   * answer Calls to charge points that no node holds; embedded, to route them all.
   */
  async start (): Promise<void> {
    const { config, mqtt } = this.ctx
    await this.presence?.start()
    if (!config.dnstream.offlineAnswer && !this.routeAll) return
    const wildcard = (config.mountpoint + config.dnstream.topic).replace(/\$\{[a-z]+\}/g, '+')
    const filter = mqtt.kind === 'external' ? `$share/${config.dnstream.shareGroup}/${wildcard}` : wildcard
    const handler: MessageHandler = (topic, payload) => {
      const sub = this.subs.get(topic)
      if (sub !== undefined) {
        if (this.routeAll) this.routeDownstream(sub.cid, payload)
        // else: the charge point's own subscription on this node delivers it.
        return
      }
      if (config.dnstream.offlineAnswer) {
        this.onUnheld(topic, payload)
        return
      }
      // offline_answer off: not answered, as a broker without a subscriber would; counted.
      this.ctx.metrics.inc('envelopes_unroutable_total')
      this.ctx.log.debug({ topic }, 'downstream message for a charge point that is not connected (offline_answer off): dropped')
    }
    await mqtt.subscribe(filter, config.dnstream.qos, handler)
    this.wide = { filter, handler }
  }

  /** A downstream message seen by the shared subscription: answer it if nobody holds the charge point. */
  private onUnheld (topic: string, payload: Buffer): void {
    const cid = this.cidOfTopic(topic)
    // A topic held here never gets this far: the caller has routed it (or left it to its own
    // subscription on an external broker).
    if (cid === undefined || this.presence?.heldElsewhere(cid) === true) return
    if (this.sessions.has(cid)) {
      // Connected here, but on the topic of another version (${version} in the template).
      this.ctx.metrics.inc('envelopes_unroutable_total')
      this.ctx.log.warn({ cid, topic }, 'downstream message on a topic this charge point is not connected on: not delivered')
      return
    }
    const { ctx } = this
    const parsed = envelopeToFrame(payload, dialects['2.1'])
    const vars = { cid, type: 4 }
    if (parsed.ok && parsed.frame.type === 2) {
      const f = parsed.frame
      ctx.metrics.inc('gateway_answers_total', 'offline')
      ctx.log.info({ cid, id: f.id, action: f.action }, 'Call to a charge point that is not connected: answered offline')
      ctx.publishJson(ctx.topics.error({ ...vars, id: f.id, action: f.action }), gatewayErrorEnvelope(f.id, 'GenericError', 'gateway: the charge point is not connected', { reason: 'offline' }, f.action), ctx.config.upstream.qos)
      return
    }
    if (!parsed.ok && parsed.error.id !== undefined) {
      // Invalid, but answerable: the same reply a connected charge point's backend would get.
      const { id, action, message } = parsed.error
      ctx.metrics.inc('envelopes_invalid_total', 'invalid')
      ctx.publishJson(ctx.topics.error({ ...vars, id, action }), gatewayErrorEnvelope(id, dialects['2.1'].errorCodes.formatViolation, `gateway: invalid envelope (and the charge point is not connected): ${message}`, { reason: 'invalid_envelope' }, action), ctx.config.upstream.qos)
      return
    }
    ctx.metrics.inc('envelopes_unroutable_total')
    ctx.publishJson(ctx.topics.gatewayError(vars), {
      Origin: 'gateway',
      Error: 'offline',
      ErrorDescription: parsed.ok ? 'the charge point is not connected; the message was not delivered' : `the charge point is not connected, and the envelope is invalid: ${parsed.error.message}`,
      cid,
      UniqueId: parsed.ok ? parsed.frame.id : parsed.error.id
    }, ctx.config.events.qos)
  }

  get size (): number { return this.sessions.size }
  get (cid: string): Session | undefined { return this.sessions.get(cid) }
  all (): IterableIterator<Session> { return this.sessions.values() }

  /** The downstream topic of a charge point. */
  downstreamTopic (cid: string, version: string): string {
    return this.ctx.topics.dnstream({ cid, version })
  }

  /**
   * Take a reference on the downstream subscription of `cid`, subscribing if it is the first.
   * Called before the WebSocket upgrade is answered, so that once a charge point's socket is
   * open, whatever the backend publishes to it is delivered. Pair with attach() or release().
   */
  acquire (cid: string, version: string): Promise<void> {
    const topic = this.downstreamTopic(cid, version)
    let sub = this.subs.get(topic)
    if (sub === undefined) {
      if (this.routeAll) {
        sub = { topic, cid, handler: undefined, ready: RESOLVED, refs: 0 }
        this.subs.set(topic, sub)
      } else {
        const handler: MessageHandler = (_t, payload) => this.routeDownstream(cid, payload)
        const ready = this.ctx.mqtt.subscribe(topic, this.ctx.config.dnstream.qos, handler)
        const created: Subscription = sub = { topic, cid, handler, ready, refs: 0 }
        this.subs.set(topic, created)
        ready.catch(() => { if (this.subs.get(topic) === created) this.subs.delete(topic) })
      }
    }
    sub.refs++
    return sub.ready
  }

  release (cid: string, version: string): void {
    const topic = this.downstreamTopic(cid, version)
    const sub = this.subs.get(topic)
    if (sub === undefined || --sub.refs > 0) return
    this.subs.delete(topic)
    if (sub.handler === undefined) return
    this.ctx.mqtt.unsubscribe(topic, sub.handler).catch((err: Error) => this.ctx.log.warn({ err: err.message, topic }, 'unsubscribe failed'))
  }

  /** Add a freshly upgraded session (after acquire()). An existing one with the same id is closed. */
  attach (session: Session): void {
    const { ctx } = this
    const cid = session.cid
    const old = this.sessions.get(cid)
    // The new session is in the table before the old one closes, so downstream messages
    // go to the new one from now on.
    this.sessions.set(cid, session)
    ctx.metrics.sessions = this.sessions.size
    session.bind((s, reason, code, detail) => this.detach(s, reason, code, detail))
    if (old !== undefined) {
      // Calls queued for the old connection go to the new one; the one in flight is
      // answered "disconnected" when the old one closes.
      session.adopt(old.calls.takeWaiting())
      ctx.metrics.inc('takeovers_total')
      old.log.info({ newPeer: session.info.peer }, 'replaced by a newer connection with the same id')
      old.close(CloseCode.TAKEOVER, 'replaced by a newer connection', 'takeover')
    }
    // ctx.log with the cid, not session.log: no child logger per connection just for this line.
    ctx.log.info({ cid, peer: session.info.peer, version: session.dialect.version, subprotocol: session.info.subprotocol ?? null }, 'charge point connected')
    if (old === undefined) this.announce(cid, true)
    this.event(session, { event: 'connected' })
  }

  private routeDownstream (cid: string, payload: Buffer): void {
    const session = this.sessions.get(cid)
    if (session === undefined || session.closed) {
      this.ctx.metrics.inc('envelopes_unroutable_total')
      this.ctx.log.warn({ cid }, 'downstream message for a charge point that is not connected')
      return
    }
    session.onDownstream(payload)
  }

  private detach (session: Session, reason: DisconnectReason, code: number, detail: string): void {
    const { ctx } = this
    ctx.metrics.inc('disconnections_total', reason)
    if (this.sessions.get(session.cid) === session) {
      this.sessions.delete(session.cid)
      ctx.metrics.sessions = this.sessions.size
      this.announce(session.cid, false)
    }
    this.release(session.cid, session.dialect.version)
    ctx.log.info({ cid: session.cid, reason, code, detail }, 'charge point disconnected')
    this.event(session, { event: 'disconnected', reason, code, detail, duration_ms: Date.now() - session.connectedAt })
  }

  /** An id no authenticator knows was let in (unknown_charger: accept): tell the operators. */
  reportUnknown (session: Session): void {
    this.ctx.metrics.inc('unknown_chargers_total')
    session.log.warn({ peer: session.info.peer }, 'unknown charge point accepted (unknown_charger: accept)')
    this.event(session, { event: 'unknown_charger' })
  }

  private announce (cid: string, online: boolean): void {
    this.presence?.announce(cid, online).catch((err: Error) => this.ctx.log.warn({ err: err.message, cid }, 'presence update failed'))
  }

  private event (session: Session, extra: { event: string } & Record<string, unknown>): void {
    const { ctx } = this
    if (!ctx.config.events.enable) return
    ctx.metrics.inc('events_published_total')
    // Fixed members first, the event's own after: an object spread in front of literal
    // members makes V8 build a slow (dictionary) object, 4x the cost of the whole event.
    ctx.publishJson(ctx.topics.event({ cid: session.cid, version: session.dialect.version }), Object.assign({
      event: extra.event,
      cid: session.cid,
      clientid: session.cid,
      version: session.dialect.version,
      subprotocol: session.info.subprotocol ?? null,
      peer: session.info.peer,
      username: session.info.username ?? null,
      listener: session.info.listener,
      node: ctx.nodeId,
      at: new Date().toISOString()
    }, extra), ctx.config.events.qos)
  }

  /** Keepalive (EMQX semantics), idle timeout and WebSocket ping, for all sessions at once. */
  sweep (now: number): void {
    const { config, metrics } = this.ctx
    for (const s of this.sessions.values()) {
      if (s.closed) continue
      s.tick(now)
      if (s.closed) continue
      if (now - s.lastFrameAt > s.heartbeatIntervalMs * config.heartbeatBackoff) {
        metrics.inc('keepalive_timeouts_total')
        s.close(CloseCode.KEEPALIVE_TIMEOUT, 'keepalive timeout', 'keepalive_timeout')
        continue
      }
      if (s.receivedFrames === 0 && now - s.connectedAt > config.idleTimeoutMs) {
        s.close(CloseCode.IDLE_TIMEOUT, 'no message within idle_timeout', 'idle_timeout')
        continue
      }
      const ping = s.info.limits.pingIntervalMs
      if (!Number.isFinite(ping) || ping <= 0) continue
      if (now - s.lastActivityAt > 2 * ping) {
        metrics.inc('ping_timeouts_total')
        s.terminate('ping_timeout')
      } else if (now - s.lastPingAt >= ping) {
        s.lastPingAt = now
        s.ws.ping()
      }
    }
  }

  /** Close every session with 1001 (shutdown); their owed Calls are answered "shutdown". */
  closeAll (): void {
    clearInterval(this.timer)
    for (const s of [...this.sessions.values()]) s.close(CloseCode.GOING_AWAY, 'gateway shutting down', 'shutdown')
  }

  /** Unsubscribe the node-wide subscriptions (before the MQTT connection closes). */
  async stop (): Promise<void> {
    if (this.wide !== undefined) await this.ctx.mqtt.unsubscribe(this.wide.filter, this.wide.handler)
    await this.presence?.stop()
  }
}

/** Extract the charge point id from a downstream topic, per the template. */
function topicParser (template: string): (topic: string) => string | undefined {
  let cidGroup = 0
  let groups = 0
  const source = template.split(/(\$\{[a-z]+\})/).map((part) => {
    const m = /^\$\{([a-z]+)\}$/.exec(part)
    if (m === null) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    groups++
    if ((m[1] === 'cid' || m[1] === 'clientid') && cidGroup === 0) cidGroup = groups
    return '([^/]+)'
  }).join('')
  const re = new RegExp(`^${source}$`)
  return (topic) => {
    if (cidGroup === 0) return undefined
    return re.exec(topic)?.[cidGroup]
  }
}

/**
 * All sessions of this gateway node by charge point id: the duplicate-id policy (newest
 * wins), the downstream subscription per id, connection events, and the one liveness sweep.
 */
import type { MessageHandler } from '../bridge/mqtt-port.js'
import type { GatewayContext } from './context.js'
import { Session } from './session.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'

export interface SweepOptions {
  /** How often the sweep runs. */
  periodMs: number
}

interface Subscription {
  topic: string
  handler: MessageHandler
  ready: Promise<void>
  /** Sessions and upgrades in progress that use this subscription. */
  refs: number
}

export class Registry {
  private readonly sessions = new Map<string, Session>()
  /** Downstream subscriptions by topic; the handler routes to the current session of the id. */
  private readonly subs = new Map<string, Subscription>()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly ctx: GatewayContext, sweep: SweepOptions) {
    this.timer = setInterval(() => this.sweep(Date.now()), sweep.periodMs)
    this.timer.unref()
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
      const handler: MessageHandler = (_t, payload) => this.routeDownstream(cid, payload)
      const ready = this.ctx.mqtt.subscribe(topic, this.ctx.config.dnstream.qos, handler)
      const created: Subscription = sub = { topic, handler, ready, refs: 0 }
      this.subs.set(topic, created)
      ready.catch(() => { if (this.subs.get(topic) === created) this.subs.delete(topic) })
    }
    sub.refs++
    return sub.ready
  }

  release (cid: string, version: string): void {
    const topic = this.downstreamTopic(cid, version)
    const sub = this.subs.get(topic)
    if (sub === undefined || --sub.refs > 0) return
    this.subs.delete(topic)
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
      ctx.metrics.inc('takeovers_total')
      old.log.info({ newPeer: session.info.peer }, 'replaced by a newer connection with the same id')
      old.close(CloseCode.TAKEOVER, 'replaced by a newer connection', 'takeover')
    }
    session.log.info({ peer: session.info.peer, version: session.dialect.version, subprotocol: session.info.subprotocol ?? null }, 'charge point connected')
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
    }
    this.release(session.cid, session.dialect.version)
    session.log.info({ reason, code, detail }, 'charge point disconnected')
    this.event(session, { event: 'disconnected', reason, code, detail, duration_ms: Date.now() - session.connectedAt })
  }

  private event (session: Session, extra: Record<string, unknown>): void {
    const { ctx } = this
    if (!ctx.config.events.enable) return
    ctx.metrics.inc('events_published_total')
    ctx.publishJson(ctx.topics.event({ cid: session.cid, version: session.dialect.version }), {
      ...extra,
      cid: session.cid,
      clientid: session.cid,
      version: session.dialect.version,
      subprotocol: session.info.subprotocol ?? null,
      peer: session.info.peer,
      username: session.info.username ?? null,
      listener: session.info.listener,
      node: ctx.nodeId,
      at: new Date().toISOString()
    }, ctx.config.events.qos)
  }

  /** Keepalive (EMQX semantics), idle timeout and WebSocket ping, for all sessions at once. */
  sweep (now: number): void {
    const { config, metrics } = this.ctx
    for (const s of this.sessions.values()) {
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
      const ping = s.info.pingIntervalMs
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

  /** Close every session with 1001 (shutdown). */
  closeAll (): void {
    clearInterval(this.timer)
    for (const s of [...this.sessions.values()]) s.close(CloseCode.GOING_AWAY, 'gateway shutting down', 'shutdown')
  }
}

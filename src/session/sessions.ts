/**
 * All sessions of this gateway node by charge point id: the duplicate-id policy (newest
 * wins), the one liveness sweep, and the lifecycle hooks the bridge listens to (connection
 * events, presence, downstream subscriptions). Knows no MQTT.
 */
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import type { Session } from './session.js'
import { CloseCode, type DisconnectReason } from './close-codes.js'

export interface SessionHooks {
  /** A session was attached; `replaced` is the older one with the same id, already closed (its `disconnected` came first). */
  connected: (session: Session, replaced: Session | undefined) => void
  /**
   * A session ended. `current` is false when a newer connection with the same id had already
   * taken its place (a takeover): the charge point is still connected.
   */
  disconnected: (session: Session, reason: DisconnectReason, code: number, detail: string, current: boolean) => void
}

export interface SessionTableOptions {
  metrics: Metrics
  log: Logger
  /** How often the liveness sweep runs. */
  sweepPeriodMs: number
}

export class SessionTable {
  private readonly sessions = new Map<string, Session>()
  private readonly timer: NodeJS.Timeout
  private hooks: SessionHooks | undefined

  constructor (private readonly opts: SessionTableOptions) {
    this.timer = setInterval(() => this.sweep(Date.now()), opts.sweepPeriodMs)
    this.timer.unref()
  }

  /** Where connections and disconnections are told (the bridge); set once at start. */
  observe (hooks: SessionHooks): void {
    this.hooks = hooks
  }

  get size (): number { return this.sessions.size }
  get (cid: string): Session | undefined { return this.sessions.get(cid) }
  all (): IterableIterator<Session> { return this.sessions.values() }

  /** Add a freshly upgraded session. An existing one with the same id is closed (takeover). */
  attach (session: Session): void {
    const cid = session.cid
    const old = this.sessions.get(cid)
    // The new session is in the table before the old one closes, so downstream messages
    // go to the new one from now on.
    this.sessions.set(cid, session)
    this.opts.metrics.sessions = this.sessions.size
    session.bind((s, reason, code, detail) => this.detach(s, reason, code, detail))
    if (old !== undefined) {
      // Calls queued for the old connection go to the new one; the one in flight is
      // answered "disconnected" when the old one closes.
      session.adopt(old)
      this.opts.metrics.inc('takeovers_total')
      old.log.info({ newPeer: session.info.peer }, 'replaced by a newer connection with the same id')
      old.close(CloseCode.TAKEOVER, 'replaced by a newer connection', 'takeover')
    }
    // The root logger with the cid, not session.log: no child logger per connection for this line.
    this.opts.log.info({ cid, peer: session.info.peer, version: session.dialect.version, subprotocol: session.info.subprotocol ?? null }, 'charge point connected')
    this.hooks?.connected(session, old)
  }

  private detach (session: Session, reason: DisconnectReason, code: number, detail: string): void {
    const { metrics, log } = this.opts
    metrics.inc('disconnections_total', reason)
    const current = this.sessions.get(session.cid) === session
    if (current) {
      this.sessions.delete(session.cid)
      metrics.sessions = this.sessions.size
    }
    log.info({ cid: session.cid, reason, code, detail }, 'charge point disconnected')
    this.hooks?.disconnected(session, reason, code, detail, current)
  }

  /** The liveness checks of every session (liveness.ts), at once. */
  sweep (now: number): void {
    for (const s of this.sessions.values()) {
      try {
        s.tick(now)
      } catch (err) {
        // One session's bug must not stop the sweep for the others (nor end the process).
        this.opts.metrics.inc('internal_errors_total', 'liveness')
        this.opts.log.error({ cid: s.cid, err: (err as Error)?.message ?? String(err) }, 'internal error in the liveness sweep')
      }
    }
  }

  /** Close every session with 1001 (shutdown); their owed Calls are answered "shutdown". */
  closeAll (): void {
    clearInterval(this.timer)
    for (const s of [...this.sessions.values()]) s.close(CloseCode.GOING_AWAY, 'gateway shutting down', 'shutdown')
  }
}

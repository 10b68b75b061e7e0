/**
 * A CSMS's side of the gateway over MQTT: handlers for the charge points' Calls, Calls to
 * them with their answers correlated by UniqueId, the connected chargers, the gateway's
 * reports. One Backend per MQTT connection; several may run against one gateway.
 *
 * @example
 *   const backend = await connectBackend({ url: 'mqtt://localhost:1883' })
 *   backend.handle('Heartbeat', () => ({ currentTime: new Date().toISOString() }))
 *   backend.on('connected', (e) => console.log(e.cid, 'connected with OCPP', e.version))
 *   const conf = await backend.version('1.6').call('CP1', 'GetConfiguration', {})
 */
import { EventEmitter } from 'node:events'
import { pino } from 'pino'
import type { OcppVersion } from '../ocpp/dialect.js'
import type { JsonObject } from '../ocpp/frame.js'
import { type ChargerInfo, ChargerDirectory, type ConnectionEvent, asVersion, parseEvent } from './chargers.js'
import { answerCall, HandlerTable, type AnyHandler, type CallAnswer, type CallContext } from './dispatch.js'
import { callEnvelope, errorEnvelope, isCall, parseUpstream, resultEnvelope, type UpCall } from './envelope.js'
import { BackendClosedError, CallTimeoutError, CallValidationError, ChargerCallError, GatewayAnswerError } from './errors.js'
import { type BackendLogger, type BackendOptions, resolveOptions, type ResolvedOptions } from './options.js'
import { type Answer, PendingCalls, type PendingCall } from './pending.js'
import { backendTopics, shared, type BackendTopics } from './topics.js'
import { connectMqtt, type BackendTransport } from './transport.js'
import type { ActionOf, AnyAction, AnyRequest, AnyResponse, Request, Response } from './types/index.js'
import { loadChecks, type PayloadChecks } from './validation.js'

type Awaitable<T> = T | Promise<T>
/** What a handler returns: the CallResult payload (nothing for a 2.1 SEND). */
export type HandlerResult<V extends OcppVersion, A extends ActionOf<V>> = [Response<V, A>] extends [never] ? void : Response<V, A>
export type Handler<V extends OcppVersion, A extends ActionOf<V>> = (ctx: CallContext<V>, req: Request<V, A>) => Awaitable<HandlerResult<V, A>>
export type AnyVersionHandler<A extends AnyAction> = (ctx: CallContext, req: AnyRequest<A>) => Awaitable<AnyResponse<A> | undefined>

export interface CallOptions {
  /** ms until the Call is rejected with CallTimeoutError. Default the backend's `callTimeoutMs`. */
  timeout?: number
  /** The charge point's version, when the backend does not know it (for `${version}` topics and validation). */
  version?: OcppVersion
}

/** A report on the gateway's error topic (`errors/{cid}`): something that has no reply to carry it. */
export interface GatewayReport extends JsonObject {
  Error: string
  ErrorDescription: string
  cid: string
  UniqueId?: string
}

/** The 2.1 CALLRESULTERROR: the charge point could not process our CallResult to its Call. */
export interface CallResultErrorEvent { cid: string, uniqueId: string, code: string, description: string, details: JsonObject }

export interface BackendEventMap {
  connected: [event: ConnectionEvent]
  disconnected: [event: ConnectionEvent]
  report: [report: GatewayReport]
  callResultError: [event: CallResultErrorEvent]
  /** The MQTT connection was lost (MQTT.js reconnects by itself) or is back. */
  brokerDown: [err: Error | undefined]
  brokerUp: []
}

/** The typed side of one OCPP version: payloads and answers are that version's. */
export interface VersionView<V extends OcppVersion> {
  handle: <A extends ActionOf<V>>(action: A, handler: Handler<V, A>) => VersionView<V>
  call: <A extends ActionOf<V>>(cid: string, action: A, payload: Request<V, A>, opts?: Omit<CallOptions, 'version'>) => Promise<Response<V, A>>
  /** An OCPP 2.1 SEND (never answered). */
  send: <A extends ActionOf<V>>(cid: string, action: A, payload: Request<V, A>) => Promise<void>
}

/** Handlers still running when the backend closes get this long to answer, ms. */
const CLOSE_GRACE_MS = 2000

export class Backend extends EventEmitter<BackendEventMap> {
  private readonly handlers = new HandlerTable()
  private readonly pending = new PendingCalls()
  private readonly directory = new ChargerDirectory()
  private readonly running = new Set<Promise<void>>()
  /** `cid NUL UniqueId` of the Calls being handled: a QoS 1 redelivery of one is not run twice. */
  private readonly handling = new Set<string>()
  private closed = false

  /** @internal use connectBackend() */
  constructor (
    private readonly o: ResolvedOptions,
    private readonly topics: BackendTopics,
    private readonly transport: BackendTransport,
    readonly log: BackendLogger,
    private readonly checks: PayloadChecks | undefined
  ) {
    super()
    transport.onMessage((topic, payload, retained) => this.onMessage(topic, payload, retained))
    transport.onStatus((up, err) => { if (up) this.emit('brokerUp'); else this.emit('brokerDown', err) })
  }

  /** The filters this backend subscribes to (shared ones with `$share/{shareGroup}/`). */
  subscriptions (): string[] {
    const t = this.topics
    return [
      ...t.callFilters.map((f) => shared(this.o.shareGroup, f)),
      ...t.replyFilters,
      ...(this.o.events ? [t.eventFilter, t.errorFilter] : [])
    ]
  }

  /**
   * The presence records, subscribed apart: a broker may refuse them (the embedded broker keeps
   * them to the gateway's nodes, and has no use for them: it is one node), and the backend works
   * without them.
   */
  async subscribePresence (): Promise<void> {
    if (!this.o.presence) return
    try {
      await this.transport.subscribe([this.topics.presenceFilter], this.o.qos)
    } catch (err) {
      this.log.debug({ filter: this.topics.presenceFilter, err }, 'presence records not readable: the charger list comes from events only')
    }
  }

  /**
   * Answer an Action for every version that has it. `req` is the union of the versions'
   * payloads; `ctx.version` says which. A handler of `version(v).handle()` wins for its version.
   */
  handle<A extends AnyAction>(action: A, handler: AnyVersionHandler<A>): this {
    this.handlers.set(undefined, action, handler as AnyHandler)
    return this
  }

  /** The typed API of one version: `backend.version('2.0.1').handle('TransactionEvent', …)`. */
  version<V extends OcppVersion>(version: V): VersionView<V> {
    const view: VersionView<V> = {
      handle: (action, handler) => { this.handlers.set(version, action, handler as unknown as AnyHandler); return view },
      call: (cid, action, payload, opts) => this.callAs(cid, action, payload, { ...opts, version }) as Promise<never>,
      send: (cid, action, payload) => this.sendAs(cid, action, payload, version)
    }
    return view
  }

  /**
   * A Call to a charge point. Resolves with its CallResult payload; rejects with
   * ChargerCallError (its CallError), GatewayAnswerError (`reason`: offline, timeout,
   * queue_full, disconnected, invalid_payload, …), CallTimeoutError, CallValidationError or
   * BackendClosedError.
   */
  call<A extends AnyAction>(cid: string, action: A, payload: AnyRequest<A>, opts: CallOptions = {}): Promise<AnyResponse<A>> {
    return this.callAs(cid, action, payload, opts) as Promise<AnyResponse<A>>
  }

  /** The charge points connected now, by id (from the gateway's events and presence records). */
  chargers (): ChargerInfo[] { return this.directory.list() }
  charger (cid: string): ChargerInfo | undefined { return this.directory.get(cid) }
  /** The version used for a charge point: what the gateway said, else `defaultVersion`. */
  versionOf (cid: string): OcppVersion { return this.directory.get(cid)?.version ?? this.o.defaultVersion }
  /** Calls sent and not answered yet. */
  get inFlight (): number { return this.pending.size }

  /** Stop: Calls in flight are rejected (BackendClosedError), running handlers get 2 s to answer. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.pending.failAll((c) => new BackendClosedError(c.cid, c.action, c.id))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled([...this.running]), new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_GRACE_MS) })])
    clearTimeout(timer)
    await this.transport.close()
  }

  private dnstream (cid: string, version: OcppVersion): string {
    return this.topics.dnstream({ cid, version })
  }

  private async callAs (cid: string, action: string, payload: unknown, opts: CallOptions): Promise<unknown> {
    const version = opts.version ?? this.versionOf(cid)
    const id = this.pending.nextId()
    if (this.closed) throw new BackendClosedError(cid, action, id)
    const bad = this.checks !== undefined && this.o.validateOutgoing ? this.checks.request(version, action, payload) : null
    if (bad != null) throw new CallValidationError(cid, action, id, 'request', bad.message)
    const timeoutMs = opts.timeout ?? this.o.callTimeoutMs
    return await new Promise((resolve, reject) => {
      const call: PendingCall = {
        cid,
        action,
        id,
        version,
        sentAt: Date.now(),
        settle: (answer) => { try { resolve(this.outcome(call, answer)) } catch (err) { reject(err) } },
        fail: reject
      }
      this.pending.add(call, timeoutMs, (c) => reject(new CallTimeoutError(c.cid, c.action, c.id, timeoutMs)))
      this.transport.publish(this.dnstream(cid, version), callEnvelope(id, action, payload), this.o.qos).catch((err: Error) => {
        this.pending.fail(id, new BackendClosedError(cid, action, id, `not published: ${err.message}`))
      })
    })
  }

  private async sendAs (cid: string, action: string, payload: unknown, version: OcppVersion): Promise<void> {
    const id = this.pending.nextId()
    if (this.closed) throw new BackendClosedError(cid, action, id)
    const bad = this.checks !== undefined && this.o.validateOutgoing ? this.checks.request(version, action, payload) : null
    if (bad != null) throw new CallValidationError(cid, action, id, 'request', bad.message)
    await this.transport.publish(this.dnstream(cid, version), callEnvelope(id, action, payload, 6), this.o.qos)
  }

  /** The value (or the error thrown) for an answer to one of our Calls. */
  private outcome (call: PendingCall, a: Answer): unknown {
    if (a.type === 3) {
      const bad = this.checks !== undefined && this.o.validateIncoming ? this.checks.response(call.version as OcppVersion, call.action, a.payload) : null
      if (bad != null) throw new CallValidationError(call.cid, call.action, call.id, 'response', bad.message, a.payload)
      return a.payload
    }
    if (a.gateway) throw new GatewayAnswerError(call.cid, call.action, call.id, a.code, a.description, a.details)
    throw new ChargerCallError(call.cid, call.action, call.id, a.code, a.description, a.details)
  }

  private onMessage (topic: string, payload: Buffer, retained: boolean): void {
    const t = this.topics
    if (topic.startsWith(t.presencePrefix)) {
      const [cid, node, extra] = topic.slice(t.presencePrefix.length).split('/')
      if (cid !== undefined && node !== undefined && extra === undefined) this.directory.presence(cid, node, payload)
      return
    }
    // Nothing upstream is retained by the gateway; a retained message is someone else's.
    if (retained) return
    if (this.o.events) {
      const ev = t.parseEvent(topic)
      if (ev !== undefined) return this.onEvent(ev.cid, payload)
      const er = t.parseError(topic)
      if (er !== undefined) return this.onReport(er.cid, payload)
    }
    const parsed = parseUpstream(payload)
    if (!parsed.ok) {
      this.log.warn({ topic, error: parsed.error, uniqueId: parsed.id }, 'envelope not understood: ignored')
      return
    }
    const msg = parsed.msg
    if (isCall(msg)) {
      const where = t.parseCall(topic)
      if (where !== undefined) this.onCall(topic, where.cid, asVersion(where.version), msg)
      return
    }
    const where = t.parseReply(topic)
    if (where === undefined) return
    if (msg.type === 5) {
      this.emit('callResultError', { cid: where.cid, uniqueId: msg.id, code: msg.code, description: msg.description, details: msg.details })
      return
    }
    if (this.pending.answer(where.cid, msg) === undefined && this.pending.ours(msg.id)) {
      this.log.debug({ cid: where.cid, uniqueId: msg.id }, 'answer to a Call no longer awaited (timed out): dropped')
    }
  }

  private onEvent (cidFromTopic: string, payload: Buffer): void {
    const e = parseEvent(payload, cidFromTopic)
    if (e === undefined) return
    this.directory.apply(e)
    if (e.event === 'connected') this.emit('connected', e)
    else if (e.event === 'disconnected') this.emit('disconnected', e)
  }

  private onReport (cid: string, payload: Buffer): void {
    let v: unknown
    try { v = JSON.parse(payload.toString()) } catch { return }
    if (typeof v !== 'object' || v === null) return
    const r = v as JsonObject
    this.emit('report', { ...r, cid: typeof r.cid === 'string' ? r.cid : cid, Error: String(r.Error ?? 'unknown'), ErrorDescription: String(r.ErrorDescription ?? '') })
  }

  private onCall (topic: string, cid: string, topicVersion: OcppVersion | undefined, msg: UpCall): void {
    if (this.closed) return
    const key = `${cid}\u0000${msg.id}`
    if (this.handling.has(key)) {
      this.log.debug({ cid, uniqueId: msg.id, action: msg.action }, 'Call received again while being handled (MQTT redelivery): ignored')
      return
    }
    const version = topicVersion ?? this.versionOf(cid)
    const ctx: CallContext = { cid, version, uniqueId: msg.id, action: msg.action, messageType: msg.type, topic }
    const deps = {
      handlers: this.handlers,
      log: this.log,
      ...(this.o.validateIncoming && this.checks !== undefined ? { checkIncoming: this.checks } : {}),
      ...(this.o.validateOutgoing && this.checks !== undefined ? { checkOutgoing: this.checks } : {})
    }
    const run = answerCall(deps, ctx, msg.payload).then((answer) => this.publishAnswer(ctx, answer))
    this.running.add(run)
    this.handling.add(key)
    void run.finally(() => { this.running.delete(run); this.handling.delete(key) })
  }

  private async publishAnswer (ctx: CallContext, answer: CallAnswer | undefined): Promise<void> {
    if (answer === undefined) return
    const text = answer.type === 3
      ? resultEnvelope(ctx.uniqueId, ctx.action, answer.payload)
      : errorEnvelope(ctx.uniqueId, ctx.action, answer.code, answer.description, answer.details)
    try {
      await this.transport.publish(this.dnstream(ctx.cid, ctx.version), text, this.o.qos)
    } catch (err) {
      this.log.warn({ cid: ctx.cid, action: ctx.action, uniqueId: ctx.uniqueId, err }, 'answer not published')
    }
  }
}

/**
 * Connect to the broker, subscribe, and resolve once the subscriptions are acknowledged:
 * from then on every Call of a charge point reaches a handler (or is answered NotImplemented).
 */
export async function connectBackend (options: BackendOptions): Promise<Backend> {
  const o = resolveOptions(options)
  const log = options.logger ?? pino({ name: 'ocpp-backend', level: 'info' })
  const checks = o.validateIncoming || o.validateOutgoing ? await loadChecks() : undefined
  const transport = options.transport ?? await connectMqtt({
    url: o.url as string,
    connectTimeoutMs: o.connectTimeoutMs,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
    ...(options.mqtt === undefined ? {} : { mqtt: options.mqtt })
  })
  const backend = new Backend(o, backendTopics(o.mountpoint, options.topics), transport, log, checks)
  try {
    await transport.subscribe(backend.subscriptions(), o.qos)
    await backend.subscribePresence()
  } catch (err) {
    await transport.close()
    throw err
  }
  return backend
}

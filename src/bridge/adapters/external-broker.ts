/**
 * An external MQTT broker (Mosquitto, EMQX, HiveMQ, VerneMQ...) through MQTT.js: one MQTT 5
 * connection for the whole gateway, exact-topic subscriptions per charge point.
 *
 * Broker outages (README "External broker"): the node starts a fresh session (clean start, so a
 * restarted node inherits no subscription or queue of a previous run) that the broker keeps
 * for mqtt.session_expiry while the node is away, with its subscriptions and the messages
 * queued for them. Each reconnection resumes it; when the broker lost it (restarted without
 * persistence) every subscription is made again before anything is published. Publishes go
 * through an {@link Outbox}: held while the broker is away, within its Receive Maximum when
 * it is there, bounded by mqtt.offline_queue, and every one that is never published is told.
 *
 * A broker that does not speak MQTT 5 (it refuses the CONNECT with "unacceptable protocol
 * version", MQTT 3.1.1 §3.1.2.2) is spoken to in 3.1.1: a persistent session (clean session 0)
 * without an expiry, ended at an orderly stop by a clean connection; no subscription
 * identifiers; an in-flight window of {@link MQTT311_WINDOW}. Logged once at start.
 */
import { readFileSync } from 'node:fs'
import mqtt, { type MqttClient, type IClientOptions, type IConnackPacket, type Packet } from 'mqtt'
import { tuneMqttSocket } from './coalesce-writes.js'
import { HandlerTable, noteProps, stripShare, topicMatches, type MessageHandler, type MqttPort, type MqttProps, type QoS } from './mqtt-port.js'
import { DEFAULT_RECEIVE_MAXIMUM, Outbox, OutboxError, type Outgoing } from './outbox.js'
import type { Logger } from '../../observability/logger.js'
import type { Metrics } from '../../observability/metrics.js'
import type { GatewayConfig } from '../../config/load.js'
import { redactText } from '../../observability/redact.js'
import { GatewayError } from '../../errors.js'

/** The `mqtt` section of the configuration, less the embedded broker's part. */
export type ExternalBrokerOptions = Omit<GatewayConfig['mqtt'], 'embedded'> & {
  logger: Logger
  metrics?: Metrics
  /** How long to wait for the first connection before giving up at start-up. */
  connectTimeoutMs?: number
  /** The MQTT last will: what the broker publishes when this node's connection ends without a DISCONNECT. */
  will?: { topic: string, payload: string, qos: QoS, retain: boolean }
}

/** How long close() waits for the outbox to drain. */
const CLOSE_DRAIN_MS = 2000

/** DEBUG=mqttjs* (the `debug` package's switch) keeps MQTT.js's own log. */
const MQTTJS_DEBUG = /mqttjs/.test(process.env.DEBUG ?? '')
const noLog = (): void => {}

/** MQTT 5 §3.1.2.11.2: 0xFFFFFFFF = the session never expires. */
const NEVER_EXPIRES = 0xFFFFFFFF

/**
 * QoS 1/2 publishes in flight to a 3.1.1 broker, which cannot say its limit: Mosquitto's
 * default max_inflight_messages (what a stock broker takes without queueing).
 */
export const MQTT311_WINDOW = 20

/** The broker refused the CONNECT's protocol level (CONNACK return code 1: it speaks an older MQTT). */
function refusedProtocol (err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } }).cause
  return cause?.code === 1
}

/** The same options for a 3.1.1 broker: no MQTT 5 properties, a session kept without expiry. */
function mqtt311 (options: IClientOptions): IClientOptions {
  const { properties: _p, ...rest } = options
  return { ...rest, protocolVersion: 4, clean: false }
}

export class ExternalBroker implements MqttPort {
  readonly kind = 'external' as const
  get properties (): boolean { return this.protocolVersion === 5 }
  private readonly handlers = new HandlerTable()
  private readonly reconnected: Array<() => void> = []
  private url = ''
  private options: IClientOptions = {}
  /**
   * Each broker subscription: its QoS (to make it again on a broker that lost the session) and
   * its MQTT 5 Subscription Identifier (§3.8.2.1.2). A message matching several subscriptions
   * (a charge point's topic and the shared offline filter) comes once per subscription, and the
   * identifiers say which: each copy goes to its own subscription's handlers only.
   */
  private readonly subscriptions = new Map<string, { qos: QoS, id: number | undefined }>()
  private readonly bySubscriptionId = new Map<number, string[]>()
  private nextSubscriptionId = 1
  private readonly useSubscriptionIds: boolean
  readonly outbox: Outbox
  private readonly sweep: NodeJS.Timeout
  /** Since when the broker is away (ms), 0 while connected. */
  private awaySince = 0
  /** Set while in-flight messages are taken back from MQTT.js: why. */
  private withdrawing: 'requeue' | 'timeout' | undefined

  private constructor (readonly client: MqttClient, private readonly log: Logger, private readonly metrics: Metrics | undefined, limits: GatewayConfig['mqtt']['offlineQueue'], connack: IConnackPacket, readonly protocolVersion: 4 | 5) {
    this.outbox = new Outbox((m, acked) => this.transmit(m, acked), limits)
    this.useSubscriptionIds = protocolVersion === 5 && connack.properties?.subscriptionIdentifiersAvailable !== false
    client.on('message', (topic, payload, packet) => {
      const p = packet.properties
      if (p !== undefined) noteProps(payload, { responseTopic: p.responseTopic, correlationData: p.correlationData, userProperties: p.userProperties })
      const ids = p?.subscriptionIdentifier
      if (ids === undefined) {
        this.handlers.dispatch(topic, payload, packet.retain)
        return
      }
      for (const id of Array.isArray(ids) ? ids : [ids]) {
        const subscriptions = this.bySubscriptionId.get(id)
        if (subscriptions === undefined) continue
        if (subscriptions.length === 1) this.handlers.dispatchTo(subscriptions[0] as string, topic, payload, packet.retain)
        else for (const sub of subscriptions) if (sub === topic || topicMatches(stripShare(sub), topic)) this.handlers.dispatchTo(sub, topic, payload, packet.retain)
      }
    })
    // Before MQTT.js handles the CONNACK (and resends its unacknowledged messages).
    client.on('packetreceive', (packet: Packet) => { if (packet.cmd === 'connack') this.onConnack(packet) })
    client.on('connect', (connack) => this.onConnect(connack))
    // Made after the first connection: every 'connect' from here on is a re-connection. What
    // the listeners publish waits in the outbox until the subscriptions are back.
    client.on('connect', () => { for (const f of this.reconnected) f() })
    client.on('close', () => {
      this.outbox.closed()
      if (this.awaySince === 0) this.awaySince = Date.now()
    })
    const period = Math.min(1000, Math.max(50, limits.maxAgeMs / 4))
    this.sweep = setInterval(() => this.expire(Date.now(), limits.maxAgeMs), period)
    this.sweep.unref()
  }

  onReconnect (listener: () => void): void { this.reconnected.push(listener) }

  static async connect (opts: ExternalBrokerOptions): Promise<ExternalBroker> {
    let options: IClientOptions = {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      keepalive: opts.keepalive,
      protocolVersion: 5,
      // The session of the previous run was ended just before (wipeSession); this one is
      // resumed on every reconnection. (Clean Start with an expiry would be the same in MQTT 5,
      // but Mosquitto 2.0 saves to its persistence file only sessions that began without it.)
      clean: false,
      properties: { sessionExpiryInterval: Number.isFinite(opts.sessionExpiryMs) ? Math.min(NEVER_EXPIRES, Math.ceil(opts.sessionExpiryMs / 1000)) : NEVER_EXPIRES },
      reconnectPeriod: 1000,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      rejectUnauthorized: opts.rejectUnauthorized,
      // Made again by us, only when the broker lost the session, before anything is published.
      resubscribe: false,
      // Nothing waits in MQTT.js's own offline queue: the outbox holds it, bounded.
      queueQoSZero: false,
      // MQTT.js logs every packet through `debug`, whose enabled-check alone cost 1-2 % of the
      // gateway's CPU under load: off unless DEBUG asks for MQTT.js.
      log: MQTTJS_DEBUG ? undefined : noLog
    }
    if (opts.will !== undefined) options.will = { ...opts.will }
    if (opts.ca !== undefined) options.ca = readFileSync(opts.ca)
    if (opts.cert !== undefined) options.cert = readFileSync(opts.cert)
    if (opts.key !== undefined) options.key = readFileSync(opts.key)
    const log = opts.logger
    // A restarted node must not inherit the subscriptions and queued messages of its previous run.
    let version: 4 | 5 = 5
    let wipe
    try {
      wipe = await connectOnce(opts.url, { ...options, will: undefined, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 })
    } catch (err) {
      if (!refusedProtocol(err)) throw err
      version = 4
      options = mqtt311(options)
      log.warn({ url: redactText(opts.url) }, 'mqtt broker does not speak MQTT 5: using MQTT 3.1.1 (no session expiry, Receive Maximum, subscription identifiers or reason codes; in-flight window 20)')
      wipe = await connectOnce(opts.url, { ...options, will: undefined, clean: true, reconnectPeriod: 0 })
    }
    await wipe.client.endAsync()
    const { client, connack } = await connectOnce(opts.url, options)
    client.on('error', (err) => log.error({ err: err.message }, 'mqtt error'))
    client.on('offline', () => log.warn({ url: redactText(opts.url) }, 'mqtt broker connection lost; reconnecting'))
    client.on('reconnect', () => log.debug('mqtt reconnecting'))
    // No Nagle delay, and the packets of one event-loop turn (many charge points' messages) in
    // one write: on every (re)connection, each of which has a new stream.
    tuneMqttSocket(client.stream)
    client.on('connect', () => { tuneMqttSocket(client.stream); log.info({ url: redactText(opts.url) }, 'mqtt broker connected') })
    log.info({ url: redactText(opts.url), clientId: opts.clientId, protocolVersion: version === 5 ? '5' : '3.1.1', receiveMaximum: receiveMaximum(connack, version) }, 'mqtt broker connected')
    const broker = new ExternalBroker(client, log, opts.metrics, opts.offlineQueue, connack, version)
    broker.url = opts.url
    broker.options = options
    broker.outbox.opened(receiveMaximum(connack, version))
    return broker
  }

  publish (topic: string, payload: string | Buffer, qos: QoS, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.push({ topic, payload, qos, retain, at: Date.now(), done: (err) => (err != null ? reject(err) : resolve()) })
    })
  }

  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void, props?: MqttProps): void {
    this.push({ topic, payload, qos, retain: false, props, at: Date.now(), done: (err) => { if (err != null) onError(err) } })
  }

  subscribe (topic: string, qos: QoS, handler: MessageHandler): Promise<void> {
    return this.subscribeMany([{ topic, qos, handler }])
  }

  subscribeMany (subs: ReadonlyArray<{ topic: string, qos: QoS, handler: MessageHandler }>): Promise<void> {
    const fresh = subs.filter((s) => this.handlers.add(s.topic, s.handler))
    if (fresh.length === 0) return Promise.resolve()
    let id: number | undefined
    if (this.useSubscriptionIds) {
      id = this.nextSubscriptionId
      // MQTT 5 §3.8.2.1.2: 1 to 268,435,455; wrapped, an old one's number may be taken again.
      this.nextSubscriptionId = id >= 268435455 ? 1 : id + 1
      // One identifier per packet: the topics of one SUBSCRIBE share it (told apart by matching).
      this.bySubscriptionId.set(id, fresh.map((s) => s.topic))
    }
    for (const s of fresh) this.subscriptions.set(s.topic, { qos: s.qos, id })
    return new Promise((resolve, reject) => this.subscribeAtBroker(fresh.map((s) => ({ topic: s.topic, qos: s.qos })), id, (err) => (err != null ? reject(err) : resolve())))
  }

  private subscribeAtBroker (topics: Array<{ topic: string, qos: QoS }>, id: number | undefined, cb: (err?: Error) => void): void {
    // The identifier is a property of the whole packet.
    const properties = id === undefined ? undefined : { subscriptionIdentifier: id }
    const map: Record<string, { qos: QoS }> = {}
    for (const t of topics) map[t.topic] = { qos: t.qos }
    this.client.subscribe(map, { properties }, (err) => cb(err ?? undefined))
  }

  unsubscribe (topic: string, handler: MessageHandler): Promise<void> {
    // A filter (the shared "offline" one) keeps its handler until the UNSUBACK: the broker
    // hands it messages until it has the UNSUBSCRIBE, and those must still be answered (a
    // stopping node's share, measured lost). An exact topic stops at once: its messages are
    // another subscription's to answer by then (the cluster router's rule).
    const filter = topic.startsWith('$share/') || /[+#]/.test(topic)
    if (filter ? this.handlers.count(topic) !== 1 || !this.handlers.has(topic, handler) : !this.handlers.remove(topic, handler)) {
      if (filter) this.handlers.remove(topic, handler)
      return Promise.resolve()
    }
    const sub = this.subscriptions.get(topic)
    this.subscriptions.delete(topic)
    return new Promise((resolve) => {
      // An unsubscribe that fails (broker gone) leaves nothing to clean up on our side.
      this.client.unsubscribe(topic, () => {
        if (filter) this.handlers.remove(topic, handler)
        if (sub?.id !== undefined) {
          const left = this.bySubscriptionId.get(sub.id)?.filter((t) => t !== topic) ?? []
          if (left.length === 0) this.bySubscriptionId.delete(sub.id)
          else this.bySubscriptionId.set(sub.id, left)
        }
        resolve()
      })
    })
  }

  /**
   * End another client's session at the broker: connect with its client id (a clean start
   * takes the session over) and leave with Session Expiry 0. For a node that died: its
   * persistent session would otherwise keep its share of the shared subscriptions' messages
   * (the offline answers) queued for nobody until mqtt.session_expiry.
   */
  async endSession (clientId: string): Promise<void> {
    // 3.1.1: a clean session is discarded when it ends (§3.1.2.4).
    const properties = this.protocolVersion === 5 ? { sessionExpiryInterval: 0 } : undefined
    const { client } = await connectOnce(this.url, { ...this.options, clientId, clean: true, will: undefined, reconnectPeriod: 0, properties })
    await client.endAsync()
  }

  async close (): Promise<void> {
    // What was published last (the last answers and events of a shutdown) gets out first,
    // within a bound; the rest is told as never published.
    for (const deadline = Date.now() + CLOSE_DRAIN_MS; (this.outbox.waiting > 0 || this.outbox.inFlight > 0) && this.client.connected && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    clearInterval(this.sweep)
    this.outbox.failAll('closed', 'the gateway is closing')
    // An orderly stop ends the session too (MQTT 5 DISCONNECT, Session Expiry 0): nothing is
    // queued at the broker for a node that is gone, and it leaves the shared subscriptions' group.
    if (this.protocolVersion === 5) {
      await new Promise<void>((resolve) => this.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()))
      return
    }
    // 3.1.1 has no expiry to set at the DISCONNECT: the session is ended by a clean connection.
    await new Promise<void>((resolve) => this.client.end(false, {}, () => resolve()))
    await this.endSession(String(this.options.clientId)).catch((err: Error) => this.log.warn({ err: err.message }, 'mqtt session not ended at the broker'))
  }

  private push (m: Outgoing): void {
    if (this.outbox.push(m)) this.metrics?.inc('mqtt_queued_total')
  }

  private transmit (m: Outgoing, acked: (err?: Error, withdrawn?: boolean) => void): void {
    const properties = m.props === undefined || this.protocolVersion !== 5 ? undefined : { correlationData: m.props.correlationData, userProperties: m.props.userProperties }
    this.client.publish(m.topic, m.payload, properties === undefined ? { qos: m.qos, retain: m.retain } : { qos: m.qos, retain: m.retain, properties }, (err) => {
      const why = this.withdrawing
      if (why === undefined || err?.message !== 'Message removed') acked(err ?? undefined)
      else if (why === 'requeue') acked(undefined, true)
      else acked(new OutboxError('timeout', 'not acknowledged by the MQTT broker, which stayed unreachable past mqtt.offline_queue.max_age'))
    })
  }

  /**
   * A CONNACK, before MQTT.js resends what the broker did not acknowledge. A broker that lost
   * our session (restarted without persistence) knows none of those messages, nor our
   * subscriptions: they are taken back, to be published after the subscriptions are made again.
   */
  private onConnack (p: Packet): void {
    const connack = p as IConnackPacket
    if (connack.reasonCode !== undefined && connack.reasonCode !== 0) return
    if (connack.sessionPresent) return
    this.withdraw('requeue')
    this.outbox.requeueWithdrawn()
  }

  private onConnect (connack: IConnackPacket): void {
    const window = receiveMaximum(connack, this.protocolVersion)
    const away = this.awaySince === 0 ? 0 : Date.now() - this.awaySince
    this.awaySince = 0
    this.metrics?.inc('mqtt_reconnects_total')
    if (connack.sessionPresent) {
      this.log.info({ awayMs: away, waiting: this.outbox.waiting }, 'mqtt session resumed: publishing what waited')
      this.outbox.opened(window)
      return
    }
    // The broker lost our session: subscriptions first (their SUBACKs), then the messages.
    this.metrics?.inc('mqtt_sessions_lost_total')
    this.log.warn({ awayMs: away, subscriptions: this.subscriptions.size, waiting: this.outbox.waiting }, 'mqtt broker lost this node\'s session (no persistence?): subscribing again before publishing')
    if (this.subscriptions.size === 0) {
      this.outbox.opened(window)
      return
    }
    let left = this.subscriptions.size
    let failed = false
    for (const [topic, sub] of this.subscriptions) {
      this.subscribeAtBroker([{ topic, qos: sub.qos }], sub.id, (err) => {
        if (err !== undefined && !failed) {
          // The connection went away meanwhile: the next CONNACK starts over.
          failed = true
          this.log.warn({ err: err.message, topic }, 'mqtt resubscription failed')
        }
        if (--left === 0 && !failed && this.client.connected) this.outbox.opened(window)
      })
    }
  }

  /** Take back every publish MQTT.js holds unsent or unacknowledged (QoS 2 after PUBREC excepted). */
  private withdraw (why: 'requeue' | 'timeout'): void {
    const outgoing = (this.client as unknown as { outgoing: Record<string, { cmd?: string }> }).outgoing
    this.withdrawing = why
    try {
      for (const id of Object.keys(outgoing)) {
        if (outgoing[id]?.cmd !== 'publish') continue
        const messageId = Number(id)
        let released = false
        // After PUBREC the broker holds the message: only PUBREL is owed, it stays.
        this.client.outgoingStore.get({ messageId }, (_err: Error | undefined, packet?: { cmd?: string }) => { released = packet?.cmd === 'pubrel' })
        if (!released) this.client.removeOutgoingMessage(messageId)
      }
    } finally {
      this.withdrawing = undefined
    }
  }

  /** From the sweep: what waited past max_age is dropped and told, in flight as well when the broker stays away. */
  private expire (now: number, maxAgeMs: number): void {
    this.outbox.expire(now)
    if (this.awaySince !== 0 && now - this.awaySince >= maxAgeMs && this.outbox.inFlight > 0) this.withdraw('timeout')
  }
}

/** One connection, or OCPPGW_ERR_MQTT_CONNECT within the connect timeout. */
async function connectOnce (url: string, options: IClientOptions): Promise<{ client: MqttClient, connack: IConnackPacket }> {
  const client = mqtt.connect(url, options)
  try {
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection to ${redactText(url)} within ${options.connectTimeout ?? 0} ms`)), options.connectTimeout)
      client.once('connect', (p) => { clearTimeout(timer); resolve(p) })
      client.once('error', (err) => { clearTimeout(timer); reject(err) })
    })
    return { client, connack }
  } catch (err) {
    client.end(true)
    throw new GatewayError('OCPPGW_ERR_MQTT_CONNECT', `cannot connect to MQTT broker ${redactText(url)}: ${(err as Error).message}`, { cause: err })
  }
}

function receiveMaximum (connack: IConnackPacket, version: 4 | 5): number {
  if (version === 4) return MQTT311_WINDOW
  return connack.properties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM
}

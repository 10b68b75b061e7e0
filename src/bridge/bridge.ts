/**
 * The MQTT side of the gateway, in one object: the topics, the backend port of each session,
 * downstream routing, connection events and presence. It listens to the session table's
 * lifecycle hooks; the sessions never see it.
 *
 * @example
 *   const bridge = new Bridge({ mqtt, config, sessions, metrics, log, nodeId })
 *   await bridge.start()
 *   await bridge.acquire(cid, version)           // before the upgrade is answered
 *   const session = new Session(socket, info, bridge.backendFor(cid, version), ctx)
 *   sessions.attach(session)
 */
import type { GatewayConfig } from '../config/load.js'
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import type { BackendPort } from '../session/backend-port.js'
import type { Session } from '../session/session.js'
import type { SessionTable } from '../session/sessions.js'
import type { MqttPort } from './adapters/mqtt-port.js'
import { MqttBackend, type BackendShared } from './backend.js'
import { ConnectionEvents } from './events.js'
import type { Presence } from './presence.js'
import { Publisher } from './publisher.js'
import { LocalRouter, type Router } from './router.js'
import { ClusterRouter } from './cluster-router.js'
import { mqttClientId } from './nodes.js'
import { compileTopics, type Topics } from './topics.js'
import { ControlChannel } from './control.js'
import { ResponseRoutes } from './responses.js'
import { FrameTracing } from '../observability/tracing.js'
import { gatewayReport } from './backend.js'
import { newest } from './handoff.js'

export interface BridgeOptions {
  mqtt: MqttPort
  config: GatewayConfig
  sessions: SessionTable
  metrics: Metrics
  log: Logger
  nodeId: string
}

export class Bridge {
  readonly topics: Topics
  readonly publish: Publisher
  private readonly shared: BackendShared
  private readonly router: Router
  private readonly events: ConnectionEvents
  private readonly control: ControlChannel

  constructor (private readonly o: BridgeOptions) {
    const { config, mqtt, metrics, log } = o
    this.topics = compileTopics(config)
    this.publish = new Publisher(mqtt, metrics, log)
    // Only where publishes carry MQTT 5 properties: no ids made for nobody.
    const tracing = new FrameTracing(config.upstream.traceContext && mqtt.properties === true)
    const responses = new ResponseRoutes(this.topics, (cid, topic, why) => {
      metrics.inc('response_topics_refused_total')
      log.warn({ cid, responseTopic: topic, why }, 'backend Call\'s MQTT 5 response topic not honoured (answered on the reply topic only)')
      this.publish.json(this.topics.gatewayError({ cid }), gatewayReport(cid, 'invalid_response_topic', `${why}; the answer goes to the reply topic only`, { ResponseTopic: topic }), config.events.qos)
    }, { requestResponse: config.dnstream.requestResponse, tracing })
    this.shared = { topics: this.topics, publish: this.publish, upstreamQos: config.upstream.qos, eventsQos: config.events.qos, responses, tracing }
    const routing = { ...o, topics: this.topics, publish: this.publish, dnstream: config.dnstream, upstreamQos: config.upstream.qos, eventsQos: config.events.qos, maxJsonDepth: config.maxJsonDepth, responses, tracing }
    // In process there is one node; on an external broker there may be many.
    this.events = new ConnectionEvents({
      enable: config.events.enable,
      qos: config.events.qos,
      nodeId: o.nodeId,
      topics: this.topics,
      publish: this.publish,
      onPublished: () => metrics.inc('events_published_total')
    })
    this.router = mqtt.kind === 'embedded'
      ? new LocalRouter(routing)
      : new ClusterRouter({ ...routing, mqttClientId: mqttClientId(config.mqtt.clientId, o.nodeId), onChargerLost: (cid, h) => this.events.lost(cid, h) })
    const router = this.router
    this.control = new ControlChannel({
      mqtt,
      publish: this.publish,
      sessions: o.sessions,
      metrics,
      log: log.child({ component: 'control' }),
      nodeId: o.nodeId,
      prefix: this.topics.controlPrefix,
      qos: config.events.qos,
      maxPayloadSize: config.dnstream.maxPayloadSize,
      ...(router instanceof ClusterRouter ? { cluster: { shareGroup: config.dnstream.shareGroup, holder: async (cid: string) => newest(await router.lookup.lookup(cid))?.node } } : {})
    })
  }

  /** Other nodes' charge points (external broker only). */
  get presence (): Presence | undefined { return this.router.presence }

  async start (): Promise<void> {
    await this.router.start()
    await this.control.start()
    this.o.sessions.observe({
      connected: (s, replaced) => {
        if (replaced === undefined) this.router.announce(s.cid, { since: s.connectedAt, version: s.dialect.version })
        this.events.connected(s)
      },
      disconnected: (s, reason, code, detail, current) => {
        if (current) this.router.announce(s.cid, undefined)
        this.router.release(s.cid, s.dialect.version)
        this.events.disconnected(s, reason, code, detail)
      }
    })
  }

  /** The downstream subscription of a charge point, taken before its upgrade is answered. */
  acquire (cid: string, version: string): Promise<void> { return this.router.acquire(cid, version) }
  /** Undo acquire() for an upgrade that did not become a session. */
  release (cid: string, version: string): void { this.router.release(cid, version) }

  backendFor (cid: string, version: string): BackendPort {
    return new MqttBackend(this.shared, cid, version)
  }

  /** An id no authenticator knows was let in (unknown_charger: accept): tell the operators. */
  reportUnknown (session: Session): void {
    this.o.metrics.inc('unknown_chargers_total')
    session.log.warn({ peer: session.info.peer }, 'unknown charge point accepted (unknown_charger: accept)')
    this.events.unknown(session)
  }

  async stop (): Promise<void> {
    await this.control.stop()
    await this.router.stop()
  }
}

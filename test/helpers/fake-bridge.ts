/**
 * The bridge's parts on a FakeMqtt, for unit tests of routing and the bridge: a session
 * table, the topics, the publisher, and sessions whose backend port is a real MqttBackend.
 */
import { pino } from 'pino'
import { MqttBackend, type BackendShared } from '../../src/bridge/backend.js'
import { Bridge } from '../../src/bridge/bridge.js'
import { Publisher } from '../../src/bridge/publisher.js'
import { ResponseRoutes } from '../../src/bridge/responses.js'
import { FrameTracing } from '../../src/observability/tracing.js'
import { LocalRouter, type RouterOptions } from '../../src/bridge/router.js'
import { ClusterRouter } from '../../src/bridge/cluster-router.js'
import type { Holding } from '../../src/bridge/presence.js'
import { compileTopics, type Topics } from '../../src/bridge/topics.js'
import { buildConfig, type GatewayConfig } from '../../src/config/load.js'
import type { OcppVersion } from '../../src/ocpp/dialect.js'
import { Metrics } from '../../src/observability/metrics.js'
import type { Logger } from '../../src/observability/logger.js'
import type { BackendPort } from '../../src/session/backend-port.js'
import { SessionTable } from '../../src/session/sessions.js'
import { fakeSession, type FakeSession, type FakeSessionOptions } from './fake-backend.js'
import { FakeMqtt } from './fake-mqtt.js'

export const NODE_ID = 'node-a'

export interface Parts {
  config: GatewayConfig
  layers: Record<string, unknown>
  mqtt: FakeMqtt
  metrics: Metrics
  log: Logger
  sessions: SessionTable
  topics: Topics
  publish: Publisher
  /** What a ClusterRouter of routerOf() reported as charge points of lost nodes. */
  lost: Array<{ cid: string, h: Holding }>
  /** A session of `cid` on a FakeSocket whose port is `port(cid, version)`, not yet attached. */
  session: (cid: string, version?: OcppVersion, o?: FakeSessionOptions) => FakeSession
}

export function parts (kind: 'embedded' | 'external', layers: Record<string, unknown> = {}, port?: (cid: string, version: string, p: Parts) => BackendPort): Parts {
  const config = buildConfig([{ log: { level: 'silent' } }, layers])
  const mqtt = new FakeMqtt(kind)
  const metrics = new Metrics()
  const log = pino({ level: 'silent' })
  const sessions = new SessionTable({ metrics, log, sweepPeriodMs: 3_600_000 })
  const topics = compileTopics(config)
  const publish = new Publisher(mqtt, metrics, log)
  const responses = new ResponseRoutes(topics, () => {})
  const shared: BackendShared = { topics, publish, upstreamQos: config.upstream.qos, eventsQos: config.events.qos, responses, tracing: new FrameTracing(false) }
  const p: Parts = {
    config,
    layers,
    lost: [],
    mqtt,
    metrics,
    log,
    sessions,
    topics,
    publish,
    session: (cid, version = '1.6', o = {}) => fakeSession({
      ...o,
      cid,
      version,
      config: layers,
      metrics,
      port: port?.(cid, version, p) ?? new MqttBackend(shared, cid, version)
    })
  }
  return p
}

export function routerOf (p: Parts): LocalRouter | ClusterRouter {
  const o: RouterOptions = {
    mqtt: p.mqtt,
    topics: p.topics,
    publish: p.publish,
    sessions: p.sessions,
    metrics: p.metrics,
    log: p.log,
    nodeId: NODE_ID,
    dnstream: p.config.dnstream,
    upstreamQos: p.config.upstream.qos,
    eventsQos: p.config.events.qos,
    maxJsonDepth: p.config.maxJsonDepth,
    responses: new ResponseRoutes(p.topics, () => {}),
    tracing: new FrameTracing(false)
  }
  return p.mqtt.kind === 'embedded' ? new LocalRouter(o) : new ClusterRouter({ ...o, onChargerLost: (cid, h) => p.lost.push({ cid, h }) })
}

/** A Bridge on the parts; its sessions' ports are the bridge's own backendFor(). */
export function bridgeOf (kind: 'embedded' | 'external', layers: Record<string, unknown> = {}): Parts & { bridge: Bridge } {
  // The ports are asked for only once the bridge exists.
  const ref: { bridge?: Bridge } = {}
  const p = parts(kind, layers, (cid, version) => (ref.bridge as Bridge).backendFor(cid, version))
  const bridge = ref.bridge = new Bridge({ mqtt: p.mqtt, config: p.config, sessions: p.sessions, metrics: p.metrics, log: p.log, nodeId: NODE_ID })
  return { ...p, bridge }
}

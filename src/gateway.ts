/**
 * The gateway as a library: `startGateway(config)` wires config -> logger -> MQTT ->
 * sessions -> listeners, and `close()` undoes it in reverse.
 *
 * @example
 *   const gw = await startGateway(buildConfig([{ mqtt: { url: 'mqtt://localhost:1883' } }]))
 *   // ... gw.listeners[0].port, gw.metrics.snapshot()
 *   await gw.close()
 */
import { hostname } from 'node:os'
import type { GatewayConfig } from './config/load.js'
import { compileTopics } from './bridge/topics.js'
import type { MqttPort, QoS } from './bridge/mqtt-port.js'
import { EmbeddedBroker } from './bridge/embedded-broker.js'
import { ExternalBroker } from './bridge/external-broker.js'
import { createLogger, type Logger } from './observability/logger.js'
import { Metrics } from './observability/metrics.js'
import { Registry } from './session/registry.js'
import { Session } from './session/session.js'
import type { GatewayContext } from './session/context.js'
import { WsListener, type UpgradeInfo } from './transport/ws-listener.js'
import type { WsSocket } from './transport/ws-socket.js'
import { openGatewayAuth } from './auth/setup.js'
import { createValidators, type Validators } from './schema/index.js'

let sharedValidators: Validators | undefined

export interface StartOptions {
  logger?: Logger
  /** Liveness sweep period; 1 s by default. */
  sweepPeriodMs?: number
  /** How long a shutdown waits for sockets to finish their closing handshake. */
  shutdownGraceMs?: number
}

export interface Gateway {
  readonly config: GatewayConfig
  readonly mqtt: MqttPort
  readonly metrics: Metrics
  readonly registry: Registry
  readonly listeners: WsListener[]
  readonly log: Logger
  /** Port of the embedded broker's TCP listener, when embedded. */
  readonly mqttPort: number | undefined
  readonly mqttWsPort: number | undefined
  close: () => Promise<void>
}

export async function startGateway (config: GatewayConfig, opts: StartOptions = {}): Promise<Gateway> {
  const log = opts.logger ?? createLogger(config.log.level)
  const metrics = new Metrics()
  const nodeId = config.nodeId !== '' ? config.nodeId : `${hostname()}-${process.pid}`

  let mqtt: MqttPort
  if (config.mqtt.url !== '') {
    mqtt = await ExternalBroker.connect({
      ...config.mqtt,
      clientId: config.mqtt.clientId !== '' ? config.mqtt.clientId : `ocpp-gateway-${nodeId}`,
      logger: log.child({ component: 'mqtt' })
    })
  } else {
    mqtt = await EmbeddedBroker.start({ ...config.mqtt.embedded, logger: log.child({ component: 'mqtt' }) })
  }

  const publishText = (topic: string, text: string, qos: QoS): void => {
    metrics.inc('mqtt_published_total')
    mqtt.post(topic, text, qos, (err) => {
      metrics.inc('mqtt_publish_errors_total')
      log.error({ topic, err: err.message }, 'MQTT publish failed')
    })
  }
  const publishJson = (topic: string, value: unknown, qos: QoS): void => publishText(topic, JSON.stringify(value), qos)
  // Compiled once, at start (all schemas of all versions): no compile pause in traffic.
  // Validators are pure and immutable, so gateways in one process share them.
  const validators = config.formatChecking.mode === 'disable' ? undefined : (sharedValidators ??= createValidators({ compile: 'eager' }))
  const ctx: GatewayContext = { config, topics: compileTopics(config), mqtt, metrics, log, nodeId, publishJson, publishText, validators }
  const registry = new Registry(ctx, { periodMs: opts.sweepPeriodMs ?? 1000 })
  await registry.start()

  const auth = await openGatewayAuth(config.auth, { log: log.child({ component: 'auth' }) })
  for (const line of auth.describe(config.listeners.map((l) => ({ name: `${l.type}:${l.name}`, profile: l.security.profile })))) {
    if (line.includes('WARNING')) log.warn(line)
    else log.info(line)
  }
  // A connection slot per accepted upgrade, given back when the socket closes or the upgrade aborts.
  const slots = new WeakMap<UpgradeInfo, () => void>()
  const unknown = new WeakSet<UpgradeInfo>()

  const listeners = config.listeners.map((l) => new WsListener(l, log, metrics, {
    prepare: async (info) => {
      // Authenticate BEFORE anything that touches an existing session for this id:
      // a second connection replaces the first only once it has authenticated.
      const r = await auth.guard.check({
        cid: info.cid,
        ...(info.username !== undefined ? { username: info.username } : {}),
        ...(info.password !== undefined ? { password: info.password } : {}),
        ...(info.certCN !== undefined ? { certCN: info.certCN } : {}),
        address: info.address,
        peer: info.peer,
        listener: `${l.type}:${l.name}`,
        profile: l.security.profile
      })
      if (!r.ok) return { status: r.status, reason: r.body, code: r.code, headers: r.headers }
      try {
        await registry.acquire(info.cid, info.choice.dialect.version)
      } catch (err) {
        r.release()
        throw err
      }
      slots.set(info, r.release)
      if (r.reason === 'unknown_accepted') unknown.add(info)
      return undefined
    },
    abort: (info) => { slots.get(info)?.(); registry.release(info.cid, info.choice.dialect.version) },
    connect: (socket, info) => {
      // Until Session takes a ChargePointSocket: the listener's sockets are WsSockets.
      const ws = (socket as WsSocket).ws
      const release = slots.get(info)
      if (release !== undefined) ws.once('close', release)
      const session = new Session(ws, {
        cid: info.cid,
        dialect: info.choice.dialect,
        subprotocol: info.choice.subprotocol,
        peer: info.peer,
        username: info.username,
        listener: info.listener.name,
        limits: info.listener
      }, ctx)
      registry.attach(session)
      if (unknown.has(info)) registry.reportUnknown(session)
    }
  }))
  try {
    for (const l of listeners) await l.listen()
  } catch (err) {
    registry.closeAll()
    await Promise.all(listeners.map((l) => l.stopAccepting()))
    await auth.close()
    await mqtt.close()
    throw err
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info({ sessions: registry.size }, 'shutting down')
      const stopped = Promise.all(listeners.map((l) => l.stopAccepting()))
      registry.closeAll()
      const grace = opts.shutdownGraceMs ?? 3000
      const timer = setTimeout(() => { for (const l of listeners) l.terminateAll() }, grace)
      await stopped
      clearTimeout(timer)
      // Let the disconnect events and gateway answers reach the broker before it goes.
      await new Promise((resolve) => setImmediate(resolve))
      await registry.stop().catch(() => {})
      await auth.close()
      await mqtt.close()
      log.info('stopped')
    })()
    return closing
  }

  return {
    config,
    mqtt,
    metrics,
    registry,
    listeners,
    log,
    mqttPort: mqtt instanceof EmbeddedBroker ? mqtt.tcpPort : undefined,
    mqttWsPort: mqtt instanceof EmbeddedBroker ? mqtt.wsPort : undefined,
    close
  }
}

/**
 * The gateway as a library: `startGateway(config)` opens, in order, the logger, the schema
 * validators, MQTT (embedded broker or external connection), the session table and the
 * bridge, authentication, and the listeners; `close()` undoes it in reverse. A start that
 * fails half-way closes whatever it had opened before it throws the (coded) error.
 *
 * @example
 *   const gw = await startGateway(buildConfig([{ mqtt: { url: 'mqtt://localhost:1883' } }]))
 *   // ... gw.listeners[0].port, gw.metrics.snapshot()
 *   await gw.close()
 */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import type { GatewayConfig } from './config/load.js'
import type { MqttPort } from './bridge/adapters/mqtt-port.js'
import { EmbeddedBroker } from './bridge/adapters/embedded-broker.js'
import { chargerIdParser } from './bridge/adapters/shared-subscriptions.js'
import { ExternalBroker } from './bridge/adapters/external-broker.js'
import { Bridge } from './bridge/bridge.js'
import { compileAcl } from './bridge/mqtt-acl.js'
import { mqttClientId, nodeWill } from './bridge/nodes.js'
import { compileTopics } from './bridge/topics.js'
import { createLogger, type Logger } from './observability/logger.js'
import { Metrics } from './observability/metrics.js'
import { SessionTable } from './session/sessions.js'
import { Session } from './session/session.js'
import type { SessionContext } from './session/context.js'
import { FrameAudit } from './observability/frame-audit.js'
import { WsListener } from './transport/ws-listener.js'
import { createAdmission } from './transport/admission.js'
import { openGatewayAuth, type GatewayAuth } from './auth/setup.js'
import { HashLimiter } from './auth/hash-limiter.js'
import { ConnectionLimits } from './auth/limits.js'
import { ALL_VERSIONS, createValidators, loadPrecompiled, type Validators } from './schema/index.js'
import { loadActionSchemas } from './schema/schema-source.js'
import { startAdminServer, type AdminServer } from './admin/server.js'
import { checkAdminExposure } from './admin/auth.js'

let sharedValidators: Promise<Validators> | undefined

/**
 * Every version's validators, compiled at build time where that code is current (standalone.ts),
 * else compiled now (about 1.5 s of CPU for all), so no schema is compiled in traffic.
 */
async function openValidators (log: Logger): Promise<Validators> {
  const started = performance.now()
  const { compiled, notUsed } = await loadPrecompiled(ALL_VERSIONS)
  const validators = createValidators({ compile: 'eager', precompiled: compiled })
  const ms = Math.round(performance.now() - started)
  if (Object.keys(notUsed).length === 0) log.debug({ ms }, 'OCPP validators loaded (compiled at build time)')
  else log.info({ ms, schemas: validators.compiledAtRunTime(), notPrecompiled: notUsed }, 'OCPP validators: some compiled at start, not at build time (npm run build makes them)')
  return validators
}

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
  /** The connected charge points of this node. */
  readonly sessions: SessionTable
  readonly bridge: Bridge
  readonly listeners: WsListener[]
  readonly log: Logger
  /** Port of the embedded broker's TCP listener, when embedded. */
  readonly mqttPort: number | undefined
  readonly mqttWsPort: number | undefined
  /** Port of the embedded broker's MQTT-over-TLS listener, when on. */
  readonly mqttTlsPort: number | undefined
  /** Port of the embedded broker's MQTT-over-secure-WebSocket listener, when on. */
  readonly mqttWssPort: number | undefined
  /** Port of the admin HTTP server (health, readiness, metrics), when on. */
  readonly adminPort: number | undefined
  /** Re-read what can change without a restart (the wss listeners' certificates): SIGHUP. */
  reload: () => Promise<void>
  close: () => Promise<void>
}

type Undo = () => Promise<void> | void

export async function startGateway (config: GatewayConfig, opts: StartOptions = {}): Promise<Gateway> {
  const log = opts.logger ?? createLogger(config.log.level)
  // EMQX keys ignored or changed here: once each, at start (src/config/emqx-compat.ts).
  for (const w of config.warnings) log.warn(w)
  // The `action` label of frames_total: the actions of every version's schema set, others `other`.
  const metrics = new Metrics({ actions: new Set(ALL_VERSIONS.flatMap((v) => [...loadActionSchemas(v).keys()])) })
  const startedAt = Date.now()
  const nodeId = config.nodeId !== '' ? config.nodeId : `${hostname()}-${process.pid}`
  // Compiled once, at start (all schemas of all versions): no compile pause in traffic.
  // Validators are pure and immutable, so gateways in one process share them.
  const validators = config.formatChecking.mode === 'disable' ? undefined : await (sharedValidators ??= openValidators(log).catch((err: unknown) => { sharedValidators = undefined; throw err }))
  // What has been opened so far, undone in reverse if a later step fails.
  const opened: Undo[] = []
  try {
    // Before anything listens: an admin server others could reach with no key to ask.
    checkAdminExposure(config.admin)
    // One bound on password hashing for the whole process: charge points and MQTT users share the cores.
    const hashes = new HashLimiter(config.auth.hashes)
    const mqtt = await openMqtt(config, nodeId, log, metrics, hashes)
    opened.push(() => mqtt.close())
    const sessions = new SessionTable({ metrics, log, sweepPeriodMs: opts.sweepPeriodMs ?? 1000 })
    opened.push(() => sessions.closeAll())
    const bridge = new Bridge({ mqtt, config, sessions, metrics, log, nodeId })
    await bridge.start()
    opened.push(() => bridge.stop())

    const authLog = log.child({ component: 'auth' })
    const auth = await openGatewayAuth(config.auth, {
      log: authLog,
      hashes,
      onPasswordChanged: () => metrics.inc('credential_changes_total', 'password_completed'),
      onProfileRaised: () => metrics.inc('credential_changes_total', 'profile_raised')
    })
    opened.push(() => auth.close())
    for (const line of auth.describe(config.listeners.map((l) => ({ name: `${l.type}:${l.name}`, profile: l.security.profile })))) {
      if (line.includes('WARNING')) log.warn(line)
      else log.info(line)
    }

    let audit: FrameAudit | undefined
    if (config.log.audit !== undefined) {
      const a = config.log.audit
      audit = await FrameAudit.open(a, (err) => {
        metrics.inc('frame_audit_errors_total')
        log.error({ err: err.message, file: a.file }, 'frame audit sink: write or rotation failed')
      })
      opened.push(() => audit?.close())
      log.info({ file: a.file, chargers: a.chargers.length === 0 ? 'all' : a.chargers }, 'frame audit sink open')
    }
    const ctx: SessionContext = { config, metrics, log, validators, credentials: credentialsPort(auth, metrics, authLog), audit }
    const listeners: WsListener[] = []
    opened.push(() => Promise.all(listeners.map((l) => l.stopAccepting())).then(() => {}))
    for (const l of config.listeners) {
      // TLS files are read here: a missing certfile fails the start.
      listeners.push(new WsListener(l, log, metrics, createAdmission({
        guard: auth.guard,
        listener: l,
        acquire: (cid, version) => bridge.acquire(cid, version),
        release: (cid, version) => { bridge.release(cid, version) },
        onConnect: (socket, info, { unknown }) => {
          const session = new Session(socket, {
            cid: info.cid,
            dialect: info.choice.dialect,
            subprotocol: info.choice.subprotocol,
            peer: info.peer,
            username: info.username,
            listener: info.listener.name,
            limits: info.listener
          }, bridge.backendFor(info.cid, info.choice.dialect.version), ctx)
          sessions.attach(session)
          if (unknown) bridge.reportUnknown(session)
        }
      })))
    }
    for (const l of listeners) await l.listen()

    // Last to open, first to close: it reports on everything above.
    let admin: AdminServer | undefined
    if (config.admin.bind !== undefined) {
      admin = await startAdminServer({
        bind: config.admin.bind,
        apiKeysFile: config.admin.apiKeysFile,
        metricsAuth: config.admin.metricsAuth,
        tls: config.admin.tls,
        trace: { frames: config.admin.traceFrames, idleMs: config.admin.traceIdleMs },
        callTimeoutMs: config.dnstream.awaitingTimeoutMs,
        log,
        metrics,
        chargers: () => chargersOf(sessions),
        listeners: () => listeners.map((l) => ({ name: `${l.config.type}:${l.config.name}`, listening: l.listening })),
        mqttConnected: () => !(mqtt instanceof ExternalBroker) || mqtt.client.connected,
        sessions,
        status: {
          version: packageVersion(),
          nodeId,
          startedAt,
          listeners: () => listeners.map((l) => ({
            name: `${l.config.type}:${l.config.name}`,
            bound: l.listening ? `${l.config.host}:${l.port}` : null,
            profile: l.config.security.profile ?? null,
            connections: countWhere(sessions, l.config.name)
          })),
          broker: () => ({ kind: mqtt.kind, connected: !(mqtt instanceof ExternalBroker) || mqtt.client.connected }),
          config: config.redacted
        }
      })
      opened.push(() => admin?.close())
    }

    let closing: Promise<void> | undefined
    const close = (): Promise<void> => {
      closing ??= (async () => {
        log.info({ sessions: sessions.size }, 'shutting down')
        await admin?.close()
        const stopped = Promise.all(listeners.map((l) => l.stopAccepting()))
        sessions.closeAll()
        const timer = setTimeout(() => { for (const l of listeners) l.terminateAll() }, opts.shutdownGraceMs ?? 3000)
        await stopped
        clearTimeout(timer)
        // Let the disconnect events and gateway answers reach the broker before it goes.
        await new Promise((resolve) => setImmediate(resolve))
        await bridge.stop().catch(() => {})
        await auth.close()
        await mqtt.close()
        await audit?.close()
        log.info('stopped')
      })()
      return closing
    }
    const reload = async (): Promise<void> => {
      await Promise.all(listeners.map((l) => l.reload()))
      if (mqtt instanceof EmbeddedBroker) await mqtt.reload()
      await admin?.reload().catch((err: Error) => { log.error({ err: err.message }, 'admin API keys not reloaded; the keys in use are kept') })
    }

    return {
      config,
      mqtt,
      metrics,
      sessions,
      bridge,
      listeners,
      log,
      mqttPort: mqtt instanceof EmbeddedBroker ? mqtt.tcpPort : undefined,
      mqttWsPort: mqtt instanceof EmbeddedBroker ? mqtt.wsPort : undefined,
      mqttTlsPort: mqtt instanceof EmbeddedBroker ? mqtt.tlsPort : undefined,
      mqttWssPort: mqtt instanceof EmbeddedBroker ? mqtt.wssPort : undefined,
      adminPort: admin?.port,
      reload,
      close
    }
  } catch (err) {
    for (const undo of opened.reverse()) {
      try { await undo() } catch (e) { log.warn({ err: (e as Error).message }, 'error while undoing a failed start') }
    }
    throw err
  }
}

function countWhere (sessions: SessionTable, listener: string): number {
  let n = 0
  for (const s of sessions.all()) if (s.info.listener === listener) n++
  return n
}

let version: string | undefined
function packageVersion (): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  return version
}

function * chargersOf (sessions: SessionTable): Iterable<{ version: string, listener: string }> {
  for (const s of sessions.all()) yield { version: s.dialect.version, listener: s.info.listener }
}

/**
 * The embedded broker alone, for the primary process of `--workers N` (src/cli/workers.ts): the
 * workers connect to it as nodes, with the `internal` user (role gateway).
 */
export function startEmbeddedBroker (config: GatewayConfig, log: Logger, internal: { username: string, password: string }): Promise<EmbeddedBroker> {
  return openMqtt(config, config.nodeId, log, new Metrics(), new HashLimiter(config.auth.hashes), internal) as Promise<EmbeddedBroker>
}

function openMqtt (config: GatewayConfig, nodeId: string, log: Logger, metrics: Metrics, hashLimiter: HashLimiter, internal?: { username: string, password: string }): Promise<MqttPort> {
  const logger = log.child({ component: 'mqtt' })
  if (config.mqtt.url === '') {
    return EmbeddedBroker.start({
      ...config.mqtt.embedded,
      internal,
      acl: compileAcl(config),
      chargerIdOf: chargerIdParser(config),
      hashLimiter,
      // The charge points' lockout settings, in a table of MQTT users' own.
      lockouts: new ConnectionLimits({ connRate: false, maxConnections: 0, addressLockout: config.auth.limits.addressLockout, cidLockout: config.auth.limits.cidLockout }),
      logger,
      metrics
    })
  }
  return ExternalBroker.connect({
    ...config.mqtt,
    clientId: mqttClientId(config.mqtt.clientId, nodeId),
    // The other nodes learn from the broker at once when this one dies (./bridge/nodes.ts).
    will: nodeWill(compileTopics(config).nodesPrefix, nodeId),
    logger,
    metrics
  })
}

/**
 * What the sessions tell the credentials store: a password change a charge point accepted is
 * stored (never logged: the line names the charge point only), counted either way.
 */
function credentialsPort (auth: GatewayAuth, metrics: Metrics, log: Logger): NonNullable<SessionContext['credentials']> {
  return {
    accepted: (cid, change) => {
      if (change.kind === 'profile') {
        auth.profileAccepted(cid, change.profile).then((r) => {
          metrics.inc('credential_changes_total', `profile_${r === 'stored' ? 'upgrade_stored' : r}`)
          if (r === 'stored') log.info({ cid, profile: change.profile }, 'security profile upgrade accepted by the charge point: stored; it becomes the minimum once the charge point connects on it')
          else if (r === 'not_stored') log.warn({ cid, profile: change.profile }, 'security profile upgrade accepted by the charge point, not stored: no credentials file has this charge point (an HTTP authenticator gets the listener\'s profile in each request)')
        }, (err: Error) => {
          metrics.inc('credential_changes_total', 'profile_failed')
          log.error({ cid, err: err.message }, 'security profile upgrade accepted by the charge point but not stored: the credentials file could not be written')
        })
        return
      }
      auth.passwordAccepted(cid, change.candidates).then((r) => {
        metrics.inc('credential_changes_total', `password_${r}`)
        if (r === 'stored') log.info({ cid, readings: change.candidates.length }, 'new password accepted by the charge point: stored, the old one stays valid until it connects with the new one')
        else log.warn({ cid }, 'new password accepted by the charge point, not stored: no credentials file with password_rotation has this charge point (an HTTP authenticator\'s service must learn it from the CSMS)')
      }, (err: Error) => {
        metrics.inc('credential_changes_total', 'password_failed')
        log.error({ cid, err: err.message }, 'new password accepted by the charge point but not stored: the credentials file could not be written; the charge point will be refused with it')
      })
    }
  }
}

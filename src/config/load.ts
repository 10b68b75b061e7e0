/**
 * Configuration: defaults < file (YAML, JSON or HOCON) < environment < CLI flags, validated once
 * with a clear error naming the bad key, then normalised and deep-frozen. The validated tree
 * itself (secrets included) is not kept: only its redacted copy, for --print-config.
 */
import { availableParallelism } from 'node:os'
import { Ajv } from 'ajv'
import { adaptEmqx } from './emqx-compat.js'
import { configFromEnv, deepMerge, loadConfigFile, parseScalar, readConfigFile, setPath, type Tree } from './sources.js'
import { configSchema } from './schema.js'
import { durationMs } from './duration.js'
import { allSubprotocols } from '../ocpp/dialect.js'
import { buildAuthConfig, buildHttpAuthenticator, buildListenerSecurity, type AuthConfig, type HttpAuthenticatorConfig, type ListenerSecurity } from './security.js'
import { ConfigError } from './config-error.js'
import type { SharedStrategy } from './defaults.js'
import { deepFreeze } from './freeze.js'
import { redactConfig } from '../observability/redact.js'
import { trustedProxies } from '../util/cidr.js'

export { ConfigError }

export interface ListenerConfig {
  name: string
  type: 'ws' | 'wss'
  security: ListenerSecurity
  host: string
  port: number
  path: string
  subprotocols: string[]
  failIfNoSubprotocol: boolean
  maxFrameSize: number
  maxConnections: number
  handshakeTimeoutMs: number
  /** CIDRs whose `proxyAddressHeader` gives the client's address (src/transport/client-address.ts). */
  trustedProxies: string[]
  /** A PROXY protocol v1/v2 header precedes every connection (from trustedProxies, when set). */
  proxyProtocol: boolean
  /** Lower-case header name, e.g. x-forwarded-for. */
  proxyAddressHeader: string
  /** Lower-case header name of the client's port through a trusted proxy, e.g. x-forwarded-port. */
  proxyPortHeader: string
  /** Upgrades per second (burst: one second's worth); undefined = no cap. */
  maxConnRate?: number
  /** Origins accepted (exact, lower case) when the check is on; undefined = no check. */
  checkOrigins?: readonly string[]
  /** With the check on: a request without Origin passes. */
  allowOriginAbsence: boolean
  pingIntervalMs: number
  maxMalformedFrames: number
  malformedWindowMs: number
  highWatermark: number
  slowConsumerTimeoutMs: number
}

export interface GatewayConfig {
  mountpoint: string
  nodeId: string
  /** Worker processes (`workers`, `auto` resolved to the cores); 1 = one process, as before. */
  workers: number
  /** Deepest nesting of a frame or envelope accepted (max_json_depth). */
  maxJsonDepth: number
  defaultHeartbeatIntervalMs: number
  heartbeatBackoff: number
  idleTimeoutMs: number
  messageFormatChecking: 'all' | 'upstream_only' | 'dnstream_only' | 'disable'
  /** The policy of src/schema/policy.ts: mode, warn-only, per-Action overrides. */
  formatChecking: { mode: 'all' | 'upstream_only' | 'dnstream_only' | 'disable', warn_only: boolean, overrides: Record<string, 'check' | 'skip' | 'warn'> }
  upstream: { topic: string, topicOverrideMapping: Record<string, string>, replyTopic: string, errorTopic: string, qos: 0 | 1 | 2, awaitingTimeoutMs: number, maxPendingCalls: number, traceContext: boolean }
  dnstream: { topic: string, qos: 0 | 1 | 2, maxMqueueLen: number, maxPayloadSize: number, awaitingTimeoutMs: number, offlineAnswer: boolean, shareGroup: string, requestResponse: boolean }
  events: { enable: boolean, topic: string, errorTopic: string, qos: 0 | 1 | 2 }
  listeners: ListenerConfig[]
  auth: AuthConfig
  mqtt: {
    url: string
    clientId: string
    username?: string
    password?: string
    ca?: string
    cert?: string
    key?: string
    rejectUnauthorized: boolean
    keepalive: number
    /** The node's MQTT 5 session on an external broker, kept this long while it is away. */
    sessionExpiryMs: number
    /** Messages waiting for an external broker (away, or its in-flight window full). */
    offlineQueue: { maxMessages: number, maxAgeMs: number }
    embedded: {
      bind?: { host: string, port: number }
      wsBind?: { host: string, port: number }
      /** MQTT over TLS (mqtts), with its certificate (and, for client certificates, profile 3). */
      tlsBind?: { host: string, port: number }
      /** MQTT over secure WebSocket (wss), with the same certificate as tlsBind. */
      wssBind?: { host: string, port: number }
      tls?: ListenerSecurity
      /** Clients without credentials are let in; needed to bind a non-loopback address without users. */
      allowAnonymous: boolean
      /** MQTT users (the charge points' credentials format); undefined = none. */
      usersFile?: string
      /** An HTTP service that checks MQTT logins (after usersFile, for users not in it). */
      authentication?: HttpAuthenticatorConfig
      roles: Readonly<Record<string, 'backend' | 'observer'>>
      /** Largest MQTT packet from a client, bytes. */
      maxPacketSize: number
      /** Connections to the embedded broker, every listener together. */
      maxClients: number
      /** QoS 1/2 messages waiting for one client. */
      maxQueuedMessages: number
      /** Unsent bytes for one client connection. */
      maxBufferedBytes: number
      /** Kept state of a persistent session that went away, ms (Infinity = kept). */
      sessionExpiryMs: number
      /** Which member of a `$share/…` group gets a message. */
      sharedSubscriptionStrategy: SharedStrategy
    }
  }
  /** The admin HTTP server; `bind` undefined = off. */
  admin: {
    bind?: { host: string, port: number }
    /** Hashed API keys (src/admin/api-keys.ts); undefined = none, /api answers 401. */
    apiKeysFile?: string
    /** /metrics and the health endpoints ask a key too. */
    metricsAuth: boolean
    /** Frames kept per traced charge point (0 = no trace endpoint), and how long an unwatched trace lives, ms. */
    traceFrames: number
    traceIdleMs: number
    /** HTTPS: the certificate (as a wss listener's); undefined = plain HTTP. */
    tls?: ListenerSecurity
  }
  log: {
    level: string
    frames: boolean
    /** The frame audit sink; undefined = off (src/observability/frame-audit.ts). */
    audit?: { file: string, size: string, frequency?: 'daily' | 'hourly' | number, keep: number, chargers: readonly string[] }
  }
  /** One line per EMQX key that is ignored or changed here (./emqx-compat.ts): logged at start. */
  warnings: readonly string[]
  /**
   * The validated tree, defaults filled in, with every secret replaced (redactConfig): what
   * --print-config prints. The tree with its secrets is not kept on the config.
   */
  redacted: Readonly<Record<string, unknown>>
}

export { configFromEnv, deepMerge, loadConfigFile, parseScalar, readConfigFile, setPath }

const ajv = new Ajv({ useDefaults: true, allErrors: false, strict: false })
const validate = ajv.compile(configSchema)

function parseHostPort (text: string, key: string): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim())
  const port = Number(m?.[3])
  if (m === null || !(port >= 0 && port <= 65535)) throw new ConfigError(`${key}: "${text}" is not HOST:PORT`)
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2] as string), port }
}

function optionalBind (text: string, key: string): { host: string, port: number } | undefined {
  return text === '' || text === 'off' || text === 'false' ? undefined : parseHostPort(text, key)
}

function describeAjvError (): string {
  const e = validate.errors?.[0]
  if (e == null) return 'invalid configuration'
  let key = e.instancePath.replace(/^\//, '').split('/').join('.')
  const params = e.params as Record<string, unknown>
  if (e.keyword === 'additionalProperties') {
    key = [key, String(params.additionalProperty)].filter(Boolean).join('.')
    return `unknown configuration key "${key}"`
  }
  if (e.keyword === 'enum') return `${key || 'config'}: must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`
  return `${key || 'config'}: ${e.message ?? 'invalid'}`
}

/**
 * Validate and normalise a merged tree (defaults are filled in by the schema). The result is
 * deep-frozen: no module can change the configuration another one reads.
 *
 * @example
 *   const config = buildConfig([readConfigFile('gw.yaml'), configFromEnv(process.env)])
 *   config.upstream.qos = 0 // TypeError: Cannot assign to read only property
 */
export function buildConfig (layers: Tree[]): GatewayConfig {
  let tree: Tree = { listeners: { ws: { default: {} } } }
  for (const layer of layers) tree = deepMerge(tree, layer)
  // EMQX's own keys: honoured, translated, or ignored with a warning (./emqx-compat.ts).
  const adapted = adaptEmqx(structuredClone(tree))
  tree = adapted.tree
  if (!validate(tree)) throw new ConfigError(describeAjvError())
  const m = tree.mqtt as { url?: string, embedded?: { bind?: string } } | undefined
  if (tree.workers !== 1 && m?.url === '' && m.embedded?.bind === 'off') {
    throw new ConfigError('workers: with the embedded broker the workers connect to it over mqtt.embedded.bind, which is off; give it a loopback address (e.g. 127.0.0.1:1883) or use an external broker (mqtt.url)')
  }

  const t = tree as any
  const listeners: ListenerConfig[] = []
  for (const type of ['ws', 'wss'] as const) {
    for (const [name, l] of Object.entries((t.listeners[type] ?? {}) as Record<string, any>)) {
      const key = `listeners.${type}.${name}`
      if (l.enable === false) continue
      const sp: unknown = l.websocket.supported_subprotocols
      const subprotocols = Array.isArray(sp) ? sp.map(String) : String(sp).split(',').map((s) => s.trim())
      for (const p of subprotocols) {
        if (!allSubprotocols.includes(p)) throw new ConfigError(`${key}.websocket.supported_subprotocols: unknown sub-protocol "${p}" (supported: ${allSubprotocols.join(', ')})`)
      }
      const { host, port } = parseHostPort(l.bind, `${key}.bind`)
      try {
        trustedProxies(l.trusted_proxies)
      } catch (err) {
        throw new ConfigError(`${key}.trusted_proxies: ${(err as Error).message}`)
      }
      listeners.push({
        name,
        type,
        security: buildListenerSecurity(type, l, key),
        host,
        port,
        path: l.websocket.path.replace(/\/+$/, ''),
        subprotocols,
        failIfNoSubprotocol: l.websocket.fail_if_no_subprotocol,
        maxFrameSize: l.websocket.max_frame_size,
        maxConnections: l.max_connections,
        handshakeTimeoutMs: durationMs(l.handshake_timeout, `${key}.handshake_timeout`),
        trustedProxies: [...l.trusted_proxies],
        proxyProtocol: l.proxy_protocol === true,
        proxyAddressHeader: String(l.websocket.proxy_address_header).toLowerCase(),
        proxyPortHeader: String(l.websocket.proxy_port_header).toLowerCase(),
        ...(l.max_conn_rate === 'infinity' ? {} : { maxConnRate: Number(l.max_conn_rate) }),
        ...(l.websocket.check_origin_enable === true ? { checkOrigins: originList(l.websocket.check_origins) } : {}),
        allowOriginAbsence: l.websocket.allow_origin_absence !== false,
        pingIntervalMs: durationMs(l.websocket.ping_interval, `${key}.websocket.ping_interval`),
        maxMalformedFrames: l.websocket.max_malformed_frames,
        malformedWindowMs: durationMs(l.websocket.malformed_window, `${key}.websocket.malformed_window`),
        highWatermark: l.websocket.high_watermark,
        slowConsumerTimeoutMs: durationMs(l.websocket.slow_consumer_timeout, `${key}.websocket.slow_consumer_timeout`)
      })
    }
  }
  if (listeners.length === 0) throw new ConfigError('listeners.ws: at least one listener must be enabled')

  const mqtt = t.mqtt
  return deepFreeze({
    mountpoint: t.mountpoint,
    nodeId: t.node_id,
    workers: t.workers === 'auto' ? availableParallelism() : t.workers,
    maxJsonDepth: t.max_json_depth,
    defaultHeartbeatIntervalMs: durationMs(t.default_heartbeat_interval, 'default_heartbeat_interval'),
    heartbeatBackoff: t.heartbeat_checking_times_backoff,
    idleTimeoutMs: durationMs(t.idle_timeout, 'idle_timeout'),
    messageFormatChecking: t.message_format_checking,
    formatChecking: { mode: t.message_format_checking, warn_only: t.message_format_warn_only, overrides: t.message_format_overrides },
    upstream: {
      topic: t.upstream.topic,
      topicOverrideMapping: t.upstream.topic_override_mapping,
      replyTopic: t.upstream.reply_topic,
      errorTopic: t.upstream.error_topic,
      qos: t.upstream.qos,
      awaitingTimeoutMs: durationMs(t.upstream.awaiting_timeout, 'upstream.awaiting_timeout'),
      maxPendingCalls: t.upstream.max_pending_calls,
      traceContext: t.upstream.trace_context
    },
    dnstream: {
      topic: t.dnstream.topic,
      qos: t.dnstream.qos,
      maxMqueueLen: t.dnstream.max_mqueue_len,
      maxPayloadSize: t.dnstream.max_payload_size,
      awaitingTimeoutMs: durationMs(t.dnstream.awaiting_timeout, 'dnstream.awaiting_timeout'),
      offlineAnswer: t.dnstream.offline_answer,
      requestResponse: t.dnstream.request_response,
      shareGroup: t.dnstream.share_group
    },
    events: { enable: t.events.enable, topic: t.events.topic, errorTopic: t.events.error_topic, qos: t.events.qos },
    listeners,
    auth: buildAuthConfig(t),
    mqtt: {
      url: mqtt.url,
      clientId: mqtt.client_id,
      username: mqtt.username,
      password: mqtt.password,
      ca: mqtt.ca,
      cert: mqtt.cert,
      key: mqtt.key,
      rejectUnauthorized: mqtt.reject_unauthorized,
      keepalive: mqtt.keepalive,
      sessionExpiryMs: durationMs(mqtt.session_expiry, 'mqtt.session_expiry'),
      offlineQueue: { maxMessages: mqtt.offline_queue.max_messages, maxAgeMs: durationMs(mqtt.offline_queue.max_age, 'mqtt.offline_queue.max_age') },
      embedded: {
        bind: optionalBind(mqtt.embedded.bind, 'mqtt.embedded.bind'),
        wsBind: optionalBind(mqtt.embedded.ws_bind, 'mqtt.embedded.ws_bind'),
        tlsBind: optionalBind(mqtt.embedded.tls_bind, 'mqtt.embedded.tls_bind'),
        wssBind: optionalBind(mqtt.embedded.wss_bind, 'mqtt.embedded.wss_bind'),
        // One certificate for both secure listeners; read only when one of them is on.
        tls: optionalBind(mqtt.embedded.tls_bind, 'mqtt.embedded.tls_bind') === undefined && optionalBind(mqtt.embedded.wss_bind, 'mqtt.embedded.wss_bind') === undefined ? undefined : buildListenerSecurity('wss', { ssl_options: mqtt.embedded.ssl_options }, 'mqtt.embedded'),
        allowAnonymous: mqtt.embedded.allow_anonymous,
        usersFile: mqtt.embedded.users_file,
        authentication: mqtt.embedded.authentication === undefined || mqtt.embedded.authentication.enable === false ? undefined : buildHttpAuthenticator(mqtt.embedded.authentication, 'mqtt.embedded.authentication'),
        roles: mqtt.embedded.roles,
        maxPacketSize: mqtt.embedded.max_packet_size,
        maxClients: mqtt.embedded.max_clients,
        maxQueuedMessages: mqtt.embedded.max_queued_messages,
        maxBufferedBytes: mqtt.embedded.max_buffered_bytes,
        sessionExpiryMs: durationMs(mqtt.embedded.session_expiry, 'mqtt.embedded.session_expiry'),
        sharedSubscriptionStrategy: mqtt.embedded.shared_subscription_strategy
      }
    },
    admin: {
      bind: optionalBind(t.admin.bind, 'admin.bind'),
      apiKeysFile: t.admin.api_keys_file,
      metricsAuth: t.admin.metrics_auth,
      traceFrames: t.admin.trace_frames,
      traceIdleMs: durationMs(t.admin.trace_idle, 'admin.trace_idle', { finite: true }),
      tls: t.admin.ssl_options === undefined ? undefined : buildListenerSecurity('wss', { ssl_options: t.admin.ssl_options }, 'admin')
    },
    log: { level: t.log.level, frames: t.log.frames, audit: auditSink(t.log.audit) },
    warnings: adapted.warnings,
    redacted: redactConfig(tree)
  })
}

function auditSink (a: { file?: string, size: string, frequency: string, keep: number, chargers: string[] }): GatewayConfig['log']['audit'] {
  if (a.file === undefined) return undefined
  let frequency: 'daily' | 'hourly' | number | undefined
  if (a.frequency === 'daily' || a.frequency === 'hourly') frequency = a.frequency
  else if (a.frequency !== 'off') {
    frequency = durationMs(a.frequency, 'log.audit.frequency', { finite: true })
    if (frequency < 1000) throw new ConfigError(`log.audit.frequency: "${a.frequency}" is shorter than 1s (use off, hourly, daily or a duration such as 15m)`)
  }
  return { file: a.file, size: a.size, frequency, keep: a.keep, chargers: a.chargers }
}

/** `check_origins` as a list or EMQX's comma-separated string, lower case, without a trailing slash. */
function originList (v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',')
  return list.map((o) => o.trim().toLowerCase().replace(/\/+$/, '')).filter((o) => o !== '')
}

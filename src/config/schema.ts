/**
 * The one configuration schema. Keys are EMQX's `gateway.ocpp.*` keys at the top level, so
 * an EMQX user's settings carry over; our additions (mqtt, events, limits) are documented in
 * the README's configuration reference. Every default is read from ./defaults.ts.
 */
import { authSchemaProperties, listenerSecuritySchemaProperties, mqttAuthenticationSchema } from './security.js'
import { durationSchema as duration } from './duration.js'
import { defaults, sharedStrategies } from './defaults.js'

const hostPort = { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]*):\\d{1,5}$' }
const topic = { type: 'string', minLength: 1 }
const qos = { type: 'integer', enum: [0, 1, 2] }
/** The versions a listener may enable (its default, every one of them, is in ./defaults.ts). */
const subprotocols = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']

const d = defaults.listener
const w = defaults.listener.websocket

/** One WebSocket listener (ws or wss), EMQX's `listeners.ws.<name>` keys plus ours. */
const listenerSchema = (type: 'ws' | 'wss'): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    bind: { ...hostPort, default: defaults.listeners[type].bind },
    enable: { type: 'boolean', default: d.enable },
    ...listenerSecuritySchemaProperties,
    max_connections: { type: 'integer', minimum: 1, default: d.max_connections },
    handshake_timeout: { ...duration, default: d.handshake_timeout },
    trusted_proxies: { type: 'array', items: { type: 'string', minLength: 1 }, default: d.trusted_proxies },
    proxy_protocol: { type: 'boolean', default: d.proxy_protocol },
    max_conn_rate: { anyOf: [{ type: 'number', exclusiveMinimum: 0 }, { const: 'infinity' }], default: d.max_conn_rate },
    websocket: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // An HTTP header name (RFC 9110 §5.1 token).
        proxy_address_header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: w.proxy_address_header },
        proxy_port_header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", default: w.proxy_port_header },
        check_origin_enable: { type: 'boolean', default: w.check_origin_enable },
        allow_origin_absence: { type: 'boolean', default: w.allow_origin_absence },
        // A list, or EMQX's comma-separated string.
        check_origins: { anyOf: [{ type: 'array', items: { type: 'string', minLength: 1 } }, { type: 'string' }], default: w.check_origins },
        path: { type: 'string', pattern: '^/', default: w.path },
        supported_subprotocols: {
          anyOf: [
            { type: 'array', items: { enum: subprotocols }, minItems: 1, uniqueItems: true },
            { type: 'string', pattern: '^\\s*ocpp[0-9.]+(\\s*,\\s*ocpp[0-9.]+)*\\s*$' }
          ],
          default: w.supported_subprotocols
        },
        fail_if_no_subprotocol: { type: 'boolean', default: w.fail_if_no_subprotocol },
        max_frame_size: { type: 'integer', minimum: 1024, default: w.max_frame_size },
        ping_interval: { ...duration, default: w.ping_interval },
        max_malformed_frames: { type: 'integer', minimum: 0, default: w.max_malformed_frames },
        malformed_window: { ...duration, default: w.malformed_window },
        high_watermark: { type: 'integer', minimum: 1024, default: w.high_watermark },
        slow_consumer_timeout: { ...duration, default: w.slow_consumer_timeout }
      }
    }
  }
})

export const configSchema = {
  // Security: allow_anonymous, unknown_charger, allow_username_mismatch, authentication, handshake_limits (./security.ts)
  type: 'object',
  additionalProperties: false,
  properties: {
    ...authSchemaProperties,
    mountpoint: { type: 'string', default: defaults.mountpoint },
    default_heartbeat_interval: { ...duration, default: defaults.default_heartbeat_interval },
    heartbeat_checking_times_backoff: { type: 'integer', minimum: 1, default: defaults.heartbeat_checking_times_backoff },
    idle_timeout: { ...duration, default: defaults.idle_timeout },
    message_format_checking: { type: 'string', enum: ['all', 'upstream_only', 'dnstream_only', 'disable'], default: defaults.message_format_checking },
    message_format_warn_only: { type: 'boolean', default: defaults.message_format_warn_only },
    message_format_overrides: { type: 'object', additionalProperties: { enum: ['check', 'skip', 'warn'] }, default: defaults.message_format_overrides },
    node_id: { type: 'string', default: defaults.node_id },
    workers: { anyOf: [{ type: 'integer', minimum: 1, maximum: 256 }, { const: 'auto' }], default: defaults.workers },
    max_json_depth: { type: 'integer', minimum: 8, maximum: 1000, default: defaults.max_json_depth },
    upstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        topic: { ...topic, default: defaults.upstream.topic },
        topic_override_mapping: { type: 'object', additionalProperties: topic, default: defaults.upstream.topic_override_mapping },
        reply_topic: { ...topic, default: defaults.upstream.reply_topic },
        error_topic: { ...topic, default: defaults.upstream.error_topic },
        qos: { ...qos, default: defaults.upstream.qos },
        awaiting_timeout: { ...duration, default: defaults.upstream.awaiting_timeout },
        max_pending_calls: { type: 'integer', minimum: 1, maximum: 10000, default: defaults.upstream.max_pending_calls },
        trace_context: { type: 'boolean', default: defaults.upstream.trace_context }
      }
    },
    dnstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        topic: { ...topic, default: defaults.dnstream.topic },
        qos: { ...qos, default: defaults.dnstream.qos },
        max_mqueue_len: { type: 'integer', minimum: 1, default: defaults.dnstream.max_mqueue_len },
        max_payload_size: { type: 'integer', minimum: 64, default: defaults.dnstream.max_payload_size },
        awaiting_timeout: { ...duration, default: defaults.dnstream.awaiting_timeout },
        offline_answer: { type: 'boolean', default: defaults.dnstream.offline_answer },
        request_response: { type: 'boolean', default: defaults.dnstream.request_response },
        share_group: { type: 'string', pattern: '^[^/+#]+$', default: defaults.dnstream.share_group }
      }
    },
    events: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enable: { type: 'boolean', default: defaults.events.enable },
        topic: { ...topic, default: defaults.events.topic },
        error_topic: { ...topic, default: defaults.events.error_topic },
        qos: { ...qos, default: defaults.events.qos }
      }
    },
    listeners: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ws: {
          type: 'object',
          default: {},
          additionalProperties: listenerSchema('ws')
        },
        wss: { type: 'object', default: {}, additionalProperties: listenerSchema('wss') }
      }
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', default: defaults.mqtt.url },
        client_id: { type: 'string', default: defaults.mqtt.client_id },
        username: { type: 'string' },
        password: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        reject_unauthorized: { type: 'boolean', default: defaults.mqtt.reject_unauthorized },
        keepalive: { type: 'integer', minimum: 0, default: defaults.mqtt.keepalive },
        session_expiry: { ...duration, default: defaults.mqtt.session_expiry },
        offline_queue: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            max_messages: { type: 'integer', minimum: 0, default: defaults.mqtt.offline_queue.max_messages },
            max_age: { ...duration, default: defaults.mqtt.offline_queue.max_age }
          }
        },
        embedded: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            bind: { type: 'string', default: defaults.mqtt.embedded.bind },
            ws_bind: { type: 'string', default: defaults.mqtt.embedded.ws_bind },
            tls_bind: { type: 'string', default: defaults.mqtt.embedded.tls_bind },
            wss_bind: { type: 'string', default: defaults.mqtt.embedded.wss_bind },
            ssl_options: listenerSecuritySchemaProperties.ssl_options,
            allow_anonymous: { type: 'boolean', default: defaults.mqtt.embedded.allow_anonymous },
            users_file: { type: 'string', minLength: 1 },
            authentication: mqttAuthenticationSchema,
            roles: { type: 'object', additionalProperties: { enum: ['backend', 'observer'] }, default: defaults.mqtt.embedded.roles },
            max_packet_size: { type: 'integer', minimum: 1024, maximum: 268435455, default: defaults.mqtt.embedded.max_packet_size },
            max_clients: { type: 'integer', minimum: 1, default: defaults.mqtt.embedded.max_clients },
            max_queued_messages: { type: 'integer', minimum: 1, default: defaults.mqtt.embedded.max_queued_messages },
            max_buffered_bytes: { type: 'integer', minimum: 65536, default: defaults.mqtt.embedded.max_buffered_bytes },
            session_expiry: { ...duration, default: defaults.mqtt.embedded.session_expiry },
            shared_subscription_strategy: { enum: [...sharedStrategies], default: defaults.mqtt.embedded.shared_subscription_strategy }
          }
        }
      }
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        bind: { type: 'string', default: defaults.admin.bind },
        api_keys_file: { type: 'string', minLength: 1 },
        metrics_auth: { type: 'boolean', default: defaults.admin.metrics_auth },
        trace_frames: { type: 'integer', minimum: 0, maximum: 1000, default: defaults.admin.trace_frames },
        trace_idle: { ...duration, default: defaults.admin.trace_idle },
        // HTTPS with the listeners' certificate options (EMQX names); absent = plain HTTP.
        ssl_options: listenerSecuritySchemaProperties.ssl_options
      }
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: defaults.log.level },
        frames: { type: 'boolean', default: defaults.log.frames },
        // The frame audit sink (src/observability/frame-audit.ts): JSONL files, rotated; no file = off.
        audit: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            file: { type: 'string', minLength: 1 },
            size: { type: 'string', pattern: '^[0-9]+[kKmMgG]$', default: defaults.log.audit.size },
            frequency: { anyOf: [{ type: 'string', enum: ['daily', 'hourly', 'off'] }, duration], default: defaults.log.audit.frequency },
            keep: { type: 'integer', minimum: 0, maximum: 10000, default: defaults.log.audit.keep },
            chargers: { type: 'array', items: { type: 'string', minLength: 1 }, default: defaults.log.audit.chargers }
          }
        }
      }
    }
  }
} as const

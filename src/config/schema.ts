/**
 * The one configuration schema. Keys are EMQX's `gateway.ocpp.*` keys at the top level, so
 * an EMQX user's settings carry over; our additions (mqtt, events, limits) are documented in
 * the README's configuration reference. Every key has a default here.
 */
import { authSchemaProperties, listenerSecuritySchemaProperties } from './security.js'
import { durationSchema as duration } from './duration.js'

const hostPort = { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]*):\\d{1,5}$' }
const topic = { type: 'string', minLength: 1 }
const qos = { type: 'integer', enum: [0, 1, 2] }
const subprotocols = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']


/** One WebSocket listener (ws or wss), EMQX's `listeners.ws.<name>` keys plus ours. */
const listenerSchema = (bind: string): Record<string, unknown> => ({
  type: 'object',
  additionalProperties: false,
  properties: {
    bind: { ...hostPort, default: bind },
    enable: { type: 'boolean', default: true },
    ...listenerSecuritySchemaProperties,
    max_connections: { type: 'integer', minimum: 1, default: 1024000 },
    handshake_timeout: { ...duration, default: '10s' },
    websocket: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        path: { type: 'string', pattern: '^/', default: '/ocpp' },
        supported_subprotocols: {
          anyOf: [
            { type: 'array', items: { enum: subprotocols }, minItems: 1, uniqueItems: true },
            { type: 'string', pattern: '^\\s*ocpp[0-9.]+(\\s*,\\s*ocpp[0-9.]+)*\\s*$' }
          ],
          default: subprotocols
        },
        fail_if_no_subprotocol: { type: 'boolean', default: false },
        max_frame_size: { type: 'integer', minimum: 1024, default: 262144 },
        ping_interval: { ...duration, default: '30s' },
        max_malformed_frames: { type: 'integer', minimum: 0, default: 20 },
        malformed_window: { ...duration, default: '60s' },
        high_watermark: { type: 'integer', minimum: 1024, default: 1048576 },
        slow_consumer_timeout: { ...duration, default: '30s' }
      }
    }
  }
})

export const configSchema = {
  // Security: allow_anonymous, allow_username_mismatch, authentication, handshake_limits (src/auth/config.ts)
  type: 'object',
  additionalProperties: false,
  properties: {
    ...authSchemaProperties,
    mountpoint: { type: 'string', default: 'ocpp/' },
    default_heartbeat_interval: { ...duration, default: '60s' },
    heartbeat_checking_times_backoff: { type: 'integer', minimum: 1, default: 1 },
    idle_timeout: { ...duration, default: 'infinity' },
    message_format_checking: { type: 'string', enum: ['all', 'upstream_only', 'dnstream_only', 'disable'], default: 'disable' },
    message_format_warn_only: { type: 'boolean', default: false },
    message_format_overrides: { type: 'object', additionalProperties: { enum: ['check', 'skip', 'warn'] }, default: {} },
    node_id: { type: 'string', default: '' },
    upstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        topic: { ...topic, default: 'cp/${cid}' },
        topic_override_mapping: { type: 'object', additionalProperties: topic, default: {} },
        reply_topic: { ...topic, default: 'cp/${cid}/Reply' },
        error_topic: { ...topic, default: 'cp/${cid}/Reply' },
        qos: { ...qos, default: 2 },
        awaiting_timeout: { ...duration, default: 'infinity' }
      }
    },
    dnstream: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        topic: { ...topic, default: 'cs/${cid}' },
        qos: { ...qos, default: 2 },
        max_mqueue_len: { type: 'integer', minimum: 1, default: 100 },
        max_payload_size: { type: 'integer', minimum: 64, default: 262144 },
        awaiting_timeout: { ...duration, default: '30s' },
        offline_answer: { type: 'boolean', default: true },
        share_group: { type: 'string', pattern: '^[^/+#]+$', default: 'ocpp-gateway' }
      }
    },
    events: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enable: { type: 'boolean', default: true },
        topic: { ...topic, default: 'events/${cid}' },
        error_topic: { ...topic, default: 'errors/${cid}' },
        qos: { ...qos, default: 1 }
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
          additionalProperties: listenerSchema('0.0.0.0:33033')
        },
        wss: { type: 'object', default: {}, additionalProperties: listenerSchema('0.0.0.0:33043') }
      }
    },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', default: '' },
        client_id: { type: 'string', default: '' },
        username: { type: 'string' },
        password: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        reject_unauthorized: { type: 'boolean', default: true },
        keepalive: { type: 'integer', minimum: 0, default: 30 },
        embedded: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            bind: { type: 'string', default: '0.0.0.0:1883' },
            ws_bind: { type: 'string', default: '0.0.0.0:8083' }
          }
        }
      }
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], default: 'info' },
        frames: { type: 'boolean', default: false }
      }
    }
  }
} as const

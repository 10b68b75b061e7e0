/**
 * Every default value of the configuration, in the shape of its keys, deep-frozen. The schema
 * (schema.ts, security.ts) reads its `default:` values from here, and so do the constructors
 * that have defaults of their own (ConnectionLimits, HttpAuthenticator, DecisionCache,
 * CredentialsFileAuthenticator), so a library user who builds one without a config gets the
 * same behaviour as the gateway with an empty one.
 *
 * Durations are written as in a config file (seconds as a number, or text with a unit: `500ms`,
 * `60s`, `5m`, `infinity`); convert them with durationMs(). Sizes are bytes. Keys that have no
 * default (`allow_anonymous`, `mqtt.password`, `security_profile`…) are absent: their absence
 * means something (see the comments of security.ts and the README's configuration reference).
 *
 * @example
 *   node_id: { type: 'string', default: defaults.node_id }
 */
import { deepFreeze } from './freeze.js'

/** The embedded broker's shared-subscription strategies (mqtt.embedded.shared_subscription_strategy). */
export const sharedStrategies = ['round_robin', 'random', 'hash_clientid', 'hash_topic'] as const
export type SharedStrategy = typeof sharedStrategies[number]

export const defaults = deepFreeze({
  // --- who may connect (config/security.ts) ---
  /** An id no authenticator knows is refused (401); `accept` lets it in and publishes an event. */
  unknown_charger: 'reject',
  /** OCPP security profiles 1/2: the Basic user-id is the charge point id. */
  allow_username_mismatch: false,
  /** No authenticator: authentication off, as in EMQX (said loudly at start-up). */
  authentication: [],
  /** Per entry of `authentication[]`, by backend. */
  authenticator: {
    file: {
      enable: true,
      /** Stat poll of the credentials file, the fallback for fs.watch. */
      reload_interval: '2s',
      /**
       * A new Basic password the CSMS sets through the gateway (1.6 AuthorizationKey, 2.x
       * SecurityCtrlr.BasicAuthPassword) and the charge point accepts is stored in this file,
       * next to the old one until the charge point connects with it (docs/security.md).
       */
      password_rotation: true
    },
    http: {
      enable: true,
      method: 'post',
      headers: {},
      /** EMQX's `request_timeout`: a slow auth service must not hold handshakes open. */
      request_timeout: '5s',
      cache: {
        enable: true,
        /** Entries (LRU): bounded memory for a reconnect storm of this many chargers. */
        max_size: 10000,
        allow_ttl: '60s',
        deny_ttl: '5s'
      }
    }
  },
  handshake_limits: {
    /**
     * Attempts per address: `burst` at once, refilled at `rate` per second. Generous because
     * chargers behind one NAT (cellular CGNAT) or a load balancer share an address, and a site
     * that lost power reconnects all at once. A handshake that authenticates gives its token
     * back (guard.ts): the bucket counts failures, not a fleet reconnecting.
     */
    conn_rate_per_address: { enable: true, burst: 60, rate: 10 },
    /** Failed authentications per address within `window_time`, then banned for `ban_time`. */
    auth_failure_per_address: { enable: true, max_count: 30, window_time: '1m', ban_time: '1m' },
    /**
     * Failed authentications per charge point id. Lower than per address (an id is guessed at
     * from many addresses), and short bans: whoever knows an id can lock that charger out.
     */
    auth_failure_per_cid: { enable: true, max_count: 5, window_time: '1m', ban_time: '1m' },
    /** Connections over all listeners, handshakes included; 0 = no limit. */
    max_connections: 0,
    /** Keys per limits table: bounds the memory an address scan can take. */
    max_tracked: 100000,
    /**
     * scrypt checks running at once; 0 = one per core (os.availableParallelism()). Each takes a
     * core for tens of ms: more at once only makes every one of them slower.
     */
    max_concurrent_hashes: 0,
    /**
     * Checks waiting for one of those; a handshake that would be the next one is refused at
     * once with 503 `overloaded` + Retry-After. 100 at ~50 ms on 2 cores is ~2.5 s of waiting,
     * well inside the 10 s handshake_timeout.
     */
    max_queued_hashes: 100
  },

  // --- OCPP and topics (EMQX's gateway.ocpp.* defaults) ---
  mountpoint: 'ocpp/',
  /** Keepalive until the backend's answer to an accepted BootNotification sets one. */
  default_heartbeat_interval: '60s',
  /** Silent heartbeat intervals tolerated before closing (4001). */
  heartbeat_checking_times_backoff: 1,
  /** Off: EMQX's 30 s default closed chargers that are quiet but alive. */
  idle_timeout: 'infinity',
  message_format_checking: 'disable',
  message_format_warn_only: false,
  message_format_overrides: {},
  /** '' = `<hostname>-<pid>`, made at start (gateway.ts). */
  node_id: '',
  /** Worker processes sharing the listeners, each a node of one cluster (external broker, or the embedded one in the primary); `auto` = one per core. */
  workers: 1,
  /**
   * How deeply a frame or a downstream envelope may nest arrays and objects: deeper ones are
   * refused before parsing (a CallError, or an invalid-envelope answer), since recursive work
   * on thousands of levels would overflow the stack. OCPP messages nest about ten levels.
   */
  max_json_depth: 64,
  upstream: {
    topic: 'cp/${cid}',
    topic_override_mapping: {},
    reply_topic: 'cp/${cid}/Reply',
    error_topic: 'cp/${cid}/Reply',
    qos: 2,
    /** Off, as in EMQX: the backend may take its time. */
    awaiting_timeout: 'infinity',
    /**
     * Calls from one charge point that may await the backend's answer at once. OCPP-J allows
     * one; firmware that does not wait gets a CallError for each Call past this many.
     */
    max_pending_calls: 32,
    /**
     * W3C trace context: a `traceparent` MQTT 5 user property on every frame published upstream
     * (a backend Call's own honoured: its answer is a child of its span). MQTT 5 connections only.
     */
    trace_context: true
  },
  dnstream: {
    topic: 'cs/${cid}',
    qos: 2,
    /** Backend Calls waiting per charge point behind the one in flight (OCPP-J: one at a time). */
    max_mqueue_len: 100,
    /** Bytes (256 KiB) of one downstream envelope. */
    max_payload_size: 262144,
    /** Time a charge point has to answer a backend Call. */
    awaiting_timeout: '30s',
    /** Calls to charge points no node holds are answered (reason `offline`), not dropped. */
    offline_answer: true,
    share_group: 'ocpp-gateway',
    /**
     * MQTT 5: a backend Call published with a Response Topic gets its answer there too (with
     * its Correlation Data), besides the reply topic.
     */
    request_response: true
  },
  events: {
    enable: true,
    topic: 'events/${cid}',
    error_topic: 'errors/${cid}',
    qos: 1
  },

  // --- listeners ---
  /** `bind` of a listener by family: EMQX's OCPP ports. */
  listeners: {
    ws: { bind: '0.0.0.0:33033' },
    wss: { bind: '0.0.0.0:33043' }
  },
  /** What every listener has, `listeners.ws.<name>.*` and `listeners.wss.<name>.*`. */
  listener: {
    enable: true,
    max_connections: 1024000,
    /** The upgrade request and the TLS handshake must finish within it (408). */
    handshake_timeout: '10s',
    /**
     * TCP peers (CIDRs or addresses) whose `websocket.proxy_address_header` is believed. None by
     * default: from anyone else the header is ignored, since anyone can send one.
     */
    trusted_proxies: [],
    /**
     * EMQX's key: every connection starts with a PROXY protocol v1/v2 header (a TCP load
     * balancer in front); only from `trusted_proxies` when that is set.
     */
    proxy_protocol: false,
    /**
     * EMQX's key: WebSocket upgrades accepted per second on this listener, with a burst of one
     * second's worth; beyond it 503 with Retry-After (`listener_rate`). `infinity`: no cap (the
     * per-address rate of handshake_limits still holds). EMQX's default is 1000.
     */
    max_conn_rate: 'infinity',
    websocket: {
      /** EMQX's key and default; read only from `trusted_proxies`. */
      proxy_address_header: 'x-forwarded-for',
      /** EMQX's key and default: the client's port, read with proxy_address_header (logs, peer). */
      proxy_port_header: 'x-forwarded-port',
      /** EMQX's keys: with check_origin_enable, an Origin header must be one of check_origins (403 otherwise). */
      check_origin_enable: false,
      /** EMQX's default: a request without Origin (every charge point) passes the check. */
      allow_origin_absence: true,
      check_origins: [],
      path: '/ocpp',
      /** Every version we speak, in order of preference. */
      supported_subprotocols: ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'],
      fail_if_no_subprotocol: false,
      /** Bytes (256 KiB): larger frames close 1009. */
      max_frame_size: 262144,
      /** One sweep pings every socket this often. */
      ping_interval: '30s',
      /** Malformed frames tolerated per `malformed_window`, then close 1008. */
      max_malformed_frames: 20,
      malformed_window: '60s',
      /** Bytes (1 MiB) of send buffer that mark a charge point as not reading. */
      high_watermark: 1048576,
      /** How long it may stay over the mark before it is dropped. */
      slow_consumer_timeout: '30s'
    },
    ssl_options: {
      verify: 'verify_none',
      /** With verify_peer (profile 3) a client certificate is required, never optional. */
      fail_if_no_peer_cert: true,
      /** OCPP 2.0.1 A00.FR.3xx: TLS 1.2 or later. */
      versions: ['tlsv1.2', 'tlsv1.3']
    }
  },

  // --- MQTT ---
  mqtt: {
    /** '' = the embedded broker. */
    url: '',
    /** '' = `ocpp-gateway-<node_id>` (unique per node), made at start. */
    client_id: '',
    reject_unauthorized: true,
    /** Seconds. */
    keepalive: 30,
    /**
     * External broker: how long the broker keeps this node's MQTT 5 session (subscriptions and
     * the messages queued for them) while the node is away. Each start begins a fresh session.
     */
    session_expiry: '2m',
    /**
     * External broker: messages for the broker that wait while it is unreachable or while its
     * in-flight window (Receive Maximum) is full. A charge point's Call that cannot be published
     * within these bounds is answered with a CallError, never published later.
     */
    offline_queue: {
      max_messages: 10000,
      max_age: '15s'
    },
    embedded: {
      /**
       * Loopback only: a broker without users would give anyone who reaches the port every
       * charger's traffic and the power to send them Calls. Open it (`0.0.0.0:1883`) together
       * with `users_file` (docs/security.md).
       */
      bind: '127.0.0.1:1883',
      ws_bind: '127.0.0.1:8083',
      /** MQTT over TLS (mqtts), off by default; with `ssl_options` (the listeners' EMQX names). */
      tls_bind: '',
      /** MQTT over secure WebSocket (wss), off by default; the same `ssl_options` as `tls_bind`. */
      wss_bind: '',
      /** Without users_file a non-loopback bind fails the start unless this is true (said loudly). */
      allow_anonymous: false,
      /**
       * Role per MQTT user of `users_file` (no default file: without one, clients need no
       * credentials and the broker stays on loopback). A user not listed is an `observer`:
       * the right to send Calls to chargers is granted, never assumed.
       */
      roles: {},
      /**
       * Bytes (1 MiB) of one MQTT packet from a client: a larger one closes that client as soon
       * as its header announces it (a downstream envelope is at most dnstream.max_payload_size).
       */
      max_packet_size: 1048576,
      /** Connections to the embedded broker (every listener together); over it a new one is closed at once. */
      max_clients: 1000,
      /**
       * QoS 1/2 messages waiting for one client (a persistent session that went away, or a
       * connected client that does not acknowledge); past it messages for that client are
       * dropped and counted (mqtt_messages_dropped_total). Mosquitto's max_queued_messages.
       */
      max_queued_messages: 1000,
      /** Bytes (8 MiB) written to one client and not yet sent: past it the client, which does not read, is closed. */
      max_buffered_bytes: 8388608,
      /** How long a persistent session (clean=false) that went away keeps its subscriptions and queue. */
      session_expiry: '2h',
      /**
       * Which member of a shared subscription group (`$share/{group}/{filter}`) gets a message:
       * `round_robin`, `random`, `hash_clientid` (by charge point id: one charger's messages stay
       * on one member, in order) or `hash_topic`. EMQX's `broker.shared_subscription_strategy`.
       */
      shared_subscription_strategy: 'round_robin' as SharedStrategy
    }
  },

  admin: {
    /**
     * The admin HTTP server (health, readiness, Prometheus metrics): EMQX's dashboard port, on
     * loopback by default; `off` disables it.
     */
    bind: '127.0.0.1:18083',
    /**
     * `/metrics`, `/healthz` and `/readyz` answer without a key (for Prometheus and load
     * balancers); `true` asks a key there too. Everything under `/api` always needs one. No
     * default `api_keys_file`: without one `/api` answers 401 and the bind must be loopback.
     */
    metrics_auth: false,
    /**
     * Frames kept per charge point for `GET /api/v1/chargers/{id}/frames`, both directions; 0
     * turns the endpoint off. Kept only for the charge points an operator has asked about (each
     * frame up to 16 KiB), so idle chargers cost nothing: see README "Operating it".
     */
    trace_frames: 50,
    /** A charge point's trace nobody asked about (nor follows) for this long is dropped. */
    trace_idle: '10m'
  },

  log: {
    level: 'info',
    frames: false,
    /**
     * Every frame (or those of `chargers`: ids, or prefixes ending in `*`) to JSONL files under
     * `file`, redacted, rotated at `size` and every `frequency` (`daily`, `hourly`, a duration,
     * or `off`), `keep` rotated files kept: README "Operating it". Off without a `file`.
     */
    audit: { size: '100m', frequency: 'daily', keep: 14, chargers: [] }
  }
} as const)

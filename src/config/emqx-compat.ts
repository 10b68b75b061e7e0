/**
 * EMQX's own keys of a `gateway.ocpp` block, made to fit before validation (issue 16): an EMQX
 * user's configuration starts here unchanged. Each EMQX key is either
 *
 *  - honoured with EMQX's meaning: kept (our schema has it: `proxy_protocol`,
 *    `websocket.check_origin_enable`, `websocket.check_origins`, `websocket.allow_origin_absence`,
 *    `websocket.proxy_port_header`, `max_conn_rate`, `idle_timeout`), or translated: the single
 *    `authentication` object becomes a one-element chain, `max_frame_size: infinity` our
 *    largest frame, `supported_subprotocols: "ocpp1.6, ocpp2.0"` without `ocpp2.0`;
 *  - or not applicable here: removed, with one start-up warning naming it and why.
 *
 * Keys that are neither ours nor EMQX's are left alone, so the schema refuses them (exit 2).
 * Pure: returns a new tree and the warnings; the input is not changed.
 *
 * @example
 *   const { tree, warnings } = adaptEmqx({ enable: true, listeners: { ws: { default: { acceptors: 16 } } } })
 *   // tree: { listeners: { ws: { default: {} } } }; warnings: two lines, `enable` and `acceptors`
 */

import { ConfigError } from './config-error.js'
import { sharedStrategies } from './defaults.js'

type Tree = Record<string, unknown>

/** What `max_frame_size: infinity` becomes: EMQX has no bound; an unbounded frame is a memory attack here. */
export const INFINITE_FRAME_SIZE = 16 * 1024 * 1024

/** Gateway-level EMQX keys with no meaning here, and why. */
const GATEWAY_KEYS: Readonly<Record<string, string>> = {
  enable: 'the gateway runs when it is started; there is no gateway to enable inside it',
  json_schema_id_prefix: 'the OCPP schemas are built in (message_format_checking)',
  json_schema_dir: 'the OCPP schemas are built in (message_format_checking)',
  enable_stats: 'statistics are always kept (admin API /metrics)',
  clientinfo_override: 'a charge point\'s id always comes from its URL and credentials'
}

/** Listener-level EMQX keys with no meaning here, and why. */
const LISTENER_KEYS: Readonly<Record<string, string>> = {
  acceptors: 'Node accepts connections on one event loop per process',
  enable_authn: 'authentication is configured once for all listeners (authentication, allow_anonymous); charge points on this listener are authenticated as on the others',
  mountpoint: 'the mountpoint is the gateway\'s (top-level mountpoint)',
  access_rules: 'use trusted_proxies and a firewall; per-listener allow/deny rules are not implemented',
  tcp_options: 'TCP options are fixed (no delay, keepalive through WebSocket pings)',
  limiter: 'use handshake_limits (per address) and max_conn_rate (per listener)',
  zone: 'there are no zones',
  proxy_protocol_timeout: 'the PROXY header must come within handshake_timeout',
  max_conn_rate_burst: 'max_conn_rate allows a burst of one second\'s worth'
}

/** `listeners.<type>.<name>.websocket` EMQX keys with no meaning here, and why. */
const WEBSOCKET_KEYS: Readonly<Record<string, string>> = {
  piggyback: 'OCPP-J is one message per frame',
  mqtt_piggyback: 'OCPP-J is one message per frame',
  mqtt_path: 'use websocket.path',
  compress: 'permessage-deflate is off: a compressed frame can inflate far past max_frame_size (a memory attack), and OCPP messages are small',
  deflate_opts: 'permessage-deflate is off (see compress)',
  idle_timeout: 'use the top-level idle_timeout'
}

/** Keys of EMQX's HTTP authenticator with no meaning here, and why. */
const HTTP_AUTH_KEYS: Readonly<Record<string, string>> = {
  body: 'the request body is fixed: clientid, username, password (and password_hex), peerhost, protocol (docs/security.md)',
  pool_size: 'requests share Node\'s keep-alive agent',
  connect_timeout: 'request_timeout bounds the whole request',
  enable_pipelining: 'requests share Node\'s keep-alive agent',
  ssl: 'an https:// url is verified against the system\'s CAs (NODE_EXTRA_CA_CERTS adds one)'
}

/** Versions EMQX names that we do not serve, and what to say. */
const UNSERVED_SUBPROTOCOLS: Readonly<Record<string, string>> = {
  'ocpp2.0': 'OCPP 2.0 was superseded by 2.0.1 and is not served; chargers asking only for it are refused (add ocpp2.0.1)'
}

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v)

function notApplicable (tree: Tree, table: Readonly<Record<string, string>>, where: string, warnings: string[]): Tree {
  const out: Tree = {}
  for (const [k, v] of Object.entries(tree)) {
    const why = table[k]
    if (why === undefined) out[k] = v
    else warnings.push(`EMQX key ${where}${k} is not applicable here and is ignored: ${why}`)
  }
  return out
}

function adaptWebsocket (ws: Tree, where: string, warnings: string[]): Tree {
  const out = notApplicable(ws, WEBSOCKET_KEYS, where, warnings)
  if (out.max_frame_size === 'infinity') {
    out.max_frame_size = INFINITE_FRAME_SIZE
    warnings.push(`${where}max_frame_size: infinity is bounded here at ${INFINITE_FRAME_SIZE} bytes (16 MiB): an unbounded frame would let one peer take the memory`)
  }
  // EMQX's singular spelling in some of its documentation.
  if (out.check_origin !== undefined && out.check_origins === undefined) {
    out.check_origins = out.check_origin
    delete out.check_origin
  }
  // EMQX writes the list as one comma-separated string: a list here, so --print-config shows it.
  if (typeof out.check_origins === 'string') out.check_origins = commaList(out.check_origins)
  const sp = out.supported_subprotocols
  if (sp !== undefined) {
    const list = Array.isArray(sp) ? sp.map(String) : typeof sp === 'string' ? commaList(sp) : undefined
    if (list !== undefined) {
      const kept = list.filter((p) => {
        const why = UNSERVED_SUBPROTOCOLS[p]
        if (why !== undefined) warnings.push(`${where}supported_subprotocols: "${p}": ${why}`)
        return why === undefined
      })
      if (kept.length < list.length) out.supported_subprotocols = kept
    }
  }
  return out
}

function adaptListener (l: Tree, where: string, warnings: string[]): Tree {
  const out = notApplicable(l, LISTENER_KEYS, where, warnings)
  if (isTree(out.websocket)) out.websocket = adaptWebsocket(out.websocket, `${where}websocket.`, warnings)
  return out
}

function adaptAuthenticator (a: unknown, where: string, warnings: string[]): unknown {
  if (!isTree(a)) return a
  if (a.backend === 'built_in_database') {
    throw new ConfigError(`${where}backend: EMQX's built_in_database has no counterpart here: use backend: file (a credentials file managed with ocpp-gateway passwd) or backend: http`)
  }
  return a.backend === 'http' ? notApplicable(a, HTTP_AUTH_KEYS, where, warnings) : a
}

export function adaptEmqx (input: Tree): { tree: Tree, warnings: string[] } {
  const warnings: string[] = []
  const tree = notApplicable(input, GATEWAY_KEYS, '', warnings)
  if (isTree(tree.broker)) adaptBroker(tree, warnings)
  // EMQX's gateway takes one authenticator object; ours is a chain (a list).
  if (isTree(tree.authentication)) tree.authentication = [tree.authentication]
  if (Array.isArray(tree.authentication)) tree.authentication = tree.authentication.map((a, i) => adaptAuthenticator(a, `authentication[${i}].`, warnings))
  if (isTree(tree.listeners)) {
    const listeners: Tree = { ...tree.listeners }
    for (const type of ['ws', 'wss']) {
      const byName = listeners[type]
      if (!isTree(byName)) continue
      const adapted: Tree = {}
      for (const [name, l] of Object.entries(byName)) adapted[name] = isTree(l) ? adaptListener(l, `listeners.${type}.${name}.`, warnings) : l
      listeners[type] = adapted
    }
    tree.listeners = listeners
  }
  return { tree, warnings }
}

/** EMQX's strategies that have no counterpart on the embedded broker, and what they become. */
const STRATEGY_FALLBACK: Readonly<Record<string, string>> = { round_robin_per_group: 'round_robin', sticky: 'round_robin', local: 'round_robin' }
const STRATEGIES = new Set<string>(sharedStrategies)

/**
 * EMQX's `broker.shared_subscription_strategy` (outside its gateway block; sources.ts keeps it)
 * is the embedded broker's `mqtt.embedded.shared_subscription_strategy`, unless that is set.
 */
function adaptBroker (tree: Tree, warnings: string[]): void {
  const broker = tree.broker as Tree
  delete tree.broker
  const strategy = broker.shared_subscription_strategy
  if (typeof strategy !== 'string') return
  let value = strategy
  const fallback = STRATEGY_FALLBACK[strategy]
  if (fallback !== undefined) {
    warnings.push(`EMQX key broker.shared_subscription_strategy = ${strategy} has no counterpart on the embedded broker: ${fallback} is used`)
    value = fallback
  } else if (!STRATEGIES.has(strategy)) {
    throw new ConfigError(`broker.shared_subscription_strategy: ${JSON.stringify(strategy)} is not one of ${[...STRATEGIES].join(', ')}`)
  }
  const mqtt = isTree(tree.mqtt) ? { ...tree.mqtt } : {}
  const embedded = isTree(mqtt.embedded) ? { ...mqtt.embedded } : {}
  if (embedded.shared_subscription_strategy === undefined) embedded.shared_subscription_strategy = value
  mqtt.embedded = embedded
  tree.mqtt = mqtt
}

function commaList (text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

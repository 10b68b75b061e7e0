/**
 * Command-line flags of `ocpp-gateway` and how they map onto configuration keys.
 * Flags are the top layer: defaults < file < environment < flags.
 */
import { parseArgs } from 'node:util'
import { parseScalar, setPath } from '../config/load.js'

export const flagSpec = {
  config: { type: 'string', short: 'c' },
  bind: { type: 'string' },
  path: { type: 'string' },
  'mqtt-url': { type: 'string' },
  'mqtt-username': { type: 'string' },
  'mqtt-password': { type: 'string' },
  'mqtt-client-id': { type: 'string' },
  'mqtt-ca': { type: 'string' },
  'mqtt-cert': { type: 'string' },
  'mqtt-key': { type: 'string' },
  'mqtt-bind': { type: 'string' },
  'mqtt-ws-bind': { type: 'string' },
  'admin-bind': { type: 'string' },
  workers: { type: 'string' },
  mountpoint: { type: 'string' },
  'message-format-checking': { type: 'string' },
  'log-level': { type: 'string' },
  'log-frames': { type: 'boolean' },
  set: { type: 'string', multiple: true },
  'print-config': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' }
} as const

/** flag -> config key (listener flags apply to the `default` ws listener). */
const flagKeys: Record<string, string> = {
  bind: 'listeners.ws.default.bind',
  path: 'listeners.ws.default.websocket.path',
  'mqtt-url': 'mqtt.url',
  'mqtt-username': 'mqtt.username',
  'mqtt-password': 'mqtt.password',
  'mqtt-client-id': 'mqtt.client_id',
  'mqtt-ca': 'mqtt.ca',
  'mqtt-cert': 'mqtt.cert',
  'mqtt-key': 'mqtt.key',
  'mqtt-bind': 'mqtt.embedded.bind',
  'mqtt-ws-bind': 'mqtt.embedded.ws_bind',
  'admin-bind': 'admin.bind',
  workers: 'workers',
  mountpoint: 'mountpoint',
  'message-format-checking': 'message_format_checking',
  'log-level': 'log.level',
  'log-frames': 'log.frames'
}

export const usage = `Usage: ocpp-gateway [options]
       ocpp-gateway simulate [options]      simulate charge points (see: ocpp-gateway simulate --help)
       ocpp-gateway passwd <cmd> [options]  manage a credentials file (see: ocpp-gateway passwd --help)
       ocpp-gateway apikey <cmd> [options]  manage admin API keys (see: ocpp-gateway apikey --help)

OCPP-J charge points (1.6, 2.0.1, 2.1) <-> MQTT, EMQX-compatible topics and envelopes.
With no options: OCPP-J on ws://0.0.0.0:33033/ocpp/{id}, embedded MQTT broker on
tcp 127.0.0.1:1883 and ws 127.0.0.1:8083 (loopback only until MQTT users are configured).

Options (each also a config-file key, see README "Configuration"):
  -c, --config FILE             YAML or JSON config file (EMQX gateway.ocpp.* keys)
      --bind HOST:PORT          charge point listener          [0.0.0.0:33033]
      --path PREFIX             WebSocket path prefix          [/ocpp]
      --mqtt-url URL            use an external broker (mqtt://, mqtts://, ws://, wss://)
                                instead of the embedded one
      --mqtt-username USER      external broker credentials
      --mqtt-password PASS
      --mqtt-client-id ID       external broker client id      [ocpp-gateway-<host>-<pid>]
      --mqtt-ca FILE            CA / client cert / key (PEM) for mqtts://
      --mqtt-cert FILE
      --mqtt-key FILE
      --mqtt-bind HOST:PORT     embedded broker TCP listener   [127.0.0.1:1883] ("off" disables)
      --mqtt-ws-bind HOST:PORT  embedded broker WebSocket      [127.0.0.1:8083] ("off" disables)
      --admin-bind HOST:PORT    admin HTTP (health, metrics)   [127.0.0.1:18083] ("off" disables)
      --workers N|auto          worker processes sharing the listeners, each a cluster node
                                (the embedded broker then runs in the primary)      [1]
      --mountpoint PREFIX       topic prefix                   [ocpp/]
      --message-format-checking MODE   all|upstream_only|dnstream_only|disable
      --log-level LEVEL         trace|debug|info|warn|error|fatal|silent [info]
      --log-frames              log every frame in and out
      --set KEY=VALUE           any config key, e.g. --set dnstream.max_mqueue_len=50
                                (repeatable; VALUE is JSON when it parses)
      --print-config            print the effective configuration (secrets redacted) and exit
  -h, --help                    this help
  -v, --version                 print the version

Environment: OCPP_GW_CONFIG=FILE, and OCPP_GW_<KEY> with "__" between levels,
e.g. OCPP_GW_MQTT__URL=mqtt://broker:1883, OCPP_GW_DNSTREAM__MAX_MQUEUE_LEN=50.
Signals: SIGINT/SIGTERM stop gracefully (a second one forces exit).
`

export interface ParsedFlags {
  configFile: string | undefined
  tree: Record<string, unknown>
  help: boolean
  version: boolean
  printConfig: boolean
}

export function parseFlags (argv: string[]): ParsedFlags {
  const { values } = parseArgs({ args: argv, options: flagSpec, strict: true, allowPositionals: false })
  const tree: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(flagKeys)) {
    const v = (values as Record<string, unknown>)[flag]
    // --workers 2: a number (auto stays a word).
    if (v !== undefined) setPath(tree, key, flag === 'workers' ? parseScalar(String(v)) : v)
  }
  for (const item of values.set ?? []) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new Error(`--set expects KEY=VALUE, got "${item}"`)
    setPath(tree, item.slice(0, eq), parseScalar(item.slice(eq + 1)))
  }
  return { configFile: values.config, tree, help: values.help === true, version: values.version === true, printConfig: values['print-config'] === true }
}

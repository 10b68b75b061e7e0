/**
 * Who can reach the embedded broker, decided before it listens (pure). A broker that lets
 * clients in without credentials gives whoever reaches its port every charge point's traffic
 * and the power to send them Calls, so without users it binds loopback only; a wider bind
 * without users fails the start unless the operator says `allow_anonymous: true`.
 */
import { GatewayError } from '../../errors.js'

export interface Bind { host: string, port: number }

export interface ExposureInput {
  /** The configured listeners, keyed by their config key (undefined = off). */
  binds: ReadonlyArray<{ key: string, what: string, bind: Bind | undefined }>
  /** A users file or an HTTP authenticator is configured: clients must authenticate (unless allowAnonymous). */
  authenticated: boolean
  /** What they authenticate against, for the start-up line (default `mqtt.embedded.users_file`). */
  by?: string
  allowAnonymous: boolean
}

/** The start-up line about access to the broker; `warn` lines are logged at warn level. */
export interface ExposureNote { level: 'info' | 'warn', message: string }

/** Only this host can connect: 127.0.0.0/8, ::1 (and localhost). 0.0.0.0 and :: are every interface. */
export function isLoopback (host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

const where = (b: Bind): string => (b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`)

/**
 * The line to log, or a GatewayError OCPPGW_ERR_MQTT_OPEN (docs/errors.md) when a bind that
 * other hosts can reach has nothing in front of it.
 */
export function checkExposure (input: ExposureInput): ExposureNote | undefined {
  const on = input.binds.filter((b): b is { key: string, what: string, bind: Bind } => b.bind !== undefined)
  if (on.length === 0) return undefined
  const list = on.map((b) => `${where(b.bind)} (${b.what})`).join(', ')
  const open = on.filter((b) => !isLoopback(b.bind.host))
  if (input.authenticated) {
    return input.allowAnonymous
      ? { level: 'warn', message: `WARNING: embedded MQTT broker on ${list}: clients without credentials are let in as backends (mqtt.embedded.allow_anonymous: true)` }
      : { level: 'info', message: `embedded MQTT broker on ${list}: clients authenticate (${input.by ?? 'mqtt.embedded.users_file'})` }
  }
  if (open.length === 0) {
    return { level: 'info', message: `embedded MQTT broker on ${list}: loopback only, no authentication. To let other hosts in, set mqtt.embedded.users_file and bind 0.0.0.0 (mqtt.embedded.bind / --mqtt-bind); docs/security.md` }
  }
  if (!input.allowAnonymous) {
    const first = open[0] as { key: string, bind: Bind }
    throw new GatewayError('OCPPGW_ERR_MQTT_OPEN', `${first.key}: ${where(first.bind)} is reachable from other hosts and no MQTT users are configured: anyone could read every charge point's traffic and send them Calls. Set mqtt.embedded.users_file or mqtt.embedded.authentication (docs/security.md), bind 127.0.0.1, or set mqtt.embedded.allow_anonymous: true to accept it`)
  }
  return { level: 'warn', message: `WARNING: embedded MQTT broker on ${list} without authentication (mqtt.embedded.allow_anonymous: true): anyone who reaches ${open.map((b) => where(b.bind)).join(', ')} can read every charge point's traffic and send them Calls` }
}

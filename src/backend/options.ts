/**
 * connectBackend()'s options: one definition with its defaults, checked once, then frozen.
 */
import type { IClientOptions } from 'mqtt'
import type { OcppVersion } from '../ocpp/dialect.js'
import { BackendOptionError } from './errors.js'
import { asVersion } from './chargers.js'
import type { TopicOptions } from './topics.js'
import type { BackendTransport, QoS } from './transport.js'

/** What the SDK logs through: pino's shape (`log.warn({ cid }, 'text')`); console-like loggers fit with an adapter. */
export interface BackendLogger {
  error: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  debug: (obj: object, msg: string) => void
}

export interface BackendOptions {
  /** The broker: `mqtt://host:1883`, `mqtts://`, `ws://`, `wss://`. Required unless `transport` is given. */
  url?: string
  username?: string
  password?: string
  /** MQTT client id; default a random `ocpp-backend-…`. Two instances must not share one. */
  clientId?: string
  /** The gateway's `mountpoint`. Default `ocpp/`. */
  mountpoint?: string
  /** The gateway's topic templates, when not the defaults. */
  topics?: TopicOptions
  /**
   * Share the charge points' Calls with the other instances of this group
   * (`$share/{group}/ocpp/cp/+`): each Call goes to one of them. Answers to this instance's own
   * Calls, events and reports are received by every instance. Ordering caveat: docs/backend-sdk.md.
   */
  shareGroup?: string
  /** QoS of subscriptions and publishes. Default 1. */
  qos?: QoS
  /** Default timeout of `call()`, ms. Default 40,000 (the gateway's own is 30 s after sending). */
  callTimeoutMs?: number
  /**
   * The version of a charge point that neither its topic (`${version}`) nor a connection event
   * or presence record names. Default `1.6` (EMQX's only version).
   */
  defaultVersion?: OcppVersion
  /**
   * Check payloads against the OCPP schemas: `incoming` = the charge points' Calls (answered
   * with the version's CallError) and CallResults (the call() rejects), `outgoing` = our Calls
   * (rejected before sending) and our answers (replaced by InternalError). `true` = both.
   * Default off.
   */
  validate?: boolean | { incoming?: boolean, outgoing?: boolean }
  /** Subscribe to connection events and reports (this gateway's extensions). Default true. */
  events?: boolean
  /** Seed the charger list from the nodes' retained presence records (external broker). Default true. */
  presence?: boolean
  /** Default: pino at `info` on stdout. */
  logger?: BackendLogger
  /** First connection timeout, ms. Default 10,000. */
  connectTimeoutMs?: number
  /** More MQTT.js options (TLS, `protocolVersion: 5`, `keepalive`…). */
  mqtt?: IClientOptions
  /** Instead of an MQTT.js connection (tests, another client): the transport to use. */
  transport?: BackendTransport
}

export interface ResolvedOptions {
  readonly url: string | undefined
  readonly mountpoint: string
  readonly shareGroup: string | undefined
  readonly qos: QoS
  readonly callTimeoutMs: number
  readonly defaultVersion: OcppVersion
  readonly validateIncoming: boolean
  readonly validateOutgoing: boolean
  readonly events: boolean
  readonly presence: boolean
  readonly connectTimeoutMs: number
}

export const backendDefaults = Object.freeze({
  mountpoint: 'ocpp/',
  qos: 1 as QoS,
  /** A little over the gateway's dnstream.awaiting_timeout (30 s), so its `timeout` answer usually comes first. */
  callTimeoutMs: 40_000,
  defaultVersion: '1.6' as OcppVersion,
  events: true,
  presence: true,
  connectTimeoutMs: 10_000
})

function positive (name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new BackendOptionError(name, `expected a positive number of ms, got ${String(v)}`)
  return n
}

export function resolveOptions (o: BackendOptions): ResolvedOptions {
  if (o.transport === undefined && (typeof o.url !== 'string' || o.url === '')) throw new BackendOptionError('url', 'the MQTT broker URL is required (mqtt://host:1883)')
  const mountpoint = o.mountpoint ?? backendDefaults.mountpoint
  if (typeof mountpoint !== 'string' || /[+#]/.test(mountpoint)) throw new BackendOptionError('mountpoint', 'expected a topic prefix without wildcards')
  if (o.shareGroup !== undefined && (typeof o.shareGroup !== 'string' || !/^[^/+#]+$/.test(o.shareGroup))) {
    throw new BackendOptionError('shareGroup', 'expected a non-empty name without "/", "+" or "#"')
  }
  const qos = o.qos ?? backendDefaults.qos
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new BackendOptionError('qos', 'expected 0, 1 or 2')
  const defaultVersion = asVersion(o.defaultVersion ?? backendDefaults.defaultVersion)
  if (defaultVersion === undefined) throw new BackendOptionError('defaultVersion', "expected '1.6', '2.0.1' or '2.1'")
  const v = o.validate
  const validateIncoming = v === true || (typeof v === 'object' && v.incoming === true)
  const validateOutgoing = v === true || (typeof v === 'object' && v.outgoing === true)
  return Object.freeze({
    url: o.url,
    mountpoint,
    shareGroup: o.shareGroup,
    qos,
    callTimeoutMs: positive('callTimeoutMs', o.callTimeoutMs, backendDefaults.callTimeoutMs),
    defaultVersion,
    validateIncoming,
    validateOutgoing,
    events: o.events ?? backendDefaults.events,
    presence: o.presence ?? backendDefaults.presence,
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, backendDefaults.connectTimeoutMs)
  })
}

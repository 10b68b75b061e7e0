/**
 * Start a gateway for a test on loopback port 0, with the embedded broker or a real
 * Mosquitto, and a backend MQTT client connected to the same broker.
 */
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { startMosquitto, mosquittoSkip, type Mosquitto } from './mosquitto.js'
import { connectBackend, type Backend } from './clients.js'

export type BrokerKind = 'embedded' | 'mosquitto'

/** The broker variants each integration suite runs against, with a skip reason if any. */
export const brokerKinds: Array<{ kind: BrokerKind, skip: string | undefined }> = [
  { kind: 'embedded', skip: undefined },
  { kind: 'mosquitto', skip: mosquittoSkip() }
]

export interface TestGateway {
  gw: Gateway
  url: string
  mqttUrl: string
  backend: Backend
  stop: () => Promise<void>
}

export interface TestGatewayOptions {
  broker?: BrokerKind
  config?: Record<string, unknown>
  sweepPeriodMs?: number
  subscriptions?: string[]
}

export async function startTestGateway (opts: TestGatewayOptions = {}): Promise<TestGateway> {
  let mosquitto: Mosquitto | undefined
  if (opts.broker === 'mosquitto') mosquitto = await startMosquitto()
  const base: Record<string, unknown> = {
    allow_anonymous: true,
    // Tests open many sockets from 127.0.0.1 in a burst.
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: mosquitto !== undefined
      ? { url: mosquitto.url }
      : { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } },
    admin: { bind: '127.0.0.1:0' },
    log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' }
  }
  const config = buildConfig([base, opts.config ?? {}])
  const logger = pino({ level: config.log.level })
  const gw = await startGateway(config, { logger, sweepPeriodMs: opts.sweepPeriodMs ?? 100, shutdownGraceMs: 500 })
  const mqttUrl = mosquitto?.url ?? `mqtt://127.0.0.1:${gw.mqttPort ?? 0}`
  const backend = await connectBackend(mqttUrl, opts.subscriptions)
  const listener = gw.listeners[0]
  if (listener === undefined) throw new Error('no listener')
  return {
    gw,
    url: `ws://127.0.0.1:${listener.port}${listener.config.path}`,
    mqttUrl,
    backend,
    stop: async () => {
      await backend.close()
      await gw.close()
      await mosquitto?.stop()
    }
  }
}

/**
 * An external MQTT broker (Mosquitto, EMQX, HiveMQ, VerneMQ...) through MQTT.js: one
 * connection for the whole gateway, exact-topic subscriptions per charge point.
 */
import { readFileSync } from 'node:fs'
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt'
import { tuneMqttSocket } from './coalesce-writes.js'
import { HandlerTable, type MessageHandler, type MqttPort, type QoS } from './mqtt-port.js'
import type { Logger } from '../../observability/logger.js'
import type { GatewayConfig } from '../../config/load.js'
import { redactText } from '../../observability/redact.js'
import { GatewayError } from '../../errors.js'

/** The `mqtt` section of the configuration, less the embedded broker's part. */
export type ExternalBrokerOptions = Omit<GatewayConfig['mqtt'], 'embedded'> & {
  logger: Logger
  /** How long to wait for the first connection before giving up at start-up. */
  connectTimeoutMs?: number
  /** The MQTT last will: what the broker publishes when this node's connection ends without a DISCONNECT. */
  will?: { topic: string, payload: string, qos: QoS, retain: boolean }
}

export class ExternalBroker implements MqttPort {
  readonly kind = 'external' as const
  private readonly handlers = new HandlerTable()
  private readonly reconnected: Array<() => void> = []

  private constructor (readonly client: MqttClient, private readonly logger: Logger) {
    client.on('message', (topic, payload, packet) => {
      this.handlers.dispatch(topic, payload, packet.retain)
    })
    // Made after the first connection: every 'connect' from here on is a re-connection.
    client.on('connect', () => { for (const f of this.reconnected) f() })
  }

  onReconnect (listener: () => void): void { this.reconnected.push(listener) }

  static async connect (opts: ExternalBrokerOptions): Promise<ExternalBroker> {
    const options: IClientOptions = {
      clientId: opts.clientId,
      username: opts.username,
      password: opts.password,
      keepalive: opts.keepalive,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      rejectUnauthorized: opts.rejectUnauthorized,
      resubscribe: true
    }
    if (opts.will !== undefined) options.will = { ...opts.will }
    if (opts.ca !== undefined) options.ca = readFileSync(opts.ca)
    if (opts.cert !== undefined) options.cert = readFileSync(opts.cert)
    if (opts.key !== undefined) options.key = readFileSync(opts.key)
    const client = mqtt.connect(opts.url, options)
    const log = opts.logger
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no connection to ${redactText(opts.url)} within ${options.connectTimeout} ms`)), options.connectTimeout)
        client.once('connect', () => { clearTimeout(timer); resolve() })
        client.once('error', (err) => { clearTimeout(timer); reject(err) })
      })
    } catch (err) {
      client.end(true)
      throw new GatewayError('OCPPGW_ERR_MQTT_CONNECT', `cannot connect to MQTT broker ${redactText(opts.url)}: ${(err as Error).message}`, { cause: err })
    }
    client.on('error', (err) => log.error({ err: err.message }, 'mqtt error'))
    client.on('offline', () => log.warn({ url: redactText(opts.url) }, 'mqtt broker connection lost; reconnecting'))
    client.on('reconnect', () => log.debug('mqtt reconnecting'))
    // No Nagle delay, and the packets of one event-loop turn (many charge points' messages) in
    // one write: on every (re)connection, each of which has a new stream.
    tuneMqttSocket(client.stream)
    client.on('connect', () => { tuneMqttSocket(client.stream); log.info({ url: redactText(opts.url) }, 'mqtt broker connected') })
    log.info({ url: redactText(opts.url), clientId: opts.clientId }, 'mqtt broker connected')
    return new ExternalBroker(client, log)
  }

  publish (topic: string, payload: string | Buffer, qos: QoS, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos, retain }, (err) => (err != null ? reject(err) : resolve()))
    })
  }

  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void): void {
    this.client.publish(topic, payload, { qos }, (err) => { if (err != null) onError(err) })
  }

  subscribe (topic: string, qos: QoS, handler: MessageHandler): Promise<void> {
    if (!this.handlers.add(topic, handler)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.client.subscribe(topic, { qos }, (err) => (err != null ? reject(err) : resolve()))
    })
  }

  unsubscribe (topic: string, handler: MessageHandler): Promise<void> {
    if (!this.handlers.remove(topic, handler)) return Promise.resolve()
    return new Promise((resolve) => {
      // An unsubscribe that fails (broker gone) leaves nothing to clean up on our side.
      this.client.unsubscribe(topic, () => resolve())
    })
  }

  close (): Promise<void> {
    return new Promise((resolve) => this.client.end(false, {}, () => resolve()))
  }
}

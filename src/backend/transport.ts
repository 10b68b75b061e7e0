/**
 * The one seam between the backend and MQTT: what the backend needs of a client, and its
 * adapter over MQTT.js v5. The unit tests put a fake behind the same interface.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { GatewayError } from '../errors.js'

export type QoS = 0 | 1 | 2

export interface BackendTransport {
  subscribe: (filters: string[], qos: QoS) => Promise<void>
  publish: (topic: string, payload: string, qos: QoS) => Promise<void>
  /** Every message of every subscription. */
  onMessage: (handler: (topic: string, payload: Buffer, retained: boolean) => void) => void
  /** Connection changes after the first connect: `up` false when lost, true when back. */
  onStatus: (handler: (up: boolean, err?: Error) => void) => void
  close: () => Promise<void>
}

export interface MqttTransportOptions {
  url: string
  username?: string
  password?: string
  clientId?: string
  /** Anything else for MQTT.js (TLS files, protocolVersion 5, keepalive...). */
  mqtt?: IClientOptions
  /** Time for the first connection, ms. */
  connectTimeoutMs: number
}

/** The URL with its password replaced, for messages. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return url
  }
}

export async function connectMqtt (o: MqttTransportOptions): Promise<BackendTransport> {
  const client: MqttClient = mqtt.connect(o.url, {
    // A clean session: subscriptions are made again by MQTT.js after a reconnect, and nothing
    // is queued at the broker for a backend that is gone (its share of a group goes to others).
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: o.connectTimeoutMs,
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    clientId: o.clientId ?? `ocpp-backend-${Math.random().toString(36).slice(2, 10)}`,
    ...o.mqtt
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      client.removeListener('connect', ok)
      client.end(true)
      reject(new GatewayError('OCPPGW_ERR_BACKEND_CONNECT', `cannot connect to ${redactUrl(o.url)}: ${err.message}`, { cause: err }))
    }
    const ok = (): void => {
      clearTimeout(timer)
      client.removeListener('error', fail)
      resolve()
    }
    client.once('connect', ok)
    client.once('error', fail)
  })
  let statusHandler: (up: boolean, err?: Error) => void = () => {}
  let lastError: Error | undefined
  let up = true
  client.on('error', (err) => { lastError = err })
  client.on('close', () => {
    if (!up) return
    up = false
    statusHandler(false, lastError)
  })
  client.on('connect', () => {
    up = true
    lastError = undefined
    statusHandler(true)
  })
  return {
    subscribe: async (filters, qos) => {
      let granted
      try {
        granted = await client.subscribeAsync(filters, { qos })
      } catch (err) {
        // MQTT.js rejects a SUBACK that refuses a filter (128 in 3.1.1, a reason code >= 0x80 in 5).
        throw new GatewayError('OCPPGW_ERR_BACKEND_CONNECT', `the broker refused the subscription to ${filters.join(', ')}: ${(err as Error).message}`, { cause: err })
      }
      // A broker refuses a filter with 128 (MQTT 3.1.1) or a reason code >= 0x80 (MQTT 5).
      const refused = granted.filter((g) => g.qos > 2)
      if (refused.length > 0) throw new GatewayError('OCPPGW_ERR_BACKEND_CONNECT', `the broker refused the subscription to ${refused.map((g) => g.topic).join(', ')}`)
    },
    publish: async (topic, payload, qos) => { await client.publishAsync(topic, payload, { qos }) },
    onMessage: (handler) => { client.on('message', (topic, payload, packet) => handler(topic, payload, packet.retain)) },
    onStatus: (handler) => { statusHandler = handler },
    close: async () => { await client.endAsync() }
  }
}

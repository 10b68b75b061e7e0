/**
 * The MQTT echo backend: the other half of "ours" in the benchmark. It subscribes to the
 * gateway's upstream Call topic and answers every Call at once on the downstream topic, with
 * the same answers as the floor and the peer (bench/answers.ts). A separate process, like a
 * real backend, so that the gateway's process does the gateway's work only.
 *
 * Run alone: node dist/bench/echo-backend.js --url mqtt://127.0.0.1:1883 [--mountpoint ocpp/]
 *   [--qos 0] [--plain] ; prints {"ready":true} once subscribed. --plain: MQTT.js's own writes,
 *   one per answer (by default the answers of one event-loop turn go out in one write).
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { tuneMqttSocket } from '../src/bridge/adapters/coalesce-writes.js'
import { DEFAULT_RECEIVE_MAXIMUM, Outbox } from '../src/bridge/adapters/outbox.js'
import { type JsonObject, isJsonObject } from '../src/ocpp/frame.js'
import { answerFor } from './answers.js'

export interface EchoBackendOptions {
  url: string
  /** Topic prefix of the gateway (EMQX `mountpoint`). Default "ocpp/". */
  mountpoint?: string
  /** Upstream Call topic below the mountpoint, `+` for the charger id. Default "cp/+". */
  upstream?: string
  /** Downstream topic below the mountpoint, `${cid}` for the id. Default "cs/${cid}". */
  dnstream?: string
  qos?: 0 | 1 | 2
  /** Coalesce the answers of one event-loop turn into one write (default true); false: plain MQTT.js. */
  coalesce?: boolean
}

export interface EchoBackend {
  answered: () => number
  close: () => Promise<void>
}

/** The answer envelope to one upstream envelope, or undefined when it is not a Call. */
export function echoAnswer (envelope: unknown): JsonObject | undefined {
  if (!isJsonObject(envelope) || envelope['MessageTypeId'] !== 2) return undefined
  const id = envelope['UniqueId']
  const action = envelope['Action']
  const payload = envelope['Payload']
  if (typeof id !== 'string' || typeof action !== 'string') return undefined
  // Only Authorize answers differ between versions; its request tells which one it is.
  const version = isJsonObject(payload) && isJsonObject(payload['idToken']) ? '2.0.1' : '1.6'
  return { MessageTypeId: 3, UniqueId: id, Payload: answerFor(version, action) }
}

/**
 * A bench backend's connection: MQTT 5 where the broker speaks it (Mosquitto), else 3.1.1 (the
 * embedded aedes broker refuses a version 5 CONNECT; it has no Receive Maximum to honour).
 */
export async function connectBackend (url: string, clientId: string): Promise<MqttClient> {
  const base = { clientId, clean: true, reconnectPeriod: 0, log: () => {} }
  try {
    return await mqtt.connectAsync(url, { ...base, protocolVersion: 5 })
  } catch {
    return await mqtt.connectAsync(url, { ...base, protocolVersion: 4 })
  }
}

export async function startEchoBackend (o: EchoBackendOptions): Promise<EchoBackend> {
  const mount = o.mountpoint ?? 'ocpp/'
  const qos = o.qos ?? 0
  const upstream = mount + (o.upstream ?? 'cp/+')
  const [before = '', after = ''] = (mount + (o.dnstream ?? 'cs/${cid}')).split('${cid}')
  // The charger id is the topic level where the filter has its "+".
  const idLevel = upstream.split('/').indexOf('+')
  let answered = 0
  // MQTT 5, so that the broker's Receive Maximum is known (a stock Mosquitto's is 20) and
  // honoured: MQTT.js does not, and a broker drops the excess QoS 1/2 publishes of a 3.1.1
  // client silently (measured: a stock Mosquitto lost 5 % of the answers at QoS 2, whose
  // Calls then timed out, and the run trickled at 190 answers/s). Same outbox as the gateway's.
  // No per-packet debug log, as on the gateway's connection.
  const client = await connectBackend(o.url, `echo-backend-${process.pid}`)
  const outbox = new Outbox((m, acked) => client.publish(m.topic, m.payload, { qos: m.qos }, (err) => acked(err ?? undefined)), { maxMessages: Infinity, maxAgeMs: Infinity })
  outbox.opened(client.serverProperties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM)
  const failed = (err?: Error): void => { if (err !== undefined) process.stderr.write(`echo-backend: publish failed: ${err.message}\n`) }
  // Small answers, latency-bound: no Nagle delay; and the answers of one event-loop turn in
  // one write (as the gateway's own MQTT connection): MQTT.js writes each publish on its own.
  tuneMqttSocket(client.stream, o.coalesce !== false)
  client.on('message', (topic, message) => {
    let envelope: unknown
    try {
      envelope = JSON.parse(message.toString())
    } catch {
      return
    }
    const answer = echoAnswer(envelope)
    if (answer === undefined) return
    const cid = topic.split('/')[idLevel] ?? ''
    answered++
    outbox.push({ topic: before + cid + after, payload: JSON.stringify(answer), qos, retain: false, at: 0, done: failed })
  })
  await client.subscribeAsync(upstream, { qos })
  return {
    answered: () => answered,
    close: async () => { await client.endAsync(true) }
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, mountpoint: { type: 'string' }, upstream: { type: 'string' }, dnstream: { type: 'string' }, qos: { type: 'string' }, plain: { type: 'boolean' } }
  })
  const backend = await startEchoBackend({
    url: values.url ?? 'mqtt://127.0.0.1:1883',
    mountpoint: values.mountpoint,
    upstream: values.upstream,
    dnstream: values.dnstream,
    qos: Number(values.qos ?? 0) as 0 | 1 | 2,
    coalesce: values.plain !== true
  })
  process.stdout.write(JSON.stringify({ ready: true }) + '\n')
  const shutdown = (): void => { void backend.close().then(() => process.exit(0)) }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

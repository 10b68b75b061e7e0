/**
 * Publisher, the one way out to MQTT: every message counted in mqtt_published_total, posted
 * without a promise; a failed post counted in mqtt_publish_errors_total and logged, never
 * thrown.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import type { MessageHandler, MqttPort, QoS } from '../../../src/bridge/adapters/mqtt-port.js'
import { Publisher } from '../../../src/bridge/publisher.js'
import type { Logger } from '../../../src/observability/logger.js'
import { Metrics } from '../../../src/observability/metrics.js'
import { FakeMqtt } from '../../helpers/fake-mqtt.js'
import { capturedLog } from '../../helpers/captured-log.js'

/** An MqttPort whose posts fail: at once, or on the next turn of the event loop. */
class FailingMqtt implements MqttPort {
  readonly kind = 'external'
  readonly posted: Array<{ topic: string, payload: string, qos: QoS }> = []
  constructor (private readonly when: 'sync' | 'later', private readonly message = 'connection lost') {}
  async publish (): Promise<void> { throw new Error('publish() is not the per-message path') }
  post (topic: string, payload: string | Buffer, qos: QoS, onError: (err: Error) => void): void {
    this.posted.push({ topic, payload: payload.toString(), qos })
    const fail = (): void => onError(new Error(this.message))
    if (this.when === 'sync') fail()
    else setImmediate(fail)
  }

  async subscribe (_topic: string, _qos: QoS, _handler: MessageHandler): Promise<void> {}
  async unsubscribe (_topic: string, _handler: MessageHandler): Promise<void> {}
  async close (): Promise<void> {}
}

/** A logger at level error whose lines are kept, parsed. */
function capturedErrors (): { log: Logger, lines: Array<Record<string, unknown>> } {
  const { logger, lines } = capturedLog('error')
  return { log: logger, lines }
}

test('text posts the text as it is, on the topic, with the QoS; counted', () => {
  const mqtt = new FakeMqtt()
  const metrics = new Metrics()
  const publish = new Publisher(mqtt, metrics, pino({ level: 'silent' }))
  publish.text('a/b', '{"x": 1 }', 0)
  publish.text('a/c', 'plain', 2)
  assert.deepEqual(mqtt.published, [
    { topic: 'a/b', payload: '{"x": 1 }', qos: 0, retain: false },
    { topic: 'a/c', payload: 'plain', qos: 2, retain: false }
  ])
  assert.equal(metrics.get('mqtt_published_total'), 2)
  assert.equal(metrics.get('mqtt_publish_errors_total'), 0)
})

test('json posts JSON.stringify of the value; counted', () => {
  const mqtt = new FakeMqtt()
  const metrics = new Metrics()
  const publish = new Publisher(mqtt, metrics, pino({ level: 'silent' }))
  publish.json('t', { b: 1, a: [true, null, 'é'] }, 1)
  publish.json('t', 'str', 1)
  assert.deepEqual(mqtt.published.map((m) => [m.topic, m.payload, m.qos]), [['t', '{"b":1,"a":[true,null,"é"]}', 1], ['t', '"str"', 1]])
  assert.equal(metrics.get('mqtt_published_total'), 2)
})

test('a post that fails at once: counted as published and as an error, logged, not thrown', () => {
  const mqtt = new FailingMqtt('sync')
  const metrics = new Metrics()
  const { log, lines } = capturedErrors()
  const publish = new Publisher(mqtt, metrics, log)
  assert.doesNotThrow(() => publish.text('ocpp/cp/CP-1', 'x', 2))
  assert.doesNotThrow(() => publish.json('ocpp/errors/CP-1', { a: 1 }, 1))
  assert.deepEqual(mqtt.posted, [{ topic: 'ocpp/cp/CP-1', payload: 'x', qos: 2 }, { topic: 'ocpp/errors/CP-1', payload: '{"a":1}', qos: 1 }])
  assert.equal(metrics.get('mqtt_published_total'), 2)
  assert.equal(metrics.get('mqtt_publish_errors_total'), 2)
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.topic, l.err]), [
    [50, 'MQTT publish failed', 'ocpp/cp/CP-1', 'connection lost'],
    [50, 'MQTT publish failed', 'ocpp/errors/CP-1', 'connection lost']
  ])
})

test('a post that fails later: the error is counted when it comes', async () => {
  const mqtt = new FailingMqtt('later', 'broker gone')
  const metrics = new Metrics()
  const { log, lines } = capturedErrors()
  const publish = new Publisher(mqtt, metrics, log)
  publish.text('t/1', 'x', 1)
  assert.equal(metrics.get('mqtt_published_total'), 1)
  assert.equal(metrics.get('mqtt_publish_errors_total'), 0)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(metrics.get('mqtt_publish_errors_total'), 1)
  assert.deepEqual(lines.map((l) => [l.topic, l.err]), [['t/1', 'broker gone']])
})

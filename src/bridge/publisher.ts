/**
 * Every publish of the gateway goes through here: counted, and a failure logged and counted,
 * never thrown (the per-message path has no promise to reject).
 */
import type { MqttPort, MqttProps, QoS } from './adapters/mqtt-port.js'
import { OutboxError } from './adapters/outbox.js'
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'

export class Publisher {
  private readonly onError: (err: Error, topic: string) => void

  constructor (private readonly mqtt: MqttPort, private readonly metrics: Metrics, log: Logger) {
    this.onError = (err, topic) => {
      if (err instanceof OutboxError) {
        // Held for an external broker that stayed away (or whose window stayed full): never published.
        metrics.inc('mqtt_undelivered_total', err.reason)
        log.warn({ topic, reason: err.reason, err: err.message }, 'MQTT message not published')
        return
      }
      metrics.inc('mqtt_publish_errors_total')
      log.error({ topic, err: err.message }, 'MQTT publish failed')
    }
  }

  /**
   * Publish a text as it is (the per-message path). `failed`: told besides, when it was not
   * published (a charge point's Call is then answered with a CallError).
   */
  text (topic: string, text: string, qos: QoS, failed?: (err: Error) => void, props?: MqttProps): void {
    this.metrics.inc('mqtt_published_total')
    this.mqtt.post(topic, text, qos, failed === undefined ? (err) => this.onError(err, topic) : (err) => { this.onError(err, topic); failed(err) }, props)
  }

  /** Publish a JSON value. */
  json (topic: string, value: unknown, qos: QoS, failed?: (err: Error) => void, props?: MqttProps): void {
    this.text(topic, JSON.stringify(value), qos, failed, props)
  }
}

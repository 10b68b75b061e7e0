/**
 * Every publish of the gateway goes through here: counted, and a failure logged and counted,
 * never thrown (the per-message path has no promise to reject).
 */
import type { MqttPort, QoS } from './adapters/mqtt-port.js'
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'

export class Publisher {
  private readonly onError: (err: Error, topic: string) => void

  constructor (private readonly mqtt: MqttPort, private readonly metrics: Metrics, log: Logger) {
    this.onError = (err, topic) => {
      metrics.inc('mqtt_publish_errors_total')
      log.error({ topic, err: err.message }, 'MQTT publish failed')
    }
  }

  /** Publish a text as it is (the per-message path). */
  text (topic: string, text: string, qos: QoS): void {
    this.metrics.inc('mqtt_published_total')
    this.mqtt.post(topic, text, qos, (err) => this.onError(err, topic))
  }

  /** Publish a JSON value. */
  json (topic: string, value: unknown, qos: QoS): void {
    this.text(topic, JSON.stringify(value), qos)
  }
}

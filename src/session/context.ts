import type { GatewayConfig } from '../config/load.js'
import type { Topics } from '../bridge/topics.js'
import type { MqttPort, QoS } from '../bridge/mqtt-port.js'
import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import type { Validators } from '../schema/index.js'

/** What a session needs from the gateway around it. */
export interface GatewayContext {
  readonly config: GatewayConfig
  readonly topics: Topics
  readonly mqtt: MqttPort
  readonly metrics: Metrics
  readonly log: Logger
  readonly nodeId: string
  /** Schema validators, present unless message_format_checking is disable. */
  readonly validators: Validators | undefined
  /** Publish a JSON value; failures are logged and counted, never thrown. */
  publishJson: (topic: string, value: unknown, qos: QoS) => void
  /** Publish a text as it is (the per-message path); failures as publishJson's. */
  publishText: (topic: string, text: string, qos: QoS) => void
}

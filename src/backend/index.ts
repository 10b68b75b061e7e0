/**
 * `ocpp-mqtt-gateway/backend`: write a CSMS against the gateway's MQTT topics (docs/backend-sdk.md).
 *
 * @example
 *   import { connectBackend, OcppError } from 'ocpp-mqtt-gateway/backend'
 *   const backend = await connectBackend({ url: 'mqtt://localhost:1883' })
 *   backend.handle('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 }))
 */
export { connectBackend, Backend, type CallOptions, type GatewayReport, type CallResultErrorEvent, type BackendEventMap, type VersionView, type Handler, type HandlerResult, type AnyVersionHandler } from './backend.js'
export type { CallContext } from './dispatch.js'
export type { ChargerInfo, ConnectionEvent } from './chargers.js'
export { OcppError, CallFailedError, ChargerCallError, GatewayAnswerError, CallTimeoutError, CallValidationError, BackendClosedError, BackendOptionError, type GatewayReason } from './errors.js'
export { backendDefaults, type BackendOptions, type BackendLogger } from './options.js'
export { defaultTopics, type TopicOptions } from './topics.js'
export type { BackendTransport, QoS } from './transport.js'
export type * from './types/index.js'

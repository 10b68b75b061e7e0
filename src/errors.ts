/**
 * The one registry of the gateway's coded errors. Every error the gateway throws to its
 * caller (the CLI, a library user) is a {@link GatewayError} with a code from
 * {@link errorCodes}; `docs/errors.md` lists each code with its meaning and what to do, and a
 * test fails when a code here is missing there.
 *
 * @example
 *   throw new GatewayError('OCPPGW_ERR_CONFIG', 'listeners.ws.default.bind: "x" is not HOST:PORT')
 *   // err.code === 'OCPPGW_ERR_CONFIG'; err.message is the text a person reads
 */

/** Code -> one line saying what went wrong (the doc says what to do). */
export const errorCodes = Object.freeze({
  // One code for every invalid key, authentication and listener security included: the message
  // names the key, and what to do is the same (fix it). Thrown as ConfigError (src/config).
  OCPPGW_ERR_CONFIG: 'the configuration is invalid',
  OCPPGW_ERR_CREDENTIALS_FILE: 'the credentials file cannot be read or parsed',
  OCPPGW_ERR_TLS_CONFIG: 'the TLS files of a wss listener cannot be read or do not make a usable context',
  OCPPGW_ERR_PORT_IN_USE: 'a port to listen on is held by another process',
  OCPPGW_ERR_PORT_DENIED: 'listening on a port is not allowed',
  OCPPGW_ERR_LISTEN: 'a listener cannot listen',
  OCPPGW_ERR_MQTT_CONNECT: 'the external MQTT broker cannot be reached',
  OCPPGW_ERR_MQTT_OPEN: 'the embedded MQTT broker would be reachable from other hosts without authentication',
  OCPPGW_ERR_API_KEYS_FILE: 'the admin API keys file cannot be read or parsed',
  OCPPGW_ERR_ADMIN_OPEN: 'the admin HTTP server would be reachable from other hosts without API keys',
  OCPPGW_ERR_SIM_OPTION: 'an option of the charge point simulator is invalid',
  OCPPGW_ERR_AUDIT_FILE: 'the frame audit file cannot be opened',
  // The backend SDK (ocpp-mqtt-gateway/backend, docs/backend-sdk.md).
  OCPPGW_ERR_BACKEND_OPTION: 'an option of connectBackend() is invalid',
  OCPPGW_ERR_BACKEND_CONNECT: 'the backend SDK cannot connect to the MQTT broker',
  OCPPGW_ERR_BACKEND_CLOSED: 'the backend was closed before the Call was answered',
  OCPPGW_ERR_CALL_ERROR: 'the charge point answered the Call with a CallError',
  OCPPGW_ERR_CALL_GATEWAY: 'the gateway answered the Call itself (offline, timeout, queue_full, ...)',
  OCPPGW_ERR_CALL_TIMEOUT: 'no answer to the Call within its timeout',
  OCPPGW_ERR_CALL_INVALID: 'a Call or its answer fails the OCPP schema'
} as const)

export type ErrorCode = keyof typeof errorCodes

export class GatewayError extends Error {
  constructor (readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GatewayError'
  }
}

/** Whether a value is a GatewayError (of one code, when given). */
export function isGatewayError (err: unknown, code?: ErrorCode): err is GatewayError {
  return err instanceof GatewayError && (code === undefined || err.code === code)
}

/**
 * Every difference between OCPP-J versions lives in this one table: sub-protocol name,
 * allowed message types and error-code spellings. Nothing else in the code switches on
 * the version.
 */
export type OcppVersion = '1.6' | '2.0.1' | '2.1'

export const MessageType = {
  CALL: 2,
  CALLRESULT: 3,
  CALLERROR: 4,
  /** OCPP 2.1 only: the receiver of a CALLRESULT reports it could not process it. */
  CALLRESULTERROR: 5,
  /** OCPP 2.1 only: one-way message, never answered. */
  SEND: 6
} as const
export type MessageTypeId = typeof MessageType[keyof typeof MessageType]

/** Why a frame or payload is rejected, independent of version; the dialect names it. */
export type RpcErrorKind =
  | 'rpcFramework' // not a valid RPC frame: bad JSON, not an array, arity, id unreadable
  | 'messageTypeNotSupported' // unknown MessageTypeId
  | 'formatViolation' // payload syntactically incorrect (not an object, schema shape)
  | 'occurrenceConstraint' // required field missing / too many items
  | 'typeConstraint' // wrong data type
  | 'propertyConstraint' // invalid value
  | 'notImplemented' // unknown action
  | 'notSupported' // known action, not supported
  | 'internalError'
  | 'protocolError'
  | 'securityError'
  | 'genericError'

export interface Dialect {
  readonly version: OcppVersion
  /** WebSocket sub-protocol name (RFC 6455 Sec-WebSocket-Protocol). */
  readonly subprotocol: string
  /** Message types a peer of this version may send. */
  readonly messageTypes: ReadonlySet<number>
  /** The error code this version uses for each kind of failure. */
  readonly errorCodes: Readonly<Record<RpcErrorKind, string>>
}

const common = {
  notImplemented: 'NotImplemented',
  notSupported: 'NotSupported',
  internalError: 'InternalError',
  protocolError: 'ProtocolError',
  securityError: 'SecurityError',
  propertyConstraint: 'PropertyConstraintViolation',
  typeConstraint: 'TypeConstraintViolation',
  genericError: 'GenericError'
} as const

const v2Errors: Record<RpcErrorKind, string> = {
  ...common,
  // OCPP-J 2.0.1 Part 4 §4.3: RpcFrameworkError for an unreadable request,
  // MessageTypeNotSupported for an unknown MessageTypeId.
  rpcFramework: 'RpcFrameworkError',
  messageTypeNotSupported: 'MessageTypeNotSupported',
  formatViolation: 'FormatViolation',
  occurrenceConstraint: 'OccurrenceConstraintViolation'
}

export const dialects: Readonly<Record<OcppVersion, Dialect>> = Object.freeze({
  '1.6': Object.freeze({
    version: '1.6',
    subprotocol: 'ocpp1.6',
    messageTypes: new Set([2, 3, 4]),
    errorCodes: Object.freeze({
      ...common,
      // OCPP-J 1.6 §4.2.3 has no RpcFrameworkError / MessageTypeNotSupported: a frame that
      // does not conform to the PDU structure is a FormationViolation (spelling as in 1.6).
      rpcFramework: 'FormationViolation',
      messageTypeNotSupported: 'FormationViolation',
      formatViolation: 'FormationViolation',
      occurrenceConstraint: 'OccurenceConstraintViolation'
    })
  }),
  '2.0.1': Object.freeze({
    version: '2.0.1',
    subprotocol: 'ocpp2.0.1',
    messageTypes: new Set([2, 3, 4]),
    errorCodes: Object.freeze({ ...v2Errors })
  }),
  '2.1': Object.freeze({
    version: '2.1',
    subprotocol: 'ocpp2.1',
    messageTypes: new Set([2, 3, 4, 5, 6]),
    errorCodes: Object.freeze({ ...v2Errors })
  })
})

const bySubprotocol = new Map(Object.values(dialects).map((d) => [d.subprotocol, d]))

export function dialectForSubprotocol (name: string): Dialect | undefined {
  return bySubprotocol.get(name)
}

export const allSubprotocols: readonly string[] = Object.values(dialects).map((d) => d.subprotocol)

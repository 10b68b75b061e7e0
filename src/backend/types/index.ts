/**
 * Payload types per OCPP version and Action, generated from the official OCA JSON schemas
 * (the same ones the gateway validates with): `Request<'2.0.1', 'BootNotification'>`,
 * `Response<'1.6', 'Authorize'>`. `AnyRequest<'BootNotification'>` is the union over the
 * versions that have the Action, for handlers registered for every version.
 */
import type { OcppVersion } from '../../ocpp/dialect.js'
import type * as V16 from './ocpp16.js'
import type * as V201 from './ocpp201.js'
import type * as V21 from './ocpp21.js'

export type { V16, V201, V21 }
export type { OcppVersion }

export interface RequestMap {
  '1.6': V16.Requests
  '2.0.1': V201.Requests
  '2.1': V21.Requests
}

export interface ResponseMap {
  '1.6': V16.Responses
  '2.0.1': V201.Responses
  '2.1': V21.Responses
}

/** Every Action of a version (Calls in both directions, and 2.1 SENDs). */
export type ActionOf<V extends OcppVersion> = keyof RequestMap[V] & string
/** Every Action of any version. */
export type AnyAction = ActionOf<'1.6'> | ActionOf<'2.0.1'> | ActionOf<'2.1'>
/** The versions that have an Action. */
export type VersionsOf<A extends string> = { [V in OcppVersion]: A extends ActionOf<V> ? V : never }[OcppVersion]

/** The Call payload of an Action in a version. */
export type Request<V extends OcppVersion, A extends ActionOf<V>> = RequestMap[V][A]
/** The CallResult payload of an Action in a version (`never` for a 2.1 SEND). */
export type Response<V extends OcppVersion, A extends ActionOf<V>> = A extends keyof ResponseMap[V] ? ResponseMap[V][A] : never

type In<M, A> = A extends keyof M ? M[A] : never
// Written out per version (not mapped over VersionsOf<A>): TypeScript then resolves it while it
// types a handler's literal answer, so `status: 'Accepted'` stays a literal.
/** The Call payload of an Action in any version that has it. */
export type AnyRequest<A extends AnyAction> = In<V16.Requests, A> | In<V201.Requests, A> | In<V21.Requests, A>
/** The CallResult payload of an Action in any version that has it. */
export type AnyResponse<A extends AnyAction> = In<V16.Responses, A> | In<V201.Responses, A> | In<V21.Responses, A>

/**
 * A BackendPort that records what the session hands to the backends, and a session built
 * on it and a FakeSocket: the session's rules run without a network or a broker.
 */
import { pino } from 'pino'
import { buildConfig } from '../../src/config/load.js'
import type { Frame, JsonObject } from '../../src/ocpp/frame.js'
import { dialects, type OcppVersion } from '../../src/ocpp/dialect.js'
import { Metrics } from '../../src/observability/metrics.js'
import { createValidators, type Validators } from '../../src/schema/index.js'
import type { AnswerTarget, BackendPort, OnUndelivered } from '../../src/session/backend-port.js'
import type { SessionContext } from '../../src/session/context.js'
import { Session, type SessionLimits } from '../../src/session/session.js'
import { FakeSocket } from './fake-socket.js'

export type BackendRecord =
  | { kind: 'forward', frame: Frame, text: string, action: string | undefined, validationError: string | undefined }
  | { kind: 'answer', to: AnswerTarget, code: string, description: string, details: JsonObject }
  | { kind: 'report', error: string, description: string, extra: JsonObject }

export class FakeBackend implements BackendPort {
  readonly records: BackendRecord[] = []
  /** The `undelivered` callback given with each forwarded frame, by UniqueId (a test calls it as the bridge would). */
  readonly undelivered = new Map<string, OnUndelivered>()
  forward (frame: Frame, text: string, action: string | undefined, validationError: string | undefined, undelivered?: OnUndelivered): void {
    this.records.push({ kind: 'forward', frame, text, action, validationError })
    if (undelivered !== undefined) this.undelivered.set(frame.id, undelivered)
  }

  answer (to: AnswerTarget, code: string, description: string, details: JsonObject): void {
    this.records.push({ kind: 'answer', to, code, description, details })
  }

  report (error: string, description: string, extra: JsonObject): void {
    this.records.push({ kind: 'report', error, description, extra })
  }

  of<K extends BackendRecord['kind']> (kind: K): Array<Extract<BackendRecord, { kind: K }>> {
    return this.records.filter((r): r is Extract<BackendRecord, { kind: K }> => r.kind === kind)
  }
}

export const defaultLimits: SessionLimits = Object.freeze({
  pingIntervalMs: 30_000,
  maxMalformedFrames: 20,
  malformedWindowMs: 60_000,
  highWatermark: 1_048_576,
  slowConsumerTimeoutMs: 30_000
})

let validators: Validators | undefined

export interface FakeSessionOptions {
  version?: OcppVersion
  cid?: string
  /** Config layers, as for buildConfig (e.g. { message_format_checking: 'all' }). */
  config?: Record<string, unknown>
  limits?: Partial<SessionLimits>
  /** The session's backend port instead of the recording FakeBackend (e.g. a bridge's MqttBackend). */
  port?: BackendPort
  /** The metrics the session counts in (default: a new Metrics). */
  metrics?: Metrics
  peer?: string
  username?: string
  listener?: string
}

export interface FakeSession {
  session: Session
  socket: FakeSocket
  /** Records what the session hands to its port, unless `port` was given (then unused). */
  backend: FakeBackend
  metrics: Metrics
}

/** A session on a fake socket and a fake backend port, with the config's defaults. */
export function fakeSession (o: FakeSessionOptions = {}): FakeSession {
  const config = buildConfig([{ log: { level: 'silent' } }, o.config ?? {}])
  const metrics = o.metrics ?? new Metrics()
  const needValidators = config.formatChecking.mode !== 'disable'
  const ctx: SessionContext = {
    config,
    metrics,
    log: pino({ level: 'silent' }),
    validators: needValidators ? (validators ??= createValidators({ compile: 'lazy' })) : undefined
  }
  const socket = new FakeSocket()
  const backend = new FakeBackend()
  const dialect = dialects[o.version ?? '1.6']
  const session = new Session(socket, {
    cid: o.cid ?? 'CP-1',
    dialect,
    subprotocol: `ocpp${dialect.version}`,
    peer: o.peer ?? '127.0.0.1:1234',
    username: o.username,
    listener: o.listener ?? 'default',
    limits: { ...defaultLimits, ...o.limits }
  }, o.port ?? backend, ctx)
  return { session, socket, backend, metrics }
}

export interface EndRecord { reason: string, code: number, detail: string }

/** Binds an end listener on a session (as the session table does) and returns what it is told. */
export function recordEnds (session: Session): EndRecord[] {
  const ends: EndRecord[] = []
  session.bind((_s, reason, code, detail) => { ends.push({ reason, code, detail }) })
  return ends
}

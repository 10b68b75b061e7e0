import type { Metrics } from '../observability/metrics.js'
import type { Logger } from '../observability/logger.js'
import type { FormatCheckingConfig, Validators } from '../schema/index.js'
import type { CredentialChange } from '../ocpp/credential-changes.js'
import type { FrameSink } from '../observability/frame-audit.js'

/** The settings a session reads: a GatewayConfig fits as it is. */
export interface SessionConfig {
  readonly defaultHeartbeatIntervalMs: number
  /** Keepalive: no text frame within heartbeat interval x this closes the connection. */
  readonly heartbeatBackoff: number
  readonly idleTimeoutMs: number
  readonly maxJsonDepth: number
  readonly formatChecking: FormatCheckingConfig
  readonly upstream: { readonly awaitingTimeoutMs: number, readonly maxPendingCalls: number }
  readonly dnstream: { readonly maxMqueueLen: number, readonly awaitingTimeoutMs: number }
  readonly log: { readonly frames: boolean }
}

/** What a session needs from the gateway around it, besides its socket and backend port. */
export interface SessionContext {
  readonly config: SessionConfig
  readonly metrics: Metrics
  readonly log: Logger
  /** Schema validators, present unless message_format_checking is disable. */
  readonly validators: Validators | undefined
  /**
   * Told when a charge point accepted a credential change a backend Call made (a new password,
   * a higher security profile): the gateway's credentials store keeps up (docs/security.md).
   */
  readonly credentials?: { accepted: (cid: string, change: CredentialChange) => void }
  /** The frame audit sink (`log.audit`), when configured: told every frame both ways. */
  readonly audit?: FrameSink
}

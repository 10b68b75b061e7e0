/**
 * Whether to check one message, from the gateway's `message_format_checking` config.
 * Pure; the session calls it per Call and per CallResult.
 */

/** EMQX's names: which directions are checked at all. */
export const FORMAT_CHECKING_MODES = Object.freeze(['disable', 'upstream_only', 'dnstream_only', 'all'] as const)
export type FormatCheckingMode = typeof FORMAT_CHECKING_MODES[number]
/** 'upstream' = sent by the charge point; 'dnstream' = sent by the backend (EMQX spelling). */
export type Direction = 'upstream' | 'dnstream'
/** 'check': reject an invalid message; 'warn': forward it but log, count and mark it; 'skip': don't validate. */
export const CHECK_DECISIONS = Object.freeze(['check', 'skip', 'warn'] as const)
export type CheckDecision = typeof CHECK_DECISIONS[number]

export interface FormatCheckingConfig {
  readonly mode: FormatCheckingMode
  /** Forward invalid messages (logged, counted, marked) instead of rejecting them. */
  readonly warn_only?: boolean
  /** Per-action decision, by the action name of the Call (a CallResult uses its Call's action). */
  readonly overrides?: Readonly<Record<string, CheckDecision>>
}

const CHECKED_DIRECTIONS: Readonly<Record<FormatCheckingMode, readonly Direction[]>> = Object.freeze({
  disable: [],
  upstream_only: ['upstream'],
  dnstream_only: ['dnstream'],
  all: ['upstream', 'dnstream']
})

function isDecision (value: unknown): value is CheckDecision {
  return value === 'check' || value === 'skip' || value === 'warn'
}

/**
 * Decides how to treat one message:
 *
 * 1. `mode` picks the directions that are checked at all. A direction outside the mode is
 *    always 'skip', whatever the overrides say: `disable` really disables, and
 *    `upstream_only` never touches what the backend sends.
 * 2. Within a checked direction, an override for the action wins (`check`, `skip` or `warn`).
 * 3. Otherwise 'warn' if `warn_only`, else 'check'.
 *
 * The action is that of the Call, also for its CallResult. Action names come from the wire,
 * so only the overrides' own keys count (`constructor` or `__proto__` are never overrides).
 *
 * @example
 * // check everything, except MeterValues from vendor firmware: forward those with a warning
 * checkDecision({ mode: 'all', overrides: { MeterValues: 'warn' } }, 'upstream', 'MeterValues') // 'warn'
 * // warn on everything but refuse a malformed BootNotification
 * checkDecision({ mode: 'upstream_only', warn_only: true, overrides: { BootNotification: 'check' } },
 *   'upstream', 'BootNotification') // 'check'
 */
export function checkDecision (config: FormatCheckingConfig, direction: Direction, action: string): CheckDecision {
  // An unknown mode (config not validated) checks nothing rather than throwing per message.
  if (CHECKED_DIRECTIONS[config.mode]?.includes(direction) !== true) return 'skip'
  const overrides = config.overrides
  if (overrides !== undefined && Object.hasOwn(overrides, action)) {
    const override = overrides[action]
    if (isDecision(override)) return override
  }
  return config.warn_only === true ? 'warn' : 'check'
}

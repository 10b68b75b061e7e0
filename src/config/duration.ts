/**
 * Durations as EMQX writes them ("60s", "5m", "500ms", "1h", "infinity") or plain numbers
 * of seconds: the schema fragment that accepts them and the converter to milliseconds, used
 * by every duration key of the configuration.
 */
import { ConfigError } from './config-error.js'

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * JSON-schema fragment of a duration key; spread it and add the default:
 * `{ ...durationSchema, default: defaults.idle_timeout }`. The pattern matches what
 * {@link parseDuration} reads, so a valid config never fails conversion (except a finite-only
 * key given "infinity").
 */
export const durationSchema = Object.freeze({
  anyOf: Object.freeze([
    Object.freeze({ type: 'number', minimum: 0 }),
    Object.freeze({ type: 'string', pattern: '^\\s*(infinity|\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?)\\s*$' })
  ])
})

/** Milliseconds, Infinity for "infinity", undefined when unreadable. */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  if (text === 'infinity') return Infinity
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text)
  if (m === null) return undefined
  return Number(m[1]) * (units[m[2] ?? 's'] ?? 1000)
}

/**
 * The milliseconds of the duration at config key `key`, or a ConfigError naming the key.
 * `finite: true` refuses "infinity", for keys where it would mean a timer that never fires
 * or a ban that never ends (the lockout windows, the authenticators' timeouts and TTLs).
 *
 * @example
 *   durationMs('2s', 'authentication[0].reload_interval', { finite: true }) // 2000
 */
export function durationMs (value: unknown, key: string, { finite = false } = {}): number {
  const ms = parseDuration(value)
  if (finite) {
    if (ms === undefined || !Number.isFinite(ms)) throw new ConfigError(`${key}: "${String(value)}" is not a finite duration (e.g. 5s, 500ms, 1m)`)
  } else if (ms === undefined) {
    throw new ConfigError(`${key}: "${String(value)}" is not a duration (e.g. 60s, 500ms, 5m, infinity)`)
  }
  return ms
}

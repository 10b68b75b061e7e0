/**
 * Durations as EMQX writes them ("60s", "5m", "500ms", "1h", "infinity") or plain numbers
 * of seconds. Returns milliseconds, Infinity for "infinity", undefined when unreadable.
 */
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  if (text === 'infinity') return Infinity
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text)
  if (m === null) return undefined
  return Number(m[1]) * (units[m[2] ?? 's'] ?? 1000)
}

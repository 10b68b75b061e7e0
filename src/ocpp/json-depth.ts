/**
 * A bound on how deeply a peer's JSON may nest, checked on the text before it is parsed.
 * Parsing a deep text is fine, but everything after it that walks the value recursively
 * (JSON.stringify, schema checks, logging) overflows the stack a few thousand levels down,
 * and that would end the process. OCPP's own messages nest about ten levels deep.
 */

/** The default of `max_json_depth`: far above any OCPP message, far below the stack's limit. */
export const DEFAULT_MAX_JSON_DEPTH = 64

/**
 * Whether `text` nests arrays and objects deeper than `max` (brackets inside strings do not
 * count). Cheap on the hot path: a text of `max` characters or fewer cannot.
 */
export function jsonTooDeep (text: string, max: number): boolean {
  if (text.length <= max) return false
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) { // a string: on to its closing quote, over escapes
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c) i++
        else if (d === 0x22) break
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

/**
 * The one place the Ajv options are chosen. Every option here is about untrusted input or
 * about the official schemas; see docs/schema.md.
 */
import { Ajv, _, type Options, type ValidateFunction } from 'ajv'
import { formats } from './formats.js'
import type { JsonSchema } from './schema-source.js'

/** `standalone`: keep each function's source, for code generated at build time (standalone.ts). */
export function createAjv ({ standalone = false } = {}): Ajv {
  // Generated code refers to the formats as `formats[name]`, imported from ./formats.js.
  const code: Options['code'] = standalone ? { source: true, esm: true, formats: _`formats` } : undefined
  const ajv = new Ajv({
    ...(code !== undefined ? { code } : {}),
    // Untrusted input: stop at the first error (allErrors can be made to cost O(n) errors
    // per message, a resource-exhaustion risk), and never touch the payload.
    allErrors: false,
    useDefaults: false,
    coerceTypes: false,
    removeAdditional: false,
    // The OCA schemas carry `javaType` and `comment` (unknown keywords), `additionalItems`
    // next to a non-tuple `items`, and `additionalProperties` on string enums: all
    // harmless, all rejected by Ajv's strict mode. Relax exactly those three checks.
    strictSchema: false,
    strictTypes: false,
    strictTuples: false,
    // 1.6 charging limits are `multipleOf: 0.1`; plain division makes 0.3 / 0.1 fail. A
    // tolerance of 1e-6 on the quotient holds for limits up to ~1e9 (ocpp-rpc uses the same).
    multipleOfPrecision: 6,
    // Nothing but the payload is referenced: errors need no data/schema copies.
    verbose: false,
    messages: true
  })
  // The only formats the bundles use: formats.ts.
  for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format)
  return ajv
}

/**
 * Compiles one shipped schema. The bundle's `$id` is dropped: it is not needed (all refs
 * are local `#/definitions/...`), some are URNs Ajv's URI parser rejects, and the same id
 * means different schemas in different versions. The shipped object itself is not touched.
 */
export function compileSchema (ajv: Ajv, schema: JsonSchema): ValidateFunction {
  return ajv.compile(withoutId(schema))
}

export function withoutId (schema: JsonSchema): Record<string, unknown> {
  const { $id: _id, ...rest } = schema
  return rest
}

/**
 * The one place the Ajv options are chosen. Every option here is about untrusted input or
 * about the official schemas; see docs/schema.md.
 */
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { isDateTime } from './date-time.js'
import type { JsonSchema } from './schema-source.js'

// ajv-formats is CommonJS: under NodeNext the default import is module.exports, whose
// `default` is the plugin function.
const addFormats = addFormatsModule.default

export function createAjv (): Ajv {
  const ajv = new Ajv({
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
  // The only formats the bundles use (1.6: date-time, uri; 2.x: date-time). date-time is
  // ajv-formats' full check (time zone required, as RFC 3339 and OCPP do) in one regex
  // pass: see date-time.ts. uri is ajv-formats' full check.
  addFormats(ajv, ['uri'])
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime })
  return ajv
}

/**
 * Compiles one shipped schema. The bundle's `$id` is dropped: it is not needed (all refs
 * are local `#/definitions/...`), some are URNs Ajv's URI parser rejects, and the same id
 * means different schemas in different versions. The shipped object itself is not touched.
 */
export function compileSchema (ajv: Ajv, schema: JsonSchema): ValidateFunction {
  const { $id: _id, ...withoutId } = schema
  return ajv.compile(withoutId)
}

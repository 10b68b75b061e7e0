/**
 * Turns the first Ajv error into a version-independent failure kind and a short message
 * that names the field (JSON pointer into the payload) and the rule (the schema keyword).
 * The dialect table (src/ocpp/dialect.ts) turns the kind into the code name of each version.
 */
import type { ErrorObject } from 'ajv'
import type { RpcErrorKind } from '../ocpp/dialect.js'

export interface ValidationFailure {
  kind: RpcErrorKind
  /** Names the field (JSON pointer, `(root)` for the payload itself) and the rule, e.g.
   * `/chargePointVendor: must NOT have more than 20 characters (maxLength)`. */
  message: string
}

/**
 * OCPP-J 1.6 §4.2.3 / 2.0.1 Part 4 §4.3 error codes by schema keyword. A keyword not listed
 * is structural (additionalProperties, additionalItems, $ref, ...) -> formatViolation.
 */
const kindByKeyword: ReadonlyMap<string, RpcErrorKind> = new Map<string, RpcErrorKind>([
  ['required', 'occurrenceConstraint'],
  ['minItems', 'occurrenceConstraint'],
  ['maxItems', 'occurrenceConstraint'],
  ['type', 'typeConstraint'],
  ['enum', 'propertyConstraint'],
  ['const', 'propertyConstraint'],
  ['maxLength', 'propertyConstraint'],
  ['minLength', 'propertyConstraint'],
  ['pattern', 'propertyConstraint'],
  ['format', 'propertyConstraint'],
  ['minimum', 'propertyConstraint'],
  ['maximum', 'propertyConstraint'],
  ['exclusiveMinimum', 'propertyConstraint'],
  ['exclusiveMaximum', 'propertyConstraint'],
  ['multipleOf', 'propertyConstraint']
])

export function kindOfKeyword (keyword: string): RpcErrorKind {
  return kindByKeyword.get(keyword) ?? 'formatViolation'
}

/** Property names come from untrusted input: bound what goes into a message. */
const MAX_NAME = 64
const MAX_ENUM_LISTED = 8

export function truncate (text: string, max = MAX_NAME): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`
}

/** RFC 6901 escaping of one reference token. */
function pointerToken (name: string): string {
  return truncate(name).replace(/~/g, '~0').replace(/\//g, '~1')
}

function enumText (values: unknown): string {
  if (!Array.isArray(values)) return 'must be equal to one of the allowed values'
  const listed = values.slice(0, MAX_ENUM_LISTED).map((v) => JSON.stringify(v)).join(', ')
  return `must be one of ${listed}${values.length > MAX_ENUM_LISTED ? ', …' : ''}`
}

/** Maps one Ajv error (with `allErrors: false` there is exactly one) to a failure. */
export function toFailure (error: ErrorObject | undefined): ValidationFailure {
  if (error === undefined) return { kind: 'formatViolation', message: '(root): payload does not match the schema' }
  const { keyword, params } = error
  let pointer = error.instancePath
  let text = error.message ?? 'is invalid'
  if (keyword === 'required' && typeof params.missingProperty === 'string') {
    pointer += `/${pointerToken(params.missingProperty)}`
    text = 'required property is missing'
  } else if (keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    pointer += `/${pointerToken(params.additionalProperty)}`
    text = 'property is not allowed by the schema'
  } else if (keyword === 'enum') {
    text = enumText(params.allowedValues)
  }
  return { kind: kindOfKeyword(keyword), message: `${pointer === '' ? '(root)' : pointer}: ${text} (${keyword})` }
}

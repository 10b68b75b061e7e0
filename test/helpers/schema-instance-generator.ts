/**
 * Builds valid instances from the shipped JSON schemas, for the tests: 'minimal' has only the
 * required properties and the fewest array items; 'full' has every property, strings at
 * their maximum length, so the boundaries are exercised too.
 */
type Schema = Record<string, unknown>

export interface GenerateOptions {
  shape: 'minimal' | 'full'
}

const DATE_TIME = '2024-05-06T07:08:09.123Z'
const URI = 'https://example.com/firmware/1.2.3.bin'
const MAX_DEPTH = 24

function resolve (root: Schema, schema: Schema): Schema {
  const ref = schema.$ref
  if (typeof ref !== 'string') return schema
  const match = /^#\/definitions\/(.+)$/.exec(ref)
  const defs = root.definitions as Record<string, Schema> | undefined
  const target = match?.[1] !== undefined ? defs?.[match[1]] : undefined
  if (target === undefined) throw new Error(`cannot resolve ${ref}`)
  return resolve(root, target)
}

function firstType (schema: Schema): string | undefined {
  const t = schema.type
  if (Array.isArray(t)) return t[0] as string
  return typeof t === 'string' ? t : undefined
}

function numberIn (schema: Schema, integer: boolean): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined
  const max = typeof schema.maximum === 'number' ? schema.maximum : undefined
  let n = min ?? (max !== undefined && max < 1 ? max : 1)
  if (integer) n = Math.ceil(n)
  const step = schema.multipleOf
  if (typeof step === 'number') n = Math.ceil(n / step) * step
  return n
}

function stringIn (schema: Schema, opts: GenerateOptions): string {
  if (schema.format === 'date-time') return DATE_TIME
  if (schema.format === 'uri') return URI
  if (schema.format !== undefined) throw new Error(`no generator for format ${String(schema.format)}`)
  if (schema.pattern !== undefined) throw new Error('no generator for pattern')
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : undefined
  const length = opts.shape === 'full' ? (max ?? 40) : Math.max(min, Math.min(max ?? 1, 1))
  return 'x'.repeat(length)
}

export function generate (root: Schema, opts: GenerateOptions, schema: Schema = root, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('schema too deep (recursive?)')
  const s = resolve(root, schema)
  if (Array.isArray(s.enum)) return s.enum[0]
  if ('const' in s) return s.const
  switch (firstType(s)) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Schema>
      const required = new Set((s.required ?? []) as string[])
      const out: Record<string, unknown> = {}
      for (const [name, sub] of Object.entries(props)) {
        if (opts.shape === 'full' || required.has(name)) out[name] = generate(root, opts, sub, depth + 1)
      }
      for (const name of required) {
        if (!(name in out)) throw new Error(`required ${name} has no schema`)
      }
      return out
    }
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0
      const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity
      const count = opts.shape === 'full' ? Math.min(Math.max(min, 2), max) : min
      const items = (s.items ?? {}) as Schema
      return Array.from({ length: count }, () => generate(root, opts, items, depth + 1))
    }
    case 'string': return stringIn(s, opts)
    case 'integer': return numberIn(s, true)
    case 'number': return numberIn(s, false)
    case 'boolean': return opts.shape === 'full'
    case 'null': return null
    default: return {}
  }
}

/** The schema of a root property, $ref resolved. */
export function propertySchema (root: Schema, name: string): Schema | undefined {
  const props = root.properties as Record<string, Schema> | undefined
  const sub = props?.[name]
  return sub === undefined ? undefined : resolve(root, sub)
}

export { resolve as resolveRef, firstType }

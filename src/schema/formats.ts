/**
 * The formats the OCPP schemas use, defined once: Ajv gets them at run time (ajv-factory.ts)
 * and the precompiled validators import them (standalone.ts), so both check the same way.
 * 1.6 uses date-time and uri, 2.x date-time. date-time is ours (date-time.ts: ajv-formats'
 * full rules in one pass), uri is ajv-formats' full check.
 */
import { fullFormats } from 'ajv-formats/dist/formats.js'
import { isDateTime } from './date-time.js'

export const formats = Object.freeze({
  'date-time': Object.freeze({ type: 'string' as const, validate: isDateTime }),
  uri: fullFormats.uri
})

/**
 * `npm run build` runs this after tsc: generates the precompiled validators (standalone.ts)
 * that are missing or stale, and says which.
 */
import { writePrecompiled } from './standalone.js'

const started = performance.now()
const written = await writePrecompiled()
console.log(written.length === 0
  ? 'precompiled OCPP validators are current'
  : `precompiled OCPP validators for ${written.join(', ')} in ${Math.round(performance.now() - started)} ms`)

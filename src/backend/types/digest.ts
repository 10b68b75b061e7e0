/**
 * The fingerprint of one version's schemas, written into the header of its generated types
 * file, so a test can tell that the types were generated from the schemas in use.
 */
import { createHash } from 'node:crypto'
import type { OcppVersion } from '../../ocpp/dialect.js'
import { loadActionSchemas } from '../../schema/schema-source.js'

/** Generated file per version, in src/backend/types/. */
export const typesFiles: Readonly<Record<OcppVersion, string>> = Object.freeze({
  '1.6': 'ocpp16.ts',
  '2.0.1': 'ocpp201.ts',
  '2.1': 'ocpp21.ts'
})

export function schemasDigest (version: OcppVersion): string {
  const hash = createHash('sha256')
  for (const [action, s] of loadActionSchemas(version)) hash.update(JSON.stringify([action, s.request, s.response ?? null]))
  return hash.digest('hex')
}

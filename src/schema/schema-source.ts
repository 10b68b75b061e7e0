/**
 * Where the OCPP JSON schemas come from: one place made for it, `schemas/` at the root of this
 * package (the OCA schemas for OCPP 1.6 core plus the 1.6 security extension, 2.0.1 and 2.1
 * Edition 1, requests and responses, one bundle per version), with their licence and a
 * manifest of sha256 sums that scripts/check-schemas.ts and a unit test hold them to. The
 * validators, the admin API and the backend SDK's generated types all read them here.
 * docs/schema.md says where the files come from and why.
 *
 * The bundles are read once, when this module is first imported; nothing here runs per
 * message. A file of unexpected layout throws here, at start, not in traffic.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { OcppVersion } from '../ocpp/dialect.js'

/** A JSON schema as shipped; never modified (Ajv gets shallow copies). */
export type JsonSchema = Readonly<Record<string, unknown>>

export interface ActionSchemas {
  /** Schema of the Call payload (or SEND payload in 2.1). */
  readonly request: JsonSchema
  /** Schema of the CallResult payload; absent for 2.1 SEND-only messages. */
  readonly response?: JsonSchema
}

/** Bundle file per version in schemas/. */
export const bundleFiles: Readonly<Record<OcppVersion, string>> = {
  '1.6': 'ocpp1_6.json',
  '2.0.1': 'ocpp2_0_1.json',
  '2.1': 'ocpp2_1.json'
}

/** The package's schemas/ folder: the first one up from this module (src/ or dist/src/). */
export function schemasDir (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'schemas', 'MANIFEST.json'))) return join(dir, 'schemas')
    const up = dirname(dir)
    if (up === dir) throw new Error('schemas/MANIFEST.json not found above ' + fileURLToPath(import.meta.url))
    dir = up
  }
}

/**
 * Schema ids in the bundles: `urn:BootNotification.req` / `.conf` (1.6, 2.0.1),
 * `urn:BootNotificationRequest` / `Response` (2.1), and `urn:NotifyPeriodicEventStream`
 * (2.1 SEND message, request only). The lazy name part keeps e.g. `RequestBatterySwap`
 * intact in `urn:RequestBatterySwapRequest`.
 */
const ID_PATTERN = /^urn:([A-Za-z0-9]+?)(\.req|\.conf|Request|Response)?$/

function isResponseSuffix (suffix: string | undefined): boolean {
  return suffix === '.conf' || suffix === 'Response'
}

/** Reads one version's bundle and indexes it by action name. Throws on an unexpected layout. */
export function loadActionSchemas (version: OcppVersion): ReadonlyMap<string, ActionSchemas> {
  const file = join(schemasDir(), bundleFiles[version])
  const bundle: unknown = JSON.parse(readFileSync(file, 'utf8'))
  if (!Array.isArray(bundle)) throw new Error(`${file}: expected an array of JSON schemas`)
  const requests = new Map<string, JsonSchema>()
  const responses = new Map<string, JsonSchema>()
  for (const schema of bundle as unknown[]) {
    if (typeof schema !== 'object' || schema === null) throw new Error(`${file}: a schema is not an object`)
    const id = (schema as { $id?: unknown }).$id
    const match = typeof id === 'string' ? ID_PATTERN.exec(id) : null
    if (match === null) throw new Error(`${file}: unexpected schema id ${JSON.stringify(id)}`)
    const action = match[1] as string
    const target = isResponseSuffix(match[2]) ? responses : requests
    if (target.has(action)) throw new Error(`${file}: duplicate schema id ${String(id)}`)
    target.set(action, schema as JsonSchema)
  }
  const out = new Map<string, ActionSchemas>()
  for (const [action, request] of [...requests].sort(([a], [b]) => a.localeCompare(b))) {
    const response = responses.get(action)
    out.set(action, response === undefined ? { request } : { request, response })
  }
  for (const action of responses.keys()) {
    if (!requests.has(action)) throw new Error(`${file}: response schema without request for ${action}`)
  }
  return out
}

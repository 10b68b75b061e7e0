/** Connection failures of the simulator, by a short stable name for the summary's counters. */

/** A short stable name for why a connection attempt failed. */
export function failureKind (err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'refused'
    case 'ECONNRESET': return 'reset'
    case 'ETIMEDOUT': return 'timeout'
    case 'EADDRNOTAVAIL': return 'addrNotAvail'
    case 'EADDRINUSE': return 'addrInUse'
    case 'EMFILE':
    case 'ENFILE': return 'tooManyFiles'
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return 'dns'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return 'unreachable'
  }
  const m = /^Unexpected server response: (\d+)/.exec(err.message)
  if (m !== null) return `http${m[1]!}`
  if (err.message.includes('handshake has timed out')) return 'timeout'
  if (err.message.includes('subprotocol')) return 'subprotocol'
  if (err.message === 'socket hang up') return 'reset'
  return 'other'
}

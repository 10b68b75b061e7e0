/**
 * PROXY protocol v1 and v2 (HAProxy's; EMQX's `proxy_protocol`), for a listener behind a TCP
 * load balancer: the balancer writes a header with the client's address before anything else
 * (before TLS, before HTTP), so the limits, the logs and the events see the charger, not the
 * balancer that 10,000 chargers share. The header is framed here and parsed by
 * proxy-protocol-js; the socket is then handed, with the bytes after the header put back, to
 * the listener's HTTP or HTTPS server.
 */
import type { Server } from 'node:http'
import { isIP, type Socket } from 'node:net'
import { V1ProxyProtocol, V2ProxyProtocol, IPv4ProxyAddress, IPv6ProxyAddress, Command } from 'proxy-protocol-js'

/** A v1 header is at most 107 bytes (the spec); v2 with TLVs, bounded here. */
const MAX_V1 = 107
const MAX_V2 = 16 + 1024
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V1_SIGNATURE = Buffer.from('PROXY ')

export type HeaderResult =
  | { state: 'more' }
  | { state: 'done', length: number, source: { address: string, port: number } | undefined }
  | { state: 'error', message: string }

/**
 * Frame and parse a PROXY header at the start of `buf`. `source` is undefined for a header
 * that names no client (v1 UNKNOWN, v2 LOCAL: the balancer's own health check).
 */
export function parseProxyHeader (buf: Buffer): HeaderResult {
  const n = Math.min(buf.length, 12)
  if (buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) {
    if (buf.length < 16) return { state: 'more' }
    const length = 16 + buf.readUInt16BE(14)
    if (length > MAX_V2) return { state: 'error', message: `PROXY v2 header of ${length} bytes` }
    if (buf.length < length) return { state: 'more' }
    try {
      const p = V2ProxyProtocol.parse(new Uint8Array(buf.subarray(0, length)))
      if (p.command === Command.LOCAL) return { state: 'done', length, source: undefined }
      const a = p.proxyAddress
      if (a instanceof IPv4ProxyAddress) return { state: 'done', length, source: { address: a.sourceAddress.address.join('.'), port: a.sourcePort } }
      if (a instanceof IPv6ProxyAddress) return { state: 'done', length, source: { address: ipv6(a.sourceAddress.address), port: a.sourcePort } }
      return { state: 'done', length, source: undefined }
    } catch (err) {
      return { state: 'error', message: `PROXY v2 header: ${(err as Error).message}` }
    }
  }
  const m = Math.min(buf.length, V1_SIGNATURE.length)
  if (!buf.subarray(0, m).equals(V1_SIGNATURE.subarray(0, m))) return { state: 'error', message: 'no PROXY protocol header' }
  const end = buf.indexOf('\r\n')
  if (end === -1) return buf.length >= MAX_V1 ? { state: 'error', message: 'PROXY v1 header longer than 107 bytes' } : { state: 'more' }
  const line = buf.subarray(0, end + 2).toString('latin1')
  if (/^PROXY UNKNOWN(?: [^\r\n]*)?\r\n$/.test(line)) return { state: 'done', length: end + 2, source: undefined }
  try {
    const p = V1ProxyProtocol.parse(line)
    // The parser takes any word as an address; an address is what the limits key on.
    if (isIP(p.source.ipAddress) === 0) return { state: 'error', message: `PROXY v1 header: "${p.source.ipAddress.slice(0, 64)}" is not an IP address` }
    return { state: 'done', length: end + 2, source: { address: p.source.ipAddress, port: p.source.port } }
  } catch (err) {
    return { state: 'error', message: `PROXY v1 header: ${(err as Error).message ?? 'unreadable'}` }
  }
}

function ipv6 (bytes: readonly number[]): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16))
  // The shortest form (RFC 5952): the longest run of zero groups becomes "::".
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j === i ? i + 1 : j
  }
  if (best === -1) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

export interface ProxiedPeer { address: string, port: number }

/** The balancer side of a connection: what both its HTTP and its TLS socket report. */
const peerKey = (address: string | undefined, port: number | undefined): string => `${address ?? ''}|${port ?? 0}`

/**
 * The client each proxied connection came from, by its TCP peer (address and port of the
 * balancer's side, which the HTTP and the TLS socket both report). Entries live as long as
 * their socket.
 */
export class ProxiedPeers {
  private readonly byPeer = new Map<string, ProxiedPeer>()
  get (address: string | undefined, port: number | undefined): ProxiedPeer | undefined {
    return this.byPeer.get(peerKey(address, port))
  }

  /** Read the header of `socket` (paused), then hand it to `server`. */
  accept (socket: Socket, server: Server, timeoutMs: number, onError: (message: string) => void): void {
    let buf: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => fail('no complete PROXY header in time'), timeoutMs)
    // A peer that goes before its header (a balancer's TCP health check) is no bad header.
    const onGone = (): void => { clearTimeout(timer) }
    const fail = (message: string): void => {
      clearTimeout(timer)
      socket.off('close', onGone)
      socket.off('readable', onReadable)
      onError(message)
      socket.destroy()
    }
    const onReadable = (): void => {
      let chunk: Buffer | null
      // Paused mode, never 'data': nothing is read that is not put back.
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
        const r = parseProxyHeader(buf)
        if (r.state === 'more') continue
        if (r.state === 'error') { fail(r.message); return }
        clearTimeout(timer)
        socket.off('readable', onReadable)
        socket.off('close', onGone)
        if (buf.length > r.length) socket.unshift(buf.subarray(r.length))
        if (r.source !== undefined) {
          const key = peerKey(socket.remoteAddress, socket.remotePort)
          this.byPeer.set(key, r.source)
          socket.once('close', () => this.byPeer.delete(key))
        }
        server.emit('connection', socket)
        return
      }
    }
    socket.on('error', () => { clearTimeout(timer) })
    socket.once('close', onGone)
    socket.on('readable', onReadable)
  }

  get size (): number { return this.byPeer.size }
}

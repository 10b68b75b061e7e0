/**
 * The key per-address limits count under. IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4
 * address; other IPv6 addresses count per /64, the smallest block a single customer usually
 * holds (one host can pick any of 2^64 addresses, so per-address limits on full IPv6
 * addresses would limit nothing).
 */
import { isIPv4, isIPv6 } from 'node:net'
import { unmap } from '../util/cidr.js'

export function addressKey (peer: string): string {
  const v4 = unmap(peer)
  if (isIPv4(v4)) return v4
  if (!isIPv6(peer)) return peer
  const groups = expandIPv6(peer.replace(/%.*$/, ''))
  return groups === undefined ? peer : `${groups.slice(0, 4).join(':')}::/64`
}

/** Eight 4-digit lower-case hex groups, or undefined. */
function expandIPv6 (a: string): string[] | undefined {
  let s = a.toLowerCase()
  // An embedded IPv4 tail becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s)
  if (v4 !== null) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number]
    s = s.slice(0, v4.index) + ((b0 << 8) | b1).toString(16) + ':' + ((b2 << 8) | b3).toString(16)
  }
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const head = halves[0] === '' || halves[0] === undefined ? [] : halves[0].split(':')
  const tail = halves.length === 2 && halves[1] !== '' && halves[1] !== undefined ? halves[1].split(':') : []
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0
  const all = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail]
  if (all.length !== 8) return undefined
  return all.map(g => g.padStart(4, '0'))
}

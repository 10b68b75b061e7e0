/**
 * CIDR lists (`10.0.0.0/8`, `2001:db8::/32`, bare addresses), pure: parsed once at start (the
 * config names a bad one), matched per connection with node:net's BlockList. IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports) counts as the IPv4 address.
 *
 * @example
 *   trustedProxies(['10.0.0.0/8']).has('::ffff:10.1.2.3') // true
 */
import { BlockList, isIP, isIPv4 } from 'node:net'

export interface TrustedProxies {
  /** Whether a bare address (no port) is a trusted proxy. */
  has: (address: string) => boolean
  readonly size: number
}

/** A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a bare address; undefined when it is neither. */
export function parseCidr (text: string): { address: string, prefix: number, family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim())
  if (m === null) return undefined
  const address = unmap(m[1] as string)
  const version = isIP(address)
  if (version === 0) return undefined
  const max = version === 4 ? 32 : 128
  const prefix = m[2] === undefined ? max : Number(m[2])
  if (prefix > max) return undefined
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' }
}

/** A set of CIDRs; throws a RangeError naming the first one that cannot be read. */
export function trustedProxies (cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList()
  for (const c of cidrs) {
    const p = parseCidr(c)
    if (p === undefined) throw new RangeError(`"${c}" is not an IP address or CIDR`)
    list.addSubnet(p.address, p.prefix, p.family)
  }
  return {
    size: cidrs.length,
    has: (address) => {
      const a = unmap(address)
      const v = isIP(a)
      return v !== 0 && list.check(a, v === 4 ? 'ipv4' : 'ipv6')
    }
  }
}

/** IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) as the IPv4 address. */
export function unmap (a: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a)
  return m !== null && isIPv4(m[1] as string) ? m[1] as string : a
}

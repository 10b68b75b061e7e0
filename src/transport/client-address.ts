/**
 * The charger's own address when it comes through trusted proxies (a load balancer, an
 * ingress), pure: CIDR lists and the X-Forwarded-For chain. The per-address limits, the
 * lockouts and the logs then see the charger, not the proxy that 10,000 chargers share.
 *
 * Rules (as nginx's `real_ip_recursive on`, and RFC 7239 §5.2's "each proxy appends"):
 *  - the header is read only when the TCP peer is in `trusted_proxies`; from anyone else it
 *    is ignored (anyone can send one);
 *  - the chain is read from the right: each trusted address is a proxy of ours, the first
 *    untrusted one is the client. Entries to its left were written by the client and are
 *    never used;
 *  - every entry trusted: the left-most one (a charger inside a trusted network);
 *  - an entry that is not an IP address stops the walk: the hop to its right (a trusted
 *    proxy) is the answer, since nothing it reported can be read.
 *
 * @example
 *   const trusted = trustedProxies(['10.0.0.0/8'])
 *   clientAddress('10.0.0.5', '198.51.100.1, 203.0.113.9, 10.0.0.7', trusted) // '203.0.113.9'
 *   clientAddress('192.0.2.1', '203.0.113.9', trusted)                       // '192.0.2.1' (untrusted peer)
 */
import { isIP } from 'node:net'
import { unmap, type TrustedProxies } from '../util/cidr.js'

export { parseCidr, trustedProxies, type TrustedProxies } from '../util/cidr.js'

/**
 * The address to count and log a connection under: `peer` (the TCP peer, a bare address)
 * unless it is a trusted proxy, then what the header says (rules above). `header` is the
 * value of the configured header, as Node gives it (repeated headers joined with ", ").
 */
export function clientAddress (peer: string, header: string | readonly string[] | undefined, trusted: TrustedProxies): string {
  if (trusted.size === 0 || header === undefined || !trusted.has(peer)) return peer
  const entries = (typeof header === 'string' ? header : header.join(',')).split(',')
  let current = peer
  for (let i = entries.length - 1; i >= 0; i--) {
    const hop = hopAddress(entries[i] as string)
    if (hop === undefined) return current
    current = hop
    if (!trusted.has(hop)) return hop
  }
  return current
}

/**
 * One X-Forwarded-For entry as a bare address: `203.0.113.9`, `203.0.113.9:4711`,
 * `[2001:db8::1]:4711`, `2001:db8::1`; undefined for anything else (`unknown`, obfuscated ids).
 */
export function hopAddress (entry: string): string | undefined {
  let s = entry.trim()
  const bracket = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s)
  if (bracket !== null) s = bracket[1] as string
  else if (/^\d+\.\d+\.\d+\.\d+:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'))
  s = unmap(s)
  return isIP(s) === 0 || s.includes('%') ? undefined : s
}

/**
 * Every MQTT packet of one embedded-broker client, seen before aedes handles it. aedes parses a
 * connection with mqtt-packet and handles each 'packet' event of that parser (lib/client.js,
 * `client._parser`, one listener); here that listener is wrapped, once per connection, so that:
 *
 * - a name that is a property of Object.prototype (`__proto__`, `constructor`, `toString`, …)
 *   as client id, Will topic, topic or filter closes the client before aedes sees it. aedes
 *   2.0.0-beta.1 keys plain objects by these strings and throws from inside its handlers on
 *   them (measured: a CONNECT with client id `constructor`, or a SUBSCRIBE to `toString`,
 *   ended in an uncaught exception, i.e. the gateway process). aedes 1.2 fixed this upstream
 *   (GHSA-52qw-whmv-87c5) on a branch the beta predates; this guard is the beta's fix here.
 * - `$share/{group}/{filter}` in SUBSCRIBE and UNSUBSCRIBE becomes the alias of
 *   ./shared-subscriptions.ts, which aedes passes through to the shared-subscription groups
 *   (aedes 2 itself answers a v5 `$share/` filter 0x9E and treats a 3.1.1 one as a topic).
 */
import type { Client } from 'aedes'
import { toAlias } from './shared-subscriptions.js'

type Listener = (this: unknown, packet: unknown) => void

interface Parser { listeners: (event: 'packet') => Listener[], removeAllListeners: (event: 'packet') => void, on: (event: 'packet', f: Listener) => void }

interface AnyPacket {
  cmd?: string
  clientId?: string
  will?: { topic?: string }
  topic?: string
  subscriptions?: Array<{ topic: string }>
  unsubscriptions?: string[]
}

/** A string that reads back as something on a plain object ({}[s] !== undefined). */
export function isPrototypeName (s: unknown): boolean {
  return typeof s === 'string' && s in Object.prototype
}

/** The first name in a packet that aedes must not see (see above), if any. */
export function refusedName (p: AnyPacket): string | undefined {
  const names: unknown[] = []
  if (p.cmd === 'connect') names.push(p.clientId, p.will?.topic)
  else if (p.cmd === 'publish') names.push(p.topic)
  else if (p.cmd === 'subscribe') for (const s of p.subscriptions ?? []) names.push(s.topic)
  else if (p.cmd === 'unsubscribe') names.push(...(p.unsubscriptions ?? []))
  return names.find(isPrototypeName) as string | undefined
}

/** Rewrites `$share/` filters in place (SUBSCRIBE, UNSUBSCRIBE) for ./shared-subscriptions.ts. */
export function aliasShares (p: AnyPacket): void {
  if (p.cmd === 'subscribe') for (const s of p.subscriptions ?? []) s.topic = toAlias(s.topic)
  else if (p.cmd === 'unsubscribe' && p.unsubscriptions !== undefined) p.unsubscriptions = p.unsubscriptions.map(toAlias)
}

/**
 * Installs the wrapper on a client just made by aedes.handle(). `onRefused(name)` is told
 * before the connection is destroyed; the packet never reaches aedes.
 */
export function filterClientPackets (client: Client, onRefused: (name: string) => void): void {
  const parser = (client as unknown as { _parser?: Parser })._parser
  const handlers = parser?.listeners('packet') ?? []
  // Another aedes than the one this was written for: no guard is better than a broken client.
  if (parser === undefined || handlers.length !== 1) throw new Error('aedes client internals changed: cannot filter MQTT packets (see src/bridge/adapters/client-packets.ts)')
  const handle = handlers[0] as Listener
  parser.removeAllListeners('packet')
  let refused = false
  parser.on('packet', function (this: unknown, packet: unknown) {
    if (refused) return
    const p = packet as AnyPacket
    const name = refusedName(p)
    if (name !== undefined) {
      refused = true
      onRefused(name)
      client.conn.destroy()
      return
    }
    aliasShares(p)
    handle.call(this, packet)
  })
}

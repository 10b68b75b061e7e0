/**
 * The charge points connected now, kept from the gateway's connection events
 * (`events/{cid}`) and, on an external broker, seeded from the nodes' retained presence
 * records (`presence/{cid}/{node}`), so a backend that starts after its chargers knows them and
 * their versions. Both are this gateway's extensions; without them the list stays empty and
 * versions come from the topic or `defaultVersion`. Pure.
 */
import { isJsonObject, type JsonObject } from '../ocpp/frame.js'
import type { OcppVersion } from '../ocpp/dialect.js'

export interface ChargerInfo {
  cid: string
  version: OcppVersion | undefined
  /** The gateway node that holds the connection (its `node_id`), when the gateway says. */
  node: string | undefined
  /** When the connection was accepted (ISO time), when known. */
  connectedAt: string | undefined
  peer: string | undefined
  username: string | undefined
}

/** A connection event as the gateway publishes it (README "Connection events"). */
export interface ConnectionEvent extends JsonObject {
  event: 'connected' | 'disconnected' | 'unknown_charger' | (string & {})
  cid: string
  version?: string | null
  node?: string
  at?: string
  reason?: string
  code?: number | null
}

const VERSIONS: ReadonlySet<string> = new Set(['1.6', '2.0.1', '2.1'])
export const asVersion = (v: unknown): OcppVersion | undefined => (typeof v === 'string' && VERSIONS.has(v) ? v as OcppVersion : undefined)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** An event envelope, or undefined when it is not one. */
export function parseEvent (payload: Buffer | string, cidFromTopic: string): ConnectionEvent | undefined {
  let v: unknown
  try { v = JSON.parse(payload.toString()) } catch { return undefined }
  if (!isJsonObject(v) || typeof v.event !== 'string') return undefined
  return { ...v, event: v.event, cid: typeof v.cid === 'string' ? v.cid : cidFromTopic } as ConnectionEvent
}

export class ChargerDirectory {
  private readonly byId = new Map<string, ChargerInfo>()

  get (cid: string): ChargerInfo | undefined { return this.byId.get(cid) }
  list (): ChargerInfo[] { return [...this.byId.values()].sort((a, b) => (a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0)) }
  get size (): number { return this.byId.size }

  /** Apply an event; returns whether it changed the list (a stale disconnect does not). */
  apply (e: ConnectionEvent): boolean {
    if (e.event === 'connected') {
      this.byId.set(e.cid, { cid: e.cid, version: asVersion(e.version), node: str(e.node), connectedAt: str(e.at), peer: str(e.peer), username: str(e.username) })
      return true
    }
    if (e.event !== 'disconnected') return false
    const known = this.byId.get(e.cid)
    if (known === undefined) return false
    // The old connection of a takeover ends after the new one started (same node), or another
    // node's connection ended while this one holds the charger: neither removes it.
    if (e.reason === 'takeover') return false
    if (known.node !== undefined && typeof e.node === 'string' && e.node !== known.node) return false
    this.byId.delete(e.cid)
    return true
  }

  /**
   * A presence record (retained on `presence/{cid}/{node}`: `{"node","since","version"}`, an
   * empty payload when the node released it). Only adds what events have not said already.
   */
  presence (cid: string, node: string, payload: Buffer): void {
    const known = this.byId.get(cid)
    if (payload.length === 0) {
      if (known?.node === node) this.byId.delete(cid)
      return
    }
    if (known !== undefined) return
    let v: unknown
    try { v = JSON.parse(payload.toString()) } catch { return }
    if (!isJsonObject(v)) return
    const since = typeof v.since === 'number' && v.since > 0 ? new Date(v.since).toISOString() : undefined
    this.byId.set(cid, { cid, version: asVersion(v.version), node, connectedAt: since, peer: undefined, username: undefined })
  }
}

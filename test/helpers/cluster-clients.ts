/**
 * The charge point and the backend's bookkeeping of the cluster tests: a charge point that
 * accepts every Call, a Reset Call envelope, and a backend's answers by UniqueId.
 */
import mqtt from 'mqtt'
import { connectChargePoint, type Backend, type ChargePoint, type Message } from './clients.js'

/** A charge point that accepts every Call. */
export async function echoCharger (url: string): Promise<ChargePoint> {
  const cp = await connectChargePoint(url)
  const answer = (f: unknown[]): void => { if (f[0] === 2 && cp.ws.readyState === cp.ws.OPEN) cp.send([3, f[1], { status: 'Accepted' }]) }
  // A Call can come in the same read as the upgrade's answer, before this line runs.
  for (const f of cp.frames.items) answer(f)
  cp.ws.on('message', (d) => { answer(JSON.parse(String(d)) as unknown[]) })
  return cp
}

/** A backend's Reset Call envelope. */
export const resetCall = (id: string): Record<string, unknown> => ({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: { type: 'Soft' } })

/** Answers on a charge point's reply topic, by UniqueId. */
export function answersById (backend: Backend, cid: string): Map<string, Message[]> {
  const out = new Map<string, Message[]>()
  for (const m of backend.inbox.items) {
    if (m.topic !== `ocpp/cp/${cid}/Reply`) continue
    const id = String(m.json?.UniqueId)
    out.set(id, [...(out.get(id) ?? []), m])
  }
  return out
}

export interface Move { ids: string[], closeCode: number | undefined, closeMs: number, fresh: ChargePoint }

/**
 * Backend Calls every 5 ms to `cid` (connected as `old`) while it moves to `toUrl`: before,
 * during and after. Returns the Calls sent, the close code the old connection got within
 * `closeWithinMs` (undefined if none) and how long after the move it came.
 */
export async function moveWhileCalling (backend: Backend, cid: string, old: ChargePoint, toUrl: string, closeWithinMs: number): Promise<Move> {
  const ids: string[] = []
  const pumping = { on: true }
  const pump = (async () => {
    for (let i = 0; pumping.on; i++) {
      ids.push(`c${i}`)
      await backend.publish(`ocpp/cs/${cid}`, resetCall(`c${i}`))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const movedAt = Date.now()
  const fresh = await echoCharger(`${toUrl}/${cid}`)
  const closed = await Promise.race([old.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), closeWithinMs))])
  const closeMs = Date.now() - movedAt
  await new Promise((resolve) => setTimeout(resolve, 500))
  pumping.on = false
  await pump
  return { ids, closeCode: closed?.code, closeMs, fresh }
}

/**
 * The nodes whose retained presence record for `cid` the broker at `url` has now (what a
 * node's lookup of a charge point it does not hold reads): a one-off subscription, then a
 * QoS 1 round trip after its retained replay.
 */
export async function holdersAt (url: string, cid: string, mountpoint = 'ocpp/'): Promise<string[]> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, protocolVersion: 5, clientId: `test-lookup-${Math.random().toString(16).slice(2)}` })
  try {
    await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject) })
    const nodes = new Set<string>()
    const prefix = `${mountpoint}presence/${cid}/`
    client.on('message', (topic, payload) => {
      if (!topic.startsWith(prefix)) return
      if (payload.length === 0) nodes.delete(topic.slice(prefix.length))
      else nodes.add(topic.slice(prefix.length))
    })
    await client.subscribeAsync(`${prefix}+`, { qos: 1 })
    await client.publishAsync(`test/sync/${Math.random().toString(16).slice(2)}`, '', { qos: 1 })
    return [...nodes].sort()
  } finally {
    await client.endAsync()
  }
}

/** Resolves once the broker's presence records for `cid` are exactly `nodes`; rejects after `timeoutMs`. */
export async function waitHolders (url: string, cid: string, nodes: string[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: string[] = []
  while (Date.now() < deadline) {
    last = await holdersAt(url, cid)
    if (JSON.stringify(last) === JSON.stringify([...nodes].sort())) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`presence of ${cid}: ${JSON.stringify(last)}, not ${JSON.stringify(nodes)}, within ${timeoutMs} ms`)
}

/**
 * The charge point and the backend's bookkeeping of the cluster tests: a charge point that
 * accepts every Call, a Reset Call envelope, and a backend's answers by UniqueId.
 */
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

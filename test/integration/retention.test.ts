/**
 * What a connected charge point keeps alive: not its upgrade request (headers, credentials).
 * A closure made where the request is in scope and left on the socket would hold it (V8
 * closures of one scope share it): 2-3 KB per idle charger at 10,000.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint } from '../helpers/clients.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const tick = (ms = 10): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('a connected charge point does not keep its upgrade request alive', async () => {
  const t = await startTestGateway()
  try {
    const server = (t.gw.listeners[0] as unknown as { server: Server }).server
    const requests: Array<WeakRef<object>> = []
    server.prependListener('upgrade', (req) => { requests.push(new WeakRef(req)) })
    const cps = []
    for (let i = 0; i < 3; i++) cps.push(await connectChargePoint(`${t.url}/keep-${i}`, ['ocpp1.6'], { headers: { authorization: 'Basic ' + Buffer.from(`keep-${i}:secret`).toString('base64') } }))
    await t.backend.inbox.wait(() => t.backend.inbox.items.filter((m) => m.topic.startsWith('ocpp/events/keep-')).length === 3)
    await tick(50)
    gc()
    await tick()
    gc()
    assert.equal(requests.length, 3)
    assert.deepEqual(requests.map((r) => r.deref() === undefined), [true, true, true], 'each upgrade request was collected')
    // And the connections still work both ways.
    await t.backend.publish('ocpp/cs/keep-1', { MessageTypeId: 2, UniqueId: 'k1', Action: 'Reset', Payload: { type: 'Soft' } })
    assert.deepEqual(await cps[1]!.frames.wait(), [2, 'k1', 'Reset', { type: 'Soft' }])
    for (const cp of cps) await cp.close()
  } finally {
    await t.stop()
  }
})

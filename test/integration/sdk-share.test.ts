/**
 * Two backend SDK instances sharing the load (`shareGroup`): each charge point Call is handled
 * by exactly one of them and answered once, and each instance's own Calls are answered to it
 * alone. On Mosquitto and on the embedded broker (shared subscriptions since aedes 2).
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { connectBackend, type Backend } from '../../src/backend/index.js'
import { startSimulation } from '../../src/sim/runner.js'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { waitFor } from '../helpers/clients.js'
import { memoryLogger } from '../helpers/fake-transport.js'

const T = { timeout: 30_000 }

async function member (t: TestGateway, handled: Map<string, number>, name: string): Promise<Backend> {
  const backend = await connectBackend({ url: t.mqttUrl, shareGroup: 'csms', logger: memoryLogger() })
  backend.handle('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 60 }))
  backend.handle('StatusNotification', () => ({}))
  backend.handle('Heartbeat', () => {
    handled.set(name, (handled.get(name) ?? 0) + 1)
    return { currentTime: new Date().toISOString() }
  })
  return backend
}

for (const { kind, skip } of brokerKinds) {
  describe(`two backend instances sharing the load (${kind} broker)`, { skip }, () => {
    test('each Call handled by one instance, answered once; each instance gets only its own answers', T, async () => {
      const t = await startTestGateway({ broker: kind })
      const backends: Backend[] = []
      try {
        const handled = new Map<string, number>()
        backends.push(await member(t, handled, 'a'), await member(t, handled, 'b'))
        const [a, b] = backends as [Backend, Backend]
        const ids = ['sh-1', 'sh-2', 'sh-3', 'sh-4']
        const sim = startSimulation({ url: t.url, ids, scenario: 'heartbeat', rate: 25, heartbeat: 3600 })
        await waitFor(() => (handled.get('a') ?? 0) + (handled.get('b') ?? 0) >= 40, 15_000)
        // Both instances ask the same charger at once; each gets its own answer.
        await waitFor(() => a.charger('sh-1') !== undefined && b.charger('sh-1') !== undefined)
        const [ra, rb] = await Promise.all([
          a.version('1.6').call('sh-1', 'GetConfiguration', { key: ['HeartbeatInterval'] }),
          b.version('1.6').call('sh-1', 'GetConfiguration', { key: ['MeterValueSampleInterval'] })
        ])
        assert.deepEqual(ra.configurationKey?.map((k) => k.key), ['HeartbeatInterval'])
        assert.deepEqual(rb.configurationKey?.map((k) => k.key), ['MeterValueSampleInterval'])
        sim.stop()
        const summary = await sim.done
        assert.equal(summary.errors.total, 0, JSON.stringify(summary.errors))
        assert.equal(summary.calls.answered, summary.calls.sent, 'every Call answered once')
        const total = (handled.get('a') ?? 0) + (handled.get('b') ?? 0)
        assert.equal(total, summary.calls.byAction.Heartbeat, 'each Heartbeat handled by exactly one instance')
        assert.ok((handled.get('a') ?? 0) > 0 && (handled.get('b') ?? 0) > 0, `both took a share: ${JSON.stringify([...handled])}`)
        console.log(`# shared: a handled ${handled.get('a') ?? 0}, b ${handled.get('b') ?? 0} of ${total} Heartbeats`)
      } finally {
        for (const b of backends) await b.close()
        await t.stop()
      }
    })
  })
}

/**
 * Three gateway processes on one real Mosquitto, as an operator runs a cluster: newest wins
 * across nodes (exactly one answer per backend Call through a takeover), and a node killed
 * with SIGKILL is detected through its MQTT will: its presence cleared, one `node_lost`
 * event per charge point, offline answers resumed.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startMosquitto, mosquittoSkip, type Mosquitto } from '../helpers/mosquitto.js'
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js'
import { connectBackend, inboxOf, waitFor, type Backend, type Message } from '../helpers/clients.js'
import { answersById, echoCharger, moveWhileCalling, resetCall } from '../helpers/cluster-clients.js'
import mqtt from 'mqtt'

const skip = mosquittoSkip()

describe('three gateway processes on one Mosquitto', { skip }, () => {
  let mosquitto: Mosquitto
  let nodes: GatewayProcess[] = []
  let backend: Backend

  before(async () => {
    mosquitto = await startMosquitto()
    nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startGatewayProcess(id, mosquitto.url)))
    backend = await connectBackend(mosquitto.url)
  })
  after(async () => {
    await backend?.close()
    await Promise.all(nodes.map((n) => n.kill()))
    await mosquitto?.stop()
  })

  test('a charge point that reconnects to another node: the old connection is closed 4002 within a second, every Call answered exactly once', async () => {
    const [a, b] = nodes as [GatewayProcess, GatewayProcess]
    const cid = 'moving'
    const old = await echoCharger(`${a.url}/${cid}`)
    await backend.inbox.wait((m) => m.topic === `ocpp/events/${cid}` && m.json.event === 'connected' && m.json.node === 'node-a')
    // Backend Calls every 5 ms while the charge point moves: before, during and after.
    const { ids, closeCode, closeMs, fresh } = await moveWhileCalling(backend, cid, old, b.url, 1000)
    assert.equal(closeCode, 4002, `the old connection was not closed with the takeover code within 1 s (${closeMs} ms)`)
    await waitFor(() => answersById(backend, cid).size >= ids.length, 10_000).catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = answersById(backend, cid)
    const never = ids.filter((id) => !answers.has(id))
    const twice = ids.filter((id) => (answers.get(id)?.length ?? 0) > 1)
    const byGateway = [...answers.values()].flat().filter((m) => m.json.Origin === 'gateway').map((m) => m.json.ErrorDetails?.reason as string)
    console.log(`# takeover across nodes: ${ids.length} Calls, closed 4002 after ${closeMs} ms, never answered ${never.length}, answered twice ${twice.length}, gateway answers ${JSON.stringify(byGateway)}`)
    assert.deepEqual(never, [], 'every Call answered')
    assert.deepEqual(twice, [], 'no Call answered twice')
    assert.ok(byGateway.every((r) => r === 'disconnected'), `only "disconnected" gateway answers: ${JSON.stringify(byGateway)}`)
    // The new connection takes Calls from now on, and the old node says it was a takeover.
    const ev = backend.inbox.items.filter((m) => m.topic === `ocpp/events/${cid}` && m.json.event === 'disconnected')
    assert.deepEqual(ev.map((m) => [m.json.node, m.json.reason, m.json.code]), [['node-a', 'takeover', 4002]])
    assert.ok(fresh.frames.items.length > 0, 'the new connection got Calls')
    await fresh.close()
  })

  test('kill -9 of a node: its charge points get a node_lost event within seconds, presence is cleared, Calls to them are answered offline', async () => {
    const c = nodes[2] as GatewayProcess
    const cids = ['lost-1', 'lost-2', 'lost-3']
    const cps = await Promise.all(cids.map((cid) => echoCharger(`${c.url}/${cid}`)))
    for (const cid of cids) await backend.inbox.wait((m) => m.topic === `ocpp/events/${cid}` && m.json.event === 'connected')
    // Every node has heard of them before the kill.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const killedAt = Date.now()
    await c.kill()
    const lost = (cid: string): Message[] => backend.inbox.items.filter((m) => m.topic === `ocpp/events/${cid}` && m.json.event === 'disconnected' && m.json.reason === 'node_lost')
    await waitFor(() => cids.every((cid) => lost(cid).length > 0), 5000)
    const detectMs = Date.now() - killedAt
    await new Promise((resolve) => setTimeout(resolve, 500))
    for (const cid of cids) {
      const evs = lost(cid)
      assert.equal(evs.length, 1, `one node_lost event for ${cid}`)
      assert.equal(evs[0]?.json.node, 'node-c')
      assert.equal(evs[0]?.json.reported_by, 'node-a', 'reported by the lowest live node id')
    }
    // The broker no longer has their presence.
    const probe = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 })
    const seen = inboxOf(probe)
    await probe.subscribeAsync('ocpp/presence/lost-1/+', { qos: 1 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepEqual(seen.items.filter((m) => m.raw !== '').map((m) => m.topic), [], 'no retained presence left for the dead node')
    await probe.endAsync()
    // A Call to one of them is answered offline, once.
    await backend.publish('ocpp/cs/lost-1', resetCall('after-kill'))
    await waitFor(() => answersById(backend, 'lost-1').has('after-kill'), 5000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const answers = answersById(backend, 'lost-1').get('after-kill') ?? []
    assert.equal(answers.length, 1)
    assert.equal(answers[0]?.json.ErrorDetails?.reason, 'offline')
    console.log(`# kill -9 of a node: node_lost events for its ${cids.length} charge points ${detectMs} ms after the kill`)
    // Reconnected to a live node, it is served there.
    const back = await echoCharger(`${(nodes[1] as GatewayProcess).url}/lost-2`)
    await backend.inbox.wait((m) => m.topic === 'ocpp/events/lost-2' && m.json.event === 'connected' && m.json.node === 'node-b')
    await backend.publish('ocpp/cs/lost-2', resetCall('back-1'))
    await waitFor(() => answersById(backend, 'lost-2').has('back-1'), 5000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepEqual(answersById(backend, 'lost-2').get('back-1')?.map((m) => m.json.MessageTypeId), [3])
    await back.close()
    for (const cp of cps) cp.ws.terminate()
  })

  // CLUSTER_DEBUG_DIR=<dir> keeps the nodes' logs of a failing run.
  test('rolling restart: SIGTERM of a node while its charge points reconnect to another; every backend Call answered exactly once', async () => {
    const [a, b] = nodes as [GatewayProcess, GatewayProcess]
    const cids = Array.from({ length: 10 }, (_, i) => `roll-${i}`)
    // Each charge point reconnects to node a when node b closes it (as a fleet behind a load balancer would).
    const moved = new Set<string>()
    const cps = await Promise.all(cids.map(async (cid) => {
      const cp = await echoCharger(`${b.url}/${cid}`)
      void cp.closed.then(async () => { await echoCharger(`${a.url}/${cid}`); moved.add(cid) })
      return cp
    }))
    for (const cid of cids) await backend.inbox.wait((m) => m.topic === `ocpp/events/${cid}` && m.json.event === 'connected' && m.json.node === 'node-b')
    const ids: Array<{ cid: string, id: string }> = []
    const pumping = { on: true }
    const pump = (async () => {
      for (let i = 0; pumping.on; i++) {
        await Promise.all(cids.map(async (cid) => {
          const id = `${cid}-r${i}`
          ids.push({ cid, id })
          await backend.publish(`ocpp/cs/${cid}`, resetCall(id))
        }))
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stoppedAt = Date.now()
    await b.stop()
    await waitFor(() => moved.size === cids.length, 10_000)
    const settleMs = Date.now() - stoppedAt
    await new Promise((resolve) => setTimeout(resolve, 500))
    pumping.on = false
    await pump
    const answered = (): number => ids.filter(({ cid, id }) => answersById(backend, cid).has(id)).length
    await waitFor(() => answered() === ids.length, 10_000).catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 300))
    const never = ids.filter(({ cid, id }) => !answersById(backend, cid).has(id))
    const twice = ids.filter(({ cid, id }) => (answersById(backend, cid).get(id)?.length ?? 0) > 1)
    const reasons: Record<string, number> = {}
    for (const { cid, id } of ids) {
      for (const m of answersById(backend, cid).get(id) ?? []) {
        const r = m.json.Origin === 'gateway' ? String(m.json.ErrorDetails?.reason) : 'charger'
        reasons[r] = (reasons[r] ?? 0) + 1
      }
    }
    console.log(`# rolling restart: ${cids.length} charge points back on another node ${settleMs} ms after SIGTERM; ${ids.length} Calls, never answered ${never.length}, twice ${twice.length}, answers ${JSON.stringify(reasons)}`)
    if (never.length + twice.length > 0 && process.env.CLUSTER_DEBUG_DIR !== undefined) {
      const { writeFileSync } = await import('node:fs')
      for (const n of nodes) writeFileSync(`${process.env.CLUSTER_DEBUG_DIR}/${n.nodeId}.log`, n.output())
      writeFileSync(`${process.env.CLUSTER_DEBUG_DIR}/never.json`, JSON.stringify({ never, twice: twice.map(({ cid, id }) => answersById(backend, cid).get(id)?.map((m) => m.raw)) }))
    }
    assert.deepEqual(never.map((x) => x.id), [], 'every Call answered')
    assert.deepEqual(twice.map((x) => x.id), [], 'none answered twice')
    assert.equal(await b.exited, 0, 'node b stopped in order')
    for (const cp of cps) cp.ws.terminate()
  })
})

/** Every message accounted for: one Call in flight, bounded queue, timeouts, offline answers, limits. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor, type Message } from '../helpers/clients.js'

const call = (id: string, action = 'Reset', payload: Record<string, unknown> = { type: 'Soft' }): Record<string, unknown> =>
  ({ MessageTypeId: 2, UniqueId: id, Action: action, Payload: payload })

function replies (t: TestGateway, cid: string): Message[] {
  return t.backend.inbox.items.filter((m) => m.topic === `ocpp/cp/${cid}/Reply`)
}

for (const { kind, skip } of brokerKinds) {
  describe(`RPC rules (${kind} broker)`, { skip }, () => {
    test('one backend Call in flight; the rest wait in order; each is answered once', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        const cp = await connectChargePoint(`${t.url}/q-1`)
        for (const id of ['a', 'b', 'c']) await t.backend.publish('ocpp/cs/q-1', call(id))
        assert.deepEqual(await cp.frames.wait(), [2, 'a', 'Reset', { type: 'Soft' }])
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(cp.frames.items.length, 1, 'b waits until a is answered')
        cp.send([3, 'a', { status: 'Accepted' }])
        await cp.frames.wait((f) => f[1] === 'b')
        cp.send([4, 'b', 'NotSupported', '', {}])
        await cp.frames.wait((f) => f[1] === 'c')
        cp.send([3, 'c', { status: 'Rejected' }])
        await t.backend.inbox.wait(() => replies(t, 'q-1').length === 3)
        assert.deepEqual(replies(t, 'q-1').map((m) => [m.json.UniqueId, m.json.MessageTypeId, m.json.Action]), [['a', 3, 'Reset'], ['b', 4, 'Reset'], ['c', 3, 'Reset']])
        await cp.close()
      } finally {
        await t.stop()
      }
    })

    test('queue full: the backend gets a gateway CallError with reason queue_full', async () => {
      const t = await startTestGateway({ broker: kind, config: { dnstream: { max_mqueue_len: 2 } } })
      try {
        const cp = await connectChargePoint(`${t.url}/q-full`)
        for (const id of ['a', 'b', 'c', 'd']) await t.backend.publish('ocpp/cs/q-full', call(id))
        const err = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/q-full/Reply' && m.json.UniqueId === 'd')
        assert.deepEqual(err.json, { MessageTypeId: 4, UniqueId: 'd', ErrorCode: 'GenericError', ErrorDescription: err.json.ErrorDescription, ErrorDetails: { reason: 'queue_full' }, Origin: 'gateway', Action: 'Reset' })
        assert.match(err.json.ErrorDescription, /max_mqueue_len/)
        assert.equal(t.gw.metrics.get('gateway_answers_total', 'queue_full'), 1)
        await cp.close()
      } finally {
        await t.stop()
      }
    })

    test('timeout: answered by the gateway, the next Call goes out, a late answer is not delivered twice', async () => {
      const t = await startTestGateway({ broker: kind, config: { dnstream: { awaiting_timeout: '300ms' } } })
      try {
        const cp = await connectChargePoint(`${t.url}/q-to`)
        await t.backend.publish('ocpp/cs/q-to', call('slow'))
        await t.backend.publish('ocpp/cs/q-to', call('next'))
        await cp.frames.wait((f) => f[1] === 'slow')
        const err = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/q-to/Reply' && m.json.UniqueId === 'slow')
        assert.equal(err.json.Origin, 'gateway')
        assert.deepEqual(err.json.ErrorDetails, { reason: 'timeout' })
        await cp.frames.wait((f) => f[1] === 'next')
        cp.send([3, 'slow', { status: 'Accepted' }]) // late
        const report = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/q-to')
        assert.equal(report.json.Error, 'late_answer')
        cp.send([3, 'next', { status: 'Accepted' }])
        await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/q-to/Reply' && m.json.UniqueId === 'next')
        assert.equal(replies(t, 'q-to').filter((m) => m.json.UniqueId === 'slow').length, 1, 'exactly one answer for "slow"')
        await cp.close()
      } finally {
        await t.stop()
      }
    })

    test('offline or unknown charge point: the backend gets reason offline', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        await t.backend.publish('ocpp/cs/nobody', call('o1'))
        const err = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/nobody/Reply' && m.json.UniqueId === 'o1')
        assert.equal(err.json.Origin, 'gateway')
        assert.deepEqual(err.json.ErrorDetails, { reason: 'offline' })
        assert.equal(err.json.Action, 'Reset')
        // A connected one is not answered offline.
        const cp = await connectChargePoint(`${t.url}/somebody`)
        await t.backend.publish('ocpp/cs/somebody', call('o2'))
        await cp.frames.wait((f) => f[1] === 'o2')
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(replies(t, 'somebody').length, 0)
        await cp.close()
      } finally {
        await t.stop()
      }
    })

    test('${version} in the downstream topic: only the topic of the version connected is delivered', async () => {
      const t = await startTestGateway({ broker: kind, config: { dnstream: { topic: 'cs/${version}/${cid}' } } })
      try {
        const cp = await connectChargePoint(`${t.url}/v-topic`)
        const before = t.gw.metrics.get('envelopes_unroutable_total')
        await t.backend.publish('ocpp/cs/2.0.1/v-topic', call('wrong'))
        await t.backend.publish('ocpp/cs/1.6/v-topic', call('right'))
        assert.deepEqual(await cp.frames.wait(), [2, 'right', 'Reset', { type: 'Soft' }])
        // Not delivered, not answered offline (it is connected), counted.
        await waitFor(() => t.gw.metrics.get('envelopes_unroutable_total') === before + 1)
        assert.equal(replies(t, 'v-topic').length, 0)
        await cp.close()
      } finally {
        await t.stop()
      }
    })

    test('disconnect with Calls in flight and queued: each is answered disconnected', async () => {
      const t = await startTestGateway({ broker: kind })
      try {
        const cp = await connectChargePoint(`${t.url}/q-dc`)
        for (const id of ['a', 'b']) await t.backend.publish('ocpp/cs/q-dc', call(id))
        await cp.frames.wait((f) => f[1] === 'a')
        await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/q-dc' && m.json.event === 'connected')
        await new Promise((resolve) => setTimeout(resolve, 100))
        await cp.close()
        await t.backend.inbox.wait(() => replies(t, 'q-dc').length === 2)
        assert.deepEqual(replies(t, 'q-dc').map((m) => [m.json.UniqueId, m.json.ErrorDetails.reason]), [['a', 'disconnected'], ['b', 'disconnected']])
      } finally {
        await t.stop()
      }
    })
  })
}

describe('RPC rules (embedded broker only)', () => {
  test('offline_answer off: a message for a charge point that is not connected is counted, not answered', async () => {
    const t = await startTestGateway({ config: { dnstream: { offline_answer: false } } })
    try {
      await t.backend.publish('ocpp/cs/nobody', call('n1'))
      await waitFor(() => t.gw.metrics.get('envelopes_unroutable_total') === 1)
      const cp = await connectChargePoint(`${t.url}/somebody`)
      await t.backend.publish('ocpp/cs/somebody', call('s1'))
      assert.deepEqual(await cp.frames.wait(), [2, 's1', 'Reset', { type: 'Soft' }])
      assert.equal(replies(t, 'nobody').length, 0)
      assert.equal(t.gw.metrics.get('envelopes_unroutable_total'), 1)
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('takeover: queued Calls move to the new connection; the one in flight is answered disconnected', async () => {
    const t = await startTestGateway()
    try {
      const old = await connectChargePoint(`${t.url}/q-take`)
      for (const id of ['a', 'b']) await t.backend.publish('ocpp/cs/q-take', call(id))
      await old.frames.wait((f) => f[1] === 'a')
      await new Promise((resolve) => setTimeout(resolve, 100))
      const neu = await connectChargePoint(`${t.url}/q-take`)
      assert.deepEqual(await neu.frames.wait(), [2, 'b', 'Reset', { type: 'Soft' }])
      const err = await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/q-take/Reply' && m.json.UniqueId === 'a')
      assert.deepEqual(err.json.ErrorDetails, { reason: 'disconnected' })
      await neu.close()
    } finally {
      await t.stop()
    }
  })

  test('shutdown answers owed Calls with reason shutdown', async () => {
    const t = await startTestGateway()
    const cp = await connectChargePoint(`${t.url}/q-stop`)
    await t.backend.publish('ocpp/cs/q-stop', call('a'))
    await cp.frames.wait()
    const got = t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/q-stop/Reply' && m.json.UniqueId === 'a')
    const stopping = t.gw.close()
    const err = await got.catch((e: Error) => { throw new Error(`${e.message}; metrics ${JSON.stringify(t.gw.metrics.snapshot())}`) })
    assert.deepEqual(err.json.ErrorDetails, { reason: 'shutdown' })
    await stopping
    await t.stop()
  })

  test('upstream.awaiting_timeout: a Call the backend does not answer gets InternalError', async () => {
    const t = await startTestGateway({ config: { upstream: { awaiting_timeout: '300ms' } } })
    try {
      for (const [protocol, cid] of [['ocpp1.6', 'up-to-16'], ['ocpp2.0.1', 'up-to-201']]) {
        const cp = await connectChargePoint(`${t.url}/${cid}`, [protocol as string])
        cp.send([2, 'u1', 'Heartbeat', {}])
        const f = await cp.frames.wait()
        assert.equal(f[0], 4)
        assert.equal(f[1], 'u1')
        assert.equal(f[2], 'InternalError')
        assert.match(String(f[3]), /backend did not answer Heartbeat/)
        // A late backend answer is not sent to the charge point; it is reported.
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 3, UniqueId: 'u1', Payload: {} })
        const rep = await t.backend.inbox.wait((m) => m.topic === `ocpp/errors/${cid}`)
        assert.equal(rep.json.Error, 'unmatched_answer')
        assert.equal(cp.frames.items.length, 1)
        await cp.close()
      }
    } finally {
      await t.stop()
    }
  })

  test('a CallResult from the charge point that answers nothing is not forwarded; it is reported', async () => {
    const t = await startTestGateway()
    try {
      const cp = await connectChargePoint(`${t.url}/unm`)
      cp.send([3, 'never-asked', { status: 'Accepted' }])
      const rep = await t.backend.inbox.wait((m) => m.topic === 'ocpp/errors/unm')
      assert.equal(rep.json.Error, 'unmatched_answer')
      assert.equal(rep.json.UniqueId, 'never-asked')
      assert.equal(replies(t, 'unm').length, 0)
      assert.equal(t.gw.metrics.get('frames_unmatched_total', 'unmatched_answer'), 1)
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('a second Call before the first is answered is forwarded and counted', async () => {
    const t = await startTestGateway()
    try {
      const cp = await connectChargePoint(`${t.url}/two`)
      cp.send([2, 'x1', 'Heartbeat', {}])
      cp.send([2, 'x2', 'Heartbeat', {}])
      await t.backend.inbox.wait((m) => m.topic === 'ocpp/cp/two' && m.json.UniqueId === 'x2')
      for (const id of ['x1', 'x2']) await t.backend.publish('ocpp/cs/two', { MessageTypeId: 3, UniqueId: id, Payload: { currentTime: 'now' } })
      await cp.frames.wait((f) => f[1] === 'x2')
      assert.deepEqual(cp.frames.items.map((f) => f[1]), ['x1', 'x2'])
      assert.equal(t.gw.metrics.counters.calls_concurrent_from_charger_total, 1)
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('too many malformed frames in the window: close 1008', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { websocket: { max_malformed_frames: 3 } } } } } })
    try {
      const cp = await connectChargePoint(`${t.url}/junk`)
      for (let i = 0; i < 4; i++) cp.send('junk')
      assert.equal((await cp.closed).code, 1008)
      assert.equal(cp.frames.items.length, 3, 'three CallErrors, then the close')
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/junk' && m.json.event === 'disconnected')
      assert.equal(ev.json.reason, 'too_many_malformed')
    } finally {
      await t.stop()
    }
  })

  test('a charge point that stops reading is dropped, memory stays bounded, every backend Call is answered', async () => {
    const t = await startTestGateway({ config: { dnstream: { max_mqueue_len: 100 }, listeners: { ws: { default: { websocket: { high_watermark: 16384, slow_consumer_timeout: '200ms' } } } } } })
    try {
      const cp = await connectChargePoint(`${t.url}/slow`, ['ocpp2.1'])
      cp.ws.pause() // stop reading: the kernel buffers fill, then the gateway's send buffer
      // 300 Calls: one in flight, 100 queued, the rest refused at once (queue_full).
      for (let i = 0; i < 300; i++) void t.backend.client.publish('ocpp/cs/slow', JSON.stringify({ MessageTypeId: 2, UniqueId: `c${i}`, Action: 'Reset', Payload: { type: 'Soft' } }), { qos: 1 })
      // 2.1 SENDs are never answered, so the one-in-flight rule does not pace them: 24 MB of them.
      const big = 'x'.repeat(60_000)
      for (let i = 0; i < 400; i++) void t.backend.client.publish('ocpp/cs/slow', JSON.stringify({ MessageTypeId: 6, UniqueId: `s${i}`, Action: 'NotifyX', Payload: { data: big } }), { qos: 0 })
      const ev = await t.backend.inbox.wait((m) => m.topic === 'ocpp/events/slow' && m.json.event === 'disconnected', 10_000)
      assert.equal(ev.json.reason, 'slow_consumer')
      assert.equal(t.gw.metrics.counters.slow_consumers_closed_total, 1)
      const answers = (): Message[] => replies(t, 'slow')
      await t.backend.inbox.wait(() => answers().length >= 300, 10_000, '300 answers')
      await new Promise((resolve) => setTimeout(resolve, 200))
      const reasons = new Map<string, number>()
      for (const m of answers()) reasons.set(m.json.ErrorDetails.reason, (reasons.get(m.json.ErrorDetails.reason) ?? 0) + 1)
      assert.equal(answers().length, 300, 'exactly one answer per Call')
      assert.equal(new Set(answers().map((m) => m.json.UniqueId)).size, 300)
      assert.deepEqual(Object.fromEntries(reasons), { queue_full: 199, disconnected: 101 })
    } finally {
      await t.stop()
    }
  })
})

/**
 * The simulator in process against a real `ws` server on port 0: what the server sees, and
 * that the summary counts what the server did. No timing assertions.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { type AddressInfo } from 'node:net'
import { type JsonObject } from '../../src/ocpp/frame.js'
import { METER_VALUES_PER_SESSION } from '../../src/sim/model.js'
import { runSimulation, startSimulation } from '../../src/sim/runner.js'
import { type Conn, startTestServer } from '../helpers/sim-server.js'

/** A hang is a failure, not a stuck CI run. */
const T = { timeout: 10_000 }

const SESSION_16 = ['StatusNotification', 'Authorize', 'StartTransaction', 'StatusNotification',
  ...Array<string>(METER_VALUES_PER_SESSION).fill('MeterValues'), 'StopTransaction', 'StatusNotification']
const SESSION_201 = ['StatusNotification', 'Authorize', 'TransactionEvent',
  ...Array<string>(METER_VALUES_PER_SESSION).fill('TransactionEvent'), 'TransactionEvent', 'StatusNotification']

test('1.6 session: boot, status per connector, then a full charging session, per charger', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const calls = 3 + SESSION_16.length
  const s = await runSimulation({ url: server.url, count: 5, calls })
  assert.equal(server.conns.size, 5)
  for (let i = 1; i <= 5; i++) {
    const conn = server.conns.get(`cp${i}`)
    assert.ok(conn !== undefined, `cp${i} connected`)
    assert.equal(conn.protocol, 'ocpp1.6')
    assert.deepEqual(conn.actions, ['BootNotification', 'StatusNotification', 'StatusNotification', ...SESSION_16])
    assert.deepEqual(conn.payloads.slice(1, 3).map((p) => p['connectorId']), [0, 1])
    const start = conn.payloads[conn.actions.indexOf('StartTransaction')]!
    const stop = conn.payloads[conn.actions.indexOf('StopTransaction')]!
    assert.equal(typeof stop['transactionId'], 'number')
    assert.ok((stop['meterStop'] as number) > (start['meterStart'] as number))
    await conn.closed
  }
  // The summary counts exactly what the server answered.
  assert.equal(s.calls.sent, 5 * calls)
  assert.equal(s.calls.answered, server.sent.results)
  assert.equal(s.calls.results, 5 * calls)
  assert.equal(s.calls.byAction['StartTransaction'], 5)
  assert.equal(s.calls.finishedChargers, 5)
  assert.equal(s.connect.succeeded, 5)
  assert.equal(s.connect.failed, 0)
  assert.equal(s.errors.total, 0)
  assert.deepEqual(s.connect.disconnects, {})
  assert.ok(s.latencyMs.count > 0 && s.latencyMs.count <= 5 * calls)
  assert.ok(s.latencyMs.p50 <= s.latencyMs.p99 && s.latencyMs.p99 <= s.latencyMs.max)
  assert.equal(s.messages.sent, 5 * calls)
  assert.equal(s.messages.received, 5 * calls)
  assert.ok(s.simulator.cpuUserMs >= 0 && s.simulator.processes === 1)
})

test('2.0.1 session: boot, status, Authorize, TransactionEvent Started/Updated/Ended', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const calls = 2 + SESSION_201.length
  const s = await runSimulation({ url: server.url, protocol: 'ocpp2.0.1', count: 3, calls, idPrefix: 'evse-' })
  for (let i = 1; i <= 3; i++) {
    const conn = server.conns.get(`evse-${i}`)!
    assert.equal(conn.protocol, 'ocpp2.0.1')
    assert.deepEqual(conn.actions, ['BootNotification', 'StatusNotification', ...SESSION_201])
    const events = conn.payloads.filter((_, j) => conn.actions[j] === 'TransactionEvent')
    assert.deepEqual(events.map((e) => e['eventType']), ['Started', ...Array(METER_VALUES_PER_SESSION).fill('Updated'), 'Ended'])
    assert.equal(new Set(events.map((e) => (e['transactionInfo'] as JsonObject)['transactionId'])).size, 1)
  }
  assert.equal(s.calls.results, 3 * calls)
  assert.equal(s.calls.answered, server.sent.results)
  assert.equal(s.errors.total, 0)
})

test('heartbeat, boot and metervalues scenarios repeat their Call after boot', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  for (const [scenario, action] of [['heartbeat', 'Heartbeat'], ['boot', 'BootNotification'], ['metervalues', 'MeterValues']] as const) {
    const s = await runSimulation({ url: server.url, count: 2, calls: 6, scenario, idPrefix: `${scenario}-` })
    assert.equal(s.calls.results, 12)
    for (const id of [`${scenario}-1`, `${scenario}-2`]) {
      assert.deepEqual(server.conns.get(id)!.actions, ['BootNotification', ...Array<string>(5).fill(action)])
    }
  }
})

test('--boot-after-connect: no BootNotification before every charger is connected', T, async (t) => {
  for (const hold of [false, true]) {
    let connections = 0
    const seenAtBoot: number[] = []
    const server = await startTestServer({
      onConnection: () => { connections++ },
      answer: (_c, action) => { if (action === 'BootNotification') seenAtBoot.push(connections); return undefined }
    })
    try {
      // Five handshakes at a time: without the hold, the first boots come before the last connects.
      const s = await runSimulation({ url: server.url, count: 20, maxPending: 5, calls: 2, scenario: 'heartbeat', bootAfterConnect: hold, idPrefix: `hold-${String(hold)}-` })
      assert.equal(s.calls.results, 40)
      assert.equal(seenAtBoot.length, 20)
      if (hold) assert.ok(seenAtBoot.every((n) => n === 20), `boots saw ${seenAtBoot.join(',')} connections`)
      else assert.ok(seenAtBoot.some((n) => n < 20), 'without the hold, boots start during the connects (the control)')
    } finally {
      await server.close()
    }
  }
})

test('--meter-size pads the MeterValues frames the server receives', T, async (t) => {
  const sizes: number[] = []
  const server = await startTestServer({
    answer: (_c, action, payload) => { if (action === 'MeterValues') sizes.push(JSON.stringify(payload).length); return undefined }
  })
  t.after(server.close)
  await runSimulation({ url: server.url, count: 1, calls: 3, scenario: 'metervalues', meterSize: 20_000 })
  assert.equal(sizes.length, 2)
  for (const n of sizes) assert.ok(n > 19_500 && n < 20_500, `${n} bytes`)
})

test('Heartbeats follow the interval of the BootNotification answer', T, async (t) => {
  const server = await startTestServer({ heartbeatInterval: 1 })
  t.after(server.close)
  // idle with 1.6: boot, a status per connector, then only Heartbeats at the interval.
  const s = await runSimulation({ url: server.url, count: 2, calls: 4, scenario: 'idle' })
  for (const conn of server.conns.values()) {
    assert.deepEqual(conn.actions, ['BootNotification', 'StatusNotification', 'StatusNotification', 'Heartbeat'])
  }
  assert.equal(s.errors.total, 0)
})

test('--heartbeat overrides the interval of the boot answer', T, async (t) => {
  const server = await startTestServer({ heartbeatInterval: 3600 })
  t.after(server.close)
  await runSimulation({ url: server.url, protocol: 'ocpp2.0.1', count: 1, calls: 5, scenario: 'idle', heartbeat: 0.05 })
  assert.deepEqual(server.conns.get('cp1')!.actions, ['BootNotification', 'StatusNotification', 'Heartbeat', 'Heartbeat', 'Heartbeat'])
})

test('server-initiated Calls are answered, 1.6', T, async (t) => {
  const answers: Record<string, unknown> = {}
  const server = await startTestServer({
    // Before answering the boot, drive the charger like a CSMS would.
    answer: async (conn: Conn, action) => {
      if (action !== 'BootNotification' || conn.actions.length > 1) return undefined
      answers['GetConfiguration'] = await conn.call('GetConfiguration', { key: ['HeartbeatInterval'] })
      answers['ChangeConfiguration'] = await conn.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '30' })
      answers['RemoteStartTransaction'] = await conn.call('RemoteStartTransaction', { idTag: 'remote' })
      answers['RemoteStopTransaction'] = await conn.call('RemoteStopTransaction', { transactionId: 99 })
      answers['Reset'] = await conn.call('Reset', { type: 'Soft' })
      answers['DataTransfer'] = await conn.call('DataTransfer', { vendorId: 'x', data: 'hello' })
      answers['TriggerMessage'] = await conn.call('TriggerMessage', { requestedMessage: 'Heartbeat' })
      answers['UpdateFirmware'] = await conn.call('UpdateFirmware', { location: 'http://x/', retrieveDate: new Date().toISOString() })
      return undefined
    }
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 5, scenario: 'session' })
  const result = (a: unknown): unknown => (a as { payload: unknown }).payload
  assert.deepEqual(result(answers['GetConfiguration']), { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '0' }] })
  assert.deepEqual(result(answers['ChangeConfiguration']), { status: 'Accepted' })
  assert.deepEqual(result(answers['RemoteStartTransaction']), { status: 'Accepted' })
  assert.deepEqual(result(answers['RemoteStopTransaction']), { status: 'Rejected' })
  assert.deepEqual(result(answers['Reset']), { status: 'Accepted' })
  assert.deepEqual(result(answers['DataTransfer']), { status: 'Accepted', data: 'hello' })
  assert.deepEqual(result(answers['TriggerMessage']), { status: 'Accepted' })
  const err = answers['UpdateFirmware'] as { type: number, code: string }
  assert.equal(err.type, 4)
  assert.equal(err.code, 'NotImplemented')
  // The triggered Heartbeat goes out first after boot, before the status notifications.
  assert.deepEqual(server.conns.get('cp1')!.actions, ['BootNotification', 'Heartbeat', 'StatusNotification', 'StatusNotification', 'StatusNotification'])
  assert.equal(s.serverCalls.received, 8)
  assert.equal(s.serverCalls.notImplemented, 1)
  assert.equal(s.serverCalls.byAction['TriggerMessage'], 1)
})

test('server-initiated Calls are answered, 2.0.1', T, async (t) => {
  const answers: Record<string, { type: number, payload?: JsonObject, code?: string }> = {}
  const server = await startTestServer({
    answer: async (conn: Conn, action) => {
      // After the boot (whose answer sets the heartbeat interval), like a CSMS configuring it.
      if (action !== 'StatusNotification') return undefined
      answers['GetVariables'] = await conn.call('GetVariables', {
        getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }]
      }) as never
      answers['SetVariables'] = await conn.call('SetVariables', {
        setVariableData: [{ attributeValue: '0.05', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }]
      }) as never
      answers['RequestStartTransaction'] = await conn.call('RequestStartTransaction', { idToken: { idToken: 'r', type: 'Central' }, remoteStartId: 1 }) as never
      answers['GetBaseReport'] = await conn.call('GetBaseReport', { requestId: 1, reportBase: 'FullInventory' }) as never
      return undefined
    }
  })
  t.after(server.close)
  // SetVariables sets the heartbeat interval to 50 ms: the Heartbeats show it was applied.
  const s = await runSimulation({ url: server.url, protocol: 'ocpp2.0.1', count: 1, calls: 4, scenario: 'idle' })
  assert.deepEqual(server.conns.get('cp1')!.actions, ['BootNotification', 'StatusNotification', 'Heartbeat', 'Heartbeat'])
  assert.deepEqual(answers['GetVariables']!.payload, {
    getVariableResult: [{ attributeStatus: 'Accepted', attributeValue: '3600', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }]
  })
  assert.equal((answers['SetVariables']!.payload!['setVariableResult'] as JsonObject[])[0]!['attributeStatus'], 'Accepted')
  assert.deepEqual(answers['RequestStartTransaction']!.payload, { status: 'Accepted' })
  assert.equal(answers['GetBaseReport']!.code, 'NotImplemented')
  assert.equal(s.serverCalls.received, 4)
  assert.equal(s.serverCalls.notImplemented, 1)
})

test('a charger has at most one Call outstanding', T, async (t) => {
  let outstanding = 0
  let maxOutstanding = 0
  const server = await startTestServer({
    answer: async () => {
      outstanding++
      maxOutstanding = Math.max(maxOutstanding, outstanding)
      await new Promise((resolve) => setImmediate(resolve))
      outstanding--
      return undefined
    }
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 30 })
  assert.equal(s.calls.results, 30)
  assert.equal(maxOutstanding, 1)
})

test('Basic auth: the id is the user, ${id} in the password is replaced', T, async (t) => {
  const auth: string[] = []
  const server = await startTestServer({ verify: (req) => { auth.push(req.headers.authorization ?? ''); return undefined } })
  t.after(server.close)
  await runSimulation({ url: server.url, count: 2, calls: 1, password: 'secret-${id}' })
  const decode = (h: string): string => Buffer.from(h.replace(/^Basic /, ''), 'base64').toString()
  assert.deepEqual(auth.map(decode).sort(), ['cp1:secret-cp1', 'cp2:secret-cp2'])
  auth.length = 0
  await runSimulation({ url: server.url, count: 1, calls: 1, username: 'user-${id}', password: 'pw' })
  assert.deepEqual(auth.map(decode), ['user-cp1:pw'])
  auth.length = 0
  await runSimulation({ url: server.url, count: 1, calls: 1 })
  assert.deepEqual(auth, [''])
})

test('ids are percent-encoded in the URL', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  await runSimulation({ url: server.url, count: 1, calls: 1, idPrefix: 'a b/#' })
  assert.deepEqual([...server.conns.keys()], ['a b/#1'])
})

test('--ids: each charger connects with its given id', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, ids: ['chargePointSim', 'CP 2'], calls: 1 })
  assert.equal(s.count, 2)
  assert.equal(s.connect.succeeded, 2)
  assert.deepEqual([...server.conns.keys()].sort(), ['CP 2', 'chargePointSim'])
})

test('a CallError from the server is counted by code', T, async (t) => {
  const server = await startTestServer({
    answer: (_c, action) => action === 'Heartbeat' ? { error: 'InternalError' } : action === 'Authorize' ? { error: 'SecurityError' } : undefined
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 2, calls: 5, scenario: 'heartbeat' })
  assert.deepEqual(s.errors.callError, { InternalError: 8 })
  assert.equal(s.calls.callErrors, 8)
  assert.equal(s.calls.results, 2)
  assert.equal(s.calls.answered, 10)
  assert.equal(s.errors.total, 8)
  assert.deepEqual(server.sent.errors, { InternalError: 8 })
  // A session step that fails starts the session over.
  const s2 = await runSimulation({ url: server.url, count: 1, calls: 9, idPrefix: 'auth-' })
  assert.deepEqual(s2.errors.callError, { SecurityError: 3 })
  assert.deepEqual(server.conns.get('auth-1')!.actions, ['BootNotification', 'StatusNotification', 'StatusNotification',
    'StatusNotification', 'Authorize', 'StatusNotification', 'Authorize', 'StatusNotification', 'Authorize'])
})

test('a refused connection is counted, and the run ends', T, async () => {
  // A port that was just free: nothing listens there.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const s = await runSimulation({ url: `ws://127.0.0.1:${port}/ocpp`, count: 3 })
  assert.deepEqual(s.connect.failedByKind, { refused: 3 })
  assert.equal(s.connect.attempted, 3)
  assert.equal(s.connect.succeeded, 0)
  assert.equal(s.calls.sent, 0)
})

test('an HTTP refusal of the upgrade is counted by status', T, async (t) => {
  const server = await startTestServer({ verify: (req) => req.url?.endsWith('2') === true ? 401 : undefined })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 3, calls: 1 })
  assert.deepEqual(s.connect.failedByKind, { http401: 1 })
  assert.equal(s.connect.succeeded, 2)
  assert.equal(s.calls.results, 2)
})

test('a Call without answer times out, and the charger goes on', T, async (t) => {
  const server = await startTestServer({ answer: (conn, action) => action === 'Heartbeat' && conn.actions.length === 2 ? 'none' : undefined })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 4, scenario: 'heartbeat', callTimeout: 0.2 })
  assert.equal(s.errors.timeout, 1)
  assert.equal(s.calls.results, 3)
  assert.equal(server.conns.get('cp1')!.actions.length, 4)
})

test('a timed-out boot is sent again', T, async (t) => {
  const server = await startTestServer({ answer: (conn, action) => action === 'BootNotification' && conn.actions.length === 1 ? 'none' : undefined })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 3, scenario: 'heartbeat', callTimeout: 0.1 })
  assert.deepEqual(server.conns.get('cp1')!.actions, ['BootNotification', 'BootNotification', 'Heartbeat'])
  assert.equal(s.errors.timeout, 1)
})

test('a connection closed by the server with a Call outstanding is counted; --reconnect comes back', T, async (t) => {
  let closedOnce = false
  const server = await startTestServer({
    answer: (_c, action) => {
      if (action === 'Heartbeat' && !closedOnce) { closedOnce = true; return 'close' }
      return undefined
    }
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 3, scenario: 'heartbeat' })
  assert.equal(s.errors.closed, 1)
  assert.deepEqual(s.connect.disconnects, { 1006: 1 })
  assert.equal(s.calls.finishedChargers, 0)

  closedOnce = false
  const s2 = await runSimulation({ url: server.url, count: 1, calls: 4, scenario: 'heartbeat', reconnect: 0.05, idPrefix: 'r' })
  assert.equal(s2.errors.closed, 1)
  assert.equal(s2.connect.reconnects, 1)
  assert.equal(s2.connect.succeeded, 2)
  assert.equal(s2.calls.finishedChargers, 1)
})

test('stop() and an AbortSignal end an open-ended run cleanly', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  let answered = 0
  const ac = new AbortController()
  const server2 = await startTestServer({ answer: () => { if (++answered === 200) ac.abort(); return undefined } })
  t.after(server2.close)
  const s = await runSimulation({ url: server2.url, count: 4, scenario: 'heartbeat', signal: ac.signal })
  assert.ok(s.calls.answered >= 200)
  assert.equal(s.errors.total, 0)
  assert.deepEqual(s.connect.disconnects, {})
  for (const conn of server2.conns.values()) await conn.closed

  const sim = startSimulation({ url: server.url, count: 2, scenario: 'heartbeat' })
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => { if (sim.snapshot().counters.results >= 50) { clearInterval(poll); resolve() } }, 5)
  })
  sim.stop()
  sim.stop()
  const s2 = await sim.done
  assert.ok(s2.calls.results >= 50)
  assert.equal(s2.calls.sent, s2.calls.answered, 'the outstanding Calls were answered before closing')
  assert.equal(sim.report().counters.open, 0)
})

test('an aborted signal before the start stops at once', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 3, scenario: 'heartbeat', signal: AbortSignal.abort() })
  assert.equal(s.calls.sent, 0)
})

test('--rate paces the Calls and still completes', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 3, calls: 4, scenario: 'heartbeat', rate: 50 })
  assert.equal(s.calls.results, 12)
  assert.equal(s.errors.total, 0)
})

test('--warmup: the boots happen before the measurement window, which still lasts --duration', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 2, duration: 0.2, warmup: 0.3, scenario: 'heartbeat' })
  assert.equal(s.warmupS, 0.3)
  assert.equal(s.errors.total, 0)
  // Latencies are of the window only (the warm-up's Calls are answered but not measured).
  assert.ok(s.latencyMs.count <= s.calls.answered, `${s.latencyMs.count} of ${s.calls.answered}`)
  assert.ok(s.latencyMs.count > 0)
  assert.ok(s.calls.windowS < s.elapsedS)
})

test('--duration ends the run after the window', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 2, duration: 0.2, scenario: 'heartbeat', ramp: 1000 })
  assert.ok(s.calls.answered > 0)
  assert.ok(s.calls.windowS > 0)
  assert.ok(s.calls.roundTripsPerS > 0)
})

test('--sources spreads the chargers over local addresses', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  await runSimulation({ url: server.url, count: 4, calls: 1, sources: ['127.0.0.1', '127.0.0.2'] })
  const by = (id: string): string | undefined => server.conns.get(id)?.remoteAddress?.replace(/^::ffff:/, '')
  assert.deepEqual(['cp1', 'cp2', 'cp3', 'cp4'].map(by), ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2'])
})

test('a server speaking no OCPP sub-protocol is a connect failure', T, async (t) => {
  const { WebSocketServer } = await import('ws')
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => false })
  await new Promise((resolve) => wss.once('listening', resolve))
  t.after(() => { wss.close() })
  const s = await runSimulation({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, count: 1 })
  assert.deepEqual(s.connect.failedByKind, { subprotocol: 1 })
})

test('garbage from the server is counted as protocol errors and answered when it may be a Call', T, async (t) => {
  const got: string[] = []
  const server = await startTestServer({
    answer: (conn, action) => {
      if (action !== 'BootNotification') return undefined
      conn.ws.on('message', (d) => got.push(String(d)))
      conn.ws.send('not json')
      conn.ws.send('[3,"no-such-id",{}]')
      conn.ws.send(Buffer.from([1, 2]), { binary: true })
      return undefined
    }
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 1, calls: 2, scenario: 'heartbeat' })
  assert.equal(s.errors.protocol, 3)
  const answer = JSON.parse(got.find((g) => g.startsWith('[4'))!) as unknown[]
  assert.deepEqual(answer.slice(0, 3), [4, '-1', 'FormationViolation'])
})

test('--max-pending bounds the handshakes in progress', T, async (t) => {
  let inProgress = 0
  let most = 0
  const server = await startTestServer({
    // Hold each upgrade for a few ms, so that unbounded handshakes would pile up here.
    verify: async () => {
      inProgress++
      most = Math.max(most, inProgress)
      await new Promise((resolve) => setTimeout(resolve, 5))
      inProgress--
      return undefined
    }
  })
  t.after(server.close)
  const s = await runSimulation({ url: server.url, count: 30, calls: 1, maxPending: 3 })
  assert.equal(s.connect.succeeded, 30)
  assert.ok(most <= 3, `${most} handshakes at once`)
  most = 0
  await runSimulation({ url: server.url, count: 30, calls: 1, idPrefix: 'x' })
  assert.ok(most > 3, `without a limit: ${most} at once`)
})

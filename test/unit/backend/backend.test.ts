/** The backend SDK on an in-memory broker: handlers, Calls and their answers, events, several instances. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { connectBackend, type Backend, type BackendOptions, ChargerCallError, GatewayAnswerError, CallTimeoutError, BackendClosedError, OcppError, CallValidationError } from '../../../src/backend/index.js'
import { FakeBroker, memoryLogger, settle } from '../../helpers/fake-transport.js'

async function start (broker: FakeBroker, opts: Partial<BackendOptions> = {}): Promise<{ backend: Backend, log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger()
  const backend = await connectBackend({ transport: broker.transport(), logger: log, ...opts })
  return { backend, log }
}

const boot16 = { chargePointVendor: 'V', chargePointModel: 'M' }

describe('handlers', () => {
  test('a returned value is the CallResult, published on the downstream topic with the UniqueId', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    const seen: unknown[] = []
    backend.handle('BootNotification', (ctx, req) => {
      seen.push([ctx.cid, ctx.version, ctx.uniqueId, ctx.action, ctx.messageType, req])
      return { status: 'Accepted', currentTime: '2026-01-01T00:00:00Z', interval: 300 }
    })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'u1', Action: 'BootNotification', Payload: boot16 })
    await settle()
    assert.deepEqual(seen, [['CP1', '1.6', 'u1', 'BootNotification', 2, boot16]])
    assert.deepEqual(broker.on('ocpp/cs/CP1').map((p) => p.json), [{ MessageTypeId: 3, UniqueId: 'u1', Action: 'BootNotification', Payload: { status: 'Accepted', currentTime: '2026-01-01T00:00:00Z', interval: 300 } }])
  })

  test('OcppError -> CallError with its code, description and details; unhandled -> NotImplemented; other throw -> InternalError and a log line', async () => {
    const broker = new FakeBroker()
    const { backend, log } = await start(broker)
    backend.handle('DataTransfer', () => { throw new OcppError('NotSupported', 'no vendor data', { vendorId: 'x' }) })
    backend.handle('Heartbeat', () => { throw new Error('database down') })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'a', Action: 'DataTransfer', Payload: { vendorId: 'x' } })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'b', Action: 'Authorize', Payload: { idTag: 't' } })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'c', Action: 'Heartbeat', Payload: {} })
    await settle()
    const byId = new Map(broker.on('ocpp/cs/CP1').map((p) => [p.json.UniqueId, p.json]))
    assert.deepEqual(byId.get('a'), { MessageTypeId: 4, UniqueId: 'a', Action: 'DataTransfer', ErrorCode: 'NotSupported', ErrorDescription: 'no vendor data', ErrorDetails: { vendorId: 'x' } })
    assert.equal(byId.get('b').ErrorCode, 'NotImplemented')
    assert.equal(byId.get('c').ErrorCode, 'InternalError')
    assert.ok(!JSON.stringify(byId.get('c')).includes('database down'), 'the error text stays in the log')
    const line = log.lines.find((l) => l.level === 'error')
    assert.equal(line?.msg, 'handler threw: answered InternalError')
    assert.equal((line?.obj as { cid: string }).cid, 'CP1')
  })

  test('a version handler wins over the all-versions one; the version comes from the connection event', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    backend.handle('Heartbeat', () => ({ currentTime: 'any' }))
    backend.version('2.0.1').handle('Heartbeat', (ctx) => ({ currentTime: `v${ctx.version}` }))
    broker.deliver('ocpp/events/CP2', { event: 'connected', cid: 'CP2', version: '2.0.1', node: 'n1', at: '2026-01-01T00:00:00Z' })
    broker.deliver('ocpp/cp/CP2', { MessageTypeId: 2, UniqueId: 'h', Action: 'Heartbeat', Payload: {} })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'h', Action: 'Heartbeat', Payload: {} })
    await settle()
    assert.equal(broker.on('ocpp/cs/CP2')[0]?.json.Payload.currentTime, 'v2.0.1')
    assert.equal(broker.on('ocpp/cs/CP1')[0]?.json.Payload.currentTime, 'any')
  })

  test('a Call delivered again while its handler runs is handled once', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    let runs = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    backend.handle('Heartbeat', async () => { runs++; await gate; return { currentTime: 'now' } })
    const call = { MessageTypeId: 2, UniqueId: 'd', Action: 'Heartbeat', Payload: {} }
    broker.deliver('ocpp/cp/CP1', call)
    broker.deliver('ocpp/cp/CP1', call)
    release()
    await settle()
    assert.equal(runs, 1)
    assert.equal(broker.on('ocpp/cs/CP1').length, 1)
    broker.deliver('ocpp/cp/CP1', call)
    await settle()
    assert.equal(runs, 2, 'once answered, the same UniqueId is a new Call (chargers reuse ids after a reboot)')
  })

  test('a 2.1 SEND runs its handler and is never answered', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker, { defaultVersion: '2.1' })
    const got: unknown[] = []
    backend.version('2.1').handle('NotifyPeriodicEventStream', (_ctx, req) => { got.push(req) })
    broker.deliver('ocpp/cp/CP3', { MessageTypeId: 6, UniqueId: 's', Action: 'NotifyPeriodicEventStream', Payload: { id: 1, pending: 0, basetime: '2026-01-01T00:00:00Z', data: [] } })
    await settle()
    assert.equal(got.length, 1)
    assert.equal(broker.on('ocpp/cs/CP3').length, 0)
  })

  test('validation: an invalid Call gets the version\'s CallError, an invalid answer becomes InternalError', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker, { validate: true })
    backend.handle('BootNotification', () => ({ status: 'Maybe' } as never))
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'x', Action: 'BootNotification', Payload: { chargePointVendor: 'V' } })
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'y', Action: 'BootNotification', Payload: boot16 })
    await settle()
    const byId = new Map(broker.on('ocpp/cs/CP1').map((p) => [p.json.UniqueId, p.json]))
    assert.equal(byId.get('x').ErrorCode, 'OccurenceConstraintViolation', '1.6 spelling')
    assert.equal(byId.get('y').ErrorCode, 'InternalError')
  })
})

describe('calls', () => {
  test('resolves with the CallResult payload; the charger\'s CallError and the gateway\'s answers are told apart', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    const ok = backend.call('CP1', 'Reset', { type: 'Soft' })
    const refused = backend.call('CP1', 'Reset', { type: 'Hard' })
    const offline = backend.call('CP9', 'Reset', { type: 'Soft' })
    const [c1, c2, c3] = broker.published.map((p) => p.json)
    assert.deepEqual({ ...c1, UniqueId: 'id' }, { MessageTypeId: 2, UniqueId: 'id', Action: 'Reset', Payload: { type: 'Soft' } })
    assert.equal(broker.published[2]?.topic, 'ocpp/cs/CP9')
    broker.deliver('ocpp/cp/CP1/Reply', { MessageTypeId: 3, UniqueId: c1.UniqueId, Payload: { status: 'Accepted' } })
    broker.deliver('ocpp/cp/CP1/Reply', { MessageTypeId: 4, UniqueId: c2.UniqueId, ErrorCode: 'NotSupported', ErrorDescription: 'no', ErrorDetails: {} })
    broker.deliver('ocpp/cp/CP9/Reply', { MessageTypeId: 4, UniqueId: c3.UniqueId, Action: 'Reset', ErrorCode: 'GenericError', ErrorDescription: 'gateway: the charge point is not connected', ErrorDetails: { reason: 'offline' }, Origin: 'gateway' })
    assert.deepEqual(await ok, { status: 'Accepted' })
    await assert.rejects(refused, (e: unknown) => e instanceof ChargerCallError && e.errorCode === 'NotSupported' && e.code === 'OCPPGW_ERR_CALL_ERROR')
    await assert.rejects(offline, (e: unknown) => e instanceof GatewayAnswerError && e.reason === 'offline' && e.cid === 'CP9' && e.action === 'Reset')
    assert.equal(backend.inFlight, 0)
  })

  test('a local timeout rejects; the late answer is dropped', async () => {
    const broker = new FakeBroker()
    const { backend, log } = await start(broker)
    const p = backend.call('CP1', 'Heartbeat' as never, {} as never, { timeout: 30 })
    await assert.rejects(p, (e: unknown) => e instanceof CallTimeoutError && e.timeoutMs === 30)
    broker.deliver('ocpp/cp/CP1/Reply', { MessageTypeId: 3, UniqueId: broker.published[0]?.json.UniqueId, Payload: {} })
    assert.ok(log.lines.some((l) => l.level === 'debug' && /no longer awaited/.test(l.msg)))
  })

  test('an answer on another charger\'s topic does not settle a Call', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    const p = backend.call('CP1', 'Reset', { type: 'Soft' }, { timeout: 50 })
    broker.deliver('ocpp/cp/CP2/Reply', { MessageTypeId: 3, UniqueId: broker.published[0]?.json.UniqueId, Payload: { status: 'Accepted' } })
    await assert.rejects(p, CallTimeoutError)
  })

  test('two instances on one broker: each settles only its own Calls, both get every reply', async () => {
    const broker = new FakeBroker()
    const a = (await start(broker)).backend
    const b = (await start(broker)).backend
    const pa = a.call('CP1', 'Reset', { type: 'Soft' })
    const pb = b.call('CP1', 'Reset', { type: 'Hard' })
    const [ca, cb] = broker.published.map((p) => p.json)
    assert.notEqual(ca.UniqueId, cb.UniqueId)
    broker.deliver('ocpp/cp/CP1/Reply', { MessageTypeId: 3, UniqueId: cb.UniqueId, Payload: { status: 'Rejected' } })
    broker.deliver('ocpp/cp/CP1/Reply', { MessageTypeId: 3, UniqueId: ca.UniqueId, Payload: { status: 'Accepted' } })
    assert.deepEqual(await pa, { status: 'Accepted' })
    assert.deepEqual(await pb, { status: 'Rejected' })
  })

  test('outgoing validation rejects before anything is published; close rejects Calls in flight', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker, { validate: { outgoing: true } })
    await assert.rejects(backend.call('CP1', 'Reset', { type: 'Sideways' } as never), (e: unknown) => e instanceof CallValidationError && e.which === 'request')
    assert.equal(broker.published.length, 0)
    const p = backend.call('CP1', 'Reset', { type: 'Soft' })
    await backend.close()
    await assert.rejects(p, BackendClosedError)
    await assert.rejects(backend.call('CP1', 'Reset', { type: 'Soft' }), BackendClosedError)
  })

  test('a publish that fails rejects the Call with BackendClosedError', async () => {
    const broker = new FakeBroker()
    const transport = broker.transport()
    transport.failPublish = new Error('connection closed')
    const backend = await connectBackend({ transport, logger: memoryLogger() })
    await assert.rejects(backend.call('CP1', 'Reset', { type: 'Soft' }), /not published: connection closed/)
  })
})

describe('events, topics, sharing', () => {
  test('the charger list follows the events; a takeover or another node\'s disconnect does not remove it', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    const events: string[] = []
    backend.on('connected', (e) => events.push(`+${e.cid}`))
    backend.on('disconnected', (e) => events.push(`-${e.cid}`))
    broker.deliver('ocpp/events/A', { event: 'connected', cid: 'A', version: '1.6', node: 'n1' })
    broker.deliver('ocpp/events/B', { event: 'connected', cid: 'B', version: '2.1', node: 'n1' })
    broker.deliver('ocpp/events/B', { event: 'disconnected', cid: 'B', version: '2.1', node: 'n1', reason: 'takeover' })
    broker.deliver('ocpp/events/A', { event: 'connected', cid: 'A', version: '2.0.1', node: 'n2' })
    broker.deliver('ocpp/events/A', { event: 'disconnected', cid: 'A', version: '1.6', node: 'n1', reason: 'takeover' })
    assert.deepEqual(backend.chargers().map((c) => [c.cid, c.version, c.node]), [['A', '2.0.1', 'n2'], ['B', '2.1', 'n1']])
    broker.deliver('ocpp/events/B', { event: 'disconnected', cid: 'B', node: 'n1', reason: 'closed_by_charger' })
    assert.deepEqual(backend.chargers().map((c) => c.cid), ['A'])
    assert.deepEqual(events, ['+A', '+B', '-B', '+A', '-A', '-B'])
  })

  test('presence records seed the list; reports are emitted', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker)
    const reports: unknown[] = []
    backend.on('report', (r) => reports.push([r.cid, r.Error]))
    broker.deliver('ocpp/presence/P1/node-a', { node: 'node-a', since: 1_700_000_000_000, version: '2.0.1' }, true)
    broker.deliver('ocpp/errors/P1', { Origin: 'gateway', Error: 'late_answer', ErrorDescription: 'x', cid: 'P1', UniqueId: 'q' })
    assert.equal(backend.charger('P1')?.version, '2.0.1')
    assert.equal(backend.versionOf('P1'), '2.0.1')
    broker.deliver('ocpp/presence/P1/node-a', '', true)
    assert.equal(backend.charger('P1'), undefined)
    assert.deepEqual(reports, [['P1', 'late_answer']])
  })

  test('custom topics with ${version} and overrides; shareGroup shares only the Calls', async () => {
    const broker = new FakeBroker()
    const { backend } = await start(broker, {
      mountpoint: 'gw/',
      shareGroup: 'csms',
      topics: { upstream: { topic: 'up/${version}/${cid}', topicOverrideMapping: { MeterValues: 'meter/${cid}' } }, dnstream: { topic: 'down/${version}/${cid}' } }
    })
    assert.deepEqual(backend.subscriptions(), ['$share/csms/gw/up/+/+', '$share/csms/gw/meter/+', 'gw/cp/+/Reply', 'gw/events/+', 'gw/errors/+'])
    backend.handle('Heartbeat', (ctx) => ({ currentTime: ctx.version }))
    broker.deliver('gw/up/2.1/CPX', { MessageTypeId: 2, UniqueId: 'h', Action: 'Heartbeat', Payload: {} })
    await settle()
    assert.deepEqual(broker.on('gw/down/2.1/CPX').map((p) => p.json.Payload), [{ currentTime: '2.1' }])
  })

  test('shareGroup: each Call goes to one instance of the group', async () => {
    const broker = new FakeBroker()
    const counts = [0, 0]
    for (const i of [0, 1]) {
      const { backend } = await start(broker, { shareGroup: 'g' })
      backend.handle('Heartbeat', () => { counts[i]!++; return { currentTime: 'now' } })
    }
    for (let n = 0; n < 10; n++) broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: `h${n}`, Action: 'Heartbeat', Payload: {} })
    await settle()
    assert.deepEqual(counts, [5, 5])
    assert.equal(broker.on('ocpp/cs/CP1').length, 10, 'one answer per Call')
  })

  test('the broker connection\'s losses and returns are events', async () => {
    const broker = new FakeBroker()
    const transport = broker.transport()
    const backend = await connectBackend({ transport, logger: memoryLogger() })
    const seen: string[] = []
    backend.on('brokerDown', (err) => seen.push(`down ${err?.message ?? ''}`))
    backend.on('brokerUp', () => seen.push('up'))
    transport.setUp(false, new Error('ECONNRESET'))
    transport.setUp(true)
    assert.deepEqual(seen, ['down ECONNRESET', 'up'])
  })

  test('an envelope that is not understood is logged and ignored; a retained message is ignored', async () => {
    const broker = new FakeBroker()
    const { backend, log } = await start(broker)
    let calls = 0
    backend.handle('Heartbeat', () => { calls++; return { currentTime: 'now' } })
    broker.deliver('ocpp/cp/CP1', 'not json')
    broker.deliver('ocpp/cp/CP1', { MessageTypeId: 2, UniqueId: 'r', Action: 'Heartbeat', Payload: {} }, true)
    await settle()
    assert.equal(calls, 0)
    assert.ok(log.lines.some((l) => l.level === 'warn' && /not understood/.test(l.msg)))
  })
})

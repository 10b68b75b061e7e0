/**
 * The backend SDK against a real gateway (embedded broker and Mosquitto) with real chargers:
 * the project's simulator for 1.6 and 2.0.1, a plain WebSocket client for 2.1. Boot,
 * authorize, a transaction with meter values, a backend Call answered, a Call refused by the
 * charger, a Call to an offline charger, the gateway's timeout and a local one.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { connectBackend, type Backend, GatewayAnswerError, CallTimeoutError, ChargerCallError } from '../../src/backend/index.js'
import { startSimulation } from '../../src/sim/runner.js'
import { installCsms, type CsmsState } from '../../examples/csms.js'
import { brokerKinds, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, waitFor } from '../helpers/clients.js'
import { freePort } from '../helpers/mosquitto.js'
import { memoryLogger } from '../helpers/fake-transport.js'

const T = { timeout: 30_000 }

async function setUp (kind: 'embedded' | 'mosquitto', idTags?: string[]): Promise<{ t: TestGateway, backend: Backend, state: CsmsState, log: ReturnType<typeof memoryLogger> }> {
  const t = await startTestGateway({ broker: kind, config: { dnstream: { awaiting_timeout: '400ms' }, message_format_checking: 'all' } })
  const log = memoryLogger()
  const backend = await connectBackend({ url: t.mqttUrl, logger: log, validate: true })
  const state = installCsms(backend, { interval: 60, ...(idTags === undefined ? {} : { idTags }) })
  return { t, backend, state, log }
}

const done = (state: CsmsState, cid: string): boolean => [...state.transactions.values()].some((x) => x.cid === cid && x.stoppedAt !== undefined)

for (const { kind, skip } of brokerKinds) {
  describe(`backend SDK with chargers (${kind} broker)`, { skip }, () => {
    for (const protocol of ['ocpp1.6', 'ocpp2.0.1'] as const) {
      test(`${protocol} simulator: boot, authorize, a transaction with meter values, Calls answered, refused, offline`, T, async () => {
        const cid = `sdk-${protocol.slice(4)}`
        const { t, backend, state, log } = await setUp(kind, [`T${cid}`])
        try {
          const sim = startSimulation({ url: t.url, protocol, ids: [cid], scenario: 'session', rate: 40 })
          await waitFor(() => done(state, cid), 15_000)
          assert.equal(state.boots.get(cid), 1)
          assert.equal(backend.charger(cid)?.version, protocol.slice(4), 'version from the connected event')
          const tx = [...state.transactions.values()].find((x) => x.cid === cid)!
          assert.ok(tx.meterWh.length >= 4, `meter values recorded: ${tx.meterWh.join(',')}`)
          assert.ok((tx.meterWh.at(-1) ?? 0) > (tx.meterWh[0] ?? 0), 'energy rises')
          // A backend Call answered by the charger, typed in its version.
          if (protocol === 'ocpp1.6') {
            const conf = await backend.version('1.6').call(cid, 'GetConfiguration', { key: ['HeartbeatInterval'] })
            assert.deepEqual(conf.configurationKey?.map((k) => [k.key, k.value]), [['HeartbeatInterval', '60']])
          } else {
            const vars = await backend.version('2.0.1').call(cid, 'GetVariables', { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] })
            assert.equal(vars.getVariableResult[0]?.attributeValue, '60')
          }
          // The charger's own CallError: the simulator implements no ClearChargingProfile.
          await assert.rejects(backend.call(cid, 'ClearChargingProfile', {}), (e: unknown) => e instanceof ChargerCallError && e.errorCode === 'NotImplemented')
          // A Call to a charger nobody holds: the gateway answers offline.
          await assert.rejects(backend.call('nobody-here', 'Reset', { type: 'Soft' }), (e: unknown) => e instanceof GatewayAnswerError && e.reason === 'offline')
          sim.stop()
          const summary = await sim.done
          assert.equal(summary.errors.total, 0, JSON.stringify(summary.errors))
          assert.ok(summary.serverCalls.received >= 2)
          assert.deepEqual(log.lines.filter((l) => l.level === 'error'), [])
        } finally {
          await backend.close()
          await t.stop()
        }
      })
    }

    test('ocpp2.1 charger (plain WebSocket): boot, authorize, TransactionEvent with meter values, a SEND, a Call answered', T, async () => {
      const { t, backend, state } = await setUp(kind)
      const sends: unknown[] = []
      backend.version('2.1').handle('NotifyPeriodicEventStream', (_ctx, req) => { sends.push(req.id) })
      try {
        const connected = new Promise((resolve) => backend.once('connected', resolve))
        const cp = await connectChargePoint(`${t.url}/sdk-21`, ['ocpp2.1'])
        await connected
        const ask = async (id: string, action: string, payload: object): Promise<unknown[]> => {
          cp.send([2, id, action, payload])
          return await cp.frames.wait((f) => f[1] === id)
        }
        const boot = await ask('b', 'BootNotification', { chargingStation: { model: 'm', vendorName: 'v' }, reason: 'PowerUp' })
        assert.deepEqual([boot[0], (boot[2] as { status: string, interval: number }).status, (boot[2] as { interval: number }).interval], [3, 'Accepted', 60])
        const auth = await ask('a', 'Authorize', { idToken: { idToken: 'TAG21', type: 'ISO14443' } })
        assert.deepEqual(auth[2], { idTokenInfo: { status: 'Accepted' } })
        const ts = new Date().toISOString()
        const meter = (wh: number): object[] => [{ timestamp: ts, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' }] }]
        for (const [i, type, wh] of [[0, 'Started', 0], [1, 'Updated', 500], [2, 'Ended', 900]] as const) {
          const ans = await ask(`t${i}`, 'TransactionEvent', { eventType: type, timestamp: ts, triggerReason: 'MeterValuePeriodic', seqNo: i, transactionInfo: { transactionId: 'tx21' }, meterValue: meter(wh) })
          assert.equal(ans[0], 3, JSON.stringify(ans))
        }
        assert.deepEqual(state.transactions.get('sdk-21/tx21')?.meterWh, [0, 500, 900])
        assert.ok(state.transactions.get('sdk-21/tx21')?.stoppedAt !== undefined)
        cp.send([6, 's1', 'NotifyPeriodicEventStream', { id: 7, pending: 0, basetime: ts, data: [{ t: 0, v: '1' }] }])
        await waitFor(() => sends.length === 1)
        const reset = backend.version('2.1').call('sdk-21', 'Reset', { type: 'OnIdle' })
        const call = await cp.frames.wait((f) => f[0] === 2 && f[2] === 'Reset')
        cp.send([3, call[1], { status: 'Scheduled' }])
        assert.deepEqual(await reset, { status: 'Scheduled' })
        await cp.close()
      } finally {
        await backend.close()
        await t.stop()
      }
    })

    test('a backend started after its charger knows it and its version', { ...T, skip: kind === 'embedded' ? 'the embedded broker keeps presence records to the gateway (it is one node); the list comes from events there' : false }, async () => {
      const t = await startTestGateway({ broker: kind })
      let backend: Backend | undefined
      try {
        const cp = await connectChargePoint(`${t.url}/sdk-early`, ['ocpp2.0.1'])
        backend = await connectBackend({ url: t.mqttUrl, logger: memoryLogger() })
        await waitFor(() => backend?.charger('sdk-early') !== undefined)
        assert.equal(backend.versionOf('sdk-early'), '2.0.1', 'from the retained presence record')
        await cp.close()
      } finally {
        await backend?.close()
        await t.stop()
      }
    })

    test('timeouts: the gateway\'s answer (reason timeout) and a local one shorter than it', T, async () => {
      const { t, backend } = await setUp(kind)
      try {
        const connected = new Promise((resolve) => backend.once('connected', resolve))
        const cp = await connectChargePoint(`${t.url}/sdk-mute`, ['ocpp1.6'])
        await connected
        // The charger never answers: the gateway answers after dnstream.awaiting_timeout (400 ms).
        await assert.rejects(backend.call('sdk-mute', 'Reset', { type: 'Soft' }), (e: unknown) => e instanceof GatewayAnswerError && e.reason === 'timeout')
        const started = Date.now()
        await assert.rejects(backend.call('sdk-mute', 'Reset', { type: 'Soft' }, { timeout: 100 }), (e: unknown) => e instanceof CallTimeoutError && e.timeoutMs === 100)
        assert.ok(Date.now() - started < 400, 'the local timeout came first')
        await cp.close()
        await waitFor(() => backend.charger('sdk-mute') === undefined)
      } finally {
        await backend.close()
        await t.stop()
      }
    })
  })
}

test('no broker: connectBackend rejects with OCPPGW_ERR_BACKEND_CONNECT, the password redacted', T, async () => {
  const port = await freePort()
  await assert.rejects(connectBackend({ url: `mqtt://127.0.0.1:${port}`, username: 'u', password: 'secret', logger: memoryLogger(), connectTimeoutMs: 3000 }),
    (e: Error & { code?: string }) => e.code === 'OCPPGW_ERR_BACKEND_CONNECT' && !e.message.includes('secret'))
})

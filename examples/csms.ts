/**
 * A small charging backend on the SDK: what examples/minimal-csms.ts runs. Accepts boots
 * (with a heartbeat interval), authorizes id tags from a list (or all), keeps transactions
 * (1.6 StartTransaction/StopTransaction, 2.0.1 and 2.1 TransactionEvent) with their meter
 * values, answers the other core Calls, and sends the operator's commands in each charger's
 * own version.
 */
import type { Backend, OcppVersion } from '../src/backend/index.js'

export interface CsmsOptions {
  /** Heartbeat interval given in the BootNotification answer, seconds. Default 300. */
  interval?: number
  /** Id tags / idTokens accepted; undefined accepts every one. */
  idTags?: readonly string[]
  /** Where to say what happens (default: nothing). */
  print?: (line: string) => void
}

export interface Transaction {
  cid: string
  id: string
  idTag: string | undefined
  startedAt: string
  stoppedAt: string | undefined
  /** Energy readings (Wh) in the order they came. */
  meterWh: number[]
}

export interface CsmsState {
  boots: Map<string, number>
  transactions: Map<string, Transaction>
  status: Map<string, string>
}

const now = (): string => new Date().toISOString()

/** The Wh of an Energy.Active.Import.Register sample, 1.6 (`value` a string) or 2.x (a number). */
function energyOf (meterValue: ReadonlyArray<{ sampledValue: ReadonlyArray<{ value: string | number, measurand?: string }> }> | undefined): number[] {
  const out: number[] = []
  for (const mv of meterValue ?? []) {
    for (const s of mv.sampledValue) {
      if (s.measurand === undefined || s.measurand === 'Energy.Active.Import.Register') {
        const n = Number(s.value)
        if (Number.isFinite(n)) out.push(n)
      }
    }
  }
  return out
}

export function installCsms (backend: Backend, o: CsmsOptions = {}): CsmsState {
  const print = o.print ?? (() => {})
  const interval = o.interval ?? 300
  const allowed = o.idTags === undefined ? undefined : new Set(o.idTags)
  const state: CsmsState = { boots: new Map(), transactions: new Map(), status: new Map() }
  const authorized = (tag: string | undefined): 'Accepted' | 'Invalid' => (allowed === undefined || (tag !== undefined && allowed.has(tag)) ? 'Accepted' : 'Invalid')
  let nextTx = 1

  backend.on('connected', (e) => print(`${e.cid} connected (OCPP ${String(e.version)})`))
  backend.on('disconnected', (e) => print(`${e.cid} disconnected (${String(e.reason)})`))
  backend.on('report', (r) => print(`gateway report for ${r.cid}: ${r.Error} ${r.ErrorDescription}`))

  // The same in every version.
  backend.handle('BootNotification', (ctx) => {
    state.boots.set(ctx.cid, (state.boots.get(ctx.cid) ?? 0) + 1)
    print(`${ctx.cid} boot accepted (OCPP ${ctx.version}, interval ${interval} s)`)
    return { status: 'Accepted', currentTime: now(), interval }
  })
  backend.handle('Heartbeat', () => ({ currentTime: now() }))
  backend.handle('StatusNotification', (ctx, req) => {
    const status = 'status' in req ? req.status : req.connectorStatus
    state.status.set(ctx.cid, status)
    return {}
  })
  backend.handle('DataTransfer', () => ({ status: 'UnknownVendorId' }))
  for (const action of ['FirmwareStatusNotification', 'LogStatusNotification', 'SecurityEventNotification'] as const) backend.handle(action, () => ({}))
  backend.handle('SignCertificate', () => ({ status: 'Rejected' }))

  // OCPP 1.6
  const v16 = backend.version('1.6')
  v16.handle('Authorize', (_ctx, req) => ({ idTagInfo: { status: authorized(req.idTag) } }))
  v16.handle('StartTransaction', (ctx, req) => {
    const id = String(nextTx++)
    const status = authorized(req.idTag)
    state.transactions.set(`${ctx.cid}/${id}`, { cid: ctx.cid, id, idTag: req.idTag, startedAt: req.timestamp, stoppedAt: undefined, meterWh: [req.meterStart] })
    print(`${ctx.cid} transaction ${id} started (${req.idTag}: ${status})`)
    return { transactionId: Number(id), idTagInfo: { status } }
  })
  v16.handle('StopTransaction', (ctx, req) => {
    const tx = state.transactions.get(`${ctx.cid}/${req.transactionId}`)
    if (tx !== undefined) {
      tx.meterWh.push(...energyOf(req.transactionData), req.meterStop)
      tx.stoppedAt = req.timestamp
    }
    print(`${ctx.cid} transaction ${req.transactionId} stopped at ${req.meterStop} Wh`)
    return req.idTag === undefined ? {} : { idTagInfo: { status: authorized(req.idTag) } }
  })
  v16.handle('MeterValues', (ctx, req) => {
    const tx = req.transactionId === undefined ? undefined : state.transactions.get(`${ctx.cid}/${req.transactionId}`)
    tx?.meterWh.push(...energyOf(req.meterValue))
    return {}
  })
  v16.handle('DiagnosticsStatusNotification', () => ({}))
  v16.handle('SignedFirmwareStatusNotification', () => ({}))

  // OCPP 2.0.1 and 2.1: the same handlers, typed per version.
  for (const version of ['2.0.1', '2.1'] as const) {
    const v = backend.version(version)
    v.handle('Authorize', (_ctx, req) => ({ idTokenInfo: { status: authorized(req.idToken.idToken) } }))
    v.handle('TransactionEvent', (ctx, req) => {
      const id = req.transactionInfo.transactionId
      const key = `${ctx.cid}/${id}`
      let tx = state.transactions.get(key)
      if (tx === undefined) {
        tx = { cid: ctx.cid, id, idTag: req.idToken?.idToken, startedAt: req.timestamp, stoppedAt: undefined, meterWh: [] }
        state.transactions.set(key, tx)
        print(`${ctx.cid} transaction ${id} started`)
      }
      tx.meterWh.push(...energyOf(req.meterValue))
      if (req.eventType === 'Ended') {
        tx.stoppedAt = req.timestamp
        print(`${ctx.cid} transaction ${id} ended (${tx.meterWh.at(-1) ?? 0} Wh)`)
      }
      return req.idToken === undefined ? {} : { idTokenInfo: { status: authorized(req.idToken.idToken) } }
    })
    v.handle('MeterValues', () => ({}))
    v.handle('NotifyEvent', () => ({}))
    v.handle('NotifyReport', () => ({}))
  }
  // OCPP 2.1: periodic event streams (the simulator streams its meter readings as SENDs).
  const v21 = backend.version('2.1')
  v21.handle('OpenPeriodicEventStream', () => ({ status: 'Accepted' }))
  v21.handle('ClosePeriodicEventStream', () => ({}))
  v21.handle('NotifyPeriodicEventStream', () => {})
  return state
}

/** The operator's commands, in the charger's version. Each resolves with the charger's answer. */
export function commands (backend: Backend): Record<string, (cid: string, ...args: string[]) => Promise<unknown>> {
  const is16 = (cid: string): boolean => backend.versionOf(cid) === '1.6'
  const v2 = (cid: string): OcppVersion & ('2.0.1' | '2.1') => backend.versionOf(cid) === '2.1' ? '2.1' : '2.0.1'
  const cv = (name: string): { component: { name: string }, variable: { name: string } } => {
    const [c, v] = name.includes('.') ? name.split('.', 2) as [string, string] : ['OCPPCommCtrlr', name]
    return { component: { name: c }, variable: { name: v } }
  }
  let remoteStartId = 1
  return {
    reset: (cid, kind = 'soft') => is16(cid)
      ? backend.version('1.6').call(cid, 'Reset', { type: kind === 'hard' ? 'Hard' : 'Soft' })
      : backend.version(v2(cid)).call(cid, 'Reset', { type: kind === 'hard' ? 'Immediate' : 'OnIdle' }),
    start: (cid, idTag = 'REMOTE', connector = '1') => is16(cid)
      ? backend.version('1.6').call(cid, 'RemoteStartTransaction', { idTag, connectorId: Number(connector) })
      : backend.version(v2(cid)).call(cid, 'RequestStartTransaction', { idToken: { idToken: idTag, type: 'Central' }, remoteStartId: remoteStartId++, evseId: Number(connector) }),
    stop: (cid, transactionId = '') => is16(cid)
      ? backend.version('1.6').call(cid, 'RemoteStopTransaction', { transactionId: Number(transactionId) })
      : backend.version(v2(cid)).call(cid, 'RequestStopTransaction', { transactionId }),
    trigger: (cid, message = 'StatusNotification') => is16(cid)
      ? backend.version('1.6').call(cid, 'TriggerMessage', { requestedMessage: message as never })
      : backend.version(v2(cid)).call(cid, 'TriggerMessage', { requestedMessage: message as never }),
    get: (cid, ...keys) => is16(cid)
      ? backend.version('1.6').call(cid, 'GetConfiguration', keys.length === 0 ? {} : { key: keys })
      : backend.version(v2(cid)).call(cid, 'GetVariables', { getVariableData: (keys.length === 0 ? ['HeartbeatInterval'] : keys).map(cv) }),
    set: (cid, key = '', value = '') => is16(cid)
      ? backend.version('1.6').call(cid, 'ChangeConfiguration', { key, value })
      : backend.version(v2(cid)).call(cid, 'SetVariables', { setVariableData: [{ ...cv(key), attributeValue: value }] })
  }
}

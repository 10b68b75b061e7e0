/**
 * OCPP 1.6 charge point: one connector, idTag authorization, StartTransaction /
 * MeterValues / StopTransaction. Payloads follow the OCPP 1.6 JSON schemas (field lengths
 * included) so that a validating CSMS accepts them.
 */
import { type JsonObject } from '../ocpp/frame.js'
import { ChargePointModel, type ModelContext, type OutgoingCall, type Padding, type ResultRefusal, type ServerCallAnswer, type Step, METER_VALUES_PER_SESSION, SIM_VENDOR_ID, padding } from './model.js'

const CONNECTOR = 1
const now = (): string => new Date().toISOString()

/** A padding entry: a plausible sampled value (1.6 carries values as strings). */
const FILLER_16: JsonObject = Object.freeze({
  value: '230.0', context: 'Sample.Periodic', measurand: 'Voltage', phase: 'L1-N', location: 'Outlet', unit: 'V'
})

export class Model16 extends ChargePointModel {
  private transactionId: number | undefined
  private readonly idTag: string
  private readonly config = new Map<string, { value: string, readonly: boolean }>([
    ['HeartbeatInterval', { value: '0', readonly: false }],
    ['MeterValueSampleInterval', { value: '60', readonly: false }],
    ['NumberOfConnectors', { value: String(CONNECTOR), readonly: true }],
    ['AuthorizeRemoteTxRequests', { value: 'false', readonly: false }]
  ])

  private readonly filler: Padding

  constructor (ctx: ModelContext) {
    super(ctx)
    // OCPP 1.6 IdToken: CiString20.
    this.idTag = `T${ctx.id}`.slice(0, 20)
    this.filler = padding(ctx.meterSize, (extra) => this.meterPayload(0, extra, undefined), FILLER_16)
  }

  protected ownBoot (): OutgoingCall {
    return {
      action: 'BootNotification',
      payload: {
        chargePointVendor: SIM_VENDOR_ID,
        chargePointModel: 'sim-1.6',
        chargePointSerialNumber: this.ctx.id.slice(0, 25),
        firmwareVersion: '1.0.0'
      }
    }
  }

  heartbeat (): OutgoingCall {
    return { action: 'Heartbeat', payload: {} }
  }

  statusAll (): OutgoingCall[] {
    return [this.status(0, 'Available'), this.status(CONNECTOR, this.charging ? 'Charging' : 'Available')]
  }

  meterValues (): OutgoingCall {
    return { action: 'MeterValues', payload: this.meterPayload(this.meterStep(), this.filler.entries, this.transactionId), pad: this.filler.json }
  }

  protected readonly session: readonly Step[] = [
    () => this.status(CONNECTOR, 'Preparing'),
    () => ({ action: 'Authorize', payload: { idTag: this.idTag } }),
    () => ({
      action: 'StartTransaction',
      payload: { connectorId: CONNECTOR, idTag: this.idTag, meterStart: this.energyWh, timestamp: now() }
    }),
    () => this.status(CONNECTOR, 'Charging'),
    ...new Array<() => OutgoingCall>(METER_VALUES_PER_SESSION).fill(() => this.meterValues()),
    () => {
      const payload: JsonObject = { meterStop: this.meterStep(), timestamp: now(), transactionId: this.transactionId ?? 0, idTag: this.idTag, reason: 'Local' }
      this.charging = false
      this.transactionId = undefined
      return { action: 'StopTransaction', payload }
    },
    () => this.status(CONNECTOR, 'Available')
  ]

  protected result (action: string, payload: JsonObject): ResultRefusal | undefined {
    switch (action) {
      case 'Authorize':
        if (!accepted(payload)) this.restartSessionAt(0)
        break
      case 'StartTransaction':
        if (typeof payload['transactionId'] === 'number') this.transactionId = payload['transactionId']
        // A refused start is still a transaction to stop (1.6 §5.18): keep the loop as is.
        this.charging = true
        break
    }
    return undefined
  }

  protected readonly handlers: Readonly<Record<string, (payload: JsonObject) => ServerCallAnswer>> = {
    Reset: () => ({ result: { status: 'Accepted' } }),
    RemoteStartTransaction: () => ({ result: { status: 'Accepted' } }),
    RemoteStopTransaction: (p) => ({
      result: { status: this.transactionId !== undefined && p['transactionId'] === this.transactionId ? 'Accepted' : 'Rejected' }
    }),
    GetConfiguration: (p) => {
      const keys = Array.isArray(p['key']) ? p['key'].filter((k): k is string => typeof k === 'string') : [...this.config.keys()]
      const configurationKey: JsonObject[] = []
      const unknownKey: string[] = []
      for (const key of keys) {
        const entry = this.config.get(key)
        if (entry === undefined) unknownKey.push(key)
        else configurationKey.push({ key, readonly: entry.readonly, value: entry.value })
      }
      return { result: unknownKey.length > 0 ? { configurationKey, unknownKey } : { configurationKey } }
    },
    ChangeConfiguration: (p) => {
      const key = p['key']
      const value = p['value']
      const entry = typeof key === 'string' ? this.config.get(key) : undefined
      if (entry === undefined || typeof value !== 'string') return { result: { status: 'NotSupported' } }
      if (entry.readonly) return { result: { status: 'Rejected' } }
      if (key === 'HeartbeatInterval') {
        const s = Number(value)
        if (!Number.isFinite(s) || s < 0) return { result: { status: 'Rejected' } }
        this.heartbeatInterval = s
      }
      entry.value = value
      return { result: { status: 'Accepted' } }
    },
    ...this.commonHandlers()
  }

  override bootResult (payload: JsonObject): ReturnType<ChargePointModel['bootResult']> {
    const outcome = super.bootResult(payload)
    if (outcome.accepted) this.config.get('HeartbeatInterval')!.value = String(outcome.interval)
    return outcome
  }

  private status (connectorId: number, status: string): OutgoingCall {
    return { action: 'StatusNotification', payload: { connectorId, errorCode: 'NoError', status, timestamp: now() } }
  }

  private meterPayload (wh: number, extra: unknown[], transactionId: number | undefined): JsonObject {
    const sampledValue: unknown[] = [
      { value: String(wh), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
      ...extra
    ]
    const payload: JsonObject = { connectorId: CONNECTOR, meterValue: [{ timestamp: now(), sampledValue }] }
    if (transactionId !== undefined) payload['transactionId'] = transactionId
    return payload
  }
}

function accepted (payload: JsonObject): boolean {
  const info = payload['idTagInfo']
  return typeof info === 'object' && info !== null && (info as JsonObject)['status'] === 'Accepted'
}

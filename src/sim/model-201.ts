/**
 * OCPP 2.0.1 charging station: one EVSE with one connector, ISO14443 id token, the
 * transaction as TransactionEvent Started / Updated / Ended. Payloads follow the 2.0.1 JSON
 * schemas (field lengths included) so that a validating CSMS accepts them.
 */
import { randomUUID } from 'node:crypto'
import { type JsonObject } from '../ocpp/frame.js'
import { ChargePointModel, type ModelContext, type OutgoingCall, type Padding, type ResultRefusal, type ServerCallAnswer, type Step, METER_VALUES_PER_SESSION, SIM_VENDOR_ID, padding } from './model.js'

const EVSE = 1
const CONNECTOR = 1
const now = (): string => new Date().toISOString()

/** A padding entry: a plausible sampled value (2.0.1 carries values as numbers). */
const FILLER_201: JsonObject = Object.freeze({
  value: 230.0, context: 'Sample.Periodic', measurand: 'Voltage', phase: 'L1-N', location: 'Outlet', unitOfMeasure: { unit: 'V' }
})

interface Variable { component: string, variable: string, value: string, readonly: boolean }

export class Model201 extends ChargePointModel {
  protected transactionId: string | undefined
  private seqNo = 0
  private readonly idToken: JsonObject
  private readonly filler: Padding
  private readonly variables: Variable[]

  /** `modelName`: the station's model in its boot and variables (the 2.1 model passes its own). */
  constructor (ctx: ModelContext, private readonly modelName = 'sim-2.0.1') {
    super(ctx)
    this.variables = [
      { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval', value: '0', readonly: false },
      { component: 'SampledDataCtrlr', variable: 'TxUpdatedInterval', value: '60', readonly: false },
      { component: 'AuthCtrlr', variable: 'AuthorizeRemoteStart', value: 'false', readonly: false },
      { component: 'ChargingStation', variable: 'Model', value: modelName, readonly: true }
    ]
    // 2.0.1 IdTokenType.idToken: identifierString, maxLength 36.
    this.idToken = { idToken: `T${ctx.id}`.slice(0, 36), type: 'ISO14443' }
    this.filler = padding(ctx.meterSize, (extra) => ({ evseId: EVSE, meterValue: [this.meterValue(0, extra)] }), FILLER_201)
  }

  protected ownBoot (): OutgoingCall {
    return {
      action: 'BootNotification',
      payload: {
        chargingStation: { model: this.modelName, vendorName: SIM_VENDOR_ID, serialNumber: this.ctx.id.slice(0, 25), firmwareVersion: '1.0.0' },
        reason: 'PowerUp'
      }
    }
  }

  heartbeat (): OutgoingCall {
    return { action: 'Heartbeat', payload: {} }
  }

  statusAll (): OutgoingCall[] {
    return [this.status(this.charging ? 'Occupied' : 'Available')]
  }

  meterValues (): OutgoingCall {
    return { action: 'MeterValues', payload: { evseId: EVSE, meterValue: [this.meterValue(this.meterStep(), this.filler.entries)] }, pad: this.filler.json }
  }

  protected readonly session: readonly Step[] = [
    () => this.status('Occupied'),
    () => this.authorize(),
    () => this.started(),
    ...new Array<Step>(METER_VALUES_PER_SESSION).fill(() => this.updated()),
    () => this.ended(),
    () => this.status('Available')
  ]

  protected authorize (): OutgoingCall {
    return { action: 'Authorize', payload: { idToken: this.idToken } }
  }

  protected started (): OutgoingCall {
    this.transactionId = randomUUID()
    this.charging = true
    return this.event('Started', 'Authorized', { chargingState: 'Charging' }, {
      idToken: this.idToken, evse: { id: EVSE, connectorId: CONNECTOR }, meterValue: [this.meterValue(this.energyWh, [])]
    })
  }

  protected updated (): OutgoingCall {
    return {
      ...this.event('Updated', 'MeterValuePeriodic', {}, { meterValue: [this.meterValue(this.meterStep(), this.filler.entries)] }),
      pad: this.filler.json
    }
  }

  protected ended (): OutgoingCall {
    const call = this.event('Ended', 'StopAuthorized', { stoppedReason: 'Local' }, {
      idToken: this.idToken, meterValue: [this.meterValue(this.meterStep(), [])]
    })
    this.charging = false
    this.transactionId = undefined
    return call
  }

  protected result (action: string, payload: JsonObject): ResultRefusal | undefined {
    if (action === 'Authorize') {
      const info = payload['idTokenInfo']
      const ok = typeof info === 'object' && info !== null && (info as JsonObject)['status'] === 'Accepted'
      if (!ok) this.restartSessionAt(0)
    }
    return undefined
  }

  protected readonly handlers: Readonly<Record<string, (payload: JsonObject) => ServerCallAnswer>> = {
    Reset: () => ({ result: { status: 'Accepted' } }),
    RequestStartTransaction: () => ({ result: { status: 'Accepted' } }),
    RequestStopTransaction: (p) => ({
      result: { status: this.transactionId !== undefined && p['transactionId'] === this.transactionId ? 'Accepted' : 'Rejected' }
    }),
    GetVariables: (p) => {
      const asked = Array.isArray(p['getVariableData']) ? p['getVariableData'] as JsonObject[] : []
      return {
        result: {
          getVariableResult: asked.map((d) => {
            const { component, variable, v } = this.lookup(d)
            return v === undefined
              ? { attributeStatus: 'UnknownVariable', component, variable }
              : { attributeStatus: 'Accepted', attributeValue: v.value, component, variable }
          })
        }
      }
    },
    SetVariables: (p) => {
      const asked = Array.isArray(p['setVariableData']) ? p['setVariableData'] as JsonObject[] : []
      return {
        result: {
          setVariableResult: asked.map((d) => {
            const { component, variable, v } = this.lookup(d)
            const value = d['attributeValue']
            if (v === undefined) return { attributeStatus: 'UnknownVariable', component, variable }
            if (v.readonly || typeof value !== 'string') return { attributeStatus: 'Rejected', component, variable }
            if (v.variable === 'HeartbeatInterval') {
              const s = Number(value)
              if (!Number.isFinite(s) || s < 0) return { attributeStatus: 'Rejected', component, variable }
              this.heartbeatInterval = s
            }
            v.value = value
            return { attributeStatus: 'Accepted', component, variable }
          })
        }
      }
    },
    ...this.commonHandlers()
  }

  override bootResult (payload: JsonObject): ReturnType<ChargePointModel['bootResult']> {
    const outcome = super.bootResult(payload)
    if (outcome.accepted) this.variables[0]!.value = String(outcome.interval)
    return outcome
  }

  private lookup (d: JsonObject): { component: unknown, variable: unknown, v: Variable | undefined } {
    const component = d['component']
    const variable = d['variable']
    const cName = typeof component === 'object' && component !== null ? (component as JsonObject)['name'] : undefined
    const vName = typeof variable === 'object' && variable !== null ? (variable as JsonObject)['name'] : undefined
    return { component, variable, v: this.variables.find((x) => x.component === cName && x.variable === vName) }
  }

  protected status (connectorStatus: string): OutgoingCall {
    return { action: 'StatusNotification', payload: { timestamp: now(), connectorStatus, evseId: EVSE, connectorId: CONNECTOR } }
  }

  private event (eventType: string, triggerReason: string, info: JsonObject, extra: JsonObject): OutgoingCall {
    return {
      action: 'TransactionEvent',
      payload: {
        eventType,
        timestamp: now(),
        triggerReason,
        seqNo: this.seqNo++,
        transactionInfo: { transactionId: this.transactionId ?? '', ...info },
        ...extra
      }
    }
  }

  protected meterValue (wh: number, extra: unknown[]): JsonObject {
    return {
      timestamp: now(),
      sampledValue: [{ value: wh, context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }, ...extra]
    }
  }
}

/**
 * OCPP 2.1 charging station: the 2.0.1 station (2.1 keeps its messages for these use cases),
 * plus what only 2.1 has: a periodic event stream during the transaction, whose data goes as
 * NotifyPeriodicEventStream SENDs (type 6, never answered), and a CALLRESULTERROR (type 5) for
 * a CallResult the station cannot process. Payloads follow the 2.1 JSON schemas.
 */
import { type JsonObject } from '../ocpp/frame.js'
import { type ModelContext, type OutgoingCall, type ResultRefusal, type Step, METER_VALUES_PER_SESSION, REFUSED_RESULT_MESSAGE_ID } from './model.js'
import { Model201 } from './model-201.js'

/** The one stream this station opens (ConstantStreamDataType.id). */
const STREAM_ID = 1
/** The monitor said to report the stream's values (ConstantStreamDataType.variableMonitoringId). */
const MONITOR_ID = 1
const now = (): string => new Date().toISOString()

export class Model21 extends Model201 {
  /** The CSMS accepted OpenPeriodicEventStream and the stream was not closed since. */
  private streamOpen = false

  constructor (ctx: ModelContext) {
    super(ctx, 'sim-2.1')
  }

  /** 2.0.1's session, with the stream opened after the start and its data sent with each update. */
  protected override readonly session: readonly Step[] = [
    () => this.status('Occupied'),
    () => this.authorize(),
    () => this.started(),
    () => this.openStream(),
    ...new Array<Step[]>(METER_VALUES_PER_SESSION).fill([() => this.updated(), () => this.streamData(false)]).flat(),
    () => this.streamOpen ? this.closeStream() : undefined,
    () => this.ended(),
    () => this.status('Available')
  ]

  /** Every message type of 2.1: Call, CallResult, SEND, and a CALLRESULTERROR on purpose. */
  protected override readonly frames: readonly Step[] = [
    () => this.heartbeat(),
    () => this.openStream(),
    () => this.streamData(true),
    () => this.closeStream(),
    () => this.dataTransfer('frames'),
    () => this.dataTransfer(REFUSED_RESULT_MESSAGE_ID)
  ]

  protected override result (action: string, payload: JsonObject): ResultRefusal | undefined {
    switch (action) {
      case 'OpenPeriodicEventStream': {
        const status = payload['status']
        this.streamOpen = status === 'Accepted'
        // The station cannot tell whether its stream is open: OCPP 2.1 lets it say so (type 5).
        if (status === undefined) return { error: 'occurrenceConstraint', description: 'OpenPeriodicEventStream result: status is missing' }
        if (status !== 'Accepted' && status !== 'Rejected') return { error: 'propertyConstraint', description: `OpenPeriodicEventStream result: status ${JSON.stringify(status)} is not Accepted or Rejected` }
        return undefined
      }
      case 'ClosePeriodicEventStream':
        this.streamOpen = false
        return undefined
      default:
        return super.result(action, payload)
    }
  }

  /** A CallError to a Call of ours: a stream it tried to open is not open. */
  override onError (action: string): void {
    if (action === 'OpenPeriodicEventStream') this.streamOpen = false
    super.onError(action)
  }

  private openStream (): OutgoingCall {
    return {
      action: 'OpenPeriodicEventStream',
      payload: { constantStreamData: { id: STREAM_ID, variableMonitoringId: MONITOR_ID, params: { interval: 60, values: 1 } } }
    }
  }

  private closeStream (): OutgoingCall {
    return { action: 'ClosePeriodicEventStream', payload: { id: STREAM_ID } }
  }

  /** The stream's data as a SEND; skipped while the stream is not open unless `always`. */
  private streamData (always: boolean): OutgoingCall | undefined {
    if (!always && !this.streamOpen) return undefined
    return {
      action: 'NotifyPeriodicEventStream',
      send: true,
      payload: { id: STREAM_ID, pending: 0, basetime: now(), data: [{ t: 0, v: String(this.energyWh) }] }
    }
  }
}

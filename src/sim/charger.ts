/**
 * One simulated charger: its socket, its one outstanding Call (OCPP-J: a sender does not send
 * a new Call before the previous one was answered or timed out), the pacing of its scenario,
 * and the answers to the server's Calls. What it says comes from its ChargePointModel.
 */
import WebSocket from 'ws'
import { type CallFrame, type Frame, type JsonObject, decodeFrame, encodeFrame, expectsAnswer } from '../ocpp/frame.js'
import { MessageType } from '../ocpp/dialect.js'
import { type ChargePointModel, type OutgoingCall, encodeCall } from './model.js'
import { type ResolvedSimOptions, chargerUrl, messageIds } from './options.js'
import { type Profile } from './profiles.js'
import { type SimStats, bump } from './stats.js'
import { failureKind } from './failure-kind.js'
import { basicAuthHeaders, openSocket } from './socket.js'

/** What the runner shares with all its chargers. */
export interface ChargerEnv {
  readonly opts: ResolvedSimOptions
  readonly profile: Profile
  readonly stats: SimStats
  /** The first connection attempt of a charger succeeded or failed. */
  settled: (ok: boolean) => void
  /** The charger will send nothing more: finished, or lost without reconnecting. */
  ended: () => void
  /** true: hold this charger's boot (bootAfterConnect); the runner calls releaseBoot() later. */
  holdBoot: (c: Charger) => boolean
  /** A charger created a socket (first attempt or reconnect). */
  socketUp: () => void
  /** A socket of a charger is fully closed. */
  socketGone: () => void
}

type State = 'idle' | 'connecting' | 'booting' | 'running' | 'ended'

/** Keep at most this many timed-out message ids to recognise late answers. */
const MAX_TIMED_OUT_IDS = 64

const now = (): number => performance.now()

export class Charger {
  readonly url: string
  private readonly model: ChargePointModel
  private readonly headers: Record<string, string> | undefined
  private readonly localAddress: string | undefined
  private ws: WebSocket | undefined
  private state: State = 'idle'
  private wasOpen = false
  private settledOnce = false
  private stopping = false
  /** The UniqueIds of this charger's Calls and SENDs, in order (`firstId`). */
  private readonly nextId: () => string
  private outId: string | undefined
  private outAction = ''
  private outPayload: JsonObject | undefined
  private outSentAt = 0
  private readonly timedOut = new Set<string>()
  private callsLeft: number
  private timer: NodeJS.Timeout | undefined
  private connectStartedAt = 0
  private readonly periodMs: number
  private nextDueAt = 0
  private heartbeatS: number | undefined
  private nextHeartbeatAt = Infinity
  private heartbeatDue = false

  constructor (private readonly env: ChargerEnv, readonly id: string, index: number) {
    const o = env.opts
    this.url = chargerUrl(o.url, id)
    this.model = env.profile.create({ id, scenario: o.scenario, meterSize: o.meterSize, bootPayload: o.bootPayload })
    this.nextId = messageIds(o.firstId)
    this.callsLeft = o.calls === 0 ? Infinity : o.calls
    this.periodMs = o.rate > 0 ? 1000 / o.rate : 0
    this.localAddress = o.sources.length > 0 ? o.sources[(o.indexOffset + index) % o.sources.length] : undefined
    this.headers = basicAuthHeaders(o, id)
  }

  connect (): void {
    if (this.stopping || this.state === 'ended') return
    const { stats, opts, profile } = this.env
    this.state = 'connecting'
    this.wasOpen = false
    stats.c.connectAttempts++
    this.connectStartedAt = now()
    const ws = openSocket(this.url, profile.dialect.subprotocol, opts, this.headers, this.localAddress)
    this.ws = ws
    this.env.socketUp()
    ws.on('open', () => this.onOpen())
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary))
    ws.on('error', (err) => this.onError(err))
    ws.on('close', (code) => this.onClose(ws, code))
  }

  /** Called by the runner's sweep: call timeouts and heartbeat due times. */
  tick (t: number): void {
    if (this.outId !== undefined && t - this.outSentAt > this.env.opts.callTimeout * 1000) {
      this.env.stats.c.timeouts++
      if (this.timedOut.size >= MAX_TIMED_OUT_IDS) this.timedOut.clear()
      this.timedOut.add(this.outId)
      this.outId = undefined
      this.model.onError(this.outAction)
      // The timeout was the wait: send the boot again at once.
      if (this.outAction === 'BootNotification' && this.state === 'booting') this.retryBoot(0, 0)
      else this.pump()
    }
    if (this.state !== 'running') return
    if (this.model.heartbeatInterval !== this.heartbeatS) this.scheduleHeartbeat(t)
    if (t >= this.nextHeartbeatAt) {
      this.heartbeatDue = true
      this.nextHeartbeatAt = Infinity
      this.pump()
    }
  }

  /** Send nothing new; close once the outstanding Call is answered (the runner bounds the wait). */
  stop (): void {
    this.stopping = true
    this.clearTimer()
    if (this.outId === undefined) this.close()
  }

  /** Drop the socket at once (end of the stop grace). */
  terminate (): void {
    this.ws?.terminate()
  }

  private close (): void {
    const ws = this.ws
    if (ws === undefined) return
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
    else if (ws.readyState === WebSocket.OPEN) ws.close(1000)
  }

  private onOpen (): void {
    const { stats } = this.env
    stats.c.connects++
    stats.c.open++
    stats.connectLatency.record((now() - this.connectStartedAt) * 1000)
    this.wasOpen = true
    this.settle(true)
    if (this.stopping) return this.close()
    this.state = 'booting'
    if (this.env.holdBoot(this)) return
    this.send(this.model.boot())
  }

  /** Send the BootNotification held back by bootAfterConnect, once the connect phase is over. */
  releaseBoot (): void {
    if (this.state !== 'booting' || this.stopping || this.outId !== undefined) return
    this.send(this.model.boot())
  }

  private onError (err: Error & { code?: string }): void {
    const { stats } = this.env
    if (this.wasOpen) {
      // After the handshake: a bad frame from the server (ws closes the socket itself).
      stats.c.protocol++
      return
    }
    // Aborted by our own stop: not a failure of the server.
    if (this.stopping) return this.settle(false)
    bump(stats.c.connectFailures, failureKind(err))
    this.settle(false)
  }

  private onClose (ws: WebSocket, code: number): void {
    const { stats, opts } = this.env
    if (ws !== this.ws) return
    this.ws = undefined
    this.clearTimer()
    if (this.wasOpen) {
      stats.c.open--
      if (!this.stopping && this.state !== 'ended') {
        bump(stats.c.disconnects, String(code))
        if (this.outId !== undefined) stats.c.closed++
      }
    } else {
      // Closed before the handshake finished without an error event (e.g. stopped): settle.
      this.settle(false)
    }
    this.outId = undefined
    this.timedOut.clear()
    this.heartbeatDue = false
    this.nextHeartbeatAt = Infinity
    this.env.socketGone()
    if (this.state === 'ended') return
    if (!this.stopping && opts.reconnect > 0) {
      this.state = 'idle'
      stats.c.reconnects++
      this.timer = setTimeout(() => { this.timer = undefined; this.connect() }, opts.reconnect * 1000)
      return
    }
    this.end()
  }

  private onMessage (data: Buffer, isBinary: boolean): void {
    const { stats, profile } = this.env
    stats.c.messagesIn++
    stats.c.bytesIn += data.length
    if (this.state === 'ended') return
    if (isBinary) {
      // OCPP-J sends text frames only.
      stats.c.protocol++
      return
    }
    const decoded = decodeFrame(data.toString(), profile.dialect)
    if (!decoded.ok) {
      stats.c.protocol++
      const e = decoded.error
      if (expectsAnswer(e.type)) {
        this.write(encodeFrame({ type: 4, id: e.id, code: profile.dialect.errorCodes[e.kind], description: e.message, details: {} }))
      }
      return
    }
    const frame = decoded.frame
    if (frame.type === MessageType.CALL) this.onServerCall(frame)
    // OCPP 2.1: a server's SEND, and a server refusing a CallResult of ours: never answered.
    else if (frame.type === MessageType.SEND) stats.c.sendsReceived++
    else if (frame.type === MessageType.CALLRESULTERROR) stats.c.callResultErrorsReceived++
    else this.onAnswer(frame)
  }

  private onServerCall (frame: CallFrame): void {
    const { stats, profile } = this.env
    stats.c.serverCalls++
    bump(stats.c.serverCallsByAction, frame.action)
    const answer = this.model.handle(frame.action, frame.payload)
    if ('result' in answer) {
      this.write(encodeFrame({ type: 3, id: frame.id, payload: answer.result }))
    } else {
      if (answer.error === 'notImplemented') stats.c.serverNotImplemented++
      this.write(encodeFrame({ type: 4, id: frame.id, code: profile.dialect.errorCodes[answer.error], description: answer.description, details: {} }))
    }
    // TriggerMessage may have queued a Call.
    this.pump()
  }

  private onAnswer (frame: Exclude<Frame, CallFrame>): void {
    const { stats, profile } = this.env
    if (frame.id !== this.outId || (frame.type !== MessageType.CALLRESULT && frame.type !== MessageType.CALLERROR)) {
      if (this.timedOut.delete(frame.id)) stats.c.late++
      else stats.c.protocol++
      return
    }
    const action = this.outAction
    stats.roundTrip((now() - this.outSentAt) * 1000)
    this.outId = undefined
    if (frame.type === MessageType.CALLRESULT) {
      stats.c.results++
      const refusal = this.model.onResult(action, frame.payload, this.outPayload)
      // OCPP 2.1 Part 4 §4.2.4: a CallResult the receiver cannot process gets a CALLRESULTERROR.
      if (refusal !== undefined && profile.dialect.messageTypes.has(MessageType.CALLRESULTERROR)) {
        stats.c.callResultErrorsSent++
        this.write(encodeFrame({ type: 5, id: frame.id, code: profile.dialect.errorCodes[refusal.error], description: refusal.description, details: {} }))
      }
      if (action === 'BootNotification') this.onBootResult(frame.payload)
    } else {
      bump(stats.c.callErrors, frame.code)
      this.model.onError(action)
      if (action === 'BootNotification' && this.state === 'booting') this.retryBoot(0, 1)
    }
    this.pump()
  }

  private onBootResult (payload: CallFrame['payload']): void {
    const { opts } = this.env
    const outcome = this.model.bootResult(payload)
    if (!outcome.accepted) {
      if (this.state === 'booting') this.retryBoot(outcome.interval, 1)
      return
    }
    this.model.heartbeatInterval = opts.heartbeat ?? outcome.interval
    if (this.state !== 'booting') return
    this.state = 'running'
    const t = now()
    this.scheduleHeartbeat(t)
    if (opts.scenario === 'session' || opts.scenario === 'idle') this.model.urgent.push(...this.model.statusAll())
    // Spread rate-paced chargers over one period so that they do not fire in lockstep.
    this.nextDueAt = t + Math.random() * this.periodMs
  }

  /** Boot refused (Pending / Rejected / CallError) or timed out: try again after the interval. */
  private retryBoot (intervalS: number, minS: number): void {
    this.clearTimer()
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.state === 'booting' && this.outId === undefined && !this.stopping) this.sendCounted(this.model.boot())
    }, Math.max(minS, intervalS) * 1000)
  }

  private scheduleHeartbeat (t: number): void {
    const s = this.model.heartbeatInterval
    this.heartbeatS = s
    const periodic = this.env.opts.scenario === 'session' || this.env.opts.scenario === 'idle'
    this.nextHeartbeatAt = periodic && s !== undefined && s > 0 ? t + s * 1000 : Infinity
  }

  /** Send the next Call if none is outstanding: urgent ones, a due Heartbeat, then the scenario. */
  private pump (): void {
    if (this.outId !== undefined || this.ws === undefined) return
    if (this.stopping) return this.close()
    if (this.state !== 'running' || this.timer !== undefined) return
    if (this.callsLeft <= 0) return this.finish()
    const urgent = this.model.urgent.shift()
    if (urgent !== undefined) return this.sendCounted(urgent)
    if (this.heartbeatDue) {
      this.heartbeatDue = false
      this.scheduleHeartbeat(now())
      return this.sendCounted(this.model.heartbeat())
    }
    if (this.periodMs > 0) {
      const t = now()
      if (t < this.nextDueAt) {
        this.timer = setTimeout(() => { this.timer = undefined; this.pump() }, this.nextDueAt - t)
        return
      }
      if (t - this.nextDueAt > this.periodMs) {
        // A whole period late: the server is slower than the asked rate. Count, do not burst.
        this.env.stats.c.behind++
        this.nextDueAt = t
      }
      this.nextDueAt += this.periodMs
    }
    const call = this.model.next()
    if (call !== undefined) this.sendCounted(call)
  }

  private sendCounted (call: OutgoingCall): void {
    if (call.send === true) return this.sendOneWay(call)
    if (this.callsLeft <= 0) return this.finish()
    this.send(call)
  }

  /** An OCPP 2.1 SEND: written, never answered, so the next Call may follow at once. */
  private sendOneWay (call: OutgoingCall): void {
    this.env.stats.c.sendsSent++
    this.write(encodeFrame({ type: 6, id: this.nextId(), action: call.action, payload: call.payload }))
    this.pump()
  }

  private send (call: OutgoingCall): void {
    const { stats } = this.env
    const id = this.nextId()
    this.outId = id
    this.outAction = call.action
    this.outPayload = call.payload
    this.callsLeft--
    stats.c.callsSent++
    bump(stats.c.callsByAction, call.action)
    this.outSentAt = now()
    this.write(encodeCall(id, call))
  }

  private write (text: string): void {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return
    const { stats } = this.env
    stats.c.messagesOut++
    stats.c.bytesOut += text.length
    ws.send(text)
  }

  private finish (): void {
    if (this.state === 'ended') return
    this.env.stats.c.finished++
    this.end()
    this.close()
  }

  private end (): void {
    if (this.state === 'ended') return
    this.state = 'ended'
    this.clearTimer()
    this.env.ended()
  }

  private settle (ok: boolean): void {
    if (this.settledOnce) return
    this.settledOnce = true
    this.env.settled(ok)
  }

  private clearTimer (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}

/**
 * The control topic: backends' commands to the gateway about one charge point, on
 * `{mountpoint}ctl/{cid}`, answered on `{mountpoint}ctl/{cid}/Reply`. The one command today:
 *
 *   {"command": "disconnect", "id": "c-1", "reason": "profile upgraded"}   (id, reason optional)
 *   → closes the charge point's connection (close code 4005, event reason closed_by_backend)
 *   ← {"id": "c-1", "command": "disconnect", "result": "closed", "node": "…"}
 *
 * `result` is `closed`, `offline` (not connected; one node only, see below) or `invalid` (with
 * a `description`). On the embedded broker only `backend` clients may publish here (ACL).
 *
 * Every node subscribes to the whole topic (not shared): the node that holds the charge point
 * acts and answers. On an external broker a node that does not hold it cannot tell whether
 * another one does, so it does not answer (it counts `control_commands_total{reason="not_here"}`
 * and logs at debug): a command for a charge point no node holds gets no answer there.
 */
import type { Logger } from '../observability/logger.js'
import type { Metrics } from '../observability/metrics.js'
import { CloseCode } from '../session/close-codes.js'
import type { SessionTable } from '../session/sessions.js'
import type { MessageHandler, MqttPort, QoS } from './adapters/mqtt-port.js'
import type { Publisher } from './publisher.js'

export interface ControlOptions {
  mqtt: MqttPort
  publish: Publisher
  sessions: SessionTable
  metrics: Metrics
  log: Logger
  nodeId: string
  /** `{mountpoint}ctl/` */
  prefix: string
  qos: QoS
  /** Largest command accepted, in bytes. */
  maxPayloadSize: number
}

export type ControlResult = 'closed' | 'offline' | 'invalid'

const MAX_REASON = 256

export class ControlChannel {
  private readonly filter: string
  private readonly handler: MessageHandler

  constructor (private readonly o: ControlOptions) {
    this.filter = `${o.prefix}+`
    this.handler = (topic, payload, retained) => { this.onMessage(topic, payload, retained === true) }
  }

  async start (): Promise<void> { await this.o.mqtt.subscribe(this.filter, this.o.qos, this.handler) }
  async stop (): Promise<void> { await this.o.mqtt.unsubscribe(this.filter, this.handler).catch(() => {}) }

  private onMessage (topic: string, payload: Buffer, retained: boolean): void {
    const cid = topic.slice(this.o.prefix.length)
    // A retained command would close the charge point again on every reconnect: never acted on.
    if (retained || cid === '' || cid.includes('/')) return
    let cmd: unknown
    try {
      cmd = payload.length > this.o.maxPayloadSize ? undefined : JSON.parse(payload.toString('utf8'))
    } catch {
      cmd = undefined
    }
    const c = typeof cmd === 'object' && cmd !== null && !Array.isArray(cmd) ? cmd as Record<string, unknown> : undefined
    const id = typeof c?.id === 'string' ? c.id.slice(0, 128) : undefined
    if (c === undefined || c.command !== 'disconnect' || (c.reason !== undefined && typeof c.reason !== 'string')) {
      const description = c === undefined ? 'not a JSON object (or over dnstream.max_payload_size)' : c.command === 'disconnect' ? 'reason must be a string' : 'unknown command (known: disconnect)'
      this.answer(cid, id, typeof c?.command === 'string' ? c.command.slice(0, 64) : undefined, 'invalid', description)
      return
    }
    const s = this.o.sessions.get(cid)
    if (s === undefined) {
      if (this.o.mqtt.kind === 'embedded') {
        this.answer(cid, id, 'disconnect', 'offline', 'the charge point is not connected')
      } else {
        this.o.metrics.inc('control_commands_total', 'not_here')
        if (this.o.log.isLevelEnabled('debug')) this.o.log.debug({ cid }, 'control command for a charge point not connected here: left to the node that holds it')
      }
      return
    }
    const reason = typeof c.reason === 'string' ? c.reason.slice(0, MAX_REASON) : 'closed by a backend'
    s.log.info({ why: reason }, 'charge point disconnected by a backend (control topic)')
    // The close frame's text is fixed (at most 123 bytes); the backend's reason goes to the log.
    s.close(CloseCode.CLOSED_BY_BACKEND, 'closed by the CSMS', 'closed_by_backend')
    this.answer(cid, id, 'disconnect', 'closed')
  }

  private answer (cid: string, id: string | undefined, command: string | undefined, result: ControlResult, description?: string): void {
    this.o.metrics.inc('control_commands_total', result)
    if (result === 'invalid') this.o.log.warn({ cid, description }, 'control command refused')
    const body: Record<string, unknown> = { command: command ?? null, result, node: this.o.nodeId }
    if (id !== undefined) body.id = id
    if (description !== undefined) body.description = description
    this.o.publish.json(`${this.o.prefix}${cid}/Reply`, body, this.o.qos)
  }
}

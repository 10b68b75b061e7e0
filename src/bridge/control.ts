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
 * One node (embedded broker): a plain subscription; not connected here is `offline`.
 *
 * Several nodes (external broker): a shared subscription (`$share/{share_group}/…ctl/+`), so
 * one node gets each command. If it holds the charge point it acts; if not, it asks the
 * broker's presence records who does (./presence-lookup.ts): nobody → `offline`; a node → the
 * command is relayed to `{mountpoint}ctl/{cid}/{node}`, which only that node subscribes, and it
 * acts (or answers `offline` if the charge point left it meanwhile). A relayed command is never
 * relayed again. One answer per command either way.
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
  /** Several nodes: the shared subscription's group, and who holds a charge point this node does not. */
  cluster?: { shareGroup: string, holder: (cid: string) => Promise<string | undefined> }
}

export type ControlResult = 'closed' | 'offline' | 'invalid'

const MAX_REASON = 256

export class ControlChannel {
  private readonly filters: Array<{ filter: string, handler: MessageHandler }>

  constructor (private readonly o: ControlOptions) {
    const own = `/${o.nodeId}`
    const direct: MessageHandler = (topic, payload, retained) => { this.onMessage(topic, payload, retained === true, false) }
    const relayed: MessageHandler = (topic, payload, retained) => {
      if (topic.endsWith(own)) this.onMessage(topic.slice(0, -own.length), payload, retained === true, true)
    }
    this.filters = o.cluster === undefined
      ? [{ filter: `${o.prefix}+`, handler: direct }]
      : [{ filter: `$share/${o.cluster.shareGroup}/${o.prefix}+`, handler: direct }, { filter: `${o.prefix}+/${o.nodeId}`, handler: relayed }]
  }

  async start (): Promise<void> {
    for (const f of this.filters) await this.o.mqtt.subscribe(f.filter, this.o.qos, f.handler)
  }

  async stop (): Promise<void> {
    for (const f of this.filters) await this.o.mqtt.unsubscribe(f.filter, f.handler).catch(() => {})
  }

  private onMessage (topic: string, payload: Buffer, retained: boolean, relayed: boolean): void {
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
    if (s === undefined || s.closed) {
      const cluster = this.o.cluster
      if (cluster === undefined || relayed) {
        this.answer(cid, id, 'disconnect', 'offline', 'the charge point is not connected')
        return
      }
      cluster.holder(cid).then((node) => {
        if (node === undefined || node === this.o.nodeId) {
          this.answer(cid, id, 'disconnect', 'offline', 'the charge point is not connected to any node')
          return
        }
        this.o.metrics.inc('control_commands_total', 'relayed')
        this.o.publish.text(`${this.o.prefix}${cid}/${node}`, payload.toString('utf8'), this.o.qos)
      }, (err: Error) => {
        this.o.log.warn({ cid, err: err.message }, 'control command: presence lookup failed')
        this.answer(cid, id, 'disconnect', 'offline', 'the gateway could not find the node holding the charge point')
      })
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

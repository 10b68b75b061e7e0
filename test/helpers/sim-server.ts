/**
 * A small OCPP-J server for the simulator tests: answers every Call with a plausible
 * CallResult (or what the test says), records what each charger sent, and can send Calls.
 */
import { type IncomingMessage } from 'node:http'
import { type AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { dialectForSubprotocol } from '../../src/ocpp/dialect.js'
import { type Frame, type JsonObject, decodeFrame, encodeFrame } from '../../src/ocpp/frame.js'

export type Answer = { result: JsonObject } | { error: string } | 'none' | 'close'

export interface Conn {
  id: string
  protocol: string
  headers: IncomingMessage['headers']
  remoteAddress: string | undefined
  ws: WebSocket
  /** Actions of the Calls received, in order. */
  actions: string[]
  payloads: JsonObject[]
  /** Answers to the server's own Calls, by message id. */
  answers: Map<string, Frame>
  /** OCPP 2.1 one-way frames from the charger: SENDs (6) and CALLRESULTERRORs (5), in order. */
  oneWay: Frame[]
  /** Message ids of the charger's Calls and SENDs, in order. */
  ids: string[]
  /** Message ids of the charger's Calls, in the order of `actions`. */
  callIds: string[]
  closed: Promise<void>
  /** Send a Call to the charger; resolves with its answer. */
  call: (action: string, payload: JsonObject) => Promise<Frame>
}

export interface TestServer {
  url: string
  port: number
  conns: Map<string, Conn>
  /** CallResults and CallErrors (by code) the server sent. */
  sent: { results: number, errors: Record<string, number> }
  close: () => Promise<void>
}

export interface TestServerOptions {
  /** Return undefined for the default answer. */
  answer?: (conn: Conn, action: string, payload: JsonObject) => Answer | undefined | Promise<Answer | undefined>
  /** Refuse the upgrade with this HTTP status when it returns (or resolves to) a number. */
  verify?: (req: IncomingMessage) => number | undefined | Promise<number | undefined>
  heartbeatInterval?: number
  /** Called when a WebSocket connection is established (after the upgrade). */
  onConnection?: () => void
}

let txSeq = 0

export function defaultAnswer (action: string, interval: number): JsonObject {
  const currentTime = new Date().toISOString()
  switch (action) {
    case 'BootNotification': return { status: 'Accepted', currentTime, interval }
    case 'Heartbeat': return { currentTime }
    case 'Authorize': return { idTagInfo: { status: 'Accepted' }, idTokenInfo: { status: 'Accepted' } }
    case 'StartTransaction': return { idTagInfo: { status: 'Accepted' }, transactionId: ++txSeq }
    case 'StopTransaction': return { idTagInfo: { status: 'Accepted' } }
    case 'DataTransfer': return { status: 'Accepted' }
    case 'OpenPeriodicEventStream': return { status: 'Accepted' }
    case 'ClosePeriodicEventStream': return {}
    default: return {}
  }
}

export async function startTestServer (opts: TestServerOptions = {}): Promise<TestServer> {
  const conns = new Map<string, Conn>()
  const sent = { results: 0, errors: {} as Record<string, number> }
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => [...protocols].find((p) => dialectForSubprotocol(p) !== undefined) ?? false,
    verifyClient: opts.verify === undefined
      ? undefined
      : (info, cb) => {
          void Promise.resolve(opts.verify!(info.req)).then((status) => cb(status === undefined, status))
        }
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  const port = (wss.address() as AddressInfo).port

  wss.on('connection', (ws, req) => {
    opts.onConnection?.()
    const id = decodeURIComponent(new URL(req.url ?? '/', 'ws://x').pathname.split('/').pop() ?? '')
    const dialect = dialectForSubprotocol(ws.protocol)!
    let seq = 0
    const waiting = new Map<string, (f: Frame) => void>()
    const conn: Conn = {
      id,
      protocol: ws.protocol,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      ws,
      actions: [],
      payloads: [],
      answers: new Map(),
      oneWay: [],
      ids: [],
      callIds: [],
      closed: new Promise((resolve) => ws.once('close', () => resolve())),
      call: async (action, payload) => await new Promise<Frame>((resolve) => {
        const mid = `s${++seq}`
        waiting.set(mid, resolve)
        ws.send(encodeFrame({ type: 2, id: mid, action, payload }))
      })
    }
    conns.set(id, conn)
    ws.on('message', (data) => {
      const d = decodeFrame(String(data), dialect)
      if (!d.ok) throw new Error(`test server got a bad frame: ${d.error.message}`)
      const f = d.frame
      if (f.type === 2 || f.type === 6) conn.ids.push(f.id)
      if (f.type === 5 || f.type === 6) {
        conn.oneWay.push(f)
        return
      }
      if (f.type !== 2) {
        conn.answers.set(f.id, f)
        waiting.get(f.id)?.(f)
        waiting.delete(f.id)
        return
      }
      conn.actions.push(f.action)
      conn.payloads.push(f.payload)
      conn.callIds.push(f.id)
      void Promise.resolve(opts.answer?.(conn, f.action, f.payload)).then((a) => {
        const answer = a ?? { result: defaultAnswer(f.action, opts.heartbeatInterval ?? 3600) }
        if (answer === 'none') return
        if (answer === 'close') return ws.terminate()
        if (ws.readyState !== ws.OPEN) return
        if ('result' in answer) {
          sent.results++
          ws.send(encodeFrame({ type: 3, id: f.id, payload: answer.result }))
        } else {
          sent.errors[answer.error] = (sent.errors[answer.error] ?? 0) + 1
          ws.send(encodeFrame({ type: 4, id: f.id, code: answer.error, description: 'test', details: {} }))
        }
      })
    })
  })

  return {
    url: `ws://127.0.0.1:${port}/ocpp`,
    port,
    conns,
    sent,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}

/**
 * What a user would build instead of the gateway (issue 17's baseline): an ocpp-rpc server and
 * one MQTT.js connection bridging it to a broker with the EMQX topics and envelopes, written as
 * a competent engineer would write it in an afternoon, no tuning:
 *
 * - a charge point's Call -> `{MessageTypeId:2,UniqueId,Action,Payload}` on `ocpp/cp/{cid}`
 *   (QoS 2, as the gateway's default), awaited until the backend's answer (type 3 or 4) with
 *   that UniqueId comes on `ocpp/cs/{cid}`, then returned to ocpp-rpc (a CallError thrown as
 *   an RPC error); no answer within 30 s -> ocpp-rpc's own timeout error;
 * - a backend's Call (type 2) on `ocpp/cs/{cid}` -> `client.call()`, its result or error
 *   published on `ocpp/cp/{cid}/Reply` with the backend's UniqueId;
 * - `connected` / `disconnected` events on `ocpp/events/{cid}` (QoS 1).
 *
 * No schema validation (the gateway's default, `message_format_checking: disable`), one
 * subscription `ocpp/cs/+`. Run alone:
 *   node dist/bench/hand-bridge.js --url mqtt://127.0.0.1:1883 [--port N]; prints {"port":N}.
 */
import { realpathSync } from 'node:fs'
import { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { createRPCError as makeRpcError, RPCServer } from 'ocpp-rpc'

/** ocpp-rpc's RPC errors are Errors; its typing says less. */
const createRPCError = (code: string, description: string, details: unknown = {}): Error => makeRpcError(code, description, details as Record<string, unknown>) as Error

interface RpcClient {
  identity: string
  protocol?: string
  handle: (fn: (c: { method: string, params: unknown, messageId: string }) => unknown) => void
  call: (method: string, params: unknown) => Promise<unknown>
  on: (event: 'close', fn: () => void) => void
}

interface Pending { resolve: (v: unknown) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }

export async function startHandBridge ({ url, host = '127.0.0.1', port = 0 }: { url: string, host?: string, port?: number }): Promise<{ port: number, close: () => Promise<void> }> {
  const mq = await mqtt.connectAsync(url, { clientId: `hand-bridge-${process.pid}`, clean: true, protocolVersion: 5, log: () => {} })
  const clients = new Map<string, RpcClient>()
  const pending = new Map<string, Pending>()

  mq.on('message', (topic, message) => {
    const cid = topic.slice('ocpp/cs/'.length)
    let env: { MessageTypeId?: number, UniqueId?: string, Action?: string, Payload?: unknown, ErrorCode?: string, ErrorDescription?: string, ErrorDetails?: unknown }
    try { env = JSON.parse(message.toString()) } catch { return }
    if (env.MessageTypeId === 3 || env.MessageTypeId === 4) {
      const p = pending.get(`${cid}\u0000${env.UniqueId ?? ''}`)
      if (p === undefined) return
      pending.delete(`${cid}\u0000${env.UniqueId ?? ''}`)
      clearTimeout(p.timer)
      if (env.MessageTypeId === 3) p.resolve(env.Payload)
      else p.reject(createRPCError(env.ErrorCode ?? 'InternalError', env.ErrorDescription ?? '', env.ErrorDetails ?? {}))
    } else if (env.MessageTypeId === 2 && typeof env.Action === 'string') {
      const client = clients.get(cid)
      const id = env.UniqueId
      if (client === undefined) return
      client.call(env.Action, env.Payload ?? {}).then(
        (payload) => { mq.publish(`ocpp/cp/${cid}/Reply`, JSON.stringify({ MessageTypeId: 3, UniqueId: id, Payload: payload }), { qos: 2 }) },
        (err: { rpcErrorCode?: string, message: string, details?: unknown }) => {
          mq.publish(`ocpp/cp/${cid}/Reply`, JSON.stringify({ MessageTypeId: 4, UniqueId: id, ErrorCode: err.rpcErrorCode ?? 'InternalError', ErrorDescription: err.message, ErrorDetails: err.details ?? {} }), { qos: 2 })
        }
      )
    }
  })
  await mq.subscribeAsync('ocpp/cs/+', { qos: 2 })

  const server = new RPCServer({ protocols: ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'], strictMode: false, pingIntervalMs: 0, wssOptions: { backlog: 4096, perMessageDeflate: false } })
  server.auth((accept: () => void) => accept())
  server.on('client', (client: RpcClient) => {
    const cid = client.identity
    clients.set(cid, client)
    mq.publish(`ocpp/events/${cid}`, JSON.stringify({ type: 'client.connected', clientid: cid, proto_ver: client.protocol }), { qos: 1 })
    client.on('close', () => {
      if (clients.get(cid) === client) clients.delete(cid)
      mq.publish(`ocpp/events/${cid}`, JSON.stringify({ type: 'client.disconnected', clientid: cid }), { qos: 1 })
    })
    client.handle(({ method, params, messageId }) => new Promise((resolve, reject) => {
      const key = `${cid}\u0000${messageId}`
      const timer = setTimeout(() => { pending.delete(key); reject(createRPCError('InternalError', 'no answer from the backend')) }, 30_000)
      pending.set(key, { resolve, reject, timer })
      mq.publish(`ocpp/cp/${cid}`, JSON.stringify({ MessageTypeId: 2, UniqueId: messageId, Action: method, Payload: params }), { qos: 2 })
    }))
  })
  const http = await server.listen(port, host, { backlog: 4096 })
  return {
    port: (http.address() as AddressInfo).port,
    close: async () => {
      await server.close({ force: true })
      await mq.endAsync()
    }
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values } = parseArgs({ options: { url: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } } })
  if (values.url === undefined) throw new Error('--url mqtt://HOST:PORT is required')
  const bridge = await startHandBridge({ url: values.url, host: values.host ?? '127.0.0.1', port: Number(values.port ?? 0) })
  process.stdout.write(JSON.stringify({ port: bridge.port }) + '\n')
  const shutdown = (): void => { void bridge.close().then(() => process.exit(0)) }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

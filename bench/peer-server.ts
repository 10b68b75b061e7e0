/**
 * The peer: a CSMS built on ocpp-rpc, answering every Call in process with the same answers
 * as the floor (bench/answers.ts). With `strict` (the default) it validates requests and
 * responses against the OCPP schemas, as the gateway does, so that the comparison is fair.
 *
 * Run alone: node dist/bench/peer-server.js [--port N] [--host H] [--no-strict]; prints {"port":N}.
 */
import { realpathSync } from 'node:fs'
import { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { RPCServer } from 'ocpp-rpc'
import { type OcppVersion } from '../src/ocpp/dialect.js'
import { answerFor } from './answers.js'

export interface PeerServer {
  port: number
  answered: () => number
  close: () => Promise<void>
}

const versions: Record<string, OcppVersion> = { 'ocpp1.6': '1.6', 'ocpp2.0.1': '2.0.1' }

export async function startPeerServer ({ host = '127.0.0.1', port = 0, strict = true } = {}): Promise<PeerServer> {
  let answered = 0
  const server = new RPCServer({
    protocols: Object.keys(versions),
    strictMode: strict,
    // Its keep-alive pings would add traffic the other systems do not send during a run.
    pingIntervalMs: 0,
    wssOptions: { backlog: 4096, perMessageDeflate: false }
  })
  server.auth((accept) => accept())
  server.on('client', (client: { protocol?: string, handle: (fn: (c: { method: string }) => unknown) => void }) => {
    const version = versions[client.protocol ?? ''] ?? '1.6'
    client.handle(({ method }) => {
      answered++
      return answerFor(version, method)
    })
  })
  const http = await server.listen(port, host, { backlog: 4096 })
  return {
    port: (http.address() as AddressInfo).port,
    answered: () => answered,
    close: async () => { await server.close({ force: true }) }
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' }, 'no-strict': { type: 'boolean' } } })
  const server = await startPeerServer({ host: values.host ?? '127.0.0.1', port: Number(values.port ?? 0), strict: values['no-strict'] !== true })
  process.stdout.write(JSON.stringify({ port: server.port }) + '\n')
  const shutdown = (): void => { void server.close().then(() => process.exit(0)) }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

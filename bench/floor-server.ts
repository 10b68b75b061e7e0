/**
 * The floor: a bare `ws` server that answers each Call directly, in process, with no
 * validation, no MQTT, no session bookkeeping. Whatever a real system adds shows up as
 * the difference to this.
 *
 * Run alone: node dist/bench/floor-server.js [--port N] [--host H]; prints {"port":N} when ready.
 */
import { realpathSync } from 'node:fs'
import { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { WebSocketServer } from 'ws'
import { allSubprotocols, dialectForSubprotocol } from '../src/ocpp/dialect.js'
import { decodeFrame, encodeFrame } from '../src/ocpp/frame.js'
import { answerFor } from './answers.js'

export interface FloorServer {
  port: number
  /** Calls answered so far. */
  answered: () => number
  close: () => Promise<void>
}

export async function startFloorServer ({ host = '127.0.0.1', port = 0 } = {}): Promise<FloorServer> {
  let answered = 0
  const wss = new WebSocketServer({
    host,
    port,
    backlog: 4096,
    perMessageDeflate: false,
    handleProtocols: (offered) => [...offered].find((p) => allSubprotocols.includes(p)) ?? false
  })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  wss.on('connection', (ws) => {
    const dialect = dialectForSubprotocol(ws.protocol)
    if (dialect === undefined) return ws.close(1002)
    ws.on('message', (data) => {
      const d = decodeFrame(String(data), dialect)
      if (!d.ok || d.frame.type !== 2) return
      answered++
      ws.send(encodeFrame({ type: 3, id: d.frame.id, payload: answerFor(dialect.version, d.frame.action) }))
    })
  })
  return {
    port: (wss.address() as AddressInfo).port,
    answered: () => answered,
    close: async () => {
      for (const c of wss.clients) c.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } })
  const server = await startFloorServer({ host: values.host ?? '127.0.0.1', port: Number(values.port ?? 0) })
  process.stdout.write(JSON.stringify({ port: server.port }) + '\n')
  const shutdown = (): void => { void server.close().then(() => process.exit(0)) }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

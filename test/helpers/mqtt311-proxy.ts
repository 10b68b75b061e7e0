/**
 * A broker that speaks MQTT 3.1.1 only, for the fallback test: a TCP proxy in front of a real
 * Mosquitto that answers a CONNECT of any other protocol level as a 3.1.1 broker must
 * (§3.1.2.2: CONNACK return code 0x01, unacceptable protocol level, then disconnect) and pipes
 * a 3.1.1 connection through unchanged.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface Mqtt311Proxy {
  url: string
  /** CONNECTs refused for their protocol level, and connections piped through. */
  refused: number
  piped: number
  close: () => Promise<void>
}

/** The CONNECT's protocol level, once enough of the packet is buffered; undefined before. */
function protocolLevel (buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined
  let i = 1
  while (i < buf.length && i < 5 && ((buf[i] as number) & 0x80) !== 0) i++
  const nameAt = i + 1
  if (buf.length < nameAt + 2) return undefined
  const nameLength = buf.readUInt16BE(nameAt)
  const levelAt = nameAt + 2 + nameLength
  return levelAt < buf.length ? buf[levelAt] : undefined
}

export async function startMqtt311Proxy (brokerPort: number): Promise<Mqtt311Proxy> {
  const sockets = new Set<Socket>()
  const state = { refused: 0, piped: 0 }
  const server: Server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    let buf = Buffer.alloc(0)
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d])
      const level = protocolLevel(buf)
      if (level === undefined) return
      client.off('data', onData)
      if (level !== 4 && level !== 3) {
        state.refused++
        client.end(Buffer.from([0x20, 0x02, 0x00, 0x01]))
        return
      }
      state.piped++
      const upstream = connect(brokerPort, '127.0.0.1')
      sockets.add(upstream)
      upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.write(buf)
      client.pipe(upstream)
      upstream.pipe(client)
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `mqtt://127.0.0.1:${port}`,
    get refused () { return state.refused },
    get piped () { return state.piped },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

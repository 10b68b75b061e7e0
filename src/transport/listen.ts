import type { Server } from 'node:net'

export class ListenError extends Error {
  readonly code: string
  constructor (message: string, code: string) {
    super(message)
    this.name = 'ListenError'
    this.code = code
  }
}

/**
 * listen() with a message a person can act on when the port is taken or not allowed,
 * e.g. 1883 held by another broker.
 */
export function listenOrExplain (server: Server, bind: { host: string, port: number }, what: string, hint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${bind.host}:${bind.port}`
      if (err.code === 'EADDRINUSE') {
        reject(new ListenError(`${what}: port ${where} is already in use (another process, e.g. another MQTT broker, holds it). Choose another port with ${hint}.`, 'OCPPGW_ERR_PORT_IN_USE'))
      } else if (err.code === 'EACCES') {
        reject(new ListenError(`${what}: not allowed to listen on ${where} (ports below 1024 need privileges). Choose another port with ${hint}.`, 'OCPPGW_ERR_PORT_DENIED'))
      } else {
        reject(new ListenError(`${what}: cannot listen on ${where}: ${err.message}`, 'OCPPGW_ERR_LISTEN'))
      }
    }
    server.once('error', onError)
    server.listen(bind.port, bind.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

import type { Server } from 'node:net'
import { GatewayError } from '../errors.js'

/**
 * listen() with a message a person can act on when the port is taken or not allowed,
 * e.g. 1883 held by another broker. `holder` names the likely holder in the message. Rejects with a GatewayError: OCPPGW_ERR_PORT_IN_USE,
 * OCPPGW_ERR_PORT_DENIED or OCPPGW_ERR_LISTEN (docs/errors.md), the system error as its cause.
 */
export function listenOrExplain (server: Server, bind: { host: string, port: number }, what: string, hint: string, holder = 'another process'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${bind.host}:${bind.port}`
      if (err.code === 'EADDRINUSE') {
        reject(new GatewayError('OCPPGW_ERR_PORT_IN_USE', `${what}: port ${where} is already in use (${holder} holds it). Choose another port with ${hint}.`, { cause: err }))
      } else if (err.code === 'EACCES') {
        reject(new GatewayError('OCPPGW_ERR_PORT_DENIED', `${what}: not allowed to listen on ${where} (ports below 1024 need privileges). Choose another port with ${hint}.`, { cause: err }))
      } else {
        reject(new GatewayError('OCPPGW_ERR_LISTEN', `${what}: cannot listen on ${where}: ${err.message}`, { cause: err }))
      }
    }
    server.once('error', onError)
    server.listen(bind.port, bind.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

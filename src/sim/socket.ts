/** How a simulated charger opens its WebSocket: options, Basic auth, the cheap mask. */
import WebSocket from 'ws'
import { type ResolvedSimOptions } from './options.js'

/**
 * Frames are masked with the key 0 (RFC 6455 §5.3 asks for an unpredictable key, to keep
 * browser scripts from poisoning proxy caches; a load generator on loopback has neither).
 * The server unmasks as usual, so its work is unchanged, while the simulator skips a copy
 * and an XOR pass over every frame it sends.
 */
function zeroMask (mask: Buffer): void {
  mask[0] = mask[1] = mask[2] = mask[3] = 0
}

/** The Authorization header of charger `id`, when a username or password is set (`${id}` replaced). */
export function basicAuthHeaders (o: ResolvedSimOptions, id: string): Record<string, string> | undefined {
  if (o.username === undefined && o.password === undefined) return undefined
  const user = (o.username ?? '${id}').replaceAll('${id}', id)
  const pass = (o.password ?? '').replaceAll('${id}', id)
  return { authorization: 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64') }
}

export function openSocket (url: string, subprotocol: string, o: ResolvedSimOptions, headers: Record<string, string> | undefined, localAddress: string | undefined): WebSocket {
  return new WebSocket(url, [subprotocol], {
    headers,
    localAddress,
    handshakeTimeout: Math.round(o.connectTimeout * 1000),
    perMessageDeflate: false,
    maxPayload: o.maxPayload,
    // The simulator reads JSON: a wrong byte shows up as a decode error, no need to pay twice.
    skipUTF8Validation: true,
    generateMask: zeroMask
  })
}

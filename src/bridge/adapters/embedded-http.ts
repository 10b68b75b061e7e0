/** Small pieces of the embedded broker's HTTP side (./embedded-broker.ts). */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpAuthenticatorConfig } from '../../config/security.js'
import type { EmbeddedAuthOptions } from './embedded-auth.js'

/** The HTTP authenticator's options, from its configuration. */
export function httpOptions (a: HttpAuthenticatorConfig): NonNullable<EmbeddedAuthOptions['http']> {
  return { url: a.url, headers: a.headers, requestTimeoutMs: a.requestTimeoutMs, cache: a.cache }
}

/** Plain-HTTP requests to a WebSocket port. */
export function upgradeOnly (_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426).end('MQTT over WebSocket only\n')
}

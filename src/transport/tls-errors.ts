/**
 * What a client's TLS handshake says about the peer, as a wss listener reads it: when it was
 * refused, the reason and code for the log line and the counter ({@link tlsRejection}); when
 * it succeeded with a verified client certificate (profile 3), its CN for binding to the
 * charge point id ({@link peerCertificateCN}, then `cnMatches` in src/auth/cert-cn.ts). Both
 * read the same thing: the verification result Node leaves on the TLS socket.
 */
import type { TLSSocket } from 'node:tls'

/**
 * The subject CN of a verified client certificate, or undefined when there is none, it was
 * not verified, or it is ambiguous (several CNs).
 */
export function peerCertificateCN (socket: TLSSocket): string | undefined {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined
  const cert = socket.getPeerCertificate()
  // Node gives a string, or an array when the subject has several CN attributes.
  const cn: unknown = cert?.subject?.CN
  return typeof cn === 'string' && cn !== '' ? cn : undefined
}

/**
 * The subject O (organisation) of a verified client certificate, or undefined when there is
 * none, it was not verified, or it is ambiguous (several O attributes).
 */
export function peerCertificateOrganization (socket: TLSSocket): string | undefined {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined
  const o: unknown = socket.getPeerCertificate()?.subject?.O
  return typeof o === 'string' && o !== '' ? o : undefined
}

export type TlsRejection =
  | 'no_client_certificate' // profile 3, the client sent none
  | 'untrusted_client_certificate' // not signed by the configured CA, self-signed, bad chain
  | 'expired_client_certificate' // outside its validity period
  | 'invalid_client_certificate' // revoked, wrong purpose, malformed, …
  | 'not_tls' // plain HTTP / ws to a wss port
  | 'tls_handshake_failed' // anything else (no shared cipher or version, client gave up)

/**
 * Why a TLS handshake was refused, from a server's `tlsClientError` (err, socket) event, for
 * the log line and counter (the client only sees a TLS alert or a closed socket). Node
 * destroys a socket whose client certificate fails verification without an error of its
 * own, so the verification result comes from `socket.authorizationError`. Capture the peer
 * address on 'connection': it is gone from a destroyed socket.
 *
 * @example
 *   server.on('tlsClientError', (err, sock) => { const { reason, code } = tlsRejection(err, sock); log.warn({ reason, code }, 'TLS handshake refused') })
 */
export function tlsRejection (err: Error & { code?: string }, socket?: { authorizationError?: Error | string | null }): { reason: TlsRejection, code: string } {
  const authz = socket?.authorizationError
  const verify = authz === undefined || authz === null ? undefined : typeof authz === 'string' ? authz : ((authz as { code?: string }).code ?? authz.message)
  if (verify !== undefined) {
    if (verify === 'CERT_HAS_EXPIRED' || verify === 'CERT_NOT_YET_VALID') return { reason: 'expired_client_certificate', code: verify }
    if (/UNABLE_TO_(VERIFY_LEAF_SIGNATURE|GET_ISSUER_CERT)|SELF_SIGNED|CERT_SIGNATURE_FAILURE|CHAIN/.test(verify)) return { reason: 'untrusted_client_certificate', code: verify }
    return { reason: 'invalid_client_certificate', code: verify }
  }
  const code = err.code ?? 'UNKNOWN'
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return { reason: 'no_client_certificate', code }
  if (code === 'ERR_SSL_HTTP_REQUEST' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return { reason: 'not_tls', code }
  return { reason: 'tls_handshake_failed', code }
}

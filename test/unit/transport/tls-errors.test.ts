/**
 * What a TLS socket says about its peer, pure: plain objects with the fields Node sets
 * (`authorized`, `authorizationError`, `getPeerCertificate()`) stand in for the socket.
 * test/integration/auth-tls.test.ts sees the common reasons over real TLS; these see each one.
 */
import assert from 'node:assert/strict'
import type { TLSSocket } from 'node:tls'
import { describe, test } from 'node:test'
import { peerCertificateCN, tlsRejection } from '../../../src/transport/tls-errors.js'

const tlsError = (code?: string, message = 'handshake failed'): Error & { code?: string } => {
  const e: Error & { code?: string } = new Error(message)
  if (code !== undefined) e.code = code
  return e
}

describe('tlsRejection: the client certificate failed verification (socket.authorizationError)', () => {
  const cases: Array<[string, string]> = [
    ['CERT_HAS_EXPIRED', 'expired_client_certificate'],
    ['CERT_NOT_YET_VALID', 'expired_client_certificate'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted_client_certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT', 'untrusted_client_certificate'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'untrusted_client_certificate'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'untrusted_client_certificate'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'untrusted_client_certificate'],
    ['CERT_SIGNATURE_FAILURE', 'untrusted_client_certificate'],
    ['CERT_CHAIN_TOO_LONG', 'untrusted_client_certificate'],
    ['CERT_REVOKED', 'invalid_client_certificate'],
    ['INVALID_PURPOSE', 'invalid_client_certificate'],
    ['CERT_REJECTED', 'invalid_client_certificate'],
    ['INVALID_CA', 'invalid_client_certificate'],
    ['ERROR_IN_CERT_NOT_BEFORE_FIELD', 'invalid_client_certificate'],
    ['UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'invalid_client_certificate'],
    ['SOMETHING_NEW', 'invalid_client_certificate']
  ]
  for (const [code, reason] of cases) {
    test(`${code} -> ${reason}`, () => {
      // Node sets authorizationError to the verify code as a string.
      assert.deepEqual(tlsRejection(tlsError('ECONNRESET'), { authorizationError: code }), { reason, code })
    })
  }

  test('an Error as authorizationError: its code, else its message', () => {
    const withCode = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' })
    assert.deepEqual(tlsRejection(tlsError(), { authorizationError: withCode }), { reason: 'expired_client_certificate', code: 'CERT_HAS_EXPIRED' })
    const untrusted = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    assert.deepEqual(tlsRejection(tlsError(), { authorizationError: untrusted }), { reason: 'untrusted_client_certificate', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    assert.deepEqual(tlsRejection(tlsError(), { authorizationError: new Error('certificate revoked') }), { reason: 'invalid_client_certificate', code: 'certificate revoked' })
  })

  test('the verification result wins over the handshake error\'s code', () => {
    assert.deepEqual(tlsRejection(tlsError('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), { authorizationError: 'CERT_HAS_EXPIRED' }), { reason: 'expired_client_certificate', code: 'CERT_HAS_EXPIRED' })
    assert.deepEqual(tlsRejection(tlsError('ERR_SSL_HTTP_REQUEST'), { authorizationError: 'CERT_REVOKED' }), { reason: 'invalid_client_certificate', code: 'CERT_REVOKED' })
  })
})

describe('tlsRejection: no verification result, from the handshake error', () => {
  const cases: Array<[string, string]> = [
    ['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'no_client_certificate'],
    ['ERR_SSL_HTTP_REQUEST', 'not_tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'not_tls'],
    ['ERR_SSL_NO_SHARED_CIPHER', 'tls_handshake_failed'],
    ['ERR_SSL_UNSUPPORTED_PROTOCOL', 'tls_handshake_failed'],
    ['ECONNRESET', 'tls_handshake_failed']
  ]
  for (const [code, reason] of cases) {
    test(`${code} -> ${reason}`, () => {
      assert.deepEqual(tlsRejection(tlsError(code), { authorizationError: null }), { reason, code })
    })
  }

  test('no socket, a socket without authorizationError, or undefined: the same', () => {
    const want = { reason: 'no_client_certificate', code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' }
    assert.deepEqual(tlsRejection(tlsError('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE')), want)
    assert.deepEqual(tlsRejection(tlsError('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), {}), want)
    assert.deepEqual(tlsRejection(tlsError('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), { authorizationError: undefined }), want)
  })

  test('an error without a code: tls_handshake_failed, code UNKNOWN', () => {
    assert.deepEqual(tlsRejection(tlsError(undefined, 'socket hang up')), { reason: 'tls_handshake_failed', code: 'UNKNOWN' })
  })
})

describe('peerCertificateCN', () => {
  /** A socket as Node leaves it after the handshake, counting getPeerCertificate() calls. */
  const socket = (authorized: boolean, cert: unknown): { sock: TLSSocket, calls: () => number } => {
    let n = 0
    const sock = { authorized, authorizationError: authorized ? null : 'CERT_HAS_EXPIRED', getPeerCertificate: () => { n++; return cert } }
    return { sock: sock as unknown as TLSSocket, calls: () => n }
  }

  test('a verified certificate: its CN, case kept', () => {
    const { sock, calls } = socket(true, { subject: { CN: 'cP-001', O: 'Operator' }, issuer: { CN: 'CA' } })
    assert.equal(peerCertificateCN(sock), 'cP-001')
    assert.equal(calls(), 1)
  })

  test('not authorized: undefined, without reading the certificate', () => {
    const { sock, calls } = socket(false, { subject: { CN: 'CP1' } })
    assert.equal(peerCertificateCN(sock), undefined)
    assert.equal(calls(), 0)
  })

  test('several CN attributes (Node gives an array): undefined', () => {
    assert.equal(peerCertificateCN(socket(true, { subject: { CN: ['CP1', 'CP2'] } }).sock), undefined)
    assert.equal(peerCertificateCN(socket(true, { subject: { CN: ['CP1'] } }).sock), undefined)
  })

  test('an empty CN: undefined', () => {
    assert.equal(peerCertificateCN(socket(true, { subject: { CN: '' } }).sock), undefined)
  })

  test('no certificate (Node gives {}), no subject, a subject without CN, null: undefined', () => {
    for (const cert of [{}, { subject: {} }, { subject: { O: 'Operator' } }, { subject: null }, null, undefined]) {
      assert.equal(peerCertificateCN(socket(true, cert).sock), undefined, JSON.stringify(cert))
    }
  })

  test('a plain socket (no getPeerCertificate): undefined', () => {
    assert.equal(peerCertificateCN({ authorized: true } as unknown as TLSSocket), undefined)
    assert.equal(peerCertificateCN({} as unknown as TLSSocket), undefined)
  })
})

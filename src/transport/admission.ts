/**
 * Admission: what happens to an upgrade request between the listener's handshake checks and
 * the session. In order:
 *
 * 1. the handshake guard (limits, then authentication), BEFORE anything that touches an
 *    existing session for the id: a second connection replaces the first only once it has
 *    authenticated. A refusal is answered as an HTTP status; nothing else is done.
 * 2. the downstream subscription for the id (`acquire`), so that nothing the backend sends
 *    while the upgrade completes is lost. When it fails, the guard's connection slot is given
 *    back and the error goes to the listener (503, "gateway not ready").
 * 3. then exactly one of: the upgrade is aborted (client gone, listener closing, ws refused
 *    it): slot and subscription are given back; or it is done: `onConnect` gets the socket,
 *    and the slot is given back when that socket reports its close.
 *
 * @example
 *   const listener = new WsListener(l, log, metrics, createAdmission({
 *     guard: auth.guard,
 *     listener: l,
 *     acquire: (cid, version) => registry.acquire(cid, version),
 *     release: (cid, version) => registry.release(cid, version),
 *     onConnect: (socket, info, { unknown }) => { … new Session(socket, …) … }
 *   }))
 */
import type { GuardRequest, GuardResult } from '../auth/guard.js'
import type { SecurityProfile } from '../config/security.js'
import type { OcppVersion } from '../ocpp/dialect.js'
import type { ChargePointSocket, SocketEvents } from './socket.js'
import type { ConnectionHandler, Refusal, UpgradeInfo } from './ws-listener.js'

/** What admission needs of the auth guard (src/auth/guard.ts HandshakeGuard). */
export interface AdmissionGuard {
  check: (req: GuardRequest) => Promise<GuardResult>
}

export interface AdmissionOptions {
  guard: AdmissionGuard
  /** The listener admitted to: its name in auth decisions is `type:name`. */
  listener: { type: string, name: string, security: { profile: SecurityProfile, organizations?: readonly string[] } }
  /** Take the downstream subscription of a charge point (Registry.acquire). */
  acquire: (cid: string, version: OcppVersion) => Promise<void>
  /** Give it back when the upgrade is aborted (Registry.release). */
  release: (cid: string, version: OcppVersion) => void
  /**
   * The upgrade is done. `unknown`: no authenticator knows the id and the unknown-charger
   * policy let it in. The owner must call `socket.listen()` (a session does, to get its
   * messages): the connection slot is given back on the close reported there.
   */
  onConnect: (socket: ChargePointSocket, info: UpgradeInfo, admitted: { unknown: boolean }) => void
}

interface Admitted { release: () => void, unknown: boolean }

/** A listener's {@link ConnectionHandler} doing the admission described above. */
export function createAdmission (opts: AdmissionOptions): ConnectionHandler {
  const { guard, acquire, release, onConnect } = opts
  const listener = `${opts.listener.type}:${opts.listener.name}`
  const profile = opts.listener.security.profile
  // Per upgrade between prepare and connect/abort; weak, so an upgrade that vanishes holds nothing.
  const admitted = new WeakMap<UpgradeInfo, Admitted>()

  return {
    prepare: async (info): Promise<Refusal | undefined> => {
      const r = await guard.check({
        cid: info.cid,
        ...(info.username !== undefined ? { username: info.username } : {}),
        ...(info.password !== undefined ? { password: info.password } : {}),
        ...(info.passwordBytes !== undefined ? { passwordBytes: info.passwordBytes } : {}),
        ...(info.certCN !== undefined ? { certCN: info.certCN } : {}),
        ...(opts.listener.security.organizations !== undefined ? { requireOrganization: opts.listener.security.organizations } : {}),
        ...(info.certOrganization !== undefined ? { certOrganization: info.certOrganization } : {}),
        address: info.address,
        peer: info.peer,
        listener,
        profile
      })
      if (!r.ok) return { status: r.status, reason: r.body, code: r.code, headers: r.headers }
      try {
        await acquire(info.cid, info.choice.dialect.version)
      } catch (err) {
        r.release()
        throw err
      }
      admitted.set(info, { release: r.release, unknown: r.reason === 'unknown_accepted' })
      return undefined
    },
    abort: (info) => {
      const a = admitted.get(info)
      admitted.delete(info)
      a?.release()
      release(info.cid, info.choice.dialect.version)
    },
    connect: (socket, info) => {
      const a = admitted.get(info)
      admitted.delete(info)
      onConnect(a === undefined ? socket : new SlotSocket(socket, a.release), info, { unknown: a?.unknown ?? false })
    }
  }
}

/**
 * The socket as its owner sees it, with the connection slot given back on close. Made per
 * connection outside createAdmission's scope, so it holds the socket and the release, never
 * an upgrade's info or request.
 */
class SlotSocket implements ChargePointSocket {
  constructor (private readonly inner: ChargePointSocket, private release: (() => void) | undefined) {}

  get bufferedAmount (): number { return this.inner.bufferedAmount }

  listen (events: SocketEvents): void {
    const onClose = events.close
    this.inner.listen({
      message: events.message,
      pong: events.pong,
      error: events.error,
      close: (code, reason) => {
        this.freeSlot()
        onClose(code, reason)
      }
    })
  }

  send (text: string): void { this.inner.send(text) }

  ping (): void { this.inner.ping() }

  close (code: number, reason: string): void { this.inner.close(code, reason) }

  terminate (): void { this.inner.terminate() }

  private freeSlot (): void {
    const r = this.release
    this.release = undefined
    r?.()
  }
}

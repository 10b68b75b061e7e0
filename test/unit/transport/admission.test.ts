import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { describe, test } from 'node:test'
import type { GuardRequest, GuardResult } from '../../../src/auth/guard.js'
import { buildConfig, type ListenerConfig } from '../../../src/config/load.js'
import { dialects, type OcppVersion } from '../../../src/ocpp/dialect.js'
import { createAdmission, type AdmissionGuard } from '../../../src/transport/admission.js'
import type { ChargePointSocket, SocketEvents } from '../../../src/transport/socket.js'
import type { UpgradeInfo } from '../../../src/transport/ws-listener.js'

/** A guard that answers what it is told and counts the slots it handed out and got back. */
class FakeGuard implements AdmissionGuard {
  readonly requests: GuardRequest[] = []
  held = 0
  released = 0
  constructor (private readonly answer: 'ok' | 'unknown' | GuardResult) {}

  async check (req: GuardRequest): Promise<GuardResult> {
    this.requests.push(req)
    if (typeof this.answer !== 'string') return this.answer
    this.held++
    let done = false
    return {
      ok: true,
      reason: this.answer === 'unknown' ? 'unknown_accepted' : 'authenticated',
      release: () => { if (!done) { done = true; this.held--; this.released++ } }
    }
  }
}

/** A socket that records what is done to it and lets the test report its close. */
class FakeSocket implements ChargePointSocket {
  bufferedAmount = 7
  events: SocketEvents | undefined
  readonly did: string[] = []
  listen (events: SocketEvents): void { this.events = events }
  send (text: string): void { this.did.push(`send ${text}`) }
  ping (): void { this.did.push('ping') }
  close (code: number, reason: string): void { this.did.push(`close ${code} ${reason}`) }
  terminate (): void { this.did.push('terminate') }
}

const listenerConfig = (): ListenerConfig => {
  const l = buildConfig([{}]).listeners[0]
  assert.ok(l !== undefined)
  return l
}

function upgrade (over: Partial<UpgradeInfo> = {}): UpgradeInfo {
  return {
    cid: 'CP1',
    choice: { subprotocol: 'ocpp2.0.1', dialect: dialects['2.0.1'] },
    username: 'CP1',
    password: 'secret',
    peer: '192.0.2.1:40000',
    listener: listenerConfig(),
    request: {} as IncomingMessage,
    address: '192.0.2.1',
    certCN: undefined,
    ...over
  }
}

function setup (guard: FakeGuard, acquireFails?: Error) {
  const acquired: Array<[string, OcppVersion]> = []
  const releasedSubs: Array<[string, OcppVersion]> = []
  const connected: Array<{ socket: ChargePointSocket, info: UpgradeInfo, unknown: boolean }> = []
  const handler = createAdmission({
    guard,
    listener: { type: 'wss', name: 'edge', security: { profile: 2 } },
    acquire: async (cid, version) => {
      if (acquireFails !== undefined) throw acquireFails
      acquired.push([cid, version])
    },
    release: (cid, version) => { releasedSubs.push([cid, version]) },
    onConnect: (socket, info, { unknown }) => { connected.push({ socket, info, unknown }) }
  })
  return { handler, acquired, releasedSubs, connected }
}

const noop = (): void => {}

describe('createAdmission', () => {
  test('the guard is asked with the upgrade\'s credentials and the listener\'s name and profile', async () => {
    const guard = new FakeGuard('ok')
    const { handler } = setup(guard)
    await handler.prepare(upgrade({ certCN: 'CP1' }))
    await handler.prepare(upgrade({ username: undefined, password: undefined }))
    assert.deepEqual(guard.requests, [
      { cid: 'CP1', username: 'CP1', password: 'secret', certCN: 'CP1', address: '192.0.2.1', peer: '192.0.2.1:40000', listener: 'wss:edge', profile: 2 },
      // Absent, not undefined: the chain tells "no credentials" by the missing key.
      { cid: 'CP1', address: '192.0.2.1', peer: '192.0.2.1:40000', listener: 'wss:edge', profile: 2 }
    ])
  })

  test('refused by the guard: the refusal with its status, code and headers; no subscription taken', async () => {
    const guard = new FakeGuard({ ok: false, status: 401, code: 'bad_password', body: 'Unauthorized', headers: { 'WWW-Authenticate': 'Basic realm="x"' } })
    const { handler, acquired, connected } = setup(guard)
    assert.deepEqual(await handler.prepare(upgrade()), { status: 401, reason: 'Unauthorized', code: 'bad_password', headers: { 'WWW-Authenticate': 'Basic realm="x"' } })
    assert.deepEqual(acquired, [])
    assert.deepEqual(connected, [])
  })

  test('the subscription cannot be taken: the slot is given back and the error goes to the listener', async () => {
    const guard = new FakeGuard('ok')
    const boom = new Error('broker down')
    const { handler } = setup(guard, boom)
    await assert.rejects(handler.prepare(upgrade()), (e) => e === boom)
    assert.equal(guard.held, 0)
    assert.equal(guard.released, 1)
  })

  test('abort after a successful prepare gives back the slot and the subscription', async () => {
    const guard = new FakeGuard('ok')
    const { handler, acquired, releasedSubs, connected } = setup(guard)
    const info = upgrade()
    assert.equal(await handler.prepare(info), undefined)
    assert.deepEqual(acquired, [['CP1', '2.0.1']])
    assert.equal(guard.held, 1)
    handler.abort(info)
    assert.equal(guard.held, 0)
    assert.deepEqual(releasedSubs, [['CP1', '2.0.1']])
    assert.deepEqual(connected, [])
  })

  test('connect: the owner gets the socket; the slot is given back exactly once, when the socket closes', async () => {
    const guard = new FakeGuard('ok')
    const { handler, releasedSubs, connected } = setup(guard)
    const info = upgrade()
    await handler.prepare(info)
    const raw = new FakeSocket()
    handler.connect(raw, info)
    assert.equal(connected.length, 1)
    const c = connected[0]
    assert.ok(c !== undefined)
    assert.equal(c.info, info)
    assert.equal(c.unknown, false)

    // The owner (a session) listens; events pass through, the socket's methods reach the real one.
    const seen: string[] = []
    c.socket.listen({
      message: (data, isBinary) => seen.push(`message ${data.toString()} ${isBinary}`),
      pong: () => seen.push('pong'),
      error: (err) => seen.push(`error ${err.code ?? ''}`),
      close: (code, reason) => seen.push(`close ${code} ${reason} held=${guard.held}`)
    })
    assert.equal(c.socket.bufferedAmount, 7)
    c.socket.send('[2,"1","Reset",{}]')
    c.socket.ping()
    c.socket.close(1000, 'bye')
    c.socket.terminate()
    assert.deepEqual(raw.did, ['send [2,"1","Reset",{}]', 'ping', 'close 1000 bye', 'terminate'])
    const events = raw.events
    assert.ok(events !== undefined)
    events.message(Buffer.from('[]'), false)
    events.pong()
    events.error(Object.assign(new Error('too big'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' }))
    assert.equal(guard.held, 1, 'the slot is held while the socket is open')

    events.close(1009, '')
    assert.equal(guard.held, 0)
    events.close(1009, '') // a second report must not free a slot twice
    assert.equal(guard.released, 1)
    assert.deepEqual(seen, ['message [] false', 'pong', 'error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'close 1009  held=0', 'close 1009  held=0'])
    // The subscription is the session's to give back from now on, not admission's.
    assert.deepEqual(releasedSubs, [])
  })

  test('an id let in by the unknown-charger policy is flagged to the owner', async () => {
    const guard = new FakeGuard('unknown')
    const { handler, connected } = setup(guard)
    const info = upgrade({ cid: 'NEW1' })
    await handler.prepare(info)
    handler.connect(new FakeSocket(), info)
    assert.equal(connected[0]?.unknown, true)
    connected[0]?.socket.listen({ message: noop, pong: noop, error: noop, close: noop })
  })
})

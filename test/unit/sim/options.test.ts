import { test } from 'node:test'
import assert from 'node:assert/strict'
import { failureKind } from '../../../src/sim/failure-kind.js'
import { parseSimArgs } from '../../../src/sim/cli-options.js'
import { SimOptionError, chargerId, chargerUrl, messageIds, resolveSimOptions } from '../../../src/sim/options.js'
import { slice } from '../../../src/sim/workers.js'

test('defaults are filled in and frozen', () => {
  const o = resolveSimOptions({ url: 'ws://127.0.0.1:1/ocpp' })
  assert.equal(o.protocol, 'ocpp1.6')
  assert.equal(o.count, 1)
  assert.equal(o.scenario, 'session')
  assert.equal(o.rate, 0)
  assert.equal(o.callTimeout, 30)
  assert.equal(o.heartbeat, undefined)
  assert.ok(Object.isFrozen(o))
  assert.equal(chargerId(o, 0), 'cp1')
})

test('invalid options are rejected with a code and the option name', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ url: 'http://x/' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'ws://x/', count: 0 }, 'count'],
    [{ url: 'ws://x/', count: 1.5 }, 'count'],
    [{ url: 'ws://x/', rate: -1 }, 'rate'],
    [{ url: 'ws://x/', protocol: 'ocpp1.5' }, 'protocol'],
    [{ url: 'ws://x/', scenario: 'nope' }, 'scenario'],
    [{ url: 'ws://x/', callTimeout: 0 }, 'callTimeout'],
    [{ url: 'ws://x/', sources: [''] }, 'sources']
  ]
  for (const [o, name] of bad) {
    assert.throws(() => resolveSimOptions(o as never), (err: SimOptionError) => {
      assert.equal(err.code, 'OCPPGW_ERR_SIM_OPTION')
      assert.equal(err.option, name)
      return true
    }, JSON.stringify(o))
  }
})

test('the id is appended as the last path segment, percent-encoded', () => {
  assert.equal(chargerUrl('ws://h:1/ocpp', 'cp1'), 'ws://h:1/ocpp/cp1')
  assert.equal(chargerUrl('ws://h:1/ocpp/', 'cp1'), 'ws://h:1/ocpp/cp1')
  assert.equal(chargerUrl('ws://h:1', 'cp1'), 'ws://h:1/cp1')
  assert.equal(chargerUrl('ws://h:1/a?x=1', 'a b/c#1%'), 'ws://h:1/a/a%20b%2Fc%231%25?x=1')
})

test('command-line flags map onto options', () => {
  const cli = parseSimArgs([
    '--url', 'ws://127.0.0.1:9/ocpp', '-p', '2.0.1', '-n', '10', '--id-prefix', 'x-', '--id-start', '5',
    '--ramp', '100', '--max-pending', '50', '-d', '3', '--rate', '0.5', '-s', 'metervalues', '--meter-size', '20000', '--heartbeat', '60',
    '--calls', '7', '--username', 'u', '--password', 'p-${id}', '--sources', '127.0.0.1, 127.0.0.2',
    '--call-timeout', '5', '--connect-timeout', '3', '--reconnect', '1', '-w', '2', '--json', '-', '-q',
    '--boot-after-connect'
  ])
  assert.deepEqual(cli.sim, {
    url: 'ws://127.0.0.1:9/ocpp',
    protocol: 'ocpp2.0.1',
    count: 10,
    idPrefix: 'x-',
    idStart: 5,
    ramp: 100,
    maxPending: 50,
    bootAfterConnect: true,
    duration: 3,
    rate: 0.5,
    scenario: 'metervalues',
    meterSize: 20000,
    heartbeat: 60,
    calls: 7,
    username: 'u',
    password: 'p-${id}',
    sources: ['127.0.0.1', '127.0.0.2'],
    callTimeout: 5,
    connectTimeout: 3,
    reconnect: 1
  })
  assert.equal(cli.workers, 2)
  assert.equal(cli.json, '-')
  assert.equal(cli.quiet, true)
  assert.doesNotThrow(() => resolveSimOptions(cli.sim))
})

test('bad flags are errors', () => {
  assert.throws(() => parseSimArgs([]), /--url: is required/)
  assert.throws(() => parseSimArgs(['--url', 'ws://x/', '--count', 'many']), /--count: not a number/)
  assert.throws(() => parseSimArgs(['--url', 'ws://x/', '--workers', '0']), /--workers/)
  assert.throws(() => parseSimArgs(['--url', 'ws://x/', '--bogus']))
  assert.throws(() => parseSimArgs(['--url', 'ws://x/', 'extra']), /unexpected/)
  assert.equal(parseSimArgs(['--help']).help, true)
})

test('connection failures get short stable names', () => {
  const e = (message: string, code?: string): Error & { code?: string } => Object.assign(new Error(message), { code })
  assert.equal(failureKind(e('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')), 'refused')
  assert.equal(failureKind(e('x', 'EADDRNOTAVAIL')), 'addrNotAvail')
  assert.equal(failureKind(e('x', 'EMFILE')), 'tooManyFiles')
  assert.equal(failureKind(e('Unexpected server response: 401')), 'http401')
  assert.equal(failureKind(e('Opening handshake has timed out')), 'timeout')
  assert.equal(failureKind(e('Server sent no subprotocol')), 'subprotocol')
  assert.equal(failureKind(e('socket hang up', 'ECONNRESET')), 'reset')
  assert.equal(failureKind(e('something else')), 'other')
})

test('workers get contiguous slices that cover every charger once', () => {
  for (const [count, k] of [[10, 3], [3, 3], [1000, 7], [5, 1]] as const) {
    let next = 0
    for (let j = 0; j < k; j++) {
      const s = slice(count, k, j)
      assert.equal(s.offset, next)
      next += s.count
    }
    assert.equal(next, count)
  }
})

test('--ids gives explicit charger ids; count follows them', () => {
  const cli = parseSimArgs(['--url', 'ws://127.0.0.1:9/ocpp', '--ids', 'chargePointSim, CP-2,x'])
  assert.deepEqual(cli.sim.ids, ['chargePointSim', 'CP-2', 'x'])
  const o = resolveSimOptions(cli.sim)
  assert.equal(o.count, 3)
  assert.deepEqual([0, 1, 2].map((i) => chargerId(o, i)), ['chargePointSim', 'CP-2', 'x'])
  assert.ok(Object.isFrozen(o.ids))
  assert.equal(resolveSimOptions({ url: 'ws://x/', ids: ['a'], count: 1 }).count, 1)
  // Without --ids nothing changes.
  assert.equal(parseSimArgs(['--url', 'ws://x/']).sim.ids, undefined)
  assert.deepEqual(resolveSimOptions({ url: 'ws://x/', count: 2 }).ids, [])
})

test('--warmup is seconds before the measurement window; not negative', () => {
  assert.equal(parseSimArgs(['--url', 'ws://x/', '--warmup', '1.5']).sim.warmup, 1.5)
  assert.equal(resolveSimOptions({ url: 'ws://x/' }).warmup, 0)
  assert.throws(() => resolveSimOptions({ url: 'ws://x/', warmup: -1 }), /warmup/)
})

test('--ids: empty, repeated or miscounted ids are rejected', () => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ url: 'ws://x/', ids: ['a', ''] }, 'ids'],
    [{ url: 'ws://x/', ids: ['a', 'b', 'a'] }, 'ids'],
    [{ url: 'ws://x/', ids: 'a' }, 'ids'],
    [{ url: 'ws://x/', ids: ['a', 'b'], count: 3 }, 'count']
  ]
  for (const [o, name] of bad) {
    assert.throws(() => resolveSimOptions(o as never), (err: SimOptionError) => err.code === 'OCPPGW_ERR_SIM_OPTION' && err.option === name, JSON.stringify(o))
  }
  assert.throws(() => resolveSimOptions(parseSimArgs(['--url', 'ws://x/', '--ids', 'a,,b']).sim), /ids/)
})

test('message ids: 1, 2, ... by default; from --first-id, its number counted on', () => {
  const take = (first: string | undefined, n: number): string[] => { const next = messageIds(first); return Array.from({ length: n }, next) }
  assert.deepEqual(take(undefined, 3), ['1', '2', '3'])
  assert.deepEqual(take('19223201', 3), ['19223201', '19223202', '19223203'])
  assert.deepEqual(take('boot-0099', 3), ['boot-0099', 'boot-0100', 'boot-0101'])
  assert.deepEqual(take('abc', 3), ['abc', 'abc-2', 'abc-3'])
  // Past OCPP-J's 36 characters: the plain count instead.
  assert.deepEqual(take('9'.repeat(36), 2), ['9'.repeat(36), '2'])
})

test('--first-id and --boot-payload: parsed, validated, frozen', () => {
  const cli = parseSimArgs(['--url', 'ws://h:1/ocpp', '-p', '2.1', '--first-id', '19223201', '--boot-payload', '{"chargePointVendor":"VendorX","chargePointModel":"SingleSocketCharger"}'])
  assert.equal(cli.sim.protocol, 'ocpp2.1')
  assert.equal(cli.sim.firstId, '19223201')
  assert.deepEqual(cli.sim.bootPayload, { chargePointVendor: 'VendorX', chargePointModel: 'SingleSocketCharger' })
  const o = resolveSimOptions(cli.sim)
  assert.equal(o.protocol, 'ocpp2.1')
  assert.ok(Object.isFrozen(o.bootPayload))
  assert.equal(resolveSimOptions({ url: 'ws://h:1/' }).firstId, undefined)
  assert.throws(() => parseSimArgs(['--url', 'ws://h:1/', '--boot-payload', '{nope']), /--boot-payload: not JSON/)
  assert.throws(() => parseSimArgs(['--url', 'ws://h:1/', '--boot-payload', '[1]']), /--boot-payload: expected a JSON object/)
  for (const [o, name] of [[{ firstId: '' }, 'firstId'], [{ firstId: 'x'.repeat(37) }, 'firstId'], [{ bootPayload: [] }, 'bootPayload']] as const) {
    assert.throws(() => resolveSimOptions({ url: 'ws://h:1/', ...o } as never), (err: SimOptionError) => err.option === name)
  }
})

/** The handshake: charge point id from the URL, sub-protocol choice, HTTP errors before the upgrade. */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { chargePointIdFromUrl, chooseSubprotocol, parseBasicAuth } from '../../src/transport/handshake.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, expectRejected } from '../helpers/clients.js'

describe('chargePointIdFromUrl (pure)', () => {
  const cases: Array<[string, string | number]> = [
    ['/ocpp/CP1', 'CP1'],
    ['/ocpp/CP1?token=x&y=1', 'CP1'],
    ['/ocpp/chargePointSim', 'chargePointSim'],
    ['/ocpp/My%20Charger', 'My Charger'],
    ['/ocpp/%C3%A9t%C3%A9', 'été'],
    ['/ocpp/', 400],
    ['/ocpp', 400],
    ['/ocpp/a/b', 400],
    ['/ocpp/a%2Fb', 400],
    ['/ocpp/a%2Bb', 400],
    ['/ocpp/a%23b', 400],
    ['/ocpp/a+b', 400],
    ['/ocpp/%E0%A4%A', 400],
    ['/ocpp/a%00b', 400],
    ['/other/CP1', 404],
    ['/ocppx/CP1', 404],
    ['/', 404]
  ]
  for (const [url, want] of cases) {
    test(`${url} -> ${want}`, () => {
      const r = chargePointIdFromUrl(url, '/ocpp')
      if (typeof want === 'string') {
        assert.deepEqual(r, { ok: true, value: want })
      } else {
        assert.equal(r.ok, false)
        if (!r.ok) {
          assert.equal(r.error.status, want)
          assert.ok(r.error.reason.length > 10, 'a readable reason')
        }
      }
    })
  }
  test('an id longer than 255 characters is refused', () => {
    assert.equal(chargePointIdFromUrl('/ocpp/' + 'x'.repeat(256), '/ocpp').ok, false)
    assert.equal(chargePointIdFromUrl('/ocpp/' + 'x'.repeat(255), '/ocpp').ok, true)
  })
})

describe('chooseSubprotocol (pure)', () => {
  const all = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']
  test('server preference among offered', () => {
    const r = chooseSubprotocol('ocpp2.1, ocpp1.6', all, false)
    assert.ok(r.ok && r.value.subprotocol === 'ocpp1.6')
    const r2 = chooseSubprotocol('ocpp2.1, ocpp1.6', ['ocpp2.1', 'ocpp1.6'], false)
    assert.ok(r2.ok && r2.value.subprotocol === 'ocpp2.1' && r2.value.dialect.version === '2.1')
  })
  test('none offered: 1.6 without a header, or 400 when required', () => {
    const r = chooseSubprotocol(undefined, all, false)
    assert.ok(r.ok && r.value.subprotocol === undefined && r.value.dialect.version === '1.6')
    assert.equal(chooseSubprotocol(undefined, all, true).ok, false)
    assert.equal(chooseSubprotocol('', ['ocpp2.0.1'], false).ok, false)
  })
  test('unsupported only: 400', () => {
    const r = chooseSubprotocol('ocpp1.5, ocpp2.0', all, false)
    assert.ok(!r.ok && r.error.status === 400 && r.error.reason.includes('ocpp1.5'))
  })
})

describe('parseBasicAuth (pure)', () => {
  test('reads user and password, password may contain ":"', () => {
    const h = 'Basic ' + Buffer.from('CP1:pa:ss').toString('base64')
    assert.deepEqual(parseBasicAuth(h), { username: 'CP1', password: 'pa:ss', passwordBytes: Buffer.from('pa:ss') })
    assert.equal(parseBasicAuth('Bearer x'), undefined)
    assert.equal(parseBasicAuth(undefined), undefined)
    assert.equal(parseBasicAuth('Basic ' + Buffer.from('nocolon').toString('base64')), undefined)
  })
})

describe('handshake over real sockets', () => {
  let t: TestGateway
  before(async () => { t = await startTestGateway() })
  after(async () => { await t.stop() })

  for (const [offered, want] of [
    [['ocpp1.6'], 'ocpp1.6'],
    [['ocpp2.0.1'], 'ocpp2.0.1'],
    [['ocpp2.1'], 'ocpp2.1'],
    [['ocpp2.1', 'ocpp2.0.1'], 'ocpp2.0.1'],
    [['ocpp2.0.1', 'ocpp1.6'], 'ocpp1.6'],
    [['foo', 'ocpp2.1'], 'ocpp2.1']
  ] as Array<[string[], string]>) {
    test(`offered ${offered.join(',')} -> ${want}`, async () => {
      const cp = await connectChargePoint(`${t.url}/hs-${want}`, offered)
      assert.equal(cp.protocol, want)
      assert.equal(t.gw.sessions.get(`hs-${want}`)?.info.subprotocol, want)
      await cp.close()
    })
  }

  test('no sub-protocol offered: accepted as 1.6 with no protocol header', async () => {
    const cp = await connectChargePoint(`${t.url}/hs-none`, [])
    assert.equal(cp.protocol, '')
    assert.equal(t.gw.sessions.get('hs-none')?.dialect.version, '1.6')
    await cp.close()
  })

  test('only unsupported sub-protocols: HTTP 400 with the reason', async () => {
    const r = await expectRejected(`${t.url}/hs-bad`, ['ocpp1.5'])
    assert.equal(r.status, 400)
    assert.match(r.body, /ocpp1\.5.*not supported|none of the offered/)
    assert.equal(t.gw.metrics.get('connections_rejected_total', 'unsupported_subprotocol'), 1)
  })

  for (const [path, status] of [['/ocpp/', 400], ['/ocpp/a/b', 400], ['/ocpp/a%2Fb', 400], ['/ocpp/%E0%A4%A', 400], ['/elsewhere/x', 404]] as Array<[string, number]>) {
    test(`${path} -> HTTP ${status}`, async () => {
      const base = t.url.replace(/\/ocpp$/, '')
      const r = await expectRejected(base + path, ['ocpp1.6'])
      assert.equal(r.status, status)
      assert.ok(r.body.length > 10, `a readable reason, got "${r.body}"`)
    })
  }

  test('query string is ignored, case and percent-decoding preserved', async () => {
    const cp = await connectChargePoint(`${t.url}/Mixed%20Case?x=1`, ['ocpp1.6'])
    assert.ok(t.gw.sessions.get('Mixed Case') !== undefined)
    await cp.close()
  })

  test('the Basic username is kept on the session; the password is checked before the upgrade and not kept', async () => {
    const cp = await connectChargePoint(`${t.url}/hs-auth`, ['ocpp1.6'], { headers: { Authorization: 'Basic ' + Buffer.from('hs-auth:secret').toString('base64') } })
    const s = t.gw.sessions.get('hs-auth')
    assert.equal(s?.info.username, 'hs-auth')
    assert.ok(!JSON.stringify(s?.info).includes('secret'), 'no password on the session')
    await cp.close()
  })
})

describe('fail_if_no_subprotocol', () => {
  test('a client offering none is refused with 400', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { websocket: { fail_if_no_subprotocol: true } } } } } })
    try {
      const r = await expectRejected(`${t.url}/x`, [])
      assert.equal(r.status, 400)
      assert.match(r.body, /sub-protocol/)
      const cp = await connectChargePoint(`${t.url}/y`, ['ocpp2.0.1'])
      assert.equal(cp.protocol, 'ocpp2.0.1')
      await cp.close()
    } finally {
      await t.stop()
    }
  })

  test('supported_subprotocols order is the server preference', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { websocket: { supported_subprotocols: ['ocpp2.1', 'ocpp2.0.1'] } } } } } })
    try {
      const cp = await connectChargePoint(`${t.url}/x`, ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'])
      assert.equal(cp.protocol, 'ocpp2.1')
      await cp.close()
      const r = await expectRejected(`${t.url}/z`, ['ocpp1.6'])
      assert.equal(r.status, 400)
    } finally {
      await t.stop()
    }
  })
})

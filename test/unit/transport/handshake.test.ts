/**
 * The handshake decisions, pure: every refusal of chargePointIdFromUrl with its status, code
 * and reason; parseBasicAuth on headers a charge point may send; chooseSubprotocol's order,
 * its answer to a client offering none, and the header's spelling. The integration test
 * (test/integration/handshake.test.ts) checks status codes over real sockets; these check
 * the exact result.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { dialects } from '../../../src/ocpp/dialect.js'
import { chargePointIdFromUrl, chooseSubprotocol, MAX_ID_LENGTH, parseBasicAuth } from '../../../src/transport/handshake.js'

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

describe('chargePointIdFromUrl', () => {
  const empty = { ok: false, error: { status: 400, code: 'empty_id', reason: 'missing charge point id: connect to /ocpp/{chargePointId}' } }
  const segment = { ok: false, error: { status: 400, code: 'bad_id', reason: 'charge point id must be a single path segment (encode "/" as %2F is not allowed either)' } }
  const percent = { ok: false, error: { status: 400, code: 'bad_id', reason: 'charge point id is not valid percent-encoding' } }
  const tooLong = { ok: false, error: { status: 400, code: 'bad_id', reason: 'charge point id is longer than 255 characters' } }
  const topic = { ok: false, error: { status: 400, code: 'bad_id', reason: 'charge point id must not contain "/", "+" or "#"' } }
  const control = { ok: false, error: { status: 400, code: 'bad_id', reason: 'charge point id must not contain control characters' } }
  const notFound = { ok: false, error: { status: 404, code: 'bad_path', reason: 'path must be /ocpp/{chargePointId}' } }
  const ok = (value: string): { ok: true, value: string } => ({ ok: true, value })

  const cases: Array<[string, string, unknown]> = [
    // empty id
    ['prefix with a slash and nothing after', '/ocpp/', empty],
    ['the prefix alone', '/ocpp', empty],
    ['the prefix alone with a query', '/ocpp?id=CP1', empty],
    ['the prefix and a slash with a query', '/ocpp/?id=CP1', empty],
    // more than one segment
    ['two segments', '/ocpp/a/b', segment],
    ['a trailing slash', '/ocpp/CP1/', segment],
    ['an empty first segment', '/ocpp//CP1', segment],
    // percent-encoding
    ['a truncated escape', '/ocpp/%E0%A4%A', percent],
    ['a lone %', '/ocpp/CP%', percent],
    ['a non-hex escape', '/ocpp/%ZZ', percent],
    ['an escape of an invalid UTF-8 byte', '/ocpp/%FF', percent],
    // length, counted after decoding
    ['255 characters', '/ocpp/' + 'x'.repeat(255), ok('x'.repeat(255))],
    ['256 characters', '/ocpp/' + 'x'.repeat(256), tooLong],
    ['255 characters, each percent-encoded', '/ocpp/' + '%41'.repeat(255), ok('A'.repeat(255))],
    ['256 characters, each percent-encoded', '/ocpp/' + '%41'.repeat(256), tooLong],
    // MQTT topic characters, literal or after decoding
    ['an encoded /', '/ocpp/a%2Fb', topic],
    ['an encoded / in lower case', '/ocpp/a%2fb', topic],
    ['a literal +', '/ocpp/a+b', topic],
    ['an encoded +', '/ocpp/a%2Bb', topic],
    ['a literal #', '/ocpp/a#b', topic],
    ['an encoded #', '/ocpp/a%23b', topic],
    // control characters
    ['NUL', '/ocpp/a%00b', control],
    ['a newline', '/ocpp/a%0Ab', control],
    ['U+001F', '/ocpp/a%1Fb', control],
    ['DEL', '/ocpp/a%7Fb', control],
    ['a literal tab', '/ocpp/a\tb', control],
    // accepted
    ['a space is not a control character', '/ocpp/a%20b', ok('a b')],
    ['the query string is ignored', '/ocpp/CP1?token=x&y=1', ok('CP1')],
    ['a query string with slashes and wildcards is ignored', '/ocpp/CP1?next=/a/b&t=+#', ok('CP1')],
    ['an empty query string is ignored', '/ocpp/CP1?', ok('CP1')],
    ['case is kept', '/ocpp/cP-aBc_01', ok('cP-aBc_01')],
    ['UTF-8 is decoded', '/ocpp/%C3%A9t%C3%A9', ok('été')],
    ['an encoded ? is part of the id', '/ocpp/a%3Fb', ok('a?b')],
    // prefix mismatch
    ['another prefix', '/other/CP1', notFound],
    ['the prefix as the start of a longer segment', '/ocppx/CP1', notFound],
    ['the prefix in another case', '/OCPP/CP1', notFound],
    ['the root', '/', notFound],
    ['an empty URL', '', notFound],
    ['no leading slash', 'ocpp/CP1', notFound],
    ['the prefix only in the query', '/x?/ocpp/CP1', notFound]
  ]
  for (const [what, url, want] of cases) {
    test(`${what}: ${JSON.stringify(url.length > 40 ? url.slice(0, 40) + '…' : url)}`, () => {
      assert.deepEqual(chargePointIdFromUrl(url, '/ocpp'), want)
    })
  }

  test('MAX_ID_LENGTH is 255', () => {
    assert.equal(MAX_ID_LENGTH, 255)
  })

  test('the prefix is taken from the argument: a longer one, and the root (config path "/" becomes "")', () => {
    assert.deepEqual(chargePointIdFromUrl('/a/b/CP1', '/a/b'), ok('CP1'))
    assert.deepEqual(chargePointIdFromUrl('/a/CP1', '/a/b'), { ok: false, error: { status: 404, code: 'bad_path', reason: 'path must be /a/b/{chargePointId}' } })
    assert.deepEqual(chargePointIdFromUrl('/CP1', ''), ok('CP1'))
    assert.deepEqual(chargePointIdFromUrl('/', ''), { ok: false, error: { status: 400, code: 'empty_id', reason: 'missing charge point id: connect to /{chargePointId}' } })
    assert.deepEqual(chargePointIdFromUrl('/ocpp/CP1', ''), segment)
  })
})

describe('parseBasicAuth', () => {
  const cases: Array<[string, string | undefined, unknown]> = [
    ['no header', undefined, undefined],
    ['an empty header', '', undefined],
    ['another scheme', 'Bearer ' + b64('CP1:pw'), undefined],
    ['Digest', 'Digest username="CP1"', undefined],
    ['the scheme without credentials', 'Basic', undefined],
    ['the scheme and a space', 'Basic ', undefined],
    ['no colon', 'Basic ' + b64('CP1'), undefined],
    ['user and password', 'Basic ' + b64('CP1:secret'), { username: 'CP1', password: 'secret' }],
    ['a colon in the password', 'Basic ' + b64('CP1:pa:ss:'), { username: 'CP1', password: 'pa:ss:' }],
    ['an empty password', 'Basic ' + b64('CP1:'), { username: 'CP1', password: '' }],
    ['an empty username', 'Basic ' + b64(':pw'), { username: '', password: 'pw' }],
    ['only a colon', 'Basic ' + b64(':'), { username: '', password: '' }],
    ['unicode, as UTF-8', 'Basic ' + b64('Ladestation-été:pässwörd✓'), { username: 'Ladestation-été', password: 'pässwörd✓' }],
    ['spaces inside the credentials are kept', 'Basic ' + b64(' CP1 : pw '), { username: ' CP1 ', password: ' pw ' }],
    ['the scheme in lower case', 'basic ' + b64('CP1:pw'), { username: 'CP1', password: 'pw' }],
    ['the scheme in upper case', 'BASIC ' + b64('CP1:pw'), { username: 'CP1', password: 'pw' }],
    ['extra spaces around and between', '   Basic     ' + b64('CP1:pw') + '   ', { username: 'CP1', password: 'pw' }],
    ['a tab between scheme and credentials', 'Basic\t' + b64('CP1:pw'), { username: 'CP1', password: 'pw' }],
    ['no space between scheme and credentials', 'Basic' + b64('CP1:pw'), undefined],
    ['base64 without its padding', 'Basic ' + b64('CP1:pw1').replace(/=+$/, ''), { username: 'CP1', password: 'pw1' }],
    ['a space inside the base64', 'Basic ' + b64('CP1:pw').slice(0, 4) + ' ' + b64('CP1:pw').slice(4), undefined],
    ['text after the credentials', 'Basic ' + b64('CP1:pw') + ' extra', undefined],
    ['two credentials', 'Basic ' + b64('a:b') + ', Basic ' + b64('c:d'), undefined],
    ['base64url characters', 'Basic Q1AxOj8_Pj4=', undefined],
    ['a $ in the base64', 'Basic Q1Ax$OnB3', undefined],
    ['a non-ASCII letter in the base64', 'Basic Q1AxOnB3é', undefined],
    ['only padding', 'Basic ====', undefined]
  ]
  /** The text fields; passwordBytes must be the password's UTF-8 whenever it is text. */
  const textOf = (c: ReturnType<typeof parseBasicAuth>): unknown => {
    if (c === undefined) return undefined
    assert.deepEqual(c.passwordBytes, Buffer.from(c.password, 'utf8'))
    return { username: c.username, password: c.password }
  }
  for (const [what, header, want] of cases) {
    test(`${what}: ${JSON.stringify(header)}`, () => {
      assert.deepEqual(textOf(parseBasicAuth(header)), want)
    })
  }

  test('the base64 alphabet\'s + and / are read', () => {
    assert.equal(b64('u:>>>???'), 'dTo+Pj4/Pz8=')
    assert.deepEqual(textOf(parseBasicAuth('Basic dTo+Pj4/Pz8=')), { username: 'u', password: '>>>???' })
  })

  test('a binary password (1.6 AuthorizationKey) is kept byte for byte, colons and all; the text is lossy', () => {
    const key = Buffer.from('ff00fe3a8081c0c1f5f6f7f8f9fafbfcfdfe3aff', 'hex') // 20 bytes, two 0x3a, not UTF-8
    const header = 'Basic ' + Buffer.concat([Buffer.from('CP1:'), key]).toString('base64')
    const c = parseBasicAuth(header)
    assert.ok(c !== undefined)
    assert.equal(c.username, 'CP1')
    assert.deepEqual(c.passwordBytes, key)
    assert.notDeepEqual(Buffer.from(c.password, 'utf8'), key, 'UTF-8 decoding loses bytes: why the bytes are kept')
  })
})

describe('chooseSubprotocol', () => {
  const all = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']
  const pick = (subprotocol: string | undefined, version: '1.6' | '2.0.1' | '2.1'): unknown => ({ ok: true, value: { subprotocol, dialect: dialects[version] } })

  test('the server\'s order wins over the client\'s', () => {
    assert.deepEqual(chooseSubprotocol('ocpp2.1, ocpp1.6', all, false), pick('ocpp1.6', '1.6'))
    assert.deepEqual(chooseSubprotocol('ocpp2.1, ocpp1.6', ['ocpp2.1', 'ocpp1.6'], false), pick('ocpp2.1', '2.1'))
    assert.deepEqual(chooseSubprotocol('ocpp1.6, ocpp2.0.1, ocpp2.1', ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'], false), pick('ocpp2.1', '2.1'))
    assert.deepEqual(chooseSubprotocol('ocpp1.6, ocpp2.0.1', ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'], false), pick('ocpp2.0.1', '2.0.1'))
  })

  test('an unknown offer next to a supported one is skipped', () => {
    assert.deepEqual(chooseSubprotocol('foo, ocpp2.0.1, bar', all, false), pick('ocpp2.0.1', '2.0.1'))
  })

  test('failIfNone does not matter when something is offered', () => {
    assert.deepEqual(chooseSubprotocol('ocpp2.0.1', all, true), pick('ocpp2.0.1', '2.0.1'))
  })

  test('none offered, ocpp1.6 enabled, not required: OCPP 1.6 and no protocol to answer', () => {
    for (const header of [undefined, '', ' ', ',', ' , ,\t']) {
      assert.deepEqual(chooseSubprotocol(header, all, false), pick(undefined, '1.6'), JSON.stringify(header))
    }
  })

  test('none offered, required (fail_if_no_subprotocol): 400, with or without ocpp1.6', () => {
    const want = (list: string): unknown => ({ ok: false, error: { status: 400, code: 'no_subprotocol', reason: `no WebSocket sub-protocol offered; this server requires one of: ${list}` } })
    assert.deepEqual(chooseSubprotocol(undefined, all, true), want('ocpp1.6, ocpp2.0.1, ocpp2.1'))
    assert.deepEqual(chooseSubprotocol('', ['ocpp2.0.1'], true), want('ocpp2.0.1'))
    assert.deepEqual(chooseSubprotocol(' , ', all, true), want('ocpp1.6, ocpp2.0.1, ocpp2.1'))
  })

  test('none offered, not required, ocpp1.6 not enabled: 400', () => {
    const want = (list: string): unknown => ({ ok: false, error: { status: 400, code: 'no_subprotocol', reason: `no WebSocket sub-protocol offered and ocpp1.6 is not enabled; offer one of: ${list}` } })
    assert.deepEqual(chooseSubprotocol(undefined, ['ocpp2.0.1', 'ocpp2.1'], false), want('ocpp2.0.1, ocpp2.1'))
    assert.deepEqual(chooseSubprotocol('', ['ocpp2.1'], false), want('ocpp2.1'))
  })

  test('only unsupported ones offered: 400 naming what was offered and what is supported', () => {
    assert.deepEqual(chooseSubprotocol('ocpp1.5, ocpp2.0', all, false), {
      ok: false,
      error: { status: 400, code: 'unsupported_subprotocol', reason: 'none of the offered sub-protocols (ocpp1.5, ocpp2.0) is supported; supported: ocpp1.6, ocpp2.0.1, ocpp2.1' }
    })
    // Known to the gateway but not enabled on this listener.
    assert.deepEqual(chooseSubprotocol('ocpp1.6', ['ocpp2.0.1', 'ocpp2.1'], false), {
      ok: false,
      error: { status: 400, code: 'unsupported_subprotocol', reason: 'none of the offered sub-protocols (ocpp1.6) is supported; supported: ocpp2.0.1, ocpp2.1' }
    })
  })

  test('names are compared exactly: another case or a suffix is not the same protocol', () => {
    for (const header of ['OCPP1.6', 'Ocpp2.0.1', 'ocpp1.6j', 'ocpp2.0']) {
      const r = chooseSubprotocol(header, all, false)
      assert.equal(r.ok, false, header)
      assert.equal(!r.ok && r.error.code, 'unsupported_subprotocol', header)
    }
  })

  test('a name in `supported` without a dialect is never answered', () => {
    assert.deepEqual(chooseSubprotocol('foo', ['foo', 'ocpp1.6'], false), {
      ok: false,
      error: { status: 400, code: 'unsupported_subprotocol', reason: 'none of the offered sub-protocols (foo) is supported; supported: foo, ocpp1.6' }
    })
    assert.deepEqual(chooseSubprotocol('foo, ocpp1.6', ['foo', 'ocpp1.6'], false), pick('ocpp1.6', '1.6'))
  })

  test('whitespace around names and empty entries are ignored', () => {
    assert.deepEqual(chooseSubprotocol('  ocpp2.0.1  ', all, false), pick('ocpp2.0.1', '2.0.1'))
    assert.deepEqual(chooseSubprotocol('\tocpp2.1\t,ocpp2.0.1', ['ocpp2.1'], false), pick('ocpp2.1', '2.1'))
    assert.deepEqual(chooseSubprotocol(',,ocpp1.6,,', all, false), pick('ocpp1.6', '1.6'))
    assert.deepEqual(chooseSubprotocol('foo ,  bar', all, false), {
      ok: false,
      error: { status: 400, code: 'unsupported_subprotocol', reason: 'none of the offered sub-protocols (foo, bar) is supported; supported: ocpp1.6, ocpp2.0.1, ocpp2.1' }
    })
  })

  test('whitespace inside a name is not trimmed: "ocpp 1.6" is not ocpp1.6', () => {
    assert.equal(chooseSubprotocol('ocpp 1.6', all, false).ok, false)
  })

  test('duplicates: chosen once; listed as offered in the refusal', () => {
    assert.deepEqual(chooseSubprotocol('ocpp2.0.1, ocpp2.0.1, ocpp1.6', all, false), pick('ocpp1.6', '1.6'))
    assert.deepEqual(chooseSubprotocol('ocpp2.0.1,ocpp2.0.1', all, false), pick('ocpp2.0.1', '2.0.1'))
    assert.deepEqual(chooseSubprotocol('ocpp1.5, ocpp1.5', all, false), {
      ok: false,
      error: { status: 400, code: 'unsupported_subprotocol', reason: 'none of the offered sub-protocols (ocpp1.5, ocpp1.5) is supported; supported: ocpp1.6, ocpp2.0.1, ocpp2.1' }
    })
  })
})

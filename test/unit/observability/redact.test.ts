import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { pino } from 'pino'
import { isSecretKey, pinoRedact, REDACTED, redactConfig, redactFrame, redactText } from '../../../src/observability/redact.js'

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----'

describe('redaction', () => {
  test('pino redact paths censor credentials in the shapes we log', () => {
    let out = ''
    const sink = new Writable({ write (c: Buffer, _e, cb) { out += c.toString(); cb() } })
    const log = pino({ redact: pinoRedact() }, sink)
    log.info({ password: 'p1', auth: { username: 'CP1', password: 'p2' }, req: { headers: { authorization: 'Basic Q1AxOnAz', host: 'gw' } } }, 'handshake')
    log.info({ listener: { ssl_options: { password: 'p4', key: PEM, certfile: '/etc/cert.pem' } } }, 'tls')
    log.info({ headers: { authorization: 'Bearer t5', 'proxy-authorization': 'Basic eA==' } }, 'h')
    for (const s of ['p1', 'p2', 'Q1AxOnAz', 'p4', 'MIGHAgEA', 't5', 'eA==']) assert.ok(!out.includes(s), `${s} leaked: ${out}`)
    assert.ok(out.includes('CP1') && out.includes('/etc/cert.pem') && out.includes('"host":"gw"'))
  })

  test('config dumps: secret keys at any depth, whatever their type; paths and flags stay', () => {
    const cfg = {
      gateway: {
        mountpoint: 'ocpp/',
        allow_anonymous: false,
        authentication: [
          { backend: 'http', url: 'https://svc:urlpw@auth.example/check?token=qtok&x=1', headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k', 'X-Tenant-Auth': 'tenantsecret', 'Content-Type': 'application/json' } },
          { backend: 'file', path: '/etc/ocpp/credentials' }
        ],
        listeners: { wss: { default: { ssl_options: { certfile: '/c.pem', keyfile: '/k.pem', password: 'keypw', key: Buffer.from('x') } } } },
        mqtt: { password: 12345, client_secret: 's', token: 't', empty: { password: '' } }
      }
    }
    const red = redactConfig(cfg)
    const text = JSON.stringify(red)
    for (const s of ['urlpw', 'qtok', 'Bearer abc', '"k"', 'keypw', '12345', '"s"', '"t"', 'tenantsecret']) assert.ok(!text.includes(s), `${s} leaked: ${text}`)
    assert.equal(red.gateway.authentication[0]?.url, `https://svc:${REDACTED}@auth.example/check?token=${REDACTED}&x=1`)
    assert.equal(red.gateway.listeners.wss.default.ssl_options.keyfile, '/k.pem')
    assert.equal(red.gateway.listeners.wss.default.ssl_options.key, REDACTED as unknown)
    assert.equal(red.gateway.allow_anonymous, false)
    assert.equal(red.gateway.authentication[0]?.headers?.['Content-Type'], 'application/json')
    assert.equal(red.gateway.mqtt.empty.password, '', 'an empty secret stays visibly empty')
    assert.equal(cfg.gateway.mqtt.password, 12345, 'the original is untouched')
  })

  test('cycles and buffers do not break a dump', () => {
    const a: Record<string, unknown> = { name: 'a', ca: Buffer.alloc(10) }
    a.self = a
    assert.deepEqual(redactConfig(a), { name: 'a', ca: '[10 bytes]', self: '[Circular]' })
  })

  test('free text: PEM keys, auth headers, URL userinfo, query secrets', () => {
    const s = redactText(`failed: ${PEM} Authorization: Basic Q1AxOnB3 mqtt://u:pw@broker:1883 https://h/p?password=x1&a=b`)
    for (const leak of ['MIGHAgEA', 'Q1AxOnB3', ':pw@', 'x1']) assert.ok(!s.includes(leak), `${leak} leaked: ${s}`)
    assert.match(s, /BEGIN PRIVATE KEY/)
    assert.match(s, /mqtt:\/\/u:\[REDACTED\]@broker/)
    assert.equal(redactText(s), s, 'idempotent')
    assert.equal(redactText('ocpp/cp/CP1 BootNotification'), 'ocpp/cp/CP1 BootNotification')
  })

  test('secret key names', () => {
    for (const k of ['password', 'Password', 'key_password', 'client-secret', 'api_key', 'Authorization', 'key', 'passphrase', 'BasicAuthPassword', 'AuthorizationKey']) assert.ok(isSecretKey(k), k)
    for (const k of ['keyfile', 'certfile', 'cacertfile', 'username', 'topic', 'keepalive', 'password_stdin']) assert.ok(!isSecretKey(k), k)
  })
})

describe('redactFrame: secrets carried inside OCPP frames (log.frames)', () => {
  test('2.0.1 SetVariables of SecurityCtrlr.BasicAuthPassword', () => {
    const text = JSON.stringify([2, 'sv1', 'SetVariables', {
      setVariableData: [
        { attributeValue: 'n3w-s3cret', component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' } },
        { attributeValue: '300', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }
      ]
    }])
    const out = redactFrame(text)
    assert.doesNotMatch(out, /n3w-s3cret/)
    assert.deepEqual(JSON.parse(out)[3].setVariableData.map((d: { attributeValue: string }) => d.attributeValue), [REDACTED, '300'])
  })

  test('1.6 ChangeConfiguration and GetConfiguration.conf of AuthorizationKey', () => {
    assert.doesNotMatch(redactFrame('[2,"c1","ChangeConfiguration",{"key":"AuthorizationKey","value":"0102abcdef"}]'), /0102abcdef/)
    const conf = redactFrame('[3,"g1",{"configurationKey":[{"key":"AuthorizationKey","readonly":false,"value":"k3y"},{"key":"HeartbeatInterval","readonly":false,"value":"60"}]}]')
    assert.doesNotMatch(conf, /k3y/)
    assert.match(conf, /"60"/)
    // The names of the keys stay readable: `key` in a frame is a setting's name.
    assert.deepEqual(JSON.parse(conf)[2].configurationKey.map((c: { key: string }) => c.key), ['AuthorizationKey', 'HeartbeatInterval'])
  })

  test('2.x NotifyReport variableAttribute values of a secret variable; other frames unchanged in value', () => {
    const out = redactFrame(JSON.stringify([2, 'n1', 'NotifyReport', { reportData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, variableAttribute: [{ type: 'Actual', value: 'pw-in-report' }] }] }]))
    assert.doesNotMatch(out, /pw-in-report/)
    const hb = '[2,"h1","Heartbeat",{}]'
    assert.equal(redactFrame(hb), hb)
    assert.equal(redactFrame('[2, "x", not json'), '[2, "x", not json')
  })
})

/** EMQX's own keys (issue 16): honoured, translated, or ignored with one warning each; others stay fatal. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { adaptEmqx, INFINITE_FRAME_SIZE } from '../../../src/config/emqx-compat.js'
import { buildConfig, configFromEnv } from '../../../src/config/load.js'
import { isGatewayError } from '../../../src/errors.js'

describe('adaptEmqx', () => {
  test('gateway keys without meaning here are removed, one warning each naming the key', () => {
    const { tree, warnings } = adaptEmqx({ enable: true, enable_stats: true, json_schema_dir: '/etc/s', json_schema_id_prefix: 'urn:', clientinfo_override: {}, mountpoint: 'ocpp/' })
    assert.deepEqual(tree, { mountpoint: 'ocpp/' })
    assert.equal(warnings.length, 5)
    for (const k of ['enable', 'enable_stats', 'json_schema_dir', 'json_schema_id_prefix', 'clientinfo_override']) assert.ok(warnings.some((w) => w.startsWith(`EMQX key ${k} `)), k)
  })

  test('listener and websocket keys: acceptors, enable_authn, mountpoint, piggyback, compress ignored; honoured ones kept', () => {
    const { tree, warnings } = adaptEmqx({
      listeners: {
        ws: {
          default: {
            bind: '0.0.0.0:33033',
            acceptors: 16,
            enable_authn: true,
            mountpoint: 'x/',
            max_conn_rate: 1000,
            proxy_protocol: false,
            websocket: { path: '/ocpp', piggyback: 'single', compress: false, check_origin_enable: false, check_origin: 'http://a', proxy_port_header: 'x-forwarded-port' }
          }
        }
      }
    })
    assert.deepEqual(tree, {
      listeners: { ws: { default: { bind: '0.0.0.0:33033', max_conn_rate: 1000, proxy_protocol: false, websocket: { path: '/ocpp', check_origin_enable: false, check_origins: ['http://a'], proxy_port_header: 'x-forwarded-port' } } } }
    })
    assert.deepEqual(warnings.map((w) => /EMQX key (\S+) /.exec(w)?.[1]), [
      'listeners.ws.default.acceptors', 'listeners.ws.default.enable_authn', 'listeners.ws.default.mountpoint',
      'listeners.ws.default.websocket.piggyback', 'listeners.ws.default.websocket.compress'
    ])
  })

  test('max_frame_size infinity is bounded, with a warning; ocpp2.0 is dropped from the sub-protocols, with a warning', () => {
    const { tree, warnings } = adaptEmqx({ listeners: { ws: { default: { websocket: { max_frame_size: 'infinity', supported_subprotocols: 'ocpp1.6, ocpp2.0' } } } } })
    const ws = (tree as any).listeners.ws.default.websocket
    assert.equal(ws.max_frame_size, INFINITE_FRAME_SIZE)
    assert.deepEqual(ws.supported_subprotocols, ['ocpp1.6'])
    assert.equal(warnings.length, 2)
    assert.match(warnings[1] ?? '', /"ocpp2\.0": OCPP 2\.0 was superseded by 2\.0\.1 and is not served/)
  })

  test('one authentication object becomes a chain of one; HTTP keys without meaning are ignored; built_in_database is refused', () => {
    const { tree, warnings } = adaptEmqx({ authentication: { mechanism: 'password_based', backend: 'http', url: 'http://auth:8080/auth', pool_size: 8, body: { clientid: '${clientid}' } } })
    assert.deepEqual(tree.authentication, [{ mechanism: 'password_based', backend: 'http', url: 'http://auth:8080/auth' }])
    assert.equal(warnings.length, 2)
    assert.throws(() => adaptEmqx({ authentication: { mechanism: 'password_based', backend: 'built_in_database' } }), (err) => isGatewayError(err, 'OCPPGW_ERR_CONFIG') && /built_in_database has no counterpart/.test(err.message))
  })

  test('broker.shared_subscription_strategy becomes the embedded broker\'s; EMQX-only strategies fall back with a warning; nonsense is refused', () => {
    assert.deepEqual(adaptEmqx({ broker: { shared_subscription_strategy: 'hash_clientid' } }), { tree: { mqtt: { embedded: { shared_subscription_strategy: 'hash_clientid' } } }, warnings: [] })
    const sticky = adaptEmqx({ broker: { shared_subscription_strategy: 'sticky' }, mqtt: { url: '' } })
    assert.deepEqual(sticky.tree, { mqtt: { url: '', embedded: { shared_subscription_strategy: 'round_robin' } } })
    assert.match(sticky.warnings[0] ?? '', /sticky has no counterpart/)
    // Ours, when set, wins.
    assert.equal((adaptEmqx({ broker: { shared_subscription_strategy: 'random' }, mqtt: { embedded: { shared_subscription_strategy: 'hash_topic' } } }).tree as any).mqtt.embedded.shared_subscription_strategy, 'hash_topic')
    assert.throws(() => adaptEmqx({ broker: { shared_subscription_strategy: 'fastest' } }), (err) => isGatewayError(err, 'OCPPGW_ERR_CONFIG'))
  })

  test('does not change its input', () => {
    const input = { enable: true, listeners: { ws: { default: { acceptors: 4 } } } }
    const copy = structuredClone(input)
    adaptEmqx(input)
    assert.deepEqual(input, copy)
  })
})

describe('buildConfig with EMQX keys', () => {
  test('an EMQX gateway block builds; its warnings are on the config; honoured keys take effect', () => {
    const c = buildConfig([{
      enable: true,
      mountpoint: 'ocpp/',
      idle_timeout: '30s',
      authentication: { backend: 'http', url: 'http://127.0.0.1:1/auth', pool_size: 8 },
      listeners: { ws: { default: { bind: '127.0.0.1:0', acceptors: 16, max_conn_rate: 500, websocket: { supported_subprotocols: 'ocpp1.6, ocpp2.0', check_origin_enable: true, check_origins: 'https://Ops.example.com/, http://b', max_frame_size: 'infinity' } } } }
    }])
    assert.equal(c.warnings.length, 5)
    const l = c.listeners[0]
    assert.deepEqual(l?.subprotocols, ['ocpp1.6'])
    assert.equal(l?.maxConnRate, 500)
    assert.deepEqual(l?.checkOrigins, ['https://ops.example.com', 'http://b'])
    assert.equal(l?.allowOriginAbsence, true)
    assert.equal(l?.maxFrameSize, INFINITE_FRAME_SIZE)
    assert.equal(c.idleTimeoutMs, 30_000)
    assert.equal(c.auth.authentication.length, 1)
  })

  test('a key that is neither ours nor EMQX\'s stays fatal', () => {
    assert.throws(() => buildConfig([{ listeners: { ws: { default: { acceptorz: 16 } } } }]), /unknown configuration key "listeners\.ws\.default\.acceptorz"/)
    assert.throws(() => buildConfig([{ enable_statz: true }]), /unknown configuration key "enable_statz"/)
  })

  test('our own config gives no warnings', () => {
    assert.deepEqual(buildConfig([{ mountpoint: 'x/' }]).warnings, [])
  })
})

describe('configFromEnv: EMQX_GATEWAY__OCPP__ as well as OCPP_GW_', () => {
  test('both forms nest on __; ours wins where both name a key; other EMQX_ variables are not ours', () => {
    const tree = configFromEnv({
      EMQX_GATEWAY__OCPP__MOUNTPOINT: 'emqx/',
      EMQX_GATEWAY__OCPP__LISTENERS__WS__DEFAULT__BIND: '0.0.0.0:33033',
      EMQX_GATEWAY__OCPP__DNSTREAM__MAX_MQUEUE_LEN: '50',
      OCPP_GW_DNSTREAM__MAX_MQUEUE_LEN: '60',
      EMQX_NODE__NAME: 'emqx@host',
      EMQX_GATEWAY__OCPP__: 'x'
    })
    assert.deepEqual(tree, { mountpoint: 'emqx/', listeners: { ws: { default: { bind: '0.0.0.0:33033' } } }, dnstream: { max_mqueue_len: 60 } })
  })
})

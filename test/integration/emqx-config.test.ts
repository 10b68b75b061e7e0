/**
 * An EMQX user's configuration, as written for EMQX 5's OCPP gateway (its documentation's
 * `gateway.ocpp { … }` block in base.hocon / emqx.conf, with EMQX's own default values), runs
 * the gateway unchanged (issue 16): the CLI starts, logs one warning per EMQX key that has no
 * meaning here, and honours the keys that do (mountpoint, topics, origin checking, rates).
 */
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import mqtt from 'mqtt'
import { startTestGateway } from '../helpers/gateway.js'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'ocppgw-emqx-'))

/** EMQX 5's OCPP gateway block, keys and defaults as EMQX documents them. */
const EMQX_BLOCK = `
## base.hocon of an EMQX 5 node that ran the OCPP gateway
node.name = "emqx@127.0.0.1"
broker.shared_subscription_strategy = hash_clientid
gateway.ocpp {
  enable = true
  enable_stats = true
  mountpoint = "ocpp/"
  idle_timeout = 30s
  default_heartbeat_interval = 60s
  heartbeat_checking_times_backoff = 1
  message_format_checking = disable
  json_schema_dir = "\${application_priv}/schemas"
  json_schema_id_prefix = "urn:OCPP:1.6:2019:12:"
  upstream {
    topic = "cp/\${cid}"
    reply_topic = "cp/\${cid}/Reply"
    error_topic = "cp/\${cid}/Reply"
  }
  dnstream {
    topic = "cs/\${cid}"
    max_mqueue_len = 100
  }
  listeners.ws.default {
    bind = "0.0.0.0:33033"
    acceptors = 16
    max_connections = 1024000
    max_conn_rate = 1000
    enable_authn = true
    websocket {
      path = "/ocpp"
      piggyback = single
      compress = false
      fail_if_no_subprotocol = true
      supported_subprotocols = "ocpp1.6, ocpp2.0"
      check_origin_enable = true
      allow_origin_absence = true
      check_origins = "http://localhost:18083, http://127.0.0.1:18083"
      proxy_address_header = "x-forwarded-for"
      proxy_port_header = "x-forwarded-port"
    }
  }
}
`

/** What the start-up warnings must name: every EMQX key that means nothing here, once. */
const IGNORED = [
  'enable', 'enable_stats', 'json_schema_dir', 'json_schema_id_prefix',
  'listeners.ws.default.acceptors', 'listeners.ws.default.enable_authn',
  'listeners.ws.default.websocket.piggyback', 'listeners.ws.default.websocket.compress'
]

interface Started { child: ChildProcess, url: string, mqttUrl: string, lines: () => Array<{ level: number, msg: string }> }

function start (file: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [cli, '--config', file, '--bind', '127.0.0.1:0', '--mqtt-bind', '127.0.0.1:0', '--mqtt-ws-bind', 'off', '--admin-bind', 'off'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }
  })
  let out = ''
  const lines = (): Array<{ level: number, msg: string }> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number, msg: string })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`did not start:\n${out}`)) }, 15_000)
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${String(code)}:\n${out}`)) })
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const started = lines().find((l) => l.msg === 'ocpp-gateway started') as { ocpp?: string[], mqtt?: { embedded: { tcp: number } } } | undefined
      if (started?.ocpp?.[0] === undefined || started.mqtt === undefined) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({ child, url: started.ocpp[0].replace('/{id}', ''), mqttUrl: `mqtt://127.0.0.1:${started.mqtt.embedded.tcp}`, lines })
    })
  })
}

const children: ChildProcess[] = []
after(() => { for (const c of children) c.kill('SIGKILL') })

function open (url: string, headers: Record<string, string> = {}): Promise<{ ws?: WebSocket, status?: number, retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['ocpp1.6'], { headers })
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => { resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] }); res.resume() })
    ws.once('error', reject)
  })
}

describe('an EMQX HOCON config', () => {
  const file = join(dir, 'base.hocon')
  writeFileSync(file, EMQX_BLOCK)

  test('starts: one warning per EMQX-only key, the honoured ones applied, a charger bridged on the EMQX topics', async () => {
    const gw = await start(file)
    children.push(gw.child)
    const warnings = gw.lines().filter((l) => l.level === 40 && l.msg.startsWith('EMQX key ')).map((l) => /^EMQX key (\S+) /.exec(l.msg)?.[1])
    assert.deepEqual([...warnings].sort(), [...IGNORED].sort())
    // ocpp2.0 is dropped from EMQX's default sub-protocol list, in one warning of its own.
    assert.deepEqual(gw.lines().filter((l) => l.msg.includes('supported_subprotocols')).map((l) => l.msg),
      ['listeners.ws.default.websocket.supported_subprotocols: "ocpp2.0": OCPP 2.0 was superseded by 2.0.1 and is not served; chargers asking only for it are refused (add ocpp2.0.1)'])

    const backend = await mqtt.connectAsync(gw.mqttUrl, { protocolVersion: 4 })
    try {
      await backend.subscribeAsync('ocpp/cp/#', { qos: 1 })
      const got = new Promise<{ topic: string, body: Record<string, unknown> }>((resolve) => backend.once('message', (topic, p) => resolve({ topic, body: JSON.parse(p.toString()) })))
      // check_origin_enable with allow_origin_absence: a charger (no Origin) is let in, a page of another origin is not.
      assert.equal((await open(`${gw.url}/CP-EMQX`, { origin: 'http://evil.example' })).status, 403)
      const { ws } = await open(`${gw.url}/CP-EMQX`)
      assert.ok(ws !== undefined)
      ws.send(JSON.stringify([2, '19223201', 'BootNotification', { chargePointVendor: 'VendorX', chargePointModel: 'SingleSocketCharger' }]))
      const { topic, body } = await got
      assert.equal(topic, 'ocpp/cp/CP-EMQX')
      assert.equal(body.UniqueId, '19223201')
      assert.equal(body.Action, 'BootNotification')
      const reply = new Promise<unknown>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))))
      await backend.publishAsync('ocpp/cs/CP-EMQX', JSON.stringify({
        MessageTypeId: 3, UniqueId: '19223201', Payload: { currentTime: new Date().toISOString(), interval: 300, status: 'Accepted' }
      }), { qos: 1 })
      assert.deepEqual(((await reply) as unknown[]).slice(0, 2), [3, '19223201'])
      ws.close()
    } finally {
      await backend.endAsync()
      gw.child.kill('SIGTERM')
    }
  })

  test('--print-config shows the translated values (EMQX form of the environment included)', async () => {
    const { stdout } = await run(process.execPath, [cli, '--config', file, '--print-config'], { env: { ...process.env, EMQX_GATEWAY__OCPP__MOUNTPOINT: 'emqx-env/' } })
    const c = JSON.parse(stdout)
    assert.equal(c.mountpoint, 'emqx-env/')
    assert.equal(c.idle_timeout, '30s')
    const ws = c.listeners.ws.default
    assert.deepEqual(ws.websocket.supported_subprotocols, ['ocpp1.6'])
    assert.deepEqual(ws.websocket.check_origins, ['http://localhost:18083', 'http://127.0.0.1:18083'])
    assert.equal(ws.max_conn_rate, 1000)
    assert.equal(ws.acceptors, undefined)
    // EMQX's broker-wide strategy, outside the gateway block, is the embedded broker's.
    assert.equal(c.mqtt.embedded.shared_subscription_strategy, 'hash_clientid')
  })

  test('an unknown key stays fatal, and a broken HOCON file names the line: exit 2', async () => {
    const typo = join(dir, 'typo.conf')
    writeFileSync(typo, 'gateway.ocpp {\n  mountpiont = "ocpp/"\n}\n')
    await assert.rejects(run(process.execPath, [cli, '--config', typo, '--print-config']), (err: { code: number, stderr: string }) => {
      assert.equal(err.code, 2)
      assert.match(err.stderr, /mountpiont/)
      return true
    })
    const broken = join(dir, 'broken.conf')
    writeFileSync(broken, 'gateway.ocpp {\n  mountpoint = "ocpp/"\n  listeners.ws.default {\n    bind = \n')
    await assert.rejects(run(process.execPath, [cli, '--config', broken, '--print-config']), (err: { code: number, stderr: string }) => {
      assert.equal(err.code, 2)
      assert.match(err.stderr, /is not valid HOCON/)
      assert.match(err.stderr, /line|:\d+/i)
      return true
    })
  })
})

describe('EMQX listener keys honoured', () => {
  test('max_conn_rate: upgrades past the rate get 503 with Retry-After, counted, logged; the admitted ones work', async () => {
    const t = await startTestGateway({ config: { listeners: { ws: { default: { max_conn_rate: 2 } } } } })
    const open1: WebSocket[] = []
    try {
      const results = []
      for (let i = 0; i < 5; i++) results.push(await open(`${t.url}/RATE-${i}`))
      for (const r of results) if (r.ws !== undefined) open1.push(r.ws)
      assert.equal(open1.length >= 2, true, 'the first two are within the rate')
      assert.ok(results[0]?.ws !== undefined && results[1]?.ws !== undefined)
      const refused = results.filter((r) => r.status !== undefined)
      assert.ok(refused.length >= 1, 'a burst of 5 at 2/s refuses some')
      for (const r of refused) assert.deepEqual([r.status, r.retryAfter], [503, '1'])
      assert.equal(t.gw.metrics.get('connections_rejected_total', 'listener_rate'), refused.length)
    } finally {
      for (const ws of open1) ws.close()
      await t.stop()
    }
  })

  test('check_origin_enable: an Origin outside check_origins gets 403, counted; a listed one (any case, trailing slash) and none pass; allow_origin_absence: false refuses none', async () => {
    const t = await startTestGateway({
      config: {
        listeners: {
          ws: {
            default: { websocket: { check_origin_enable: true, check_origins: 'https://ops.example.com/' } },
            strict: { bind: '127.0.0.1:0', websocket: { check_origin_enable: true, check_origins: ['https://ops.example.com'], allow_origin_absence: false } }
          }
        }
      }
    })
    const strict = t.gw.listeners.find((l) => l.config.name === 'strict')
    assert.ok(strict !== undefined)
    const strictUrl = `ws://127.0.0.1:${strict.port}/ocpp`
    const opened: WebSocket[] = []
    try {
      assert.equal((await open(`${t.url}/ORG-1`, { origin: 'https://evil.example' })).status, 403)
      for (const r of [await open(`${t.url}/ORG-2`, { origin: 'https://OPS.example.com' }), await open(`${t.url}/ORG-3`), await open(`${strictUrl}/ORG-4`, { origin: 'https://ops.example.com' })]) {
        assert.ok(r.ws !== undefined, `status ${String(r.status)}`)
        opened.push(r.ws)
      }
      assert.equal((await open(`${strictUrl}/ORG-5`)).status, 403)
      assert.equal(t.gw.metrics.get('connections_rejected_total', 'origin_not_allowed'), 2)
    } finally {
      for (const ws of opened) ws.close()
      await t.stop()
    }
  })
})

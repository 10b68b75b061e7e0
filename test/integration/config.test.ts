/** Configuration layering and validation, and the CLI as a user runs it. */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildConfig, configFromEnv, readConfigFile, ConfigError } from '../../src/config/load.js'
import { parseFlags } from '../../src/cli/options.js'
import { parseDuration } from '../../src/config/duration.js'
import { connectChargePoint } from '../helpers/clients.js'

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
const run = promisify(execFile)

describe('config', () => {
  test('defaults are EMQX\'s', () => {
    const c = buildConfig([])
    assert.equal(c.mountpoint, 'ocpp/')
    assert.equal(c.upstream.topic, 'cp/${cid}')
    assert.equal(c.upstream.replyTopic, 'cp/${cid}/Reply')
    assert.equal(c.upstream.errorTopic, 'cp/${cid}/Reply')
    assert.equal(c.upstream.qos, 2)
    assert.equal(c.dnstream.topic, 'cs/${cid}')
    assert.equal(c.dnstream.maxMqueueLen, 100)
    assert.equal(c.defaultHeartbeatIntervalMs, 60_000)
    assert.equal(c.heartbeatBackoff, 1)
    assert.deepEqual(c.listeners.map((l) => [l.host, l.port, l.path]), [['0.0.0.0', 33033, '/ocpp']])
    assert.deepEqual(c.listeners[0]?.subprotocols, ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'])
    // Not EMQX's: loopback until MQTT users are configured (docs/security.md).
    assert.deepEqual(c.mqtt.embedded.bind, { host: '127.0.0.1', port: 1883 })
    assert.deepEqual(c.mqtt.embedded.wsBind, { host: '127.0.0.1', port: 8083 })
    assert.equal(c.mqtt.embedded.allowAnonymous, false)
  })

  test('file < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocppgw-cfg-'))
    const file = join(dir, 'gw.yaml')
    writeFileSync(file, 'mountpoint: file/\nupstream:\n  topic: "x/${cid}"\ndnstream:\n  max_mqueue_len: 7\nmessage_format_checking: all\n')
    const env = configFromEnv({ OCPP_GW_MOUNTPOINT: 'env/', OCPP_GW_DNSTREAM__MAX_MQUEUE_LEN: '9', OTHER: 'x' })
    const flags = parseFlags(['--mountpoint', 'flag/', '--bind', '127.0.0.1:4000', '--set', 'default_heartbeat_interval=2m'])
    const c = buildConfig([readConfigFile(file), env, flags.tree])
    assert.equal(c.mountpoint, 'flag/')
    assert.equal(c.dnstream.maxMqueueLen, 9)
    assert.equal(c.upstream.topic, 'x/${cid}')
    assert.equal(c.messageFormatChecking, 'all')
    assert.equal(c.defaultHeartbeatIntervalMs, 120_000)
    assert.deepEqual([c.listeners[0]?.host, c.listeners[0]?.port], ['127.0.0.1', 4000])
  })

  test('EMQX nesting gateway.ocpp.* is accepted in a file, JSON too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocppgw-cfg-'))
    const file = join(dir, 'gw.json')
    writeFileSync(file, JSON.stringify({ gateway: { ocpp: { mountpoint: 'emqx/', listeners: { ws: { default: { bind: '0.0.0.0:33034', websocket: { path: '/ocpp16' } } } } } } }))
    const c = buildConfig([readConfigFile(file)])
    assert.equal(c.mountpoint, 'emqx/')
    assert.equal(c.listeners[0]?.port, 33034)
    assert.equal(c.listeners[0]?.path, '/ocpp16')
  })

  for (const [layer, message] of [
    [{ dnstream: { max_mqueue_len: 'lots' } }, /dnstream\.max_mqueue_len/],
    [{ upstream: { topik: 'x' } }, /unknown configuration key "upstream\.topik"/],
    [{ message_format_checking: 'strict' }, /message_format_checking: must be one of all, upstream_only, dnstream_only, disable/],
    [{ default_heartbeat_interval: 'soon' }, /default_heartbeat_interval/],
    [{ listeners: { ws: { default: { bind: 'nowhere' } } } }, /listeners\.ws\.default\.bind/],
    [{ listeners: { ws: { default: { websocket: { supported_subprotocols: ['ocpp1.5'] } } } } }, /supported_subprotocols/]
  ] as Array<[Record<string, unknown>, RegExp]>) {
    test(`invalid ${JSON.stringify(layer)} names the key`, () => {
      assert.throws(() => buildConfig([layer]), (err: Error) => err instanceof ConfigError && message.test(err.message))
    })
  }

  test('durations', () => {
    assert.equal(parseDuration('60s'), 60_000)
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('5m'), 300_000)
    assert.equal(parseDuration(30), 30_000)
    assert.equal(parseDuration('infinity'), Infinity)
    assert.equal(parseDuration('x'), undefined)
  })
})

describe('CLI', () => {
  test('--help lists the options', async () => {
    const { stdout } = await run(process.execPath, [cli, '--help'])
    for (const flag of ['--config', '--bind', '--mqtt-bind', '--mqtt-url', '--mqtt-ws-bind', '--set', '--print-config']) assert.ok(stdout.includes(flag), flag)
  })

  test('a bad config exits 2 with the key named', async () => {
    await assert.rejects(run(process.execPath, [cli, '--set', 'dnstream.max_mqueue_len=0']), (err: { code: number, stderr: string }) => {
      assert.equal(err.code, 2)
      assert.match(err.stderr, /dnstream\.max_mqueue_len/)
      return true
    })
  })

  test('--print-config redacts secrets', async () => {
    const { stdout } = await run(process.execPath, [cli, '--print-config', '--mqtt-url', 'mqtt://h:1', '--mqtt-password', 'hunter2'])
    assert.ok(!stdout.includes('hunter2'))
    assert.equal(JSON.parse(stdout).mqtt.password, '[REDACTED]')
  })

  test('a taken MQTT port gives a clear message and exit 1', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await assert.rejects(run(process.execPath, [cli, '--bind', '127.0.0.1:0', '--mqtt-bind', `127.0.0.1:${port}`, '--mqtt-ws-bind', 'off', '--admin-bind', 'off']), (err: { code: number, stdout: string }) => {
        assert.equal(err.code, 1)
        assert.match(err.stdout, /already in use/)
        assert.match(err.stdout, /--mqtt-url/)
        return true
      })
    } finally {
      blocker.close()
    }
  })

  test('a taken OCPP port names the OCPP listener, not a broker, and exit 1', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await assert.rejects(run(process.execPath, [cli, '--bind', `127.0.0.1:${port}`, '--mqtt-bind', '127.0.0.1:0', '--mqtt-ws-bind', 'off', '--admin-bind', 'off']), (err: { code: number, stdout: string }) => {
        assert.equal(err.code, 1)
        const fatal = err.stdout.split('\n').filter((l) => l.includes('OCPPGW_ERR_PORT_IN_USE')).map((l) => (JSON.parse(l) as { msg: string }).msg)
        assert.deepEqual(fatal, [`OCPP listener "default": port 127.0.0.1:${port} is already in use (another process, e.g. another gateway or OCPP server, holds it). Choose another port with listeners.ws.default.bind / --bind.`])
        return true
      })
    } finally {
      blocker.close()
    }
  })

  test('SIGTERM: charge points get 1001, the process exits 0', async () => {
    const child = spawn(process.execPath, [cli, '--bind', '127.0.0.1:0', '--mqtt-bind', '127.0.0.1:0', '--mqtt-ws-bind', 'off', '--admin-bind', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /"ocpp":\["(ws:\/\/[^"]+)\/\{id\}"\]/.exec(out)
        if (m !== null) resolve((m[1] as string))
      })
      child.once('exit', () => reject(new Error(`exited early: ${out}`)))
    })
    const cp = await connectChargePoint(`${url}/sig-1`)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    assert.equal((await cp.closed).code, 1001)
    assert.equal(await exited, 0)
  })
})

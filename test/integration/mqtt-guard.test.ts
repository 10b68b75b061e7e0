/**
 * The embedded broker's guard (issue 12, item 2): loopback until users are configured, a
 * non-loopback bind without users refused at start. Real sockets on 127.0.0.1 port 0; no
 * test binds a non-loopback address (the refusal comes before anything listens).
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { Logger } from '../../src/observability/logger.js'
import { buildConfig } from '../../src/config/load.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { isGatewayError } from '../../src/errors.js'
import { accepts } from './mqtt-guard-helpers.js'

/** A logger whose lines a test can read. */
function capture (): { logger: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l))
      cb()
    }
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

const base = {
  allow_anonymous: true,
  handshake_limits: { conn_rate_per_address: { enable: false } },
  listeners: { ws: { default: { bind: '127.0.0.1:0' } } }
}

describe('embedded broker exposure', () => {
  for (const [key, embedded] of [
    ['mqtt.embedded.bind', { bind: '0.0.0.0:0', ws_bind: 'off' }],
    ['mqtt.embedded.ws_bind', { bind: '127.0.0.1:0', ws_bind: '0.0.0.0:0' }]
  ] as const) {
    test(`${key} on 0.0.0.0 without users: the start fails with OCPPGW_ERR_MQTT_OPEN, nothing listens`, async () => {
      const { logger } = capture()
      await assert.rejects(startGateway(buildConfig([base, { mqtt: { embedded } }]), { logger }), (err: unknown) => {
        assert.ok(isGatewayError(err, 'OCPPGW_ERR_MQTT_OPEN'), String(err))
        assert.match((err as Error).message, new RegExp(`^${key.replace(/\./g, '\\.')}: 0\\.0\\.0\\.0:0 is reachable from other hosts`))
        return true
      })
    })
  }

  test('loopback without users: starts, and the log says how to open it', async () => {
    const { logger, lines } = capture()
    const gw: Gateway = await startGateway(buildConfig([base, { mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: '127.0.0.1:0' } } }]), { logger })
    try {
      assert.ok(await accepts(gw.mqttPort ?? 0))
      const line = lines.find((l) => /embedded MQTT broker on/.test(l.msg))
      assert.ok(line !== undefined, JSON.stringify(lines.map((l) => l.msg)))
      assert.equal(line.level, 30)
      assert.match(line.msg, /loopback only, no authentication\. To let other hosts in, set mqtt\.embedded\.users_file/)
    } finally {
      await gw.close()
    }
  })
})

/**
 * A gateway in a process of its own, for measurements a test must not take in its own process
 * (RSS): `node dist/test/helpers/gateway-child.js '<config JSON>'` with an IPC channel. It sends
 * `{ ready: true, mqttPort, mqttWsPort }` once listening, answers `{ get: name }` with
 * `{ name, value }` (a counter of its metrics), and closes on `{ close: true }`.
 */
import { buildConfig } from '../../src/config/load.js'
import { startGateway } from '../../src/gateway.js'

const send = (m: unknown): void => { process.send?.(m) }
const gw = await startGateway(buildConfig([{ admin: { bind: 'off' } }, JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>]))
process.on('message', (m: { get?: string, close?: boolean }) => {
  if (m.get !== undefined) send({ name: m.get, value: gw.metrics.get(m.get as never) })
  if (m.close === true) void gw.close().then(() => process.disconnect())
})
send({ ready: true, mqttPort: gw.mqttPort, mqttWsPort: gw.mqttWsPort })

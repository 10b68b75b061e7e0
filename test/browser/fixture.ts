/**
 * What the dashboard's browser test and its screenshot script share: a real gateway with the
 * admin server on port 0 and one API key, charge points that send Heartbeats and answer the
 * Calls an operator sends (GetConfiguration, TriggerMessage…) as a real one would, a backend
 * that answers their Heartbeats (and boots) over MQTT, and Debian's Chromium driven by playwright-core.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { hashApiKey, newApiKey } from '../../src/admin/api-keys.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { connectChargePoint, type ChargePoint } from '../helpers/clients.js'

export const CHROMIUM = '/usr/bin/chromium'

/** Why the browser test cannot run here, or undefined. With CI=true a missing browser is a failure, never a skip. */
export function browserSkip (): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`)
  return `${CHROMIUM} not installed (apt-get install chromium); the dashboard's browser test needs it`
}

export async function launchBrowser (): Promise<Browser> {
  // --no-sandbox: the tests run as root in a container, where Chromium's sandbox cannot start.
  return await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}

export interface SimCharger {
  cp: ChargePoint
  id: string
  /** Calls the charger received from the gateway, by Action. */
  received: Array<{ action: string, payload: unknown }>
  stop: () => Promise<void>
}

let uid = 0
const nextId = (): string => `sim-${(++uid).toString(36)}`

/** A charge point that sends a Heartbeat every `heartbeatMs` and answers the Calls it gets. */
export async function simCharger (t: TestGateway, id: string, opts: { version?: '1.6' | '2.0.1', heartbeatMs?: number } = {}): Promise<SimCharger> {
  const version = opts.version ?? '1.6'
  const cp = await connectChargePoint(`${t.url}/${encodeURIComponent(id)}`, [`ocpp${version}`])
  const received: SimCharger['received'] = []
  const heartbeat = (): void => { cp.send([2, nextId(), 'Heartbeat', {}]) }
  cp.ws.on('message', (data) => {
    let f: unknown
    try { f = JSON.parse((data as Buffer).toString()) } catch { return }
    if (!Array.isArray(f) || f[0] !== 2) return
    const [, msgId, action, payload] = f as [2, string, string, unknown]
    received.push({ action, payload })
    if (action === 'GetConfiguration') {
      cp.send([3, msgId, { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }, { key: 'NumberOfConnectors', readonly: true, value: '2' }], unknownKey: [] }])
    } else if (action === 'TriggerMessage') {
      cp.send([3, msgId, { status: 'Accepted' }])
      setTimeout(heartbeat, 50)
    } else if (action === 'GetVariables') {
      cp.send([3, msgId, { getVariableResult: [{ attributeStatus: 'Accepted', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: '300' }] }])
    } else {
      cp.send([4, msgId, 'NotImplemented', `${action} is not implemented by this simulator`, {}])
    }
  })
  const timer = opts.heartbeatMs === undefined ? undefined : setInterval(heartbeat, opts.heartbeatMs)
  return { cp, id, received, stop: async () => { clearInterval(timer); await cp.close() } }
}

/** Answers the backend gives over MQTT, so the trace shows both directions and simulated chargers boot. */
const ANSWERS: Record<string, () => Record<string, unknown>> = {
  Heartbeat: () => ({ currentTime: new Date().toISOString() }),
  BootNotification: () => ({ currentTime: new Date().toISOString(), interval: 60, status: 'Accepted' }),
  StatusNotification: () => ({})
}

function answerCalls (t: TestGateway): void {
  t.backend.client.on('message', (topic, payload) => {
    const m = /^ocpp\/cp\/([^/]+)$/.exec(topic)
    if (m === null) return
    let env: { MessageTypeId?: number, Action?: string, UniqueId?: string }
    try { env = JSON.parse(payload.toString()) } catch { return }
    const answer = env.MessageTypeId === 2 && env.Action !== undefined ? ANSWERS[env.Action] : undefined
    if (answer === undefined) return
    void t.backend.publish(`ocpp/cs/${m[1] as string}`, { MessageTypeId: 3, UniqueId: env.UniqueId, Payload: answer() })
  })
}

export interface DashboardGateway {
  t: TestGateway
  key: string
  /** A key with role viewer: it may only read. */
  viewerKey: string
  base: string
  stop: () => Promise<void>
}

export async function startDashboardGateway (config: Record<string, unknown> = {}): Promise<DashboardGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'ocppgw-dash-'))
  const file = join(dir, 'keys')
  const key = newApiKey()
  const viewerKey = newApiKey()
  await writeFile(file, `ops:${hashApiKey(key)}\nwatcher:${hashApiKey(viewerKey, 'viewer')}\n`)
  const t = await startTestGateway({ config: { admin: { bind: '127.0.0.1:0', api_keys_file: file }, mqtt: { password: 'hunter2' }, ...config } })
  answerCalls(t)
  return {
    t,
    key,
    viewerKey,
    base: `http://127.0.0.1:${t.gw.adminPort ?? 0}`,
    stop: async () => { await t.stop(); await rm(dir, { recursive: true, force: true }) }
  }
}

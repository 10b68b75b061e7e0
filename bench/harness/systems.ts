/**
 * The systems under test, each started fresh for each run as separate processes on loopback:
 *
 * - floor: bare `ws` server answering each Call in process (bench/floor-server.ts);
 * - peer: ocpp-rpc CSMS with strict schema validation (bench/peer-server.ts);
 * - ours-embedded: the gateway with its embedded broker + the MQTT echo backend process;
 * - ours-check-all: the same with --message-format-checking all (validation both ways);
 * - ours-mosquitto: the gateway on an external Mosquitto started here + the echo backend;
 * - ours-baseline: as ours-embedded, with the gateway of another build (--baseline DIR, a copy
 *   of dist/ inside the repository), for before/after figures of a change in the same run;
 * - ours-plain-backend: as ours-embedded, the echo backend writing each answer on its own
 *   (plain MQTT.js), to show what the backend's write coalescing is worth;
 * - ours-mosquitto-stock: as ours-mosquitto, Mosquitto with its stock per-client limits
 *   (max_inflight_messages 20: Receive Maximum 20; max_queued_messages 1000);
 * - ours-mosquitto-baseline: as ours-mosquitto, with the gateway of the --baseline build;
 * - hand-bridge: what a user would build instead, ocpp-rpc + one MQTT.js connection with the
 *   same topics and envelopes (bench/hand-bridge.ts), on the same Mosquitto set-up as
 *   ours-mosquitto, with the same echo backend: compare with ours-mosquitto.
 *
 * `server` is the process whose CPU and RSS are reported (the gateway for ours); `aux` are
 * the others that make up the system (echo backend, Mosquitto).
 */
import { freePort, mosquittoBinary, startMosquitto, type Mosquitto } from '../../test/helpers/mosquitto.js'
import { type Proc, pin, readyLine, spawnNode, waitForPort } from './procs.js'

/** Which CPUs each kind of process may use (taskset lists); undefined = not pinned. */
export interface Layout {
  /** The load generator (simulator processes). */
  gen: string | undefined
  /** The measured server process: floor, peer, or the gateway. */
  server: string | undefined
  /** The rest of a system: the echo backend, Mosquitto. */
  aux: string | undefined
}

export interface StartContext {
  layout: Layout
  /** Write a CPU profile of the gateway process (node --cpu-prof) into this directory. */
  profileDir?: string
  /** Extra flags for the gateway CLI. */
  gatewayArgs: string[]
  /** The dist/ directory of the build that ours-baseline runs. */
  baselineDist?: string
  /** Extra flags for the echo backend (e.g. --qos 2). */
  backendArgs?: string[]
}

export interface RunningSystem {
  /** Base URL for the simulator (the charger id is appended). */
  url: string
  /** pids to watch: `server`, and the aux processes by name. */
  pids: Record<string, number>
  /** Date.now() when the server process was spawned (to place a CPU profile's samples in time). */
  spawnedAt: number
  /** The MQTT broker's URL (ours only): for another backend, e.g. the downstream driver. */
  mqttUrl?: string
  stop: () => Promise<void>
}

export interface SystemDef {
  name: SystemName
  about: string
  /** Why it cannot run here, if it cannot. */
  unavailable?: () => string | undefined
  start: (ctx: StartContext) => Promise<RunningSystem>
}

export const SYSTEM_NAMES = ['floor', 'peer', 'ours-embedded', 'ours-check-all', 'ours-mosquitto', 'ours-baseline', 'ours-plain-backend', 'ours-mosquitto-stock', 'ours-mosquitto-baseline', 'hand-bridge'] as const
export type SystemName = typeof SYSTEM_NAMES[number]
/** What a bench run compares unless told otherwise (ours-baseline needs --baseline). */
export const DEFAULT_SYSTEMS: SystemName[] = ['floor', 'peer', 'ours-embedded', 'ours-check-all', 'ours-mosquitto']

/** The Mosquitto of the run in progress, so that Ctrl-C can stop it too. */
let currentMosquitto: Mosquitto | undefined
export async function stopMosquitto (): Promise<void> {
  const m = currentMosquitto
  currentMosquitto = undefined
  await m?.stop()
}

async function standalone (name: string, script: string, ctx: StartContext): Promise<RunningSystem> {
  const spawnedAt = Date.now()
  const p = spawnNode(name, script, ['--port', '0'], { cpus: ctx.layout.server })
  try {
    const { port } = await readyLine(p) as { port: number }
    return { url: `ws://127.0.0.1:${port}/ocpp`, pids: { server: p.pid }, spawnedAt, stop: () => p.stop() }
  } catch (err) {
    await p.stop()
    throw err
  }
}

async function ours (ctx: StartContext, o: { mosquitto: boolean, stock?: boolean, checking: 'all' | 'disable', dist?: string, plainBackend?: boolean }): Promise<RunningSystem> {
  const procs: Proc[] = []
  const stop = async (): Promise<void> => {
    // Backend first (it would only see the gateway go), then the gateway, then the broker.
    for (const p of procs.reverse()) await p.stop()
    await stopMosquitto()
  }
  try {
    let mqttUrl: string
    const wsPort = await freePort()
    const args = ['--bind', `127.0.0.1:${wsPort}`, '--mqtt-ws-bind', 'off', '--admin-bind', 'off', '--log-level', 'warn', '--message-format-checking', o.checking]
    if (o.mosquitto) {
      // Mosquitto leaves Nagle's algorithm on by default: small request/answer packets would
      // wait for delayed ACKs (40 ms). The gateway and the embedded broker turn it off too.
      currentMosquitto = await startMosquitto(['set_tcp_nodelay true'], { stock: o.stock === true })
      if (currentMosquitto.pid !== undefined) pin(currentMosquitto.pid, ctx.layout.aux)
      mqttUrl = currentMosquitto.url
      args.push('--mqtt-url', mqttUrl)
    } else {
      const mqttPort = await freePort()
      mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
      args.push('--mqtt-bind', `127.0.0.1:${mqttPort}`)
    }
    const nodeArgs = ctx.profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir] : []
    const spawnedAt = Date.now()
    const gw = spawnNode('gateway', 'src/cli/main.js', [...args, ...ctx.gatewayArgs], { cpus: ctx.layout.server, nodeArgs, dist: o.dist })
    procs.push(gw)
    await waitForPort(wsPort, gw)
    const backend = spawnNode('echo-backend', 'bench/echo-backend.js', ['--url', mqttUrl, ...(o.plainBackend === true ? ['--plain'] : []), ...(ctx.backendArgs ?? [])], { cpus: ctx.layout.aux })
    procs.push(backend)
    await readyLine(backend)
    const pids: Record<string, number> = { server: gw.pid, backend: backend.pid }
    if (currentMosquitto?.pid !== undefined) pids.mosquitto = currentMosquitto.pid
    return { url: `ws://127.0.0.1:${wsPort}/ocpp`, pids, spawnedAt, stop, mqttUrl }
  } catch (err) {
    await stop()
    throw err
  }
}

async function handBridge (ctx: StartContext): Promise<RunningSystem> {
  const procs: Proc[] = []
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop()
    await stopMosquitto()
  }
  try {
    currentMosquitto = await startMosquitto(['set_tcp_nodelay true'])
    if (currentMosquitto.pid !== undefined) pin(currentMosquitto.pid, ctx.layout.aux)
    const mqttUrl = currentMosquitto.url
    const spawnedAt = Date.now()
    const bridge = spawnNode('hand-bridge', 'bench/hand-bridge.js', ['--url', mqttUrl, '--port', '0'], { cpus: ctx.layout.server })
    procs.push(bridge)
    const { port } = await readyLine(bridge) as { port: number }
    const backend = spawnNode('echo-backend', 'bench/echo-backend.js', ['--url', mqttUrl, ...(ctx.backendArgs ?? [])], { cpus: ctx.layout.aux })
    procs.push(backend)
    await readyLine(backend)
    const pids: Record<string, number> = { server: bridge.pid, backend: backend.pid }
    if (currentMosquitto.pid !== undefined) pids.mosquitto = currentMosquitto.pid
    return { url: `ws://127.0.0.1:${port}/ocpp`, pids, spawnedAt, stop, mqttUrl }
  } catch (err) {
    await stop()
    throw err
  }
}

export const systems: Record<SystemName, SystemDef> = {
  'hand-bridge': {
    name: 'hand-bridge',
    about: 'what a user would build: ocpp-rpc + MQTT.js with the same topics and envelopes, on Mosquitto, echo backend process',
    unavailable: () => mosquittoBinary === undefined ? 'mosquitto not installed' : undefined,
    start: (ctx) => handBridge(ctx)
  },
  floor: {
    name: 'floor',
    about: 'bare ws server answering each Call in process',
    start: (ctx) => standalone('floor', 'bench/floor-server.js', ctx)
  },
  peer: {
    name: 'peer',
    about: 'ocpp-rpc CSMS, strict schema validation, answering in process',
    start: (ctx) => standalone('peer', 'bench/peer-server.js', ctx)
  },
  'ours-embedded': {
    name: 'ours-embedded',
    about: 'gateway + embedded aedes broker, echo backend process over MQTT (format checking disabled: the default)',
    start: (ctx) => ours(ctx, { mosquitto: false, checking: 'disable' })
  },
  'ours-check-all': {
    name: 'ours-check-all',
    about: 'as ours-embedded, with --message-format-checking all',
    start: (ctx) => ours(ctx, { mosquitto: false, checking: 'all' })
  },
  'ours-mosquitto': {
    name: 'ours-mosquitto',
    about: 'gateway on an external Mosquitto started by the bench, echo backend process',
    unavailable: () => mosquittoBinary === undefined ? 'mosquitto not installed' : undefined,
    start: (ctx) => ours(ctx, { mosquitto: true, checking: 'disable' })
  },
  'ours-mosquitto-stock': {
    name: 'ours-mosquitto-stock',
    about: 'as ours-mosquitto, Mosquitto with its stock limits (max_inflight_messages 20, max_queued_messages 1000)',
    unavailable: () => mosquittoBinary === undefined ? 'mosquitto not installed' : undefined,
    start: (ctx) => ours(ctx, { mosquitto: true, stock: true, checking: 'disable' })
  },
  'ours-mosquitto-baseline': {
    name: 'ours-mosquitto-baseline',
    about: 'as ours-mosquitto, with the gateway of the --baseline build',
    unavailable: () => mosquittoBinary === undefined ? 'mosquitto not installed' : undefined,
    start: async (ctx) => {
      if (ctx.baselineDist === undefined) throw new Error('ours-mosquitto-baseline needs --baseline DIR')
      return await ours(ctx, { mosquitto: true, checking: 'disable', dist: ctx.baselineDist })
    }
  },
  'ours-plain-backend': {
    name: 'ours-plain-backend',
    about: 'as ours-embedded, the echo backend writing each answer on its own (plain MQTT.js)',
    start: (ctx) => ours(ctx, { mosquitto: false, checking: 'disable', plainBackend: true })
  },
  'ours-baseline': {
    name: 'ours-baseline',
    about: 'as ours-embedded, with the gateway of the --baseline build',
    start: async (ctx) => {
      if (ctx.baselineDist === undefined) throw new Error('ours-baseline needs --baseline DIR')
      return await ours(ctx, { mosquitto: false, checking: 'disable', dist: ctx.baselineDist })
    }
  }
}

/**
 * What one idle connected charge point costs the gateway's heap, and of what it is made.
 *
 *   node dist/bench/heap.js [-n 2000] [--snapshot FILE] [--top 25]
 *
 * Starts the gateway in this process (embedded broker, format checking off), the echo backend
 * and the simulator as child processes (`idle` scenario, boots after the connects), waits
 * until every charger is connected and booted, collects garbage, and prints heap, external and
 * RSS per charger against the figures before the first connection. With --snapshot it also
 * writes a heap snapshot and prints the objects by constructor (count and self size): the way
 * to find what a charger keeps alive that it should not (test/retention.test.ts is one such
 * find).
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { pino } from 'pino'
import { buildConfig } from '../src/config/load.js'
import { startGateway } from '../src/gateway.js'
import { distRoot } from './harness/procs.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

export interface HeapFigures {
  chargers: number
  heapPerCharger: number
  externalPerCharger: number
  rssPerCharger: number
  /** By constructor, largest self size first (with --snapshot). */
  byConstructor?: Array<{ name: string, count: number, bytes: number }>
}

function usage (): { heap: number, external: number, rss: number } {
  gc()
  gc()
  const u = process.memoryUsage()
  return { heap: u.heapUsed, external: u.external + u.arrayBuffers, rss: u.rss }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function measureHeap (o: { count: number, snapshot?: string, top?: number, settleMs?: number }): Promise<HeapFigures> {
  const config = buildConfig([{
    allow_anonymous: true,
    handshake_limits: { conn_rate_per_address: { enable: false } },
    listeners: { ws: { default: { bind: '127.0.0.1:0' } } },
    mqtt: { embedded: { bind: '127.0.0.1:0', ws_bind: 'off' } },
    admin: { bind: 'off' },
    log: { level: 'silent' }
  }])
  const gw = await startGateway(config, { logger: pino({ level: 'silent' }), shutdownGraceMs: 500 })
  const children = []
  try {
    const backend = spawn(process.execPath, [join(distRoot, 'bench/echo-backend.js'), '--url', `mqtt://127.0.0.1:${gw.mqttPort ?? 0}`], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(backend)
    await once(backend.stdout, 'data')
    const before = usage()
    const listener = gw.listeners[0]!
    const sim = spawn(process.execPath, [join(distRoot, 'src/cli/simulate.js'), '--url', `ws://127.0.0.1:${listener.port}${listener.config.path}`,
      '-n', String(o.count), '-s', 'idle', '-d', '3600', '--boot-after-connect', '--max-pending', '400', '-q'], { stdio: 'ignore' })
    children.push(sim)
    const deadline = Date.now() + 120_000
    while (gw.sessions.size < o.count) {
      if (Date.now() > deadline || sim.exitCode !== null) throw new Error(`only ${gw.sessions.size} of ${o.count} chargers connected`)
      await sleep(100)
    }
    // The boots and status Calls follow the connects: let them pass.
    await sleep(o.settleMs ?? 3000)
    const after = usage()
    const per = (k: 'heap' | 'external' | 'rss'): number => Math.round((after[k] - before[k]) / o.count)
    const figures: HeapFigures = { chargers: o.count, heapPerCharger: per('heap'), externalPerCharger: per('external'), rssPerCharger: per('rss') }
    if (o.snapshot !== undefined) {
      writeHeapSnapshot(o.snapshot)
      figures.byConstructor = byConstructor(o.snapshot).slice(0, o.top ?? 25)
    }
    return figures
  } finally {
    for (const c of children) c.kill('SIGTERM')
    await gw.close()
  }
}

/** Count and self size of the snapshot's objects by constructor (closures by name). */
export function byConstructor (file: string): Array<{ name: string, count: number, bytes: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[], node_types: [string[]] } }, nodes: number[], strings: string[] }
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const agg = new Map<string, { count: number, bytes: number }>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!
    const name = type === 'object' ? snap.strings[snap.nodes[i + iName]!]! : type === 'closure' ? `closure ${snap.strings[snap.nodes[i + iName]!]!}` : `(${type})`
    const a = agg.get(name) ?? { count: 0, bytes: 0 }
    a.count++
    a.bytes += snap.nodes[i + iSize]!
    agg.set(name, a)
  }
  return [...agg].map(([name, a]) => ({ name, ...a })).sort((a, b) => b.bytes - a.bytes)
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values } = parseArgs({ options: { count: { type: 'string', short: 'n' }, snapshot: { type: 'string' }, top: { type: 'string' } } })
  const f = await measureHeap({
    count: Number(values.count ?? 2000),
    ...(values.snapshot !== undefined ? { snapshot: values.snapshot } : {}),
    top: Number(values.top ?? 25)
  })
  process.stdout.write(`${f.chargers} idle chargers: heap ${f.heapPerCharger} B, external ${f.externalPerCharger} B, RSS ${f.rssPerCharger} B per charger (after GC)\n`)
  for (const r of f.byConstructor ?? []) process.stdout.write(`${String(Math.round(r.bytes / 1024)).padStart(8)} KB ${String(r.count).padStart(8)}  ${r.name}\n`)
}

/**
 * The top self-time functions of a V8 CPU profile (node --cpu-prof), and the same grouped by
 * where the code lives (our src/, each package, Node's internals, GC).
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 25]
 */
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, hitCount?: number, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples?: number[], timeDeltas?: number[] }

export interface ProfileEntry { name: string, where: string, group: string, selfMs: number, share: number }
export interface ProfileSummary { totalMs: number, busyMs: number, functions: ProfileEntry[], groups: Array<{ group: string, selfMs: number, share: number }> }

/** Where a function lives: "src/session", "ws", "aedes", "node:net", "(garbage collector)"... */
export function groupOf (cf: CallFrame): string {
  const url = cf.url
  if (url === '') return cf.functionName.startsWith('(') ? cf.functionName : '(native)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]!}/${rest[1] ?? ''}` : rest[0]!
  }
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/')
    return 'node:' + (parts[0] === 'internal' ? parts.slice(1, 3).join('/') : parts[0]!)
  }
  const m = /\/dist\/(src\/[^/]+|bench|test)\//.exec(url)
  if (m !== null) return m[1]!
  return url
}

/**
 * Self time per function. `window` (ms from the start of the profile) keeps only the samples
 * taken in it, e.g. the measurement window of a benchmark without start-up and shutdown.
 */
export function summarize (p: CpuProfile, top = 25, window?: { fromMs: number, toMs: number }): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  if (p.samples !== undefined && p.timeDeltas !== undefined) {
    // timeDeltas[i] is the time from sample i-1 to sample i; sample i lasts until the next one.
    let t = 0
    for (let i = 0; i < p.samples.length; i++) {
      t += (p.timeDeltas[i] ?? 0) / 1000
      if (window !== undefined && (t < window.fromMs || t > window.toMs)) continue
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt)
    }
  } else {
    const total = (p.endTime - p.startTime) / 1000
    const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0)
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * total / Math.max(1, hits))
  }
  const fns = new Map<string, ProfileEntry>()
  const groups = new Map<string, number>()
  let totalMs = 0
  let idleMs = 0
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame
    totalMs += ms
    if (cf.functionName === '(idle)') { idleMs += ms; continue }
    const file = cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')
    const where = cf.url === '' ? '' : `${file}:${cf.lineNumber + 1}`
    const key = `${cf.functionName}@${where}`
    const e = fns.get(key) ?? { name: cf.functionName === '' ? '(anonymous)' : cf.functionName, where, group: groupOf(cf), selfMs: 0, share: 0 }
    e.selfMs += ms
    fns.set(key, e)
    groups.set(e.group, (groups.get(e.group) ?? 0) + ms)
  }
  const busyMs = totalMs - idleMs
  const functions = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)
  for (const f of functions) f.share = f.selfMs / busyMs
  return {
    totalMs,
    busyMs,
    functions,
    groups: [...groups.entries()].map(([group, ms]) => ({ group, selfMs: ms, share: ms / busyMs })).sort((a, b) => b.selfMs - a.selfMs)
  }
}

export function formatProfile (s: ProfileSummary, topGroups = 12): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`.padStart(7)
  const lines = [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, busy ${(s.busyMs / 1000).toFixed(1)} s (${(s.busyMs / s.totalMs * 100).toFixed(0)} %); shares are of busy time`,
    '',
    'self time by where the code lives:',
    ...s.groups.slice(0, topGroups).map((g) => `  ${pct(g.share)}  ${g.group}`),
    '',
    'top functions by self time:',
    ...s.functions.map((f) => `  ${pct(f.share)}  ${f.name}  ${f.where}`)
  ]
  return lines.join('\n')
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } }, allowPositionals: true })
  if (positionals.length === 0) {
    process.stderr.write('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N] [--from MS --to MS]\n')
    process.exitCode = 2
  } else {
    const window = values.from !== undefined || values.to !== undefined ? { fromMs: Number(values.from ?? 0), toMs: Number(values.to ?? Infinity) } : undefined
    for (const file of positionals) {
      const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
      process.stdout.write(`${file}\n${formatProfile(summarize(p, Number(values.top ?? 25), window))}\n`)
    }
  }
}

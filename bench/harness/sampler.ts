/**
 * What the machine and our processes did during a run, read from /proc twice a second:
 * CPU time of each process of interest and of the whole process tree of the benchmark,
 * CPU time of the whole machine (so that the load from other users' work can be reported),
 * and RSS. Linux only; elsewhere the figures are absent, not wrong.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** utime + stime in ms, and the parent pid; undefined when the process is gone. */
function procStat (pid: number): { cpuMs: number, ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return { cpuMs: (Number(f[11]) + Number(f[12])) * 1000 / TICKS, ppid: Number(f[1]) }
  } catch {
    return undefined
  }
}

/** Resident set size in bytes (VmRSS), undefined when the process is gone. */
export function rssBytes (pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/**
 * Busy CPU time of the machine (user + nice + system + irq + softirq), ms, summed over cores.
 * The interrupt columns count: loopback TCP is processed in softirq context, which the
 * kernel charges to the running process's stime too (without IRQ time accounting).
 */
function machineBusyMs (): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/)
    return (Number(f[1]) + Number(f[2]) + Number(f[3]) + Number(f[6]) + Number(f[7])) * 1000 / TICKS
  } catch {
    return undefined
  }
}

/** CPU ms and parent of every process on the machine, read once per sample. */
function processTable (): { cpu: Map<number, number>, children: Map<number, number[]> } {
  const children = new Map<number, number[]>()
  const cpu = new Map<number, number>()
  let pids: string[]
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)) } catch { return { cpu, children } }
  for (const d of pids) {
    const st = procStat(Number(d))
    if (st === undefined) continue
    cpu.set(Number(d), st.cpuMs)
    const list = children.get(st.ppid)
    if (list === undefined) children.set(st.ppid, [Number(d)])
    else list.push(Number(d))
  }
  return { cpu, children }
}

/** CPU ms of a process and all its descendants; undefined when the process is gone. */
function subtreeCpuMs (t: ReturnType<typeof processTable>, root: number): number | undefined {
  if (!t.cpu.has(root)) return undefined
  let total = 0
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()!
    total += t.cpu.get(pid) ?? 0
    stack.push(...(t.children.get(pid) ?? []))
  }
  return total
}

export interface Sample {
  /** Date.now() of the sample. */
  at: number
  machineMs: number | undefined
  treeMs: number
  /** CPU ms per watched process (by label), its child processes included (simulator workers). */
  cpuMs: Record<string, number | undefined>
  rss: Record<string, number | undefined>
}

/** CPU use over an interval, in cores (1 = one core busy all the time). */
export interface CpuUse {
  /** Per watched process. */
  cores: Record<string, number>
  /** Everything on the machine that is not the benchmark's own process tree. */
  otherCores: number | undefined
  machineCores: number | undefined
  seconds: number
}

export class Sampler {
  private readonly samples: Sample[] = []
  private readonly timer: NodeJS.Timeout

  constructor (private readonly watched: Record<string, number>, private readonly periodMs = 500) {
    this.take()
    this.timer = setInterval(() => this.take(), periodMs)
  }

  take (): Sample {
    const table = processTable()
    const cpuMs: Record<string, number | undefined> = {}
    const rss: Record<string, number | undefined> = {}
    for (const [label, pid] of Object.entries(this.watched)) {
      cpuMs[label] = subtreeCpuMs(table, pid)
      rss[label] = rssBytes(pid)
    }
    const s: Sample = { at: Date.now(), machineMs: machineBusyMs(), treeMs: subtreeCpuMs(table, process.pid) ?? 0, cpuMs, rss }
    this.samples.push(s)
    return s
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** The last sample at or before a time (the first one if none). */
  before (at: number): Sample {
    let best = this.samples[0]!
    for (const s of this.samples) if (s.at <= at) best = s
    return best
  }

  /**
   * CPU use between `from` and `to` (epoch ms): per figure, the first and last samples inside
   * the interval (half a period of slack) that have it; a process that exited early, or
   * started late, is measured over the part of the interval it was there.
   */
  cpuBetween (from: number, to: number): CpuUse {
    const inside = this.samples.filter((s) => s.at >= from - this.periodMs / 2 && s.at <= to + this.periodMs / 2)
    const span = <T>(get: (s: Sample) => T | undefined): { a: T, b: T, ms: number } | undefined => {
      const have = inside.filter((s) => get(s) !== undefined)
      const a = have[0]
      const b = have[have.length - 1]
      if (a === undefined || b === undefined || b.at - a.at < 1) return undefined
      return { a: get(a)!, b: get(b)!, ms: b.at - a.at }
    }
    const cores: Record<string, number> = {}
    for (const label of Object.keys(this.watched)) {
      const x = span((s) => s.cpuMs[label])
      if (x !== undefined) cores[label] = (x.b - x.a) / x.ms
    }
    // Machine and tree over the samples where every watched process was alive: a process
    // that exits drops out of the tree sum, and its CPU would seem to be someone else's.
    const allAlive = (s: Sample): boolean => Object.values(s.cpuMs).every((x) => x !== undefined)
    const machine = span((s) => allAlive(s) ? s.machineMs : undefined)
    const tree = span((s) => allAlive(s) ? s.treeMs : undefined)
    const machineCores = machine === undefined ? undefined : (machine.b - machine.a) / machine.ms
    // Processes that exited in between drop out of the tree sum; clamp at 0 rather than guess.
    const ours = tree === undefined ? 0 : Math.max(0, (tree.b - tree.a) / tree.ms)
    return {
      cores,
      machineCores,
      otherCores: machineCores === undefined ? undefined : Math.max(0, machineCores - ours),
      seconds: (machine?.ms ?? to - from) / 1000
    }
  }
}

/** 1-, 5- and 15-minute load averages. */
export function loadAverage (): [number, number, number] | undefined {
  try {
    const f = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number)
    return [f[0] ?? 0, f[1] ?? 0, f[2] ?? 0]
  } catch {
    return undefined
  }
}

export function cpuModel (): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

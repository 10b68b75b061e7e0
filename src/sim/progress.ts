/**
 * The live progress display: one line refreshed in place about once a second on a terminal,
 * a plain line every few seconds otherwise (logs, CI). Reads snapshots; never touches sockets.
 */
import { Histogram } from './histogram.js'
import { type ProgressSnapshot, answered, errorTotal, sumCounts } from './stats.js'

export interface ProgressOptions {
  /** Where to write; stderr by default, so that `--json -` keeps stdout clean. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Refresh period; default 1 s on a terminal, 5 s otherwise. */
  everyMs?: number
  /** The total number of chargers, for "connected 950/1000". */
  count: number
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const ms = (us: number): string => (us / 1000).toFixed(us < 10_000 ? 2 : 1)

/** One progress line from two consecutive snapshots. */
export function formatProgress (prev: ProgressSnapshot | undefined, cur: ProgressSnapshot, count: number): string {
  const c = cur.counters
  const dt = prev === undefined ? cur.atMs / 1000 : (cur.atMs - prev.atMs) / 1000
  const p = prev?.counters
  const msgs = c.messagesIn + c.messagesOut - (p === undefined ? 0 : p.messagesIn + p.messagesOut)
  const rts = answered(c) - (p === undefined ? 0 : answered(p))
  const recent = Histogram.from(cur.recent)
  const failed = sumCounts(c.connectFailures)
  const rate = (n: number): string => fmt(dt > 0 ? n / dt : 0)
  return `${(cur.atMs / 1000).toFixed(0).padStart(4)} s  connected ${fmt(c.open)}/${fmt(count)}` +
    (cur.pendingConnects > 0 ? ` (connecting ${fmt(cur.pendingConnects)})` : '') +
    (failed > 0 ? ` failed ${fmt(failed)}` : '') +
    `  ${rate(msgs)} msg/s  ${rate(rts)} rt/s  errors ${fmt(errorTotal(c))}` +
    `  p50 ${ms(recent.percentile(50))} ms  p99 ${ms(recent.percentile(99))} ms`
}

export class Progress {
  private timer: NodeJS.Timeout | undefined
  private prev: ProgressSnapshot | undefined
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean }
  private readonly tty: boolean

  constructor (private readonly source: () => ProgressSnapshot, private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr
    this.tty = this.stream.isTTY === true
  }

  start (): void {
    const every = this.opts.everyMs ?? (this.tty ? 1000 : 5000)
    this.timer = setInterval(() => this.print(), every)
    this.timer.unref()
  }

  /** Stop; the last line stays on a terminal (a line printed now would show closed sockets). */
  stop (): void {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    if (this.tty && this.prev !== undefined) this.stream.write('\n')
  }

  private print (): void {
    const cur = this.source()
    const line = formatProgress(this.prev, cur, this.opts.count)
    this.prev = cur
    this.stream.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`)
  }
}

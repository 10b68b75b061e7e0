/**
 * The frame audit sink (`log.audit`): every frame in and out, of every charge point or of the
 * selected ones, one JSON line each, into files that rotate by size and/or time and are kept
 * to a count (pino-roll). Frames pass the one redactor (./redact.ts) first: an audit trail is
 * read by more people than the credentials file, so a Basic-auth password set by a backend
 * never reaches the disk.
 *
 * A line: `{"time":"2026-12-04T05:40:01.123Z","cid":"CP1","dir":"in","frame":"[2,\"1\",…]"}`.
 * Written through pino-roll's SonicBoom stream (asynchronous, buffered), so a frame costs one
 * JSON.stringify and a buffered append; the disk never blocks the event loop.
 *
 * @example
 *   const audit = await FrameAudit.open({ file: '/var/log/ocpp/frames', size: '100m', frequency: 'daily', keep: 14, chargers: ['CP1', 'DE-*'] })
 *   audit.record('CP1', 'in', text)
 *   await audit.close()
 */
import { extname } from 'node:path'
import build from 'pino-roll'
import type { SonicBoom } from 'sonic-boom'
import { redactFrame } from './redact.js'
import { GatewayError } from '../errors.js'

export interface FrameAuditOptions {
  /** Path of the file; pino-roll appends a rotation number (and the date with `frequency`). */
  readonly file: string
  /** Rotate at this size: a number of bytes with `k`, `m` or `g` (`100m`). */
  readonly size?: string
  /** Rotate every `daily` or `hourly`, or every so many milliseconds. */
  readonly frequency?: 'daily' | 'hourly' | number
  /** Rotated files kept besides the active one. */
  readonly keep: number
  /** Ids, or prefixes ending in `*`; empty = every charge point. */
  readonly chargers: readonly string[]
}

/** What a session tells: one frame of one charge point. */
export interface FrameSink {
  record: (cid: string, dir: 'in' | 'out', text: string) => void
}

/** The filter of `chargers`: exact ids in a Set, prefixes in a short list. */
export function chargerFilter (patterns: readonly string[]): (cid: string) => boolean {
  if (patterns.length === 0) return () => true
  const ids = new Set(patterns.filter((p) => !p.endsWith('*')))
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1))
  return (cid) => ids.has(cid) || prefixes.some((p) => cid.startsWith(p))
}

export class FrameAudit implements FrameSink {
  /** Frames written, for the tests and the logs. */
  written = 0
  private closed = false

  private constructor (private readonly stream: SonicBoom, private readonly wanted: (cid: string) => boolean) {}

  /** `onError`: a write or rotation failed (disk full, permissions); the gateway logs and counts it and goes on. */
  static async open (opts: FrameAuditOptions, onError: (err: Error) => void): Promise<FrameAudit> {
    let stream: SonicBoom
    try {
      stream = await build({
        // pino-roll keeps a given extension and puts the rotation number before it: frames.1.jsonl.
        file: extname(opts.file) === '' ? `${opts.file}.jsonl` : opts.file,
        mkdir: true,
        ...(opts.size !== undefined ? { size: opts.size } : {}),
        ...(opts.frequency !== undefined ? { frequency: opts.frequency } : {}),
        ...(opts.frequency === 'daily' ? { dateFormat: 'yyyy-MM-dd' } : opts.frequency === 'hourly' ? { dateFormat: 'yyyy-MM-dd-HH' } : {}),
        limit: { count: opts.keep }
      })
    } catch (err) {
      throw new GatewayError('OCPPGW_ERR_AUDIT_FILE', `frame audit file ${opts.file} cannot be opened: ${(err as Error).message}`, { cause: err })
    }
    // SonicBoom opens the file asynchronously: a failure there is a failed start too.
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => { reject(new GatewayError('OCPPGW_ERR_AUDIT_FILE', `frame audit file ${opts.file} cannot be opened: ${err.message}`, { cause: err })) }
      if ((stream as unknown as { fd: number }).fd >= 0) { resolve(); return }
      stream.once('error', failed)
      stream.once('ready', () => { stream.off('error', failed); resolve() })
    })
    stream.on('error', onError)
    return new FrameAudit(stream, chargerFilter(opts.chargers))
  }

  record (cid: string, dir: 'in' | 'out', text: string): void {
    if (!this.wanted(cid)) return
    this.written++
    // Only what an auditor needs: no level, pid or hostname on every line.
    this.stream.write(JSON.stringify({ time: new Date().toISOString(), cid, dir, frame: redactFrame(text) }) + '\n')
  }

  /** Everything recorded is on disk when this resolves. */
  close (): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) { resolve(); return }
      this.closed = true
      this.stream.once('close', () => resolve())
      this.stream.end()
    })
  }
}

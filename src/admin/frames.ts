/**
 * `GET /api/v1/chargers/{id}/frames`: the last frames of one charge point (session/trace.ts),
 * and with `?follow=1` the frames as they come, as Server-Sent Events:
 *
 *   event: frame          data: {"at":"2026-…Z","dir":"in","frame":"[2,\"1\",\"Heartbeat\",{}]"}
 *   event: dropped        data: {"count":3}      frames this reader was too slow for
 *   event: end            data: {}               the charge point disconnected; the stream ends
 *
 * Plain HTTP with the same `Authorization: Bearer` header as every route (a browser reads it
 * with fetch() and a stream reader; EventSource cannot send the header). A reader that does
 * not keep up is never buffered for without bound: past {@link MAX_SSE_BUFFERED} bytes unsent
 * a frame is dropped and counted (admin_sse_frames_dropped_total), and the reader is told.
 *
 * Frames are shown through the frame redactor (observability/redact.ts, as `log.frames`):
 * a viewer key must not read an AuthorizationKey. A frame with nothing to redact is shown as
 * it was on the wire.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Metrics } from '../observability/metrics.js'
import { redactFrame } from '../observability/redact.js'
import type { TracedFrame } from '../session/trace.js'

/** Bytes a follower may have unsent before frames for it are dropped. */
export const MAX_SSE_BUFFERED = 256 * 1024
/** A comment line this often, so idle proxies keep the stream open. */
const KEEPALIVE_MS = 15_000

export interface FrameView { at: string, dir: 'in' | 'out', frame: string, truncated?: true }

export function viewOfFrame (f: TracedFrame): FrameView {
  let shown = f.text
  if (!f.truncated) {
    const red = redactFrame(f.text)
    try {
      if (red !== JSON.stringify(JSON.parse(f.text))) shown = red
    } catch {
      shown = red
    }
  } else {
    shown = redactFrame(f.text)
  }
  return { at: new Date(f.at).toISOString(), dir: f.dir, frame: shown, ...(f.truncated ? { truncated: true as const } : {}) }
}

/** The open streams of one admin server, ended when it closes (before its socket closes). */
export class FrameStreams {
  private readonly open = new Set<() => void>()

  /**
   * Take over `res` as an event stream: `backlog` first, then what `subscribe` delivers until
   * it says the end (undefined), the reader goes away, or {@link closeAll}.
   */
  follow (req: IncomingMessage, res: ServerResponse, backlog: TracedFrame[], subscribe: (push: (f: TracedFrame | undefined) => void) => () => void, metrics: Metrics): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no'
    })
    res.flushHeaders()
    let dropped = 0
    let ended = false
    let unsubscribe: () => void = () => {}
    const write = (event: string, data: unknown): void => {
      if (ended) return
      if (res.writableLength > MAX_SSE_BUFFERED) {
        dropped++
        metrics.inc('admin_sse_frames_dropped_total')
        return
      }
      if (dropped > 0) {
        res.write(`event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n`)
        dropped = 0
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const end = (): void => {
      if (ended) return
      ended = true
      clearInterval(keepalive)
      unsubscribe()
      this.open.delete(end)
      res.end()
    }
    const keepalive = setInterval(() => { if (!ended && res.writableLength <= MAX_SSE_BUFFERED) res.write(': keepalive\n\n') }, KEEPALIVE_MS)
    keepalive.unref()
    for (const f of backlog) write('frame', viewOfFrame(f))
    unsubscribe = subscribe((f) => {
      if (f !== undefined) {
        write('frame', viewOfFrame(f))
        return
      }
      // Told always, even past the bound: the reader must learn that the stream is over.
      if (!ended) res.write('event: end\ndata: {}\n\n')
      end()
    })
    this.open.add(end)
    // The reader went away (its socket closed): the response's close, not the request's
    // (that one only says the request was read).
    res.on('close', end)
    res.on('error', end)
    void req
  }

  get size (): number { return this.open.size }

  closeAll (): void {
    for (const end of [...this.open]) end()
  }
}

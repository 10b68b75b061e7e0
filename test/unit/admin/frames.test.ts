/** frames.ts: the SSE writer's bound for slow readers, and how a frame is shown. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { FrameStreams, MAX_SSE_BUFFERED, viewOfFrame } from '../../../src/admin/frames.js'
import type { TracedFrame } from '../../../src/session/trace.js'
import { Metrics } from '../../../src/observability/metrics.js'

/** A response that buffers what it is given and reports `writableLength` as the test sets it. */
class FakeResponse extends EventEmitter {
  written = ''
  writableLength = 0
  ended = false
  writeHead (): this { return this }
  flushHeaders (): void {}
  write (s: string): boolean { this.written += s; return true }
  end (): void { this.ended = true }
}

const frame = (text: string): TracedFrame => ({ at: 0, dir: 'in', text, truncated: false })

test('a slow reader: frames past the bound are dropped and counted, then it is told how many', () => {
  const metrics = new Metrics()
  const res = new FakeResponse()
  let push: (f: TracedFrame | undefined) => void = () => {}
  const streams = new FrameStreams()
  streams.follow(new EventEmitter() as IncomingMessage, res as unknown as ServerResponse, [frame('[2,"a","Heartbeat",{}]')], (p) => { push = p; return () => {} }, metrics)
  assert.match(res.written, /event: frame\ndata: \{"at":"1970-01-01T00:00:00.000Z","dir":"in","frame":"\[2,\\"a\\",\\"Heartbeat\\",\{\}\]"\}\n\n/)
  res.writableLength = MAX_SSE_BUFFERED + 1
  push(frame('[2,"b","Heartbeat",{}]'))
  push(frame('[2,"c","Heartbeat",{}]'))
  assert.equal(metrics.get('admin_sse_frames_dropped_total'), 2)
  assert.ok(!res.written.includes('"b\\"'))
  res.writableLength = 0
  push(frame('[2,"d","Heartbeat",{}]'))
  assert.match(res.written, /event: dropped\ndata: \{"count":2\}\n\nevent: frame\ndata: [^\n]*\\"d\\"/)
  assert.equal(streams.size, 1)
  push(undefined)
  assert.match(res.written, /event: end\ndata: \{\}\n\n$/)
  assert.equal(res.ended, true)
  assert.equal(streams.size, 0)
})

test('the reader leaving, or closeAll, ends the stream and unsubscribes', () => {
  const streams = new FrameStreams()
  const res = new FakeResponse()
  let unsubscribed = 0
  streams.follow(new EventEmitter() as IncomingMessage, res as unknown as ServerResponse, [], () => () => { unsubscribed++ }, new Metrics())
  res.emit('close')
  assert.equal(unsubscribed, 1)
  const res2 = new FakeResponse()
  streams.follow(new EventEmitter() as IncomingMessage, res2 as unknown as ServerResponse, [], () => () => { unsubscribed++ }, new Metrics())
  streams.closeAll()
  assert.deepEqual([unsubscribed, res2.ended, streams.size], [2, true, 0])
})

test('a frame is shown as received unless the redactor changes it', () => {
  assert.equal(viewOfFrame(frame('[2, "a", "Heartbeat", {}]')).frame, '[2, "a", "Heartbeat", {}]')
  assert.match(viewOfFrame(frame('[2,"a","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret"}]')).frame, /REDACTED/)
  const cut = viewOfFrame({ at: 0, dir: 'out', text: '[2,"a","X",{"password":"p', truncated: true })
  assert.equal(cut.truncated, true)
})

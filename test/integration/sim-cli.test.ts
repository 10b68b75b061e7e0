/** `ocpp-gateway simulate` as a user runs it: flags, JSON summary, exit codes, workers. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { simulateMain } from '../../src/cli/simulate.js'
import { Histogram } from '../../src/sim/histogram.js'
import { Progress, formatProgress } from '../../src/sim/progress.js'
import { emptyCounters } from '../../src/sim/stats.js'
import { type SimSummary } from '../../src/sim/summary.js'
import { startWorkers } from '../../src/sim/workers.js'
import { startTestServer } from '../helpers/sim-server.js'

const T = { timeout: 20_000 }
const cliPath = fileURLToPath(new URL('../../src/cli/simulate.js', import.meta.url))

async function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr })
    })
  })
}

test('simulateMain writes the JSON summary and returns 0', T, async (t) => {
  const server = await startTestServer()
  const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'))
  t.after(async () => { await server.close(); await rm(dir, { recursive: true }) })
  const file = join(dir, 'summary.json')
  const code = await simulateMain(['--url', server.url, '-n', '3', '--calls', '4', '-s', 'heartbeat', '--json', file, '-q'])
  assert.equal(code, 0)
  const s = JSON.parse(await readFile(file, 'utf8')) as SimSummary
  assert.equal(s.count, 3)
  assert.equal(s.calls.results, 12)
  assert.equal(s.scenario, 'heartbeat')
  assert.equal(typeof s.simulator.cpuUserMs, 'number')
  assert.equal(typeof s.latencyMs.p99, 'number')
})

test('--help prints the usage; bad flags return 2', T, async () => {
  const help = await run(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /Usage: ocpp-gateway simulate/)
  assert.match(help.stdout, /--workers/)
  const bad = await run(['--url', 'ws://127.0.0.1:1/', '--count', 'x'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--count: not a number/)
  const missing = await run([])
  assert.equal(missing.code, 2)
  assert.equal(await simulateMain(['--url', 'http://x/']), 2)
})

test('run as a program: JSON on stdout, text summary on stderr; 1 when nothing connects', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const ok = await run(['--url', server.url, '-p', 'ocpp2.0.1', '-n', '2', '--calls', '3', '--json', '-'])
  assert.equal(ok.code, 0, ok.stderr)
  const s = JSON.parse(ok.stdout) as SimSummary
  assert.equal(s.protocol, 'ocpp2.0.1')
  assert.equal(s.calls.results, 6)
  assert.match(ok.stderr, /round trips\/s/)

  const port = server.port
  await server.close()
  const refused = await run(['--url', `ws://127.0.0.1:${port}/ocpp`, '-n', '2', '--json', '-', '-q'])
  assert.equal(refused.code, 1)
  assert.deepEqual((JSON.parse(refused.stdout) as SimSummary).connect.failedByKind, { refused: 2 })
})

test('--workers splits the chargers over processes and merges their summaries', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const sim = startWorkers({ url: server.url, count: 5, calls: 3, scenario: 'heartbeat', idStart: 10 }, 2)
  const s = await sim.done
  assert.equal(s.simulator.processes, 2)
  assert.equal(s.connect.succeeded, 5)
  assert.equal(s.calls.results, 15)
  assert.equal(s.calls.answered, server.sent.results)
  assert.equal(s.latencyMs.count > 0, true)
  assert.deepEqual([...server.conns.keys()].sort(), ['cp10', 'cp11', 'cp12', 'cp13', 'cp14'])
  const snap = sim.snapshot()
  assert.equal(snap.counters.results, 15)
})

test('--ids with --workers: each worker gets its slice of the ids', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const s = await startWorkers({ url: server.url, ids: ['a', 'b', 'c'], calls: 2, scenario: 'heartbeat' }, 2).done
  assert.equal(s.connect.succeeded, 3)
  assert.deepEqual([...server.conns.keys()].sort(), ['a', 'b', 'c'])
})

test('--workers: stop() ends an open-ended run in every worker', T, async (t) => {
  const server = await startTestServer()
  t.after(server.close)
  const sim = startWorkers({ url: server.url, count: 2, scenario: 'heartbeat' }, 2)
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => { if (server.sent.results >= 100) { clearInterval(poll); resolve() } }, 10)
  })
  sim.stop()
  const s = await sim.done
  assert.ok(s.calls.results >= 100)
  assert.equal(s.errors.total, 0)
  assert.equal(s.simulator.processes, 2)
})

test('the progress line: counts, rates from two snapshots, recent latency', () => {
  const counters = emptyCounters()
  const first = { atMs: 1000, counters: { ...counters }, recent: new Histogram().toJSON(), pendingConnects: 5 }
  const h = new Histogram()
  h.record(1500)
  h.record(80_000)
  const c2 = { ...emptyCounters(), open: 95, connectFailures: { refused: 2 }, messagesIn: 1000, messagesOut: 1000, results: 900, callErrors: { InternalError: 100 }, timeouts: 3 }
  const second = { atMs: 3000, counters: c2, recent: h.toJSON(), pendingConnects: 0 }
  const line = formatProgress(first, second, 100)
  assert.match(line, /connected 95\/100/)
  assert.match(line, /failed 2/)
  assert.match(line, /1,000 msg\/s/)
  assert.match(line, /500 rt\/s/)
  assert.match(line, /errors 103/)
  assert.match(line, /p50 1\.50 ms {2}p99 80\.0 ms/)
  assert.match(formatProgress(undefined, first, 100), /connecting 5/)
})

test('Progress writes plain lines when the stream is not a terminal', async () => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, cb) { lines.push(String(chunk)); cb() } })
  let n = 0
  const p = new Progress(() => ({ atMs: ++n * 10, counters: emptyCounters(), recent: new Histogram().toJSON(), pendingConnects: 0 }), { count: 1, stream, everyMs: 10 })
  p.start()
  await new Promise((resolve) => setTimeout(resolve, 60))
  p.stop()
  assert.ok(lines.length >= 1)
  for (const l of lines) assert.match(l, /^ +\d+ s {2}connected 0\/1 .*\n$/)
})

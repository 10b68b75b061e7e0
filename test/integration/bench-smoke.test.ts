/**
 * A short smoke run of `npm run bench` so that the harness cannot rot: every system, tiny N,
 * half-second windows, not pinned. It checks the shape of the result, never a timing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseBenchArgs, runBench } from '../../bench/run.js'
import { stopAll } from '../../bench/harness/procs.js'
import { systems } from '../../bench/harness/systems.js'

test('the bench runs each system and prints a table with a row per system', { timeout: 90_000 }, async (t) => {
  t.after(stopAll)
  const o = parseBenchArgs(['--quick', '--only', 'throughput', '--chargers', '3', '--duration', '0.5', '--warmup', '0', '--pin', 'off'])
  const expected = o.systems.filter((s) => systems[s].unavailable?.() === undefined)
  assert.ok(expected.includes('floor') && expected.includes('peer') && expected.includes('ours-embedded'))
  const report = await runBench({ ...o, log: () => {} }, 'bench smoke test')

  assert.deepEqual(report.results.map((r) => r.error).filter((e) => e !== undefined), [])
  const table = report.tables.find((x) => x.key === 'throughput-3')
  assert.ok(table !== undefined, 'a throughput table')
  assert.deepEqual(table.rows.map((r) => r[0]), expected)
  for (const r of report.results) {
    assert.ok((r.sim?.calls.roundTripsPerS ?? 0) > 0, `${r.system}: no round trips`)
    assert.equal(r.sim?.errors.total, 0, `${r.system}: errors`)
  }
  for (const s of expected) assert.match(report.text, new RegExp(`^${s} +[0-9,]+ `, 'm'))
  assert.match(report.text, /round trips\/s ours-embedded \/ floor/)
})

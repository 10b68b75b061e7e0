/**
 * The frame audit sink (log.audit, issue 14): a gateway on real sockets writes every frame of
 * the selected charge points, both directions, as JSON lines, redacted, and rotates the file by
 * size keeping `keep` rotated files.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connectChargePoint } from '../helpers/clients.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

interface Line { time: string, cid: string, dir: 'in' | 'out', frame: string }

async function waitFor (cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function lines (dir: string): Promise<Line[]> {
  const out: Line[] = []
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
    // The last piece is '' when the file ends with a whole line; else a line being written.
    const text = (await readFile(join(dir, f), 'utf8')).split('\n').slice(0, -1)
    for (const l of text) out.push(JSON.parse(l) as Line)
  }
  return out
}

describe('frame audit sink: selected chargers, both directions, redacted', () => {
  let dir: string
  let t: TestGateway
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-audit-'))
    t = await startTestGateway({ config: { log: { audit: { file: join(dir, 'frames'), chargers: ['AUD-*', 'ONE'] } } } })
  })
  after(async () => {
    await t?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  test('frames of AUD-1 and ONE are written in order with time and direction; OTHER is not; a password set by the backend is not', async () => {
    const a = await connectChargePoint(`${t.url}/AUD-1`, ['ocpp2.0.1'])
    const b = await connectChargePoint(`${t.url}/OTHER`, ['ocpp2.0.1'])
    const c = await connectChargePoint(`${t.url}/ONE`, ['ocpp1.6'])
    try {
      for (const [cp, cid] of [[a, 'AUD-1'], [b, 'OTHER'], [c, 'ONE']] as const) {
        cp.send([2, `hb-${cid}`, 'Heartbeat', {}])
        const m = await t.backend.inbox.wait((x) => x.topic === `ocpp/cp/${cid}` && x.json?.UniqueId === `hb-${cid}`, 5000, `${cid}'s Heartbeat on MQTT`)
        await t.backend.publish(`ocpp/cs/${cid}`, { MessageTypeId: 3, UniqueId: m.json?.UniqueId, Payload: { currentTime: '2026-12-04T00:00:00Z' } })
        await cp.frames.wait((f) => f[0] === 3 && f[1] === `hb-${cid}`, 5000, `${cid}'s answer`)
      }
      await t.backend.publish('ocpp/cs/AUD-1', {
        MessageTypeId: 2,
        UniqueId: 'pw1',
        Action: 'SetVariables',
        Payload: { setVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'BasicAuthPassword' }, attributeValue: 'super-secret-pw-1234' }] }
      })
      await a.frames.wait((f) => f[0] === 2 && f[1] === 'pw1', 5000, 'SetVariables at AUD-1')
    } finally {
      await Promise.all([a.close(), b.close(), c.close()])
    }
    // Written asynchronously: wait until the last frame is on disk.
    await waitFor(async () => (await lines(dir)).some((l) => l.frame.includes('pw1')), 5000, 'SetVariables in the audit file')
    const all = await lines(dir)
    assert.deepEqual([...new Set(all.map((l) => l.cid))].sort(), ['AUD-1', 'ONE'])
    const aud = all.filter((l) => l.cid === 'AUD-1')
    assert.deepEqual(aud.map((l) => [l.dir, JSON.parse(l.frame)[0], JSON.parse(l.frame)[1]]), [['in', 2, 'hb-AUD-1'], ['out', 3, 'hb-AUD-1'], ['out', 2, 'pw1']])
    assert.ok(all.every((l) => !Number.isNaN(Date.parse(l.time))), 'every line has an ISO time')
    assert.ok(!JSON.stringify(all).includes('super-secret-pw-1234'), 'the password never reaches the file')
    assert.match(aud[2]?.frame ?? '', /BasicAuthPassword/)
  })
})

describe('frame audit sink: rotation by size', () => {
  let dir: string
  let t: TestGateway
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocpp-gw-audit-roll-'))
    t = await startTestGateway({ config: { log: { audit: { file: join(dir, 'frames'), size: '1k', frequency: 'off', keep: 2 } } } })
  })
  after(async () => {
    await t?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  test('past 1 KiB the file rotates; at most keep + 1 files remain', async () => {
    const cp = await connectChargePoint(`${t.url}/ROLL`, ['ocpp1.6'])
    try {
      for (let i = 0; i < 60; i++) {
        cp.send([2, `m${i}`, 'DataTransfer', { vendorId: 'audit-test', data: 'x'.repeat(200) }])
        await t.backend.inbox.wait((x) => x.json?.UniqueId === `m${i}`, 5000, `DataTransfer ${i} on MQTT`)
        await t.backend.publish('ocpp/cs/ROLL', { MessageTypeId: 3, UniqueId: `m${i}`, Payload: { status: 'Accepted' } })
        await cp.frames.wait((f) => f[0] === 3 && f[1] === `m${i}`, 5000, `answer ${i}`)
      }
    } finally {
      await cp.close()
    }
    await waitFor(async () => (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).length >= 3, 5000, 'rotated files')
    // Old files are removed after a rotation, asynchronously.
    await waitFor(async () => (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).length <= 3, 5000, 'at most keep + 1 files')
    const files = (await readdir(dir)).filter((n) => n.endsWith('.jsonl'))
    assert.ok(files.every((f) => /^frames\.\d+\.jsonl$/.test(f)), files.join(', '))
    const kept = await lines(dir)
    assert.ok(kept.length > 0 && kept.every((l) => l.cid === 'ROLL'))
    // The newest frames survive, the oldest are gone with the removed files.
    assert.ok(kept.some((l) => l.frame.includes('"m59"')), 'the last frame is kept')
    assert.ok(!kept.some((l) => l.frame.includes('"m0"')), 'the first frame went with a removed file')
  })
})

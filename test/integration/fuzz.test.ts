/**
 * Seeded fuzz: many charge points throw random and mutated frames at the gateway while a
 * backend throws random envelopes at ocpp/cs/#. Bounded in count and time, reproducible
 * (FUZZ_SEED=n). Asserts the promise: every Call from a charge point is published or
 * answered; every backend Call with a readable id gets exactly one answer; the process
 * survives with no unhandled rejection; the gateway's state drains to nothing.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestGateway } from '../helpers/gateway.js'
import { connectChargePoint, type ChargePoint } from '../helpers/clients.js'

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const seed = Number(process.env.FUZZ_SEED ?? 20261125)
const CHARGERS = 12
const FRAMES_PER_CHARGER = 150
const ENVELOPES = 600

test(`fuzz (seed ${seed}): every message accounted for`, { timeout: 90_000 }, async () => {
  const rnd = mulberry32(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)

  const t = await startTestGateway({
    config: {
      message_format_checking: 'all',
      dnstream: { awaiting_timeout: '500ms', max_mqueue_len: 20 },
      listeners: { ws: { default: { websocket: { max_malformed_frames: 100000 } } } }
    }
  })
  try {
    const versions = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']
    const cps: ChargePoint[] = []
    for (let i = 0; i < CHARGERS; i++) {
      const cp = await connectChargePoint(`${t.url}/fz${i}`, [versions[i % 3] as string])
      // Answer the backend's Calls: mostly CallResult, sometimes CallError, sometimes silence.
      cp.ws.on('message', (d) => {
        const f = JSON.parse(String(d)) as unknown[]
        if (f[0] !== 2) return
        const r = rnd()
        if (r < 0.7) cp.send([3, f[1], {}])
        else if (r < 0.9) cp.send([4, f[1], 'InternalError', 'fuzz', {}])
      })
      cps.push(cp)
    }
    // Depth and width extremes (max_json_depth is 64; max_frame_size 256 KiB).
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n)
    const wide = (n: number): string => '[' + Array(n).fill('0').join(',') + ']'
    const extremes = (id: string): string[] => [
      `[2,"${id}","DataTransfer",{"vendorId":"v","data":${deep(5000)}}]`,
      `[2,"${id}","DataTransfer",{"vendorId":"v","data":${deep(65)}}]`,
      `[2,"${id}","DataTransfer",{"vendorId":"v","data":${deep(60)}}]`,
      `[2,"${id}","DataTransfer",{"vendorId":"v","data":${wide(20000)}}]`,
      `[2,"${id}","DataTransfer",{${Array.from({ length: 3000 }, (_, k) => `"k${k}":${k}`).join(',')}}]`,
      `[4,"zz","InternalError","x",{"d":${deep(5000)}}]`,
      `[5,"zz","InternalError","x",{"d":${deep(5000)}}]`,
      `[3,"zz",{"d":${wide(20000)}}]`
    ]
    const actions = ['Heartbeat', 'BootNotification', 'StatusNotification', 'MeterValues', 'Authorize', 'DataTransfer', 'NoSuchThing']
    const expectAnswer: number[] = new Array(CHARGERS).fill(0)
    const mutate = (text: string): string => {
      const r = rnd()
      const at = Math.floor(rnd() * text.length)
      if (r < 0.25) return text.slice(0, at)
      if (r < 0.5) return text.slice(0, at) + pick(['"', ',', '[', ']', '{', '}', '9', 'null', '\\']) + text.slice(at)
      if (r < 0.75) return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 5))
      return text.replace(/"[^"]*"/, JSON.stringify('x'.repeat(Math.floor(rnd() * 60))))
    }
    for (let n = 0; n < FRAMES_PER_CHARGER; n++) {
      for (let i = 0; i < CHARGERS; i++) {
        const cp = cps[i] as ChargePoint
        const id = `u${i}-${n}`
        const valid = JSON.stringify([2, id, pick(actions), rnd() < 0.5 ? {} : { connectorId: Math.floor(rnd() * 3), status: 'Available', errorCode: 'NoError' }])
        const r = rnd()
        let frame: string
        if (r < 0.35) frame = valid
        else if (r < 0.72) frame = mutate(valid)
        else if (r < 0.8) frame = pick(extremes(id))
        else frame = pick(['', '[]', '{}', 'null', '[2]', '[3,"zz",{}]', '[4,"zz","X","y",{}]', '[5,"q","X","",{}]', '[6,"s","A",{}]', '[2,"' + 'i'.repeat(40) + '","Heartbeat",{}]', '"str"', '[2,"a","b",[]]', String(rnd())])
        // Does the gateway owe this frame a publish or a CallError? A Call (or unreadable type)
        // yes; an answer (3/4/5) or a SEND never gets a CallError.
        let parsed: unknown
        try { parsed = JSON.parse(frame) } catch { parsed = undefined }
        const type = Array.isArray(parsed) ? parsed[0] : undefined
        const isAnswerOrSend = typeof type === 'number' && Number.isInteger(type) && [3, 4, 5, 6].includes(type) &&
          Array.isArray(parsed) && typeof parsed[1] === 'string' && parsed[1].length > 0 && parsed[1].length <= 36
        if (!isAnswerOrSend) expectAnswer[i] = (expectAnswer[i] ?? 0) + 1
        cp.send(frame)
      }
    }

    // The backend: random envelopes, Calls among them with unique ids.
    const backendCalls = new Set<string>()
    for (let n = 0; n < ENVELOPES; n++) {
      const cid = rnd() < 0.85 ? `fz${Math.floor(rnd() * CHARGERS)}` : `ghost${Math.floor(rnd() * 3)}`
      const id = `d${n}`
      const r = rnd()
      let payload: string
      if (r < 0.6) {
        payload = JSON.stringify({ MessageTypeId: 2, UniqueId: id, Action: pick(['Reset', 'DataTransfer', 'TriggerMessage', 'Bogus']), Payload: rnd() < 0.5 ? { type: 'Soft' } : {} })
        backendCalls.add(`${cid}/${id}`)
      } else if (r < 0.7) {
        payload = pick(['{', 'null', '[]', '{"MessageTypeId":2}', '{"UniqueId":7}', JSON.stringify({ MessageTypeId: 3, UniqueId: 'nope', Payload: {} })])
      } else if (r < 0.8) {
        // Depth and width extremes, each with a readable UniqueId: answered like any other.
        payload = pick([
          `{"MessageTypeId":2,"UniqueId":"${id}","Action":"DataTransfer","Payload":{"vendorId":"v","data":${deep(5000)}}}`,
          `{"MessageTypeId":2,"UniqueId":"${id}","Action":"Reset","Payload":{"type":"Soft","x":${wide(20000)}}}`,
          `{"MessageTypeId":2,"UniqueId":"${id}","Action":"DataTransfer","Payload":{"vendorId":"v","data":${deep(65)}}}`
        ])
        backendCalls.add(`${cid}/${id}`)
      } else {
        payload = JSON.stringify({ MessageTypeId: 2, UniqueId: id, Action: 'Reset', Payload: 'not an object' })
        backendCalls.add(`${cid}/${id}`)
      }
      void t.backend.client.publish(`ocpp/cs/${cid}`, payload, { qos: 1 })
    }

    // Wait until the charge points' side balances: each owed frame was published or answered.
    const published = (i: number): number => t.backend.inbox.items.filter((m) => m.topic === `ocpp/cp/fz${i}` && m.json?.MessageTypeId === 2).length
    const callErrors = (i: number): number => (cps[i] as ChargePoint).frames.items.filter((f) => f[0] === 4).length
    await t.backend.inbox.wait(() => cps.every((_cp, i) => published(i) + callErrors(i) >= (expectAnswer[i] as number)), 60_000, 'every charge point Call published or answered')
    // ...and every backend Call got exactly one answer (charge point's or the gateway's).
    const answersFor = (key: string): number => {
      const [cid, id] = key.split('/') as [string, string]
      return t.backend.inbox.items.filter((m) => m.topic === `ocpp/cp/${cid}/Reply` && m.json?.UniqueId === id).length
    }
    await t.backend.inbox.wait(() => [...backendCalls].every((k) => answersFor(k) >= 1), 20_000, 'an answer to every backend Call').catch((err: Error) => {
      const missing = [...backendCalls].filter((k) => answersFor(k) === 0)
      throw new Error(`${missing.length} backend Calls unanswered, e.g. ${missing.slice(0, 5).join(' ')}: ${err.message.slice(0, 200)}`)
    })
    await new Promise((resolve) => setTimeout(resolve, 800)) // a late duplicate would show up here
    for (let i = 0; i < CHARGERS; i++) assert.equal(published(i) + callErrors(i), expectAnswer[i], `charge point fz${i}: published + answered = owed`)
    for (const k of backendCalls) assert.equal(answersFor(k), 1, `exactly one answer for backend Call ${k}`)

    for (const cp of cps) await cp.close()
    await t.backend.inbox.wait(() => t.gw.sessions.size === 0, 5000, 'registry empty')
    assert.equal(t.gw.metrics.sessions, 0)
    assert.deepEqual(unhandled, [])
    assert.ok(t.gw.metrics.counters.frames_malformed_total > 100, 'the fuzz did produce malformed frames')
  } finally {
    process.off('unhandledRejection', onUnhandled)
    await t.stop()
  }
})

/** Test peers: a charge point (ws client) and a backend (MQTT.js client), with waiters. */
import { once } from 'node:events'
import WebSocket from 'ws'
import mqtt, { type MqttClient } from 'mqtt'

export const silentLogger = undefined

/** Collects items and lets a test wait for one matching a predicate, with a timeout. */
export class Inbox<T> {
  readonly items: T[] = []
  private waiters: Array<{ pred: (t: T) => boolean, resolve: (t: T) => void }> = []

  push (item: T): void {
    this.items.push(item)
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(item)) return true
      w.resolve(item)
      return false
    })
  }

  /** The first item (already received or future) matching pred. */
  wait (pred: (t: T) => boolean = () => true, timeoutMs = 5000, what = 'message'): Promise<T> {
    const found = this.items.find(pred)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.items.length}: ${JSON.stringify(this.items.slice(-5))}`)), timeoutMs)
      this.waiters.push({ pred, resolve: (t) => { clearTimeout(timer); resolve(t) } })
    })
  }

  /** Remove and return everything received so far. */
  drain (): T[] { return this.items.splice(0) }
}

export interface ChargePoint {
  ws: WebSocket
  protocol: string
  frames: Inbox<unknown[]>
  raw: Inbox<string>
  closed: Promise<{ code: number, reason: string }>
  send: (frame: unknown[] | string) => void
  close: () => Promise<void>
}

export async function connectChargePoint (url: string, protocols: string[] = ['ocpp1.6'], opts: WebSocket.ClientOptions = {}): Promise<ChargePoint> {
  const ws = new WebSocket(url, protocols, opts)
  const frames = new Inbox<unknown[]>()
  const raw = new Inbox<string>()
  ws.on('message', (data) => {
    const text = (data as Buffer).toString()
    raw.push(text)
    try { frames.push(JSON.parse(text) as unknown[]) } catch { frames.push(['unparseable', text]) }
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode ?? 0}: ${body.trim()}`), { status: res.statusCode, body: body.trim() })))
    })
  })
  return {
    ws,
    protocol: ws.protocol,
    frames,
    raw,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return
      ws.close()
      await once(ws, 'close')
    }
  }
}

/** Attempt an upgrade that should fail; resolves with the HTTP status and body. */
export async function expectRejected (url: string, protocols: string[] | undefined, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> {
  try {
    const cp = await connectChargePoint(url, protocols, { headers })
    await cp.close()
  } catch (err) {
    const e = err as { status?: number, body?: string }
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '' }
    throw err
  }
  throw new Error(`connection to ${url} was accepted`)
}

export interface Message { topic: string, json: any, raw: string }

export interface Backend {
  client: MqttClient
  inbox: Inbox<Message>
  publish: (topic: string, value: unknown, qos?: 0 | 1 | 2) => Promise<void>
  close: () => Promise<void>
}

/** Messages a client receives, parsed when JSON, with a waiter. */
export function inboxOf (client: MqttClient): Inbox<Message> {
  const inbox = new Inbox<Message>()
  client.on('message', (topic, payload) => {
    const raw = payload.toString()
    let json: unknown
    try { json = JSON.parse(raw) } catch { json = undefined }
    inbox.push({ topic, json, raw })
  })
  return inbox
}

export async function connectBackend (url: string, subscriptions: string[] = ['ocpp/#']): Promise<Backend> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, clientId: `test-backend-${Math.random().toString(16).slice(2)}` })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  const inbox = inboxOf(client)
  if (subscriptions.length > 0) await client.subscribeAsync(subscriptions, { qos: 2 })
  return {
    client,
    inbox,
    publish: async (topic, value, qos = 1) => { await client.publishAsync(topic, typeof value === 'string' ? value : JSON.stringify(value), { qos }) },
    close: async () => { await client.endAsync() }
  }
}

/** Resolves once `condition()` holds (checked every 10 ms); rejects after `timeoutMs`. */
export async function waitFor (condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${condition.toString()}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

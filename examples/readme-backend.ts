import { connectBackend, GatewayAnswerError } from '../src/backend/index.js'

const backend = await connectBackend({ url: 'mqtt://localhost:1883' })
const now = (): string => new Date().toISOString()
let transactions = 0

// Every version: the request and answer types are the union of the versions' schemas.
backend.handle('BootNotification', () => ({ status: 'Accepted', currentTime: now(), interval: 300 }))
backend.handle('Heartbeat', () => ({ currentTime: now() }))
backend.handle('StatusNotification', () => ({}))
backend.handle('MeterValues', (ctx, req) => { console.log(ctx.cid, JSON.stringify(req)); return {} })
// One version: exactly its types.
backend.version('1.6')
  .handle('Authorize', (_ctx, req) => ({ idTagInfo: { status: req.idTag === 'BLOCKED' ? 'Blocked' : 'Accepted' } }))
  .handle('StartTransaction', () => ({ transactionId: ++transactions, idTagInfo: { status: 'Accepted' } }))
  .handle('StopTransaction', () => ({}))
backend.version('2.0.1')
  .handle('Authorize', () => ({ idTokenInfo: { status: 'Accepted' } }))
  .handle('TransactionEvent', () => ({}))

backend.on('connected', (e) => {
  if (e.version !== '1.6') return
  backend.version('1.6').call(e.cid, 'GetConfiguration', { key: ['HeartbeatInterval'] }, { timeout: 10_000 })
    .then((conf) => console.log(e.cid, conf.configurationKey))
    .catch((err: unknown) => {
      if (err instanceof GatewayAnswerError) console.log(e.cid, 'gateway says', err.reason) // offline, timeout, queue_full…
      else console.log(e.cid, 'refused or no answer:', (err as Error).message) // ChargerCallError, CallTimeoutError
    })
})

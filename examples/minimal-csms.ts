/**
 * A minimal CSMS on the backend SDK. With the gateway running (`npm start`):
 *
 *   node dist/examples/minimal-csms.js --mqtt-url mqtt://localhost:1883
 *
 * accepts every boot (interval 300 s), authorizes every id tag (or those of `--id-tags A,B`),
 * keeps transactions with their meter values, and reads commands from stdin (a REPL):
 *
 *   list                                  connected chargers
 *   reset CP1 [soft|hard]                 Reset
 *   start CP1 [idTag] [connector]         RemoteStartTransaction / RequestStartTransaction
 *   stop CP1 <transactionId>              RemoteStopTransaction / RequestStopTransaction
 *   trigger CP1 <message>                 TriggerMessage (e.g. StatusNotification)
 *   get CP1 [key | Component.Variable]…   GetConfiguration / GetVariables
 *   set CP1 <key | Component.Variable> <value>   ChangeConfiguration / SetVariables
 *   call CP1 <Action> <json>              any Call
 *   transactions                          what was charged
 *
 * `--exec "reset CP1 soft"` (repeatable) runs commands once the backend is connected.
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { connectBackend, type AnyAction, type Backend } from '../src/backend/index.js'
import { commands, installCsms, type CsmsState } from './csms.js'

const usage = 'usage: node dist/examples/minimal-csms.js --mqtt-url mqtt://HOST:PORT [--username U --password P] [--mountpoint ocpp/] [--interval 300] [--id-tags A,B] [--share-group G] [--exec "command"]…'

const { values } = parseArgs({
  options: {
    'mqtt-url': { type: 'string', default: 'mqtt://localhost:1883' },
    username: { type: 'string' },
    password: { type: 'string' },
    mountpoint: { type: 'string', default: 'ocpp/' },
    interval: { type: 'string', default: '300' },
    'id-tags': { type: 'string' },
    'share-group': { type: 'string' },
    exec: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean', short: 'h' }
  }
})
if (values.help === true) {
  console.log(usage)
  process.exit(0)
}

const print = (line: string): void => { console.log(`${new Date().toISOString()} ${line}`) }

async function run (backend: Backend, state: CsmsState, line: string): Promise<void> {
  const [cmd, ...args] = line.trim().split(/\s+/)
  if (cmd === undefined || cmd === '') return
  const ops = commands(backend)
  try {
    if (cmd === 'list') {
      for (const c of backend.chargers()) print(`${c.cid} OCPP ${c.version ?? '?'} since ${c.connectedAt ?? '?'} on ${c.node ?? '?'}`)
    } else if (cmd === 'transactions') {
      for (const t of state.transactions.values()) print(`${t.cid} tx ${t.id} ${t.idTag ?? ''} ${t.startedAt} → ${t.stoppedAt ?? 'open'}, meter ${t.meterWh.join(',')} Wh`)
    } else if (cmd === 'call') {
      const [cid = '', action = '', json = '{}'] = [args[0], args[1], args.slice(2).join(' ') || undefined]
      print(`${cmd} ${cid} → ${JSON.stringify(await backend.call(cid, action as AnyAction, JSON.parse(json) as never))}`)
    } else if (cmd === 'help') {
      print('commands: list, transactions, reset, start, stop, trigger, get, set, call (see examples/minimal-csms.ts)')
    } else {
      const op = ops[cmd]
      const [cid, ...rest] = args
      if (op === undefined || cid === undefined) { print(`unknown command or no charger: ${line.trim()} (try help)`); return }
      print(`${cmd} ${cid} → ${JSON.stringify(await op(cid, ...rest))}`)
    }
  } catch (err) {
    print(`${cmd} failed: ${(err as Error).message}`)
  }
}

const backend = await connectBackend({
  url: values['mqtt-url'],
  mountpoint: values.mountpoint,
  ...(values.username === undefined ? {} : { username: values.username }),
  ...(values.password === undefined ? {} : { password: values.password }),
  ...(values['share-group'] === undefined ? {} : { shareGroup: values['share-group'] }),
  logger: pino({ level: 'warn' }, pino.destination(2))
})
const idTags = values['id-tags']?.split(',').filter((t) => t !== '')
const state = installCsms(backend, { interval: Number(values.interval), print, ...(idTags === undefined ? {} : { idTags }) })
backend.on('brokerDown', (err) => print(`MQTT connection lost${err === undefined ? '' : `: ${err.message}`} (reconnecting)`))
backend.on('brokerUp', () => print('MQTT connection back'))
print(`CSMS connected to ${values['mqtt-url']}; ${idTags === undefined ? 'every id tag is accepted' : `id tags: ${idTags.join(', ')}`}. Type help.`)

for (const line of values.exec) await run(backend, state, line)

// Commands from stdin, one at a time; at the end of stdin the CSMS keeps running.
const rl = createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true })
let queue = Promise.resolve()
rl.on('line', (line) => { queue = queue.then(() => run(backend, state, line)) })

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1)
    stopping = true
    rl.close()
    backend.close().then(() => process.exit(0), () => process.exit(1))
  })
}

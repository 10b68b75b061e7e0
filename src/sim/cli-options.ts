/** Command-line flags of `ocpp-gateway simulate`, parsed with node:util parseArgs. */
import { parseArgs } from 'node:util'
import { type JsonObject } from '../ocpp/frame.js'
import { SCENARIOS, SIM_PROTOCOLS, type Scenario, type SimOptions, type SimProtocol, SimOptionError } from './options.js'

export const simFlagSpec = {
  url: { type: 'string', short: 'u' },
  protocol: { type: 'string', short: 'p' },
  count: { type: 'string', short: 'n' },
  'id-prefix': { type: 'string' },
  'id-start': { type: 'string' },
  ids: { type: 'string' },
  ramp: { type: 'string' },
  'max-pending': { type: 'string' },
  'boot-after-connect': { type: 'boolean' },
  duration: { type: 'string', short: 'd' },
  warmup: { type: 'string' },
  rate: { type: 'string' },
  scenario: { type: 'string', short: 's' },
  'meter-size': { type: 'string' },
  heartbeat: { type: 'string' },
  calls: { type: 'string' },
  'first-id': { type: 'string' },
  'boot-payload': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  sources: { type: 'string' },
  'call-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  reconnect: { type: 'string' },
  workers: { type: 'string', short: 'w' },
  json: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' }
} as const

export const simUsage = `Usage: ocpp-gateway simulate --url ws://HOST:PORT/PATH [options]

Simulates charge points against any OCPP-J endpoint (this gateway or any CSMS). Each charger
connects to URL/<id> (id percent-encoded), boots, and runs the scenario; it answers the
server's Calls (Reset, RemoteStart/Stop, GetConfiguration/GetVariables, SetVariables,
ChangeConfiguration, TriggerMessage, DataTransfer; others get a NotImplemented CallError).

Options:
  -u, --url URL              endpoint; the charger id is appended as the last path segment
  -p, --protocol P           ${SIM_PROTOCOLS.join(' | ')}                   [ocpp1.6]
  -n, --count N              number of charge points                         [1]
      --id-prefix S          ids are S1, S2, ... SN                          [cp]
      --id-start K           number of the first id                          [1]
      --ids A,B,...          explicit charger ids instead (e.g. --ids
                             chargePointSim); --count defaults to their number
      --ramp R               new connections per second, 0 = at once         [0]
      --max-pending N        at most N handshakes in progress, 0 = no limit  [0]
      --boot-after-connect   hold the boots until every charger's first attempt
                             settled: the connect phase measures connects alone
  -d, --duration S           seconds to run once all have connected; 0 = until
                             every charger sent --calls Calls, or Ctrl-C       [0]
      --warmup S             seconds between the connect phase and the
                             measurement window (boots left out)         [0]
      --rate M               scenario Calls per second per charger;
                             0 = closed loop (next Call as soon as answered) [0]
  -s, --scenario S           ${SCENARIOS.join(' | ')}
                                                                             [session]
                               session: status, authorize, start, meter values, stop
                               (1.6) / TransactionEvent Started-Updated-Ended (2.x;
                               2.1 also streams the meter as NotifyPeriodicEventStream
                               SENDs), in a loop, plus Heartbeats at the interval
                               heartbeat | boot | metervalues: that Call in a loop
                               idle: boot, status, then Heartbeats at the interval
                               frames: every message type of the version in a loop
                               (2.1: a SEND and a CALLRESULTERROR too)
      --meter-size BYTES     pad MeterValues payloads to about BYTES         [natural]
      --heartbeat S          heartbeat interval, overrides the boot answer's
      --calls N              each charger stops after N Calls (boot included)
      --first-id ID          UniqueId of the first Call (the BootNotification); the
                             next ones count on from its number: 19223201,
                             19223202, ...                                   [1]
      --boot-payload JSON    BootNotification payload instead of the simulator's,
                             e.g. '{"chargePointVendor":"VendorX",
                             "chargePointModel":"SingleSocketCharger"}'
      --username U           Basic auth user (\${id} = charger id)            [the id]
      --password P           Basic auth password (\${id} = charger id)
      --sources A,B,...      local addresses, round-robin per charger (e.g.
                             127.0.0.1,127.0.0.2): one address has ~28,000 ports
      --call-timeout S       seconds to wait for an answer                   [30]
      --connect-timeout S    seconds for the WebSocket handshake             [10]
      --reconnect S          reconnect after S seconds when a connection is
                             lost or refused; 0 = never                      [0]
  -w, --workers K            split the chargers over K child processes       [1]
      --json FILE|-          write the JSON summary to FILE (- = stdout)
  -q, --quiet                no progress and no text summary
  -h, --help                 this text

Limits: a process may open at most 20,000 files here, and each charger holds one socket.
Above about 9,000 chargers per process use --workers (or several simulator processes with
--id-start and --sources), so each process stays below the limit.

Exit codes: 0 the run completed; 1 no charger could connect; 2 bad options.
`

export interface SimCliOptions {
  sim: SimOptions
  workers: number
  json: string | undefined
  quiet: boolean
  help: boolean
}

function jsonObject (flag: string, v: string | undefined): JsonObject | undefined {
  if (v === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(v)
  } catch {
    throw new SimOptionError(`--${flag}`, `not JSON: ${JSON.stringify(v.slice(0, 80))}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SimOptionError(`--${flag}`, 'expected a JSON object')
  return parsed as JsonObject
}

function number (flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n)) throw new SimOptionError(`--${flag}`, `not a number: ${JSON.stringify(v)}`)
  return n
}

/** Parse `simulate` flags; throws SimOptionError (or parseArgs' TypeError) on bad input. */
export function parseSimArgs (argv: string[]): SimCliOptions {
  const { values: v, positionals } = parseArgs({ args: argv, options: simFlagSpec, allowPositionals: true, strict: true })
  if (positionals.length > 0) throw new SimOptionError('arguments', `unexpected ${JSON.stringify(positionals[0])}`)
  const help = v.help === true
  if (!help && v.url === undefined) throw new SimOptionError('--url', 'is required')
  let protocol = v.protocol
  // Accept the bare version too: "1.6" means "ocpp1.6".
  if (protocol !== undefined && !protocol.startsWith('ocpp')) protocol = `ocpp${protocol}`
  const workers = number('workers', v.workers) ?? 1
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new SimOptionError('--workers', 'expected an integer from 1 to 64')
  const sim: SimOptions = {
    url: v.url ?? '',
    protocol: protocol as SimProtocol | undefined,
    count: number('count', v.count),
    idPrefix: v['id-prefix'],
    idStart: number('id-start', v['id-start']),
    ramp: number('ramp', v.ramp),
    maxPending: number('max-pending', v['max-pending']),
    bootAfterConnect: v['boot-after-connect'] === true,
    duration: number('duration', v.duration),
    rate: number('rate', v.rate),
    scenario: v.scenario as Scenario | undefined,
    meterSize: number('meter-size', v['meter-size']),
    heartbeat: number('heartbeat', v.heartbeat),
    calls: number('calls', v.calls),
    username: v.username,
    password: v.password,
    sources: v.sources?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    callTimeout: number('call-timeout', v['call-timeout']),
    connectTimeout: number('connect-timeout', v['connect-timeout']),
    reconnect: number('reconnect', v.reconnect),
    ...(v.warmup !== undefined ? { warmup: number('warmup', v.warmup) } : {}),
    ...(v['first-id'] !== undefined ? { firstId: v['first-id'] } : {}),
    ...(v['boot-payload'] !== undefined ? { bootPayload: jsonObject('boot-payload', v['boot-payload']) } : {}),
    ...(v.ids !== undefined ? { ids: v.ids.split(',').map((s) => s.trim()) } : {})
  }
  return { sim, workers, json: v.json, quiet: v.quiet === true, help }
}

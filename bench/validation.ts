/**
 * Micro-benchmark: payload validation against JSON.parse of the same frame, same run.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/validation.js [--time-ms=200] [--rounds=5]
 *
 * For each frame: JSON.parse of the whole frame text, validation of the (already parsed)
 * payload, and both together, in operations per second, alternating in each round; the
 * ratios to JSON.parse are taken per round and the median reported.
 */
import { createValidators } from '../src/schema/index.js'
import type { OcppVersion } from '../src/ocpp/dialect.js'

const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  const n = hit === undefined ? NaN : Number(hit.slice(name.length + 3))
  return Number.isFinite(n) && n > 0 ? n : fallback
}
const TIME_MS = arg('time-ms', 200)
const ROUNDS = arg('rounds', 5)

const ts = (i: number): string => new Date(Date.UTC(2024, 4, 6, 7, 8, 9) + i * 60_000).toISOString()

function bootNotification16 (): object {
  return {
    chargePointVendor: 'VendorX',
    chargePointModel: 'AC-22-T2S',
    chargePointSerialNumber: 'CP-2024-000123',
    chargeBoxSerialNumber: 'CB-2024-000123',
    firmwareVersion: '4.2.1-rc3+build.778',
    iccid: '8931440400000000000',
    imsi: '204080000000000',
    meterType: 'EM340-DIN',
    meterSerialNumber: 'MTR-99887766'
  }
}

const measurands16: Array<[string, string | undefined, string]> = [
  ['Energy.Active.Import.Register', undefined, 'Wh'], ['Energy.Reactive.Import.Register', undefined, 'varh'],
  ['Power.Active.Import', undefined, 'W'], ['Power.Reactive.Import', undefined, 'var'], ['Power.Offered', undefined, 'W'],
  ['Current.Import', 'L1', 'A'], ['Current.Import', 'L2', 'A'], ['Current.Import', 'L3', 'A'], ['Current.Offered', undefined, 'A'],
  ['Voltage', 'L1-N', 'V'], ['Voltage', 'L2-N', 'V'], ['Voltage', 'L3-N', 'V'],
  ['Power.Active.Import', 'L1', 'W'], ['Power.Active.Import', 'L2', 'W'], ['Power.Active.Import', 'L3', 'W'],
  ['Frequency', undefined, 'Hz'], ['Temperature', undefined, 'Celsius'], ['SoC', undefined, 'Percent'],
  ['Power.Factor', undefined, 'Percent'], ['Energy.Active.Export.Register', undefined, 'Wh']
]

function meterValues16 (meterValues: number, sampled: number): object {
  return {
    connectorId: 1,
    transactionId: 123456,
    meterValue: Array.from({ length: meterValues }, (_, i) => ({
      timestamp: ts(i),
      sampledValue: Array.from({ length: sampled }, (_, j) => {
        const [measurand, phase, unit] = measurands16[j % measurands16.length] as [string, string | undefined, string]
        const sv: Record<string, string> = { value: (1000 + i * 37.5 + j).toFixed(1), context: 'Sample.Periodic', format: 'Raw', measurand, location: measurand === 'SoC' ? 'EV' : 'Outlet', unit }
        if (phase !== undefined) sv.phase = phase
        if (unit === 'Hz') delete sv.unit // no Hz in the 1.6 unit enum: frequency is sent without unit
        return sv
      })
    }))
  }
}

function notifyReport201 (items: number): object {
  const components = ['ChargingStation', 'EVSE', 'Connector', 'OCPPCommCtrlr', 'SecurityCtrlr', 'TxCtrlr', 'SampledDataCtrlr', 'AuthCtrlr']
  return {
    requestId: 42,
    generatedAt: ts(0),
    tbc: false,
    seqNo: 0,
    reportData: Array.from({ length: items }, (_, i) => {
      const name = components[i % components.length] as string
      const evse = name === 'EVSE' || name === 'Connector' ? { evse: { id: 1 + (i % 2), ...(name === 'Connector' ? { connectorId: 1 } : {}) } } : {}
      const numeric = i % 3 === 0
      return {
        component: { name, ...evse },
        variable: { name: `Variable${i}`, ...(i % 4 === 0 ? { instance: 'Default' } : {}) },
        variableAttribute: [
          { type: 'Actual', value: numeric ? String(i * 10) : `value-${i}`, mutability: i % 2 === 0 ? 'ReadWrite' : 'ReadOnly', persistent: true, constant: false },
          ...(numeric ? [{ type: 'MaxSet', value: String(i * 100), mutability: 'ReadOnly' }] : [])
        ],
        variableCharacteristics: numeric
          ? { unit: 'W', dataType: 'integer', minLimit: 0, maxLimit: i * 100, supportsMonitoring: true }
          : { dataType: 'OptionList', valuesList: 'Available,Occupied,Reserved,Unavailable,Faulted', supportsMonitoring: false }
      }
    })
  }
}

function transactionEvent201 (): object {
  return {
    eventType: 'Updated',
    timestamp: ts(0),
    triggerReason: 'MeterValuePeriodic',
    seqNo: 17,
    transactionInfo: { transactionId: 'f3a9c2e4-1b2d-4c5e-8f90-123456789abc', chargingState: 'Charging' },
    evse: { id: 1, connectorId: 1 },
    meterValue: [{
      timestamp: ts(0),
      sampledValue: [
        { value: 12345.6, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
        { value: 11040, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
        { value: 16.1, measurand: 'Current.Import', phase: 'L1' },
        { value: 54, measurand: 'SoC', location: 'EV' }
      ]
    }]
  }
}

interface Case { name: string, version: OcppVersion, action: string, payload: object }

const cases: Case[] = [
  { name: 'BootNotification 1.6', version: '1.6', action: 'BootNotification', payload: bootNotification16() },
  { name: 'MeterValues 1.6 (10 x 20 sampledValue)', version: '1.6', action: 'MeterValues', payload: meterValues16(10, 20) },
  { name: 'TransactionEvent 2.0.1', version: '2.0.1', action: 'TransactionEvent', payload: transactionEvent201() },
  { name: 'NotifyReport 2.0.1 (200 reportData)', version: '2.0.1', action: 'NotifyReport', payload: notifyReport201(200) }
]

let sink = 0

/** Operations per second of `fn` over TIME_MS. */
function rate (fn: () => unknown): number {
  let ops = 0
  const start = process.hrtime.bigint()
  const end = start + BigInt(TIME_MS) * 1_000_000n
  let now = start
  while (now < end) {
    for (let k = 0; k < 16; k++) { if (fn() !== null) sink++ }
    ops += 16
    now = process.hrtime.bigint()
  }
  return ops / (Number(now - start) / 1e9)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/**
 * The three measurements alternate within each round, so that load from elsewhere on the
 * machine hits them alike; ratios are taken per round, then the median of the rounds.
 */
function measure (fns: Array<() => unknown>): { rates: number[], ratios: number[] } {
  const perRound: number[][] = []
  for (let r = 0; r < ROUNDS; r++) perRound.push(fns.map(rate))
  const rates = fns.map((_, i) => median(perRound.map((round) => round[i] as number)))
  const ratios = fns.map((_, i) => median(perRound.map((round) => (round[0] as number) / (round[i] as number))))
  return { rates, ratios }
}

function fmt (n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0)
}

// Start-up: what the gateway pays once.
let t = performance.now()
const validators = createValidators()
const lazyMs = performance.now() - t
t = performance.now()
createValidators({ compile: 'eager' })
const eagerMs = performance.now() - t

console.log(`node ${process.version}, ${ROUNDS} rounds of ${TIME_MS} ms per measurement, medians`)
console.log(`start-up: createValidators() lazy ${lazyMs.toFixed(0)} ms; eager compile of all 387 schemas ${eagerMs.toFixed(0)} ms`)
console.log('')

const rows: string[][] = [['frame', 'bytes', 'first call', 'JSON.parse/s', 'validate/s', 'parse+validate/s', 'validate/parse', 'parse+validate/parse']]
for (const c of cases) {
  const text = JSON.stringify([2, 'a7f3b1c2-0d4e-4f5a-9b6c-7d8e9f0a1b2c', c.action, c.payload])
  const frame = JSON.parse(text) as [number, string, string, object]
  const payload = frame[3]
  t = performance.now()
  const first = validators.validateRequest(c.version, c.action, payload)
  const firstMs = performance.now() - t
  if (first !== null) throw new Error(`${c.name} is not valid: ${first.message}`)
  const { rates: [parse = 0, validate = 0, both = 0], ratios: [, validateRatio = 0, bothRatio = 0] } = measure([
    () => JSON.parse(text) as unknown,
    () => validators.validateRequest(c.version, c.action, payload),
    () => validators.validateRequest(c.version, c.action, (JSON.parse(text) as [number, string, string, object])[3])
  ])
  rows.push([c.name, String(Buffer.byteLength(text)), `${firstMs.toFixed(1)} ms`, fmt(parse), fmt(validate), fmt(both), validateRatio.toFixed(2), bothRatio.toFixed(2)])
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, j) => j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)).join('  '))
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
}
console.log('')
console.log('first call: the lazy compile of that action\'s schema plus one validation.')
console.log('validate/parse: time of one validation of an already parsed payload, in JSON.parse times.')
console.log('parse+validate/parse: time to parse and validate a fresh frame, in JSON.parse times (1.00 = free).')
if (sink < 0) console.log(sink)

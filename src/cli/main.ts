#!/usr/bin/env node
/** `ocpp-gateway`: a thin shell over startGateway(): flags, signals, exit codes. */
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildConfig, configFromEnv, loadConfigFile, type GatewayConfig } from '../config/load.js'
import { startEmbeddedBroker, startGateway } from '../gateway.js'
import { createLogger } from '../observability/logger.js'
import { parseFlags, usage } from './options.js'
import { reportReady, runPrimary, workerIndex, workerMqtt } from './workers.js'
import { randomBytes } from 'node:crypto'

function packageVersion (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

export async function main (argv: string[]): Promise<number> {
  const sub = argv[0]
  if (sub === 'simulate' || sub === 'passwd' || sub === 'apikey') {
    const mod = await import(`./${sub}.js`) as Record<string, (a: string[]) => Promise<number>>
    const fn = mod[`${sub}Main`]
    if (fn === undefined) { process.stderr.write(`ocpp-gateway: "${sub}" is not available in this build\n`); return 2 }
    return await fn(argv.slice(1))
  }
  let flags
  try {
    flags = parseFlags(argv)
  } catch (err) {
    process.stderr.write(`ocpp-gateway: ${(err as Error).message}\n\n${usage}`)
    return 2
  }
  if (flags.help) { process.stdout.write(usage); return 0 }
  if (flags.version) { process.stdout.write(packageVersion() + '\n'); return 0 }

  let config
  try {
    const file = flags.configFile ?? process.env.OCPP_GW_CONFIG
    const layers = [file !== undefined ? await loadConfigFile(file) : {}, configFromEnv(process.env), flags.tree]
    config = buildConfig(layers)
    const worker = workerIndex()
    if (worker !== undefined) {
      // A worker: its own node id when one is configured (else hostname-pid is its own), no admin
      // server, and the primary's embedded broker as its external one.
      const mqtt = workerMqtt()
      config = buildConfig([...layers, {
        admin: { bind: 'off' },
        ...(config.nodeId !== '' ? { node_id: `${config.nodeId}-w${worker}` } : {}),
        ...(mqtt !== undefined ? { mqtt } : {})
      }])
    }
  } catch (err) {
    process.stderr.write(`ocpp-gateway: configuration error: ${(err as Error).message}\n`)
    return 2
  }
  if (flags.printConfig) {
    process.stdout.write(JSON.stringify(config.redacted, null, 2) + '\n')
    return 0
  }

  const log = createLogger(config.log.level)
  if (config.workers > 1 && workerIndex() === undefined) return await primary(config, log)
  let gateway
  try {
    gateway = await startGateway(config, { logger: log })
  } catch (err) {
    log.fatal({ code: (err as { code?: string }).code }, (err as Error).message)
    return 1
  }
  log.info({
    ocpp: gateway.listeners.map((l) => `${l.config.type}://${l.config.host}:${l.port}${l.config.path}/{id}`),
    mqtt: config.mqtt.url !== '' ? 'external' : { embedded: { tcp: gateway.mqttPort ?? 'off', ws: gateway.mqttWsPort ?? 'off', tls: gateway.mqttTlsPort ?? 'off', wss: gateway.mqttWssPort ?? 'off' } }
  }, 'ocpp-gateway started')
  reportReady()

  return await new Promise<number>((resolve) => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      if (++signals > 1) {
        log.warn({ signal }, 'second signal: exiting now')
        process.exit(130)
      }
      log.info({ signal }, 'stopping')
      gateway.close().then(() => resolve(0), (err: Error) => {
        log.error({ err: err.message }, 'error while stopping')
        resolve(1)
      })
    }
    // A worker stops when the primary says so (SIGTERM); a terminal's Ctrl-C reaches the primary too.
    process.on('SIGINT', workerIndex() === undefined ? onSignal : () => {})
    process.on('SIGTERM', onSignal)
    // SIGHUP re-reads what can change without a restart (wss certificates); with nothing to
    // re-read it does nothing, and never ends the process (Node's default for SIGHUP).
    process.on('SIGHUP', () => {
      log.info({ signal: 'SIGHUP' }, 'reloading')
      gateway.reload().catch((err: Error) => log.error({ err: err.message }, 'reload failed'))
    })
  })
}

/** The primary of --workers N: the embedded broker when there is no external one, then the workers. */
async function primary (config: GatewayConfig, log: ReturnType<typeof createLogger>): Promise<number> {
  if (config.mqtt.url !== '') return await runPrimary(config.workers, log)
  const internal = { username: 'ocpp-gateway-worker', password: randomBytes(24).toString('base64url') }
  let broker
  try {
    broker = await startEmbeddedBroker(config, log, internal)
  } catch (err) {
    log.fatal({ code: (err as { code?: string }).code }, (err as Error).message)
    return 1
  }
  const host = config.mqtt.embedded.bind?.host ?? '127.0.0.1'
  const url = `mqtt://${host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host}:${broker.tcpPort ?? 0}`
  log.info({ mqtt: { embedded: { tcp: broker.tcpPort ?? 'off', ws: broker.wsPort ?? 'off' } }, workers: config.workers }, 'embedded MQTT broker started for the workers')
  return await runPrimary(config.workers, log, { url, ...internal, close: async () => await broker.close() })
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
    // A worker's channel to the primary would keep it alive (and a disconnect exits 0).
    if (workerIndex() !== undefined) process.exit(code)
  }, (err: Error) => {
    process.stderr.write(`ocpp-gateway: ${err.stack ?? err.message}\n`)
    process.exitCode = 1
  })
}

import { pino, type Logger, type DestinationStream } from 'pino'
import { pinoRedact } from './redact.js'

export type { Logger }

/** The gateway's logger: secrets are blanked by the one redactor's paths (./redact.ts). */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'ocpp-gateway' }, redact: pinoRedact() }, destination)
}

import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/** Paths pino blanks out wherever they appear: secrets never reach a log line. */
export const redactPaths = [
  'password', '*.password', 'mqtt.password', 'headers.authorization', 'req.headers.authorization',
  '*.key', 'key'
]

export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'ocpp-gateway' }, redact: { paths: redactPaths, censor: '[redacted]' } }, destination)
}

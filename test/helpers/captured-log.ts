/**
 * A pino logger whose lines a test can read, parsed (at `level`, info by default).
 */
import { pino } from 'pino'
import type { Logger } from '../../src/observability/logger.js'

export function capturedLog (level = 'info'): { logger: Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const logger = pino({ level }, { write: (chunk: string) => { for (const l of chunk.split('\n')) if (l !== '') lines.push(JSON.parse(l)) } })
  return { logger, lines }
}

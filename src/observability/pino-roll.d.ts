// pino-roll ships no types: the part of its API the frame audit sink uses (src/observability/frame-audit.ts).
declare module 'pino-roll' {
  import type { SonicBoom } from 'sonic-boom'
  interface PinoRollOptions {
    file: string
    size?: string | number
    frequency?: 'daily' | 'hourly' | number
    extension?: string
    limit?: { count?: number, removeOtherLogFiles?: boolean }
    symlink?: boolean
    dateFormat?: string
    mkdir?: boolean
  }
  export default function build (options: PinoRollOptions): Promise<SonicBoom>
}

import { GatewayError } from '../errors.js'

/**
 * An invalid configuration: the message names the key and says what is wrong with it, e.g.
 * `dnstream.max_mqueue_len: must be >= 1`. Code `OCPPGW_ERR_CONFIG` (docs/errors.md); the
 * listener-security and authentication keys give the same code, since what to do is the same:
 * fix the key the message names.
 */
export class ConfigError extends GatewayError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('OCPPGW_ERR_CONFIG', message, options)
    this.name = 'ConfigError'
  }
}

/**
 * Two checks of an upgrade request before any work is done for it, with EMQX's meaning
 * (issue 16): a listener's connection rate (`max_conn_rate`) and the browser Origin check
 * (`websocket.check_origin_enable`, `check_origins`, `allow_origin_absence`). Pure: the clock
 * is passed in.
 *
 * @example
 *   const rate = new ListenerRate(1000)          // 1,000 upgrades/s, a burst of 1,000
 *   if (!rate.take(Date.now())) refuse(503)
 *   originAllowed(req.headers.origin, ['https://ops.example.com'], true)
 */

/** A token bucket: `perSecond` tokens a second, holding at most one second's worth. */
export class ListenerRate {
  private tokens: number
  private at = 0

  constructor (private readonly perSecond: number) {
    this.tokens = perSecond
  }

  /** Take one token; false when none is left (refuse the upgrade). */
  take (now: number): boolean {
    if (this.at !== 0) this.tokens = Math.min(this.perSecond, this.tokens + (now - this.at) * this.perSecond / 1000)
    this.at = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** Whether a request's Origin passes: one of `origins` (lower case, no trailing slash), or absent when that is allowed. */
export function originAllowed (origin: string | undefined, origins: readonly string[], allowAbsence: boolean): boolean {
  if (origin === undefined || origin === '') return allowAbsence
  return origins.includes(origin.trim().toLowerCase().replace(/\/+$/, ''))
}

/** A port from a header such as X-Forwarded-Port (the last hop's), undefined when it is not one. */
export function headerPort (value: string | readonly string[] | undefined): number | undefined {
  if (value === undefined) return undefined
  const last = (typeof value === 'string' ? value : value.join(',')).split(',').pop()?.trim() ?? ''
  const port = /^\d{1,5}$/.test(last) ? Number(last) : NaN
  return port >= 1 && port <= 65535 ? port : undefined
}

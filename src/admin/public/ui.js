// Shared bits of the pages: htm bound to preact, formatting, a polling hook.
import { h } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import htm from 'htm'

export const html = htm.bind(h)

export function fmtNumber (n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–'
  return Math.abs(n) >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString('en') : n.toFixed(1)
}

export function fmtAgo (iso, now = Date.now()) {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return '–'
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`
  return `${Math.floor(s / 86400)} d ago`
}

export function fmtDuration (s) {
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

/** Run fn now and every ms while mounted (a tick that is still running is not started again). */
export function usePoll (fn, ms, deps = []) {
  const saved = useRef(fn)
  saved.current = fn
  useEffect(() => {
    let stopped = false
    let timer
    const tick = async () => {
      try { await saved.current() } catch (err) { console.error(err) }
      if (!stopped) timer = setTimeout(tick, ms)
    }
    void tick()
    return () => { stopped = true; clearTimeout(timer) }
  }, deps)
}

export function ErrorBox ({ result }) {
  if (result === undefined || result === null) return null
  const msg = result.body?.message ?? result.message ?? 'request failed'
  return html`<div class="alert" role="alert"><strong>${result.status ?? 'error'}</strong> ${msg}</div>`
}

export function Json ({ value, class: cls = '' }) {
  return html`<pre class=${`json ${cls}`}>${JSON.stringify(value, null, 2)}</pre>`
}

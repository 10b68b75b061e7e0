// The live frame trace of one charger: the Server-Sent Events of …/frames?follow=1&limit=N
// (the last N frames, then each as it comes) read with fetch(). Frames are kept in a bounded
// buffer and drawn at most four times a second, however fast they arrive.
import { useEffect, useRef, useState } from 'preact/hooks'
import { follow } from './api.js'
import { html } from './ui.js'

const KEEP = 500
const DRAW_MS = 250

/** What a raw OCPP-J frame is, for the trace's summary column. */
export function describe (raw) {
  let f
  try { f = JSON.parse(raw) } catch { return { kind: 'malformed', label: 'malformed' } }
  if (!Array.isArray(f)) return { kind: 'malformed', label: 'malformed' }
  switch (f[0]) {
    case 2: return { kind: 'call', label: String(f[2]), id: f[1] }
    case 3: return { kind: 'result', label: 'CallResult', id: f[1] }
    case 4: return { kind: 'error', label: `CallError ${f[2]}`, id: f[1] }
    case 5: return { kind: 'error', label: `CallResultError ${f[2]}`, id: f[1] }
    case 6: return { kind: 'call', label: `Send ${f[2]}`, id: f[1] }
    default: return { kind: 'malformed', label: `type ${f[0]}` }
  }
}

export function Trace ({ id, onEnd }) {
  const frames = useRef([])
  const [, setDrawn] = useState(0)
  const [state, setState] = useState('connecting')
  const [paused, setPaused] = useState(false)
  const [open, setOpen] = useState(null)
  const pausedRef = useRef(false)
  pausedRef.current = paused
  const frozen = useRef([]) // what is shown while paused
  useEffect(() => {
    const ctl = new AbortController()
    // Drawn at most every DRAW_MS: at once when the last draw is older, else at the end of it.
    let timer
    let lastDraw = 0
    let seq = 0
    const draw = () => { timer = undefined; if (pausedRef.current) return; lastDraw = Date.now(); setDrawn((n) => n + 1) }
    const add = (f) => {
      frames.current.push({ ...f, seq: ++seq })
      if (frames.current.length > KEEP) frames.current.splice(0, frames.current.length - KEEP)
      if (timer === undefined) timer = setTimeout(draw, Math.max(0, lastDraw + DRAW_MS - Date.now()))
    }
    const url = `/api/v1/chargers/${encodeURIComponent(id)}/frames?follow=1&limit=100`
    void (async () => {
      try {
        await follow(url, {
          signal: ctl.signal,
          onOpen: () => setState('live'),
          onEvent: (event, data) => {
            if (event === 'end') { setState('ended'); onEnd?.(); return }
            if (event === 'dropped') { add({ at: new Date().toISOString(), dir: 'gap', frame: `${JSON.parse(data).count} frames not shown: this page read too slowly` }); return }
            if (event === 'frame') add(JSON.parse(data))
          }
        })
        if (!ctl.signal.aborted) setState((s) => s === 'live' ? 'ended' : s)
      } catch (err) {
        if (ctl.signal.aborted) return
        let message = ''
        try { message = JSON.parse(err.text).message ?? '' } catch {}
        setState(`${err.status ?? 'failed'}${message === '' ? '' : `: ${message}`}`)
      }
    })()
    return () => { ctl.abort(); clearTimeout(timer) }
  }, [id])
  const rows = (paused ? frozen.current : frames.current).slice().reverse()
  return html`<section class="card trace" data-testid="trace">
    <div class="section-head">
      <h3>Live frame trace</h3>
      <span class=${`pill ${state === 'live' ? 'ok' : state === 'connecting' ? '' : 'bad'}`} data-testid="trace-state">${state}</span>
      <span class="spacer"></span>
      <button onClick=${() => { frozen.current = frames.current.slice(); setPaused(!paused) }}>${paused ? 'Resume' : 'Pause'}</button>
      <button onClick=${() => { frames.current = []; setDrawn((n) => n + 1) }}>Clear</button>
    </div>
    ${rows.length === 0
      ? html`<p class="muted">No frame yet. Frames appear here as the charger and the gateway exchange them.</p>`
      : html`<div class="trace-rows">${rows.map((f) => {
        const d = describe(f.frame)
        const key = f.seq
        return html`<div class=${`trace-row ${f.dir} ${d.kind}`} key=${key} onClick=${() => setOpen(open === key ? null : key)}>
          <span class="t mono">${f.at.slice(11, 23)}</span>
          <span class="dir" title=${f.dir === 'in' ? 'from the charger' : f.dir === 'out' ? 'to the charger' : ''}>${f.dir === 'in' ? '→ in' : f.dir === 'out' ? '← out' : '…'}</span>
          <span class="what">${f.dir === 'gap' ? 'dropped' : d.label}</span>
          <code class=${`raw ${open === key ? 'open' : ''}`}>${f.frame}</code>
        </div>`
      })}</div>`}
  </section>`
}

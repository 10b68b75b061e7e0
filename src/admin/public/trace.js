// The live frame trace of one charger: the last frames from GET …/frames?limit=N, then the
// Server-Sent Events of …/frames?follow=1 read with fetch(). Frames are kept in a bounded
// buffer and drawn at most four times a second, however fast they arrive.
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, follow } from './api.js'
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
  useEffect(() => {
    const ctl = new AbortController()
    let dirty = false
    let seq = 0
    const timer = setInterval(() => { if (dirty && !pausedRef.current) { dirty = false; setDrawn((n) => n + 1) } }, DRAW_MS)
    const add = (f) => {
      frames.current.push({ ...f, seq: ++seq })
      if (frames.current.length > KEEP) frames.current.splice(0, frames.current.length - KEEP)
      dirty = true
    }
    const base = `/api/v1/chargers/${encodeURIComponent(id)}/frames`
    void (async () => {
      const seen = new Set()
      const back = await api(`${base}?limit=100`, { signal: ctl.signal })
      if (back.status === 200) for (const f of back.body.data) { seen.add(`${f.at}${f.dir}${f.frame}`); add(f) }
      try {
        await follow(`${base}?follow=1`, {
          signal: ctl.signal,
          onOpen: () => setState('live'),
          onEvent: (event, data) => {
            if (event === 'end') { setState('ended'); onEnd?.(); return }
            if (event !== 'frame') return
            const f = JSON.parse(data)
            if (seen.size > 0 && seen.has(`${f.at}${f.dir}${f.frame}`)) return
            add(f)
          }
        })
        if (!ctl.signal.aborted) setState((s) => s === 'live' ? 'ended' : s)
      } catch (err) {
        if (!ctl.signal.aborted) setState(err.status === 404 ? 'offline' : `failed (${err.status ?? err.message})`)
      }
    })()
    return () => { ctl.abort(); clearInterval(timer) }
  }, [id])
  const rows = frames.current.slice().reverse()
  return html`<section class="card trace" data-testid="trace">
    <div class="section-head">
      <h3>Live frame trace</h3>
      <span class=${`pill ${state === 'live' ? 'ok' : state === 'connecting' ? '' : 'bad'}`} data-testid="trace-state">${state}</span>
      <span class="spacer"></span>
      <button onClick=${() => setPaused(!paused)}>${paused ? 'Resume' : 'Pause'}</button>
      <button onClick=${() => { frames.current = []; setDrawn((n) => n + 1) }}>Clear</button>
    </div>
    ${rows.length === 0
      ? html`<p class="muted">No frame yet. Frames appear here as the charger and the gateway exchange them.</p>`
      : html`<div class="trace-rows">${rows.map((f) => {
        const d = describe(f.frame)
        const key = f.seq
        return html`<div class=${`trace-row ${f.dir} ${d.kind}`} key=${key} onClick=${() => setOpen(open === key ? null : key)}>
          <span class="t mono">${f.at.slice(11, 23)}</span>
          <span class="dir" title=${f.dir === 'in' ? 'from the charger' : 'to the charger'}>${f.dir === 'in' ? '→ in' : '← out'}</span>
          <span class="what">${d.label}</span>
          <code class=${`raw ${open === key ? 'open' : ''}`}>${f.frame}</code>
        </div>`
      })}</div>`}
  </section>`
}

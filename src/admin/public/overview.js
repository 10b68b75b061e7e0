// Overview: live counts from GET /api/v1/stats, polled every second; rates are the deltas
// between two snapshots, so the page costs the same with 10 or 10,000 chargers.
import { useState } from 'preact/hooks'
import { api } from './api.js'
import { TimeChart } from './chart.js'
import { html, fmtNumber, fmtDuration, usePoll, ErrorBox } from './ui.js'

const POLL_MS = 1000
const KEEP = 300 // five minutes of points

/** Counters shown under "errors by reason" (each kept by reason by the gateway). */
export const ERROR_COUNTERS = /rejected|error|malformed|invalid|unmatched|unroutable|failures|denied|dropped|undelivered|timeouts|refused|too_large|slow|unknown/

function rate (a, b, name) {
  const dt = (Date.parse(b.at) - Date.parse(a.at)) / 1000
  return dt > 0 ? Math.max(0, (b.counters[name] - a.counters[name]) / dt) : 0
}

function series (snaps) {
  const t = []; const conn = []; const up = []; const down = []; const fin = []; const fout = []
  for (let i = 1; i < snaps.length; i++) {
    const a = snaps[i - 1]; const b = snaps[i]
    t.push(Date.parse(b.at) / 1000)
    conn.push(b.connected)
    up.push(rate(a, b, 'connections_accepted_total'))
    down.push(rate(a, b, 'disconnections_total'))
    fin.push(rate(a, b, 'frames_in_total'))
    fout.push(rate(a, b, 'frames_out_total'))
  }
  return { connected: [t, conn], churn: [t, up, down], frames: [t, fin, fout] }
}

function errorRows (last, base) {
  const rows = []
  for (const [name, reasons] of Object.entries(last.by_reason)) {
    if (!ERROR_COUNTERS.test(name) && name !== 'disconnections_total') continue
    for (const [reason, n] of Object.entries(reasons)) {
      const before = base?.by_reason[name]?.[reason] ?? 0
      rows.push({ name: name.replace(/_total$/, ''), reason, n, recent: n - before })
    }
  }
  for (const [name, n] of Object.entries(last.counters)) {
    if (!ERROR_COUNTERS.test(name) || n === 0 || last.by_reason[name] !== undefined) continue
    rows.push({ name: name.replace(/_total$/, ''), reason: '–', n, recent: n - (base?.counters[name] ?? 0) })
  }
  return rows.sort((a, b) => b.recent - a.recent || b.n - a.n)
}

export function Overview ({ status }) {
  const [snaps, setSnaps] = useState([])
  const [failed, setFailed] = useState()
  usePoll(async () => {
    const r = await api('/api/v1/stats')
    if (r.status !== 200) { setFailed(r); return }
    setFailed(undefined)
    setSnaps((s) => [...s.slice(-KEEP), r.body])
  }, POLL_MS)
  const last = snaps[snaps.length - 1]
  const prev = snaps[snaps.length - 2]
  const minuteAgo = snaps[Math.max(0, snaps.length - 61)]
  const data = series(snaps)
  const tile = (label, value, sub, testid) => html`<div class="card tile" data-testid=${testid}><div class="tile-label">${label}</div><div class="tile-value">${value}</div><div class="tile-sub">${sub}</div></div>`
  const broker = status?.broker
  const rows = last === undefined ? [] : errorRows(last, minuteAgo)
  return html`<div class="overview">
    <h2>Overview</h2>
    <${ErrorBox} result=${failed} />
    <div class="tiles">
      ${tile('Connected chargers', fmtNumber(last?.connected), status === undefined ? '' : `${status.listeners.length} listener(s)`, 'tile-connected')}
      ${tile('Connects / s', last && prev ? fmtNumber(rate(prev, last, 'connections_accepted_total')) : '–', `disconnects ${last && prev ? fmtNumber(rate(prev, last, 'disconnections_total')) : '–'} / s`, 'tile-churn')}
      ${tile('Frames / s', last && prev ? fmtNumber(rate(prev, last, 'frames_in_total') + rate(prev, last, 'frames_out_total')) : '–', last && prev ? `in ${fmtNumber(rate(prev, last, 'frames_in_total'))} · out ${fmtNumber(rate(prev, last, 'frames_out_total'))}` : '', 'tile-frames')}
      ${tile('MQTT broker', broker === undefined ? '–' : html`<span class=${broker.connected ? 'ok-text' : 'bad-text'}>${broker.connected ? 'connected' : 'disconnected'}</span>`, broker?.kind ?? '', 'tile-broker')}
      ${tile('Uptime', last ? fmtDuration(Math.round(last.uptime_ms / 1000)) : '–', status ? `v${status.version}` : '', 'tile-uptime')}
    </div>
    <div class="charts">
      <${TimeChart} title="Connected chargers" series=${['connected']} data=${data.connected} testid="chart-connected" />
      <${TimeChart} title="Connects and disconnects per second" series=${['connects/s', 'disconnects/s']} data=${data.churn} testid="chart-churn" />
      <${TimeChart} title="Frames per second" series=${['in/s', 'out/s']} data=${data.frames} testid="chart-frames" />
    </div>
    <section class="card">
      <h3>Errors and disconnections by reason</h3>
      ${rows.length === 0
        ? html`<p class="muted">None counted since the gateway started.</p>`
        : html`<div class="table-wrap"><table class="table wrap-sm" data-testid="errors">
          <thead><tr><th>counter</th><th>reason</th><th class="num">total</th><th class="num">last minute</th></tr></thead>
          <tbody>${rows.map((r) => html`<tr><td><code>${r.name}</code></td><td>${r.reason}</td><td class="num">${fmtNumber(r.n)}</td><td class=${`num ${r.recent > 0 ? 'warn-text' : ''}`}>${fmtNumber(r.recent)}</td></tr>`)}</tbody>
        </table></div>`}
    </section>
  </div>`
}

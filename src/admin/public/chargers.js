// The charger list: a page of 50 at a time from GET /api/v1/chargers (cursor pagination, in id
// order), searched by id prefix and filtered by version, refreshed every 5 s.
import { useEffect, useState } from 'preact/hooks'
import { api } from './api.js'
import { html, fmtAgo, usePoll, ErrorBox } from './ui.js'

const LIMIT = 50

export function Chargers ({ query }) {
  const [prefix, setPrefix] = useState(query.get('prefix') ?? '')
  const [typed, setTyped] = useState(prefix)
  const [version, setVersion] = useState('')
  const [cursors, setCursors] = useState([null]) // the cursor of each page seen so far
  const [page, setPage] = useState()
  const [failed, setFailed] = useState()
  useEffect(() => {
    const t = setTimeout(() => { setPrefix(typed.trim()); setCursors([null]) }, 250)
    return () => clearTimeout(t)
  }, [typed])
  const cursor = cursors[cursors.length - 1]
  usePoll(async () => {
    const q = new URLSearchParams({ limit: String(LIMIT) })
    if (prefix !== '') q.set('prefix', prefix)
    if (version !== '') q.set('version', version)
    if (cursor !== null) q.set('cursor', cursor)
    const r = await api(`/api/v1/chargers?${q}`)
    if (r.status !== 200) { setFailed(r); return }
    setFailed(undefined)
    setPage(r.body)
  }, 5000, [prefix, version, cursor])
  const now = Date.now()
  const first = (cursors.length - 1) * LIMIT
  return html`<div class="chargers">
    <div class="page-head">
      <h2>Chargers</h2>
      <div class="filters">
        <input type="search" placeholder="Search by id prefix" aria-label="Search by id prefix" value=${typed} onInput=${(e) => setTyped(e.target.value)} data-testid="search" />
        <select aria-label="OCPP version" value=${version} onChange=${(e) => { setVersion(e.target.value); setCursors([null]) }}>
          <option value="">all versions</option><option value="1.6">1.6</option><option value="2.0.1">2.0.1</option><option value="2.1">2.1</option>
        </select>
      </div>
    </div>
    <${ErrorBox} result=${failed} />
    <section class="card flush">
      ${page === undefined
        ? html`<p class="muted pad">Loading…</p>`
        : page.data.length === 0
          ? html`<p class="muted pad">No charger connected${prefix !== '' ? ` with an id starting "${prefix}"` : ''}.</p>`
          : html`<div class="table-wrap"><table class="table list" data-testid="charger-list">
            <thead><tr><th>id</th><th>version</th><th class="hide-sm">listener</th><th class="hide-sm">peer</th><th>connected</th><th class="hide-sm">last frame</th><th class="hide-sm num" title="Calls to the charger: queued + in flight">calls</th></tr></thead>
            <tbody>${page.data.map((c) => html`<tr>
              <td><a href=${`#/chargers/${encodeURIComponent(c.id)}`} class="cid">${c.id}</a></td>
              <td><span class="tag">${c.version}</span></td>
              <td class="hide-sm">${c.listener}</td>
              <td class="hide-sm mono">${c.peer}</td>
              <td title=${c.connected_at}>${fmtAgo(c.connected_at, now)}</td>
              <td class="hide-sm" title=${c.last_frame_at}>${fmtAgo(c.last_frame_at, now)}</td>
              <td class="hide-sm num">${c.calls === undefined ? '–' : c.calls.to_charger.queued + c.calls.to_charger.in_flight}</td>
            </tr>`)}</tbody>
          </table></div>`}
      <div class="pager">
        <span class="muted">${page === undefined || page.data.length === 0 ? '' : `${first + 1}–${first + page.data.length}`}</span>
        <button disabled=${cursors.length === 1} onClick=${() => setCursors((c) => c.slice(0, -1))}>‹ Previous</button>
        <button disabled=${page?.next_cursor == null} onClick=${() => setCursors((c) => [...c, page.next_cursor])}>Next ›</button>
      </div>
    </section>
  </div>`
}

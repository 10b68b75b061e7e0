// Listeners and the configuration in force, read-only: GET /api/v1/status gives the
// configuration already redacted by the gateway's one redactor (secrets never reach the page).
import { useState } from 'preact/hooks'
import { api } from './api.js'
import { html, fmtDuration, fmtNumber, usePoll, ErrorBox, Json } from './ui.js'

export function Config () {
  const [st, setSt] = useState()
  const [failed, setFailed] = useState()
  usePoll(async () => {
    const r = await api('/api/v1/status')
    if (r.status !== 200) { setFailed(r); return }
    setFailed(undefined)
    setSt(r.body)
  }, 10000)
  if (st === undefined) return html`<div><h2>Configuration</h2><${ErrorBox} result=${failed} />${failed === undefined && html`<p class="muted">Loading…</p>`}</div>`
  return html`<div class="config">
    <h2>Configuration</h2>
    <${ErrorBox} result=${failed} />
    <section class="card">
      <h3>Node</h3>
      <dl class="details">
        <div><dt>node id</dt><dd class="mono">${st.node_id}</dd></div>
        <div><dt>version</dt><dd>${st.version}</dd></div>
        <div><dt>uptime</dt><dd>${fmtDuration(st.uptime_s)}</dd></div>
        <div><dt>MQTT broker</dt><dd>${st.broker.kind}, <span class=${st.broker.connected ? 'ok-text' : 'bad-text'}>${st.broker.connected ? 'connected' : 'disconnected'}</span></dd></div>
      </dl>
    </section>
    <section class="card flush">
      <h3 class="pad">Listeners</h3>
      <div class="table-wrap"><table class="table" data-testid="listeners">
        <thead><tr><th>name</th><th>bound</th><th>security profile</th><th class="num">connections</th></tr></thead>
        <tbody>${st.listeners.map((l) => html`<tr><td>${l.name}</td><td class="mono">${l.bound ?? html`<span class="bad-text">not listening</span>`}</td><td>${l.profile ?? '–'}</td><td class="num">${fmtNumber(l.connections)}</td></tr>`)}</tbody>
      </table></div>
    </section>
    <section class="card">
      <h3>Configuration in force <span class="muted small">(secrets redacted)</span></h3>
      <${Json} value=${st.config} class="config-json" />
    </section>
  </div>`
}

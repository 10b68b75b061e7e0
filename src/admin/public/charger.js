// One charger: its details, the live trace, a form that sends it a Call through
// POST /api/v1/chargers/{id}/calls and shows the answer, and a kick.
import { useState } from 'preact/hooks'
import { api } from './api.js'
import { Trace } from './trace.js'
import { html, fmtAgo, usePoll, ErrorBox, Json } from './ui.js'

/** Example payloads, by Action, filled in when the operator picks one. */
export const EXAMPLES = {
  '1.6': {
    TriggerMessage: { requestedMessage: 'Heartbeat' },
    GetConfiguration: {},
    ChangeConfiguration: { key: 'HeartbeatInterval', value: '300' },
    Reset: { type: 'Soft' },
    RemoteStartTransaction: { idTag: 'OPERATOR', connectorId: 1 },
    RemoteStopTransaction: { transactionId: 1 },
    UnlockConnector: { connectorId: 1 },
    DataTransfer: { vendorId: 'com.example' }
  },
  '2.x': {
    TriggerMessage: { requestedMessage: 'Heartbeat' },
    GetVariables: { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] },
    SetVariables: { setVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: '300' }] },
    Reset: { type: 'OnIdle' },
    RequestStartTransaction: { idToken: { idToken: 'OPERATOR', type: 'Central' }, remoteStartId: 1 },
    RequestStopTransaction: { transactionId: '1' },
    DataTransfer: { vendorId: 'com.example' }
  }
}

function examplesFor (version) { return EXAMPLES[version === '1.6' ? '1.6' : '2.x'] }

function CallForm ({ id, version, disabled }) {
  const ex = examplesFor(version)
  const [action, setAction] = useState('TriggerMessage')
  const [payload, setPayload] = useState(JSON.stringify(ex.TriggerMessage, null, 2))
  const [timeout, setTimeout_] = useState('30s')
  const [busy, setBusy] = useState(false)
  const [answer, setAnswer] = useState()
  const [invalid, setInvalid] = useState()
  const pick = (a) => {
    setAction(a)
    if (ex[a] !== undefined) setPayload(JSON.stringify(ex[a], null, 2))
  }
  const send = async (e) => {
    e.preventDefault()
    let body
    try { body = JSON.parse(payload) } catch (err) { setInvalid(`payload is not JSON: ${err.message}`); return }
    setInvalid(undefined)
    setBusy(true)
    setAnswer(undefined)
    try {
      setAnswer(await api(`/api/v1/chargers/${encodeURIComponent(id)}/calls`, { method: 'POST', body: { action: action.trim(), payload: body, timeout } }))
    } catch (err) {
      setAnswer({ status: 'network', body: { error: 'network', message: err.message } })
    } finally { setBusy(false) }
  }
  const ok = answer?.status === 200
  return html`<section class="card call">
    <h3>Send a Call</h3>
    <form onSubmit=${send} class="call-form">
      <label>Action
        <input list="actions" name="action" value=${action} onInput=${(e) => pick(e.target.value)} required pattern="[A-Za-z0-9_.\\-]{1,64}" data-testid="call-action" />
        <datalist id="actions">${Object.keys(ex).map((a) => html`<option value=${a} />`)}</datalist>
      </label>
      <label>Timeout
        <select value=${timeout} onChange=${(e) => setTimeout_(e.target.value)}>
          <option value="10s">10 s</option><option value="30s">30 s</option><option value="60s">60 s</option><option value="120s">120 s</option>
        </select>
      </label>
      <label class="wide">Payload (JSON)
        <textarea name="payload" rows="4" spellcheck="false" value=${payload} onInput=${(e) => setPayload(e.target.value)} data-testid="call-payload"></textarea>
      </label>
      ${invalid !== undefined && html`<div class="alert wide">${invalid}</div>`}
      <div class="wide actions"><button type="submit" class="primary" disabled=${busy || disabled} data-testid="call-send">${busy ? 'Waiting for the answer…' : 'Send'}</button></div>
    </form>
    ${answer !== undefined && html`<div class=${`answer ${ok ? 'ok' : 'bad'}`} data-testid="call-answer">
      <div class="answer-head">
        <span class=${`pill ${ok ? 'ok' : 'bad'}`} data-testid="call-status">${answer.status}</span>
        <strong>${ok ? answer.body.result : answer.body?.error ?? 'error'}</strong>
        ${ok && html`<span class="muted">in ${answer.body.elapsed_ms} ms · UniqueId <code>${answer.body.unique_id}</code></span>`}
        ${!ok && answer.body?.message !== undefined && html`<span>${answer.body.message}</span>`}
      </div>
      <${Json} value=${answer.body} />
    </div>`}
  </section>`
}

const LABELS = { id: 'id', node: 'node', version: 'OCPP version', subprotocol: 'sub-protocol', peer: 'peer', listener: 'listener', connected_at: 'connected', last_frame_at: 'last frame', heartbeat_interval_s: 'keepalive', calls: 'calls', tracing: 'trace kept' }

/** "2 queued, 1 in flight to the charger · 0 from it awaiting a backend" */
export function fmtCalls (c) {
  return `${c.to_charger.queued} queued, ${c.to_charger.in_flight} in flight to it · ${c.from_charger.in_flight} from it awaiting a backend`
}

function Details ({ c }) {
  const now = Date.now()
  const value = (k, v) => {
    if (k.endsWith('_at')) return html`${fmtAgo(v, now)} <span class="muted mono">${v}</span>`
    if (k === 'heartbeat_interval_s') return v === 0 ? 'no keepalive check' : `heartbeat every ${v} s`
    if (k === 'calls' && v?.to_charger !== undefined) return fmtCalls(v)
    if (typeof v === 'boolean') return v ? 'yes' : 'no'
    if (v !== null && typeof v === 'object') return html`<code>${JSON.stringify(v)}</code>`
    return String(v ?? '–')
  }
  return html`<dl class="details" data-testid="details">${Object.entries(c).map(([k, v]) => html`<div><dt>${LABELS[k] ?? k.replace(/_/g, ' ')}</dt><dd>${value(k, v)}</dd></div>`)}</dl>`
}

export function Charger ({ id }) {
  const [c, setC] = useState()
  const [gone, setGone] = useState()
  const [kick, setKick] = useState('idle')
  const [kickResult, setKickResult] = useState()
  usePoll(async () => {
    if (gone !== undefined) return
    const r = await api(`/api/v1/chargers/${encodeURIComponent(id)}`)
    if (r.status === 200) setC(r.body)
    else if (r.status === 404) setGone('not connected to this node')
    else setGone(r.body?.message ?? `HTTP ${r.status}`)
  }, 2000, [id, gone])
  const doKick = async () => {
    setKick('busy')
    const r = await api(`/api/v1/chargers/${encodeURIComponent(id)}`, { method: 'DELETE' })
    setKickResult(r)
    setKick('idle')
    if (r.status === 204) setGone('kicked (closed with 4004)')
  }
  return html`<div class="charger">
    <div class="page-head">
      <div><a href="#/chargers" class="muted">‹ Chargers</a><h2 class="cid-title">${id}</h2></div>
      <div class="kick">
        ${kick === 'confirm'
          ? html`<span>Close this charger's connection?</span>
            <button class="danger" onClick=${doKick} data-testid="kick-confirm">Kick</button>
            <button onClick=${() => setKick('idle')}>Cancel</button>`
          : html`<button class="danger" disabled=${gone !== undefined || kick === 'busy'} onClick=${() => setKick('confirm')} data-testid="kick">Kick…</button>`}
      </div>
    </div>
    ${gone !== undefined && html`<div class="alert" role="status" data-testid="gone">${id}: ${gone}</div>`}
    ${kickResult !== undefined && kickResult.status !== 204 && html`<${ErrorBox} result=${kickResult} />`}
    <div class="charger-grid">
      <section class="card">
        <h3>Details</h3>
        ${c === undefined ? html`<p class="muted">${gone === undefined ? 'Loading…' : ''}</p>` : html`<${Details} c=${c} />`}
      </section>
      <${CallForm} id=${id} version=${c?.version} disabled=${gone !== undefined} />
    </div>
    <${Trace} id=${id} />
  </div>`
}

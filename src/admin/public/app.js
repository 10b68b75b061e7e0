// The dashboard: log in with an API key, then four pages chosen by the URL's hash.
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, key, whenUnauthorized } from './api.js'
import { html, usePoll } from './ui.js'
import { Overview } from './overview.js'
import { Chargers } from './chargers.js'
import { Charger } from './charger.js'
import { Config } from './config.js'

function parseRoute (hash) {
  const path = hash.replace(/^#/, '') || '/'
  const m = /^\/chargers\/(.+)$/.exec(path)
  if (m !== null) return { page: 'charger', id: decodeURIComponent(m[1]) }
  if (path.startsWith('/chargers')) return { page: 'chargers', query: new URLSearchParams(path.split('?')[1] ?? '') }
  if (path === '/config') return { page: 'config' }
  return { page: 'overview' }
}

function useRoute () {
  const [route, setRoute] = useState(parseRoute(window.location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}

function Login ({ message, onLogin }) {
  const [value, setValue] = useState('')
  const [error, setError] = useState(message)
  const [busy, setBusy] = useState(false)
  const submit = async (e) => {
    e.preventDefault()
    setBusy(true)
    try {
      const r = await api('/api/v1/status', { keyOverride: value.trim() })
      if (r.status === 200) { key.set(value.trim()); onLogin(r.body); return }
      setError(`${r.status}: ${r.body?.message ?? 'refused'}`)
    } catch (err) {
      setError(`the gateway did not answer: ${err.message}`)
    } finally { setBusy(false) }
  }
  return html`<main class="login">
    <form class="card login-card" onSubmit=${submit}>
      <h1><img src="/assets/icon.svg" alt="" width="28" height="28" /> OCPP gateway</h1>
      <p class="muted">Sign in with an API key (<code>ocpp-gateway apikey add --file F --name NAME</code>).</p>
      <input type="text" name="username" autocomplete="username" value="api-key" hidden />
      <label for="api-key">API key</label>
      <input id="api-key" name="key" type="password" autocomplete="current-password" required value=${value} onInput=${(e) => setValue(e.target.value)} />
      ${error !== undefined && html`<div class="alert" role="alert">${error}</div>`}
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
  </main>`
}

function Shell ({ route, status, onLogout }) {
  const [st, setSt] = useState(status)
  usePoll(async () => {
    const r = await api('/api/v1/status')
    if (r.status === 200) setSt(r.body)
  }, 5000)
  const link = (href, label, active) => html`<a href=${href} class=${active ? 'active' : ''} aria-current=${active ? 'page' : undefined}>${label}</a>`
  const broker = st?.broker
  return html`<div class="shell">
    <header class="top">
      <a class="brand" href="#/"><img src="/assets/icon.svg" alt="" width="22" height="22" /> OCPP gateway</a>
      <nav>
        ${link('#/', 'Overview', route.page === 'overview')}
        ${link('#/chargers', 'Chargers', route.page === 'chargers' || route.page === 'charger')}
        ${link('#/config', 'Configuration', route.page === 'config')}
      </nav>
      <div class="who">
        ${broker !== undefined && html`<span class=${`pill ${broker.connected ? 'ok' : 'bad'}`} title="MQTT broker">${broker.kind} broker ${broker.connected ? 'up' : 'down'}</span>`}
        <span class="muted node" title="node id">${st?.node_id ?? ''}</span>
        <button class="link" onClick=${onLogout}>Sign out</button>
      </div>
    </header>
    <main class="page">
      ${route.page === 'overview' && html`<${Overview} status=${st} />`}
      ${route.page === 'chargers' && html`<${Chargers} query=${route.query} />`}
      ${route.page === 'charger' && html`<${Charger} id=${route.id} key=${route.id} />`}
      ${route.page === 'config' && html`<${Config} />`}
    </main>
  </div>`
}

function App () {
  const route = useRoute()
  const [state, setState] = useState({ phase: key.get() === null ? 'login' : 'checking' })
  useEffect(() => {
    whenUnauthorized((message) => { key.clear(); setState({ phase: 'login', message: `401: ${message}` }) })
    if (key.get() === null) return
    void api('/api/v1/status').then((r) => {
      if (r.status === 200) setState({ phase: 'in', status: r.body })
      else if (r.status !== 401) setState({ phase: 'login', message: `${r.status}: ${r.body?.message ?? 'the gateway refused'}` })
    }, (err) => setState({ phase: 'login', message: `the gateway did not answer: ${err.message}` }))
  }, [])
  if (state.phase === 'checking') return html`<p class="muted center">Loading…</p>`
  if (state.phase === 'login') return html`<${Login} message=${state.message} onLogin=${(status) => setState({ phase: 'in', status })} />`
  return html`<${Shell} route=${route} status=${state.status} onLogout=${() => { key.clear(); setState({ phase: 'login' }) }} />`
}

render(html`<${App} />`, document.getElementById('app'))

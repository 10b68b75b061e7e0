// The admin API as the page calls it: the key from sessionStorage as a Bearer token, JSON both
// ways, and every answer returned as { status, body } so a page can show what the server said.
const KEY = 'ocpp-gateway.api-key'

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY)
}

/** Called with the server's message when a key is refused (the app goes back to the login). */
let onUnauthorized = () => {}
export function whenUnauthorized (fn) { onUnauthorized = fn }

function headers (extra = {}) {
  const k = key.get()
  return k === null ? extra : { ...extra, authorization: `Bearer ${k}` }
}

/** fetch a JSON route: { status, body } (body undefined for 204), never throws on an HTTP error. */
export async function api (path, { method = 'GET', body, signal, keyOverride } = {}) {
  const h = body === undefined ? {} : { 'content-type': 'application/json' }
  const res = await fetch(path, {
    method,
    signal,
    headers: keyOverride === undefined ? headers(h) : { ...h, authorization: `Bearer ${keyOverride}` },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  let json
  try { json = text === '' ? undefined : JSON.parse(text) } catch { json = { error: 'not_json', message: text.slice(0, 500) } }
  if (res.status === 401 && keyOverride === undefined) onUnauthorized(json?.message ?? 'unauthorized')
  return { status: res.status, body: json }
}

/**
 * Follow a Server-Sent Events stream with fetch() (EventSource cannot send the Authorization
 * header). Calls onEvent(name, data) per event; resolves when the stream ends or is aborted.
 */
export async function follow (path, { signal, onEvent, onOpen }) {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), signal })
  if (res.status === 401) onUnauthorized('unauthorized')
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => '')
    throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, text })
  }
  onOpen?.()
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buf += value
      let cut
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut)
        buf = buf.slice(cut + 2)
        let event = 'message'
        const data = []
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim()
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
        }
        if (data.length > 0 || event !== 'message') onEvent(event, data.join('\n'))
      }
    }
  } catch (err) {
    if (signal?.aborted) return
    throw err
  }
}

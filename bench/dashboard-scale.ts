/**
 * The dashboard with many connected chargers: the simulator (child processes) connects N idle
 * chargers to a real gateway; then the admin API's answer times and sizes for what the pages
 * poll, and, in Chromium, how long the list takes to show and how busy the overview keeps the
 * page's main thread while it polls.
 *
 *   npm run build && node dist/bench/dashboard-scale.js [--chargers 10000] [--workers 2]
 */
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'
import { waitFor } from '../test/helpers/clients.js'
import { launchBrowser, startDashboardGateway } from '../test/browser/fixture.js'

const { values } = parseArgs({ options: { chargers: { type: 'string', default: '10000' }, workers: { type: 'string', default: '2' } } })
const n = Number(values.chargers)

async function timed (url: string, key: string, times = 20): Promise<{ ms_avg: number, ms_max: number, bytes: number }> {
  let total = 0; let max = 0; let bytes = 0
  for (let i = 0; i < times; i++) {
    const t0 = performance.now()
    const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } })
    bytes = (await r.arrayBuffer()).byteLength
    const ms = performance.now() - t0
    total += ms
    max = Math.max(max, ms)
  }
  return { ms_avg: Math.round(total / times * 10) / 10, ms_max: Math.round(max * 10) / 10, bytes }
}

async function main (): Promise<void> {
  const d = await startDashboardGateway({ listeners: { ws: { default: { bind: '127.0.0.1:0', max_connections: n + 100 } } } })
  const sim = spawn(process.execPath, ['dist/src/cli/main.js', 'simulate', '--url', d.t.url, '--count', String(n), '--workers', values.workers, '--scenario', 'idle', '--heartbeat', '30', '--ramp', '500', '--quiet', '--duration', '600', '--reconnect', '2'], { stdio: 'inherit' })
  const simExited = new Promise<number | null>((resolve) => sim.once('exit', (code) => resolve(code)))
  let measured = false
  void simExited.then((code) => { if (!measured) console.error(`the simulator exited (${String(code)}) with ${d.t.gw.sessions.size} of ${n} connected`) })
  const browser = await launchBrowser()
  try {
    const t0 = Date.now()
    await waitFor(() => d.t.gw.sessions.size >= n, 120000).catch((err: Error) => { throw new Error(`${d.t.gw.sessions.size} of ${n} connected: ${err.message}`) })
    const out: Record<string, unknown> = { chargers: d.t.gw.sessions.size, connect_s: (Date.now() - t0) / 1000 }
    out.stats = await timed(`${d.base}/api/v1/stats`, d.key)
    out.status = await timed(`${d.base}/api/v1/status`, d.key)
    out.list_page = await timed(`${d.base}/api/v1/chargers?limit=50`, d.key)
    out.list_search = await timed(`${d.base}/api/v1/chargers?limit=50&prefix=cp99`, d.key)

    const page = await browser.newPage({ viewport: { width: 1366, height: 860 } })
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable')
    await page.goto(`${d.base}/`)
    await page.fill('#api-key', d.key)
    await page.click('button[type=submit]')
    await page.waitForFunction((want) => document.querySelector('[data-testid=tile-connected] .tile-value')?.textContent === want.toLocaleString('en'), n)
    const busy = async (): Promise<number> => {
      const { metrics } = await cdp.send('Performance.getMetrics')
      return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0
    }
    const b0 = await busy()
    await page.waitForTimeout(10000)
    out.overview_main_thread_busy_pct = Math.round((await busy() - b0) / 10 * 1000) / 10
    const l0 = performance.now()
    await page.goto(`${d.base}/#/chargers`)
    await page.waitForSelector('[data-testid=charger-list] .cid')
    out.list_shown_ms = Math.round(performance.now() - l0)
    out.list_rows = await page.locator('[data-testid=charger-list] .cid').count()
    const s0 = performance.now()
    await page.fill('[data-testid=search]', 'cp9999')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=charger-list] .cid').length <= 2)
    out.search_shown_ms = Math.round(performance.now() - s0)
    const b1 = await busy()
    await page.waitForTimeout(10000)
    out.list_main_thread_busy_pct = Math.round((await busy() - b1) / 10 * 1000) / 10
    out.js_heap_mb = Math.round((await page.evaluate(() => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize)) / 1e5) / 10
    measured = true
    console.log(JSON.stringify(out, null, 2))
  } finally {
    await browser.close()
    // The gateway first: it closes the chargers itself (closing 10,000 from the simulator's
    // side at once overflowed the embedded broker's stack in aedes/mqemitter; see the report).
    await d.stop()
    sim.kill('SIGINT')
    await simExited
  }
}

await main()

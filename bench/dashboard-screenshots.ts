/**
 * Regenerates docs/screenshots/*.png: the dashboard's pages (overview, charger list, a
 * charger's page with its live trace and a Call's answer, configuration) at a laptop's and a
 * phone's width, from a real gateway with simulated charge points on loopback.
 *
 *   npm run build && node dist/bench/dashboard-screenshots.js [--out docs/screenshots] [--chargers 240]
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { connectChargePoint } from '../test/helpers/clients.js'
import { launchBrowser, simCharger, startDashboardGateway, type SimCharger } from '../test/browser/fixture.js'

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/screenshots' }, chargers: { type: 'string', default: '240' } } })
const out = values.out
const count = Number(values.chargers)

const VIEWPORTS = [
  { name: 'laptop', width: 1366, height: 860, isMobile: false, deviceScaleFactor: 1 },
  { name: 'phone', width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 }
]

async function main (): Promise<void> {
  await mkdir(out, { recursive: true })
  const d = await startDashboardGateway()
  const sims: SimCharger[] = []
  const browser = await launchBrowser()
  try {
    // A fleet with some churn and a few errors, so every part of the overview has something to show.
    const sites = ['AMS', 'BER', 'CPH', 'LYS', 'MAD', 'OSL']
    for (let i = 0; i < count; i++) {
      const id = `${sites[i % sites.length] as string}-${String(1000 + i).padStart(5, '0')}`
      sims.push(await simCharger(d.t, id, { version: i % 3 === 2 ? '2.0.1' : '1.6', heartbeatMs: 1500 + (i % 7) * 300 }))
    }
    const churn = setInterval(() => {
      void (async () => {
        const s = sims.splice(Math.floor(Math.random() * sims.length), 1)[0]
        if (s === undefined || s.id === 'AMS-01000') { if (s !== undefined) sims.push(s); return }
        await s.stop()
        sims.push(await simCharger(d.t, s.id, { heartbeatMs: 2000 }))
      })().catch(() => {})
    }, 400)
    for (let i = 0; i < 5; i++) {
      const bad = await connectChargePoint(`${d.t.url}/ERR-${i}`, ['ocpp1.6'])
      bad.send('[2, "x"')
      bad.send([2, 'y', 'Heartbeat', { nope: 1 }])
      await bad.close()
    }
    await fetch(`${d.t.url.replace('ws:', 'http:')}/BAD-ID`).catch(() => {})

    for (const vp of VIEWPORTS) {
      const ctx = await browser.newContext({ viewport: { width: vp.width, height: vp.height }, isMobile: vp.isMobile, deviceScaleFactor: vp.deviceScaleFactor })
      const page = await ctx.newPage()
      await page.goto(`${d.base}/`)
      await page.fill('#api-key', d.key)
      await page.click('button[type=submit]')
      await page.waitForSelector('[data-testid=tile-connected]')
      await page.waitForTimeout(vp.name === 'laptop' ? 20000 : 4000) // some points on the charts
      await shot(page, `overview-${vp.name}`)
      await page.goto(`${d.base}/#/chargers`)
      await page.waitForSelector('[data-testid=charger-list]')
      await shot(page, `chargers-${vp.name}`)
      await page.goto(`${d.base}/#/chargers/AMS-01000`)
      await page.waitForSelector('[data-testid=trace] .trace-row', { timeout: 10000 }).catch(() => {})
      await page.fill('[data-testid=call-action]', 'GetConfiguration')
      await page.click('[data-testid=call-send]')
      await page.waitForSelector('[data-testid=call-answer]', { timeout: 10000 })
      await page.waitForTimeout(1000)
      await shot(page, `charger-${vp.name}`)
      await page.goto(`${d.base}/#/config`)
      await page.waitForSelector('[data-testid=listeners]')
      await shot(page, `config-${vp.name}`)
      await ctx.close()
    }
    clearInterval(churn)
  } finally {
    await browser.close()
    for (const s of sims) await s.stop().catch(() => {})
    await d.stop()
  }
}

async function shot (page: Page, name: string): Promise<void> {
  const file = join(out, `${name}.png`)
  await page.screenshot({ path: file, fullPage: name.endsWith('phone') || name.startsWith('charger-') })
  console.log(file)
}

await main()

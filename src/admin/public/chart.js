// A uPlot time series that is created once and given new data by setData(): the caller feeds it
// at its polling rate (1 s), never per frame. It follows its container's width.
import { useEffect, useRef } from 'preact/hooks'
import UPlot from 'uplot'
import { html } from './ui.js'

const COLORS = ['#0f766e', '#c2410c', '#6d28d9', '#0369a1']

export function TimeChart ({ title, series, data, height = 160, testid }) {
  const box = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    const el = box.current
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ stroke: '#6b7280', grid: { stroke: '#eef0f3' } }, { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 50 }],
      series: [{}, ...series.map((s, i) => ({ label: s, stroke: COLORS[i % COLORS.length], width: 2, fill: i === 0 ? 'rgba(15,118,110,0.08)' : undefined, points: { show: false } }))]
    }
    plot.current = new UPlot(opts, data, el)
    const ro = new window.ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }))
    ro.observe(el)
    return () => { ro.disconnect(); plot.current?.destroy(); plot.current = null }
  }, [])
  useEffect(() => { plot.current?.setData(data) }, [data])
  return html`<section class="card chart" data-testid=${testid}>
    <h3>${title}</h3>
    <div ref=${box} class="chart-box"></div>
  </section>`
}

/**
 * The cluster router's duplicate check (issue 13 item 6): 50,000 downstream UniqueIds for one
 * charge point, looked up and noted, with the array scan it used before against RecentIds.
 * CPU time of each, same process: node dist/bench/recent-ids.js [n]
 */
import { RecentIds } from '../src/bridge/handoff.js'

const n = Number(process.argv[2] ?? 50_000)
const cpu = (start: NodeJS.CpuUsage): number => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000 }

let t = process.cpuUsage()
const arr: Array<[string, number]> = []
for (let i = 0; i < n; i++) { const id = `id${i}`; if (!arr.some(([x]) => x === id)) arr.push([id, 1]) }
const before = cpu(t)

t = process.cpuUsage()
const recent = new RecentIds()
for (let i = 0; i < n; i++) { const id = `id${i}`; if (!recent.has(id)) recent.note(id, 1) }
const after = cpu(t)

console.log(`${n} ids for one charge point: array scan ${before.toFixed(0)} ms CPU, RecentIds ${after.toFixed(0)} ms CPU, ratio ${(before / after).toFixed(0)}x`)

/**
 * The rooms of src/ and the arrows between them: a room imports only rooms below it in
 * LAYERS, so a frame's path reads top-down and no room reaches back up. Also what a room must
 * never know: the session no `ws` and no MQTT, the OCPP core no I/O at all.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Top to bottom. A top-level file (gateway.ts, index.ts, errors.ts) is a room of its own. */
const LAYERS = ['cli', 'index', 'gateway', 'admin', 'sim', 'bridge', 'session', 'transport', 'auth', 'schema', 'config', 'ocpp', 'observability', 'util', 'errors']

/** Packages a room must not import (directly). */
const FORBIDDEN: Record<string, RegExp> = {
  session: /^(ws|mqtt|aedes|mqtt-packet|node:net|node:http|node:https|node:tls)$/,
  ocpp: /^(ws|mqtt|aedes|pino|node:.*)$/,
  config: /^(ws|mqtt|aedes)$/
}

function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('package.json not found')
    dir = up
  }
  return dir
}

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

const src = join(repoRoot(), 'src')
const files = sources(src)

function roomOf (file: string): string {
  const parts = relative(src, file).split(sep)
  return parts.length > 1 ? parts[0] as string : (parts[0] as string).replace(/\.[jt]s$/, '')
}

function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1] as string)
}

test('every room of src/ is in LAYERS', () => {
  const rooms = new Set(files.map(roomOf))
  assert.deepEqual([...rooms].filter((r) => !LAYERS.includes(r)), [])
})

test('imports go only down the layers, never up or sideways to another room', () => {
  const wrong: string[] = []
  for (const file of files) {
    const room = roomOf(file)
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue
      const target = roomOf(normalize(join(dirname(file), spec)))
      if (target !== room && LAYERS.indexOf(target) <= LAYERS.indexOf(room)) wrong.push(`${relative(src, file)} -> ${spec} (${room} -> ${target})`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('the session knows no ws and no MQTT, the OCPP core does no I/O, config no broker', () => {
  const wrong: string[] = []
  for (const file of files) {
    const room = roomOf(file)
    const rule = FORBIDDEN[room]
    for (const spec of importsOf(file)) {
      if (rule?.test(spec) === true) wrong.push(`${relative(src, file)} imports ${spec}`)
      if (room === 'session' && /\/bridge\//.test(spec)) wrong.push(`${relative(src, file)} imports ${spec}`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('no file under src/ is over 400 lines', () => {
  const long = files.map((f) => [relative(src, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > 400)
  assert.deepEqual(long, [])
})

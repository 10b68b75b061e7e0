/**
 * The README's "Writing a backend" example is examples/readme-backend.ts, which the build
 * compiles: the example in the README cannot rot. Also: under 30 lines, placed right before
 * "## Configuration".
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let root = dirname(fileURLToPath(import.meta.url))
while (!existsSync(join(root, 'package.json'))) root = dirname(root)

test('README "Writing a backend": the compiled example, under 30 lines, before Configuration', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = /\n## Writing a backend\n([\s\S]*?)\n## ([^\n]+)\n/.exec(readme)
  assert.ok(section !== null, 'section present')
  assert.equal(section[2], 'Configuration')
  const block = /```ts\n([\s\S]*?)```/.exec(section[1] as string)?.[1]
  const file = readFileSync(join(root, 'examples', 'readme-backend.ts'), 'utf8').replace("from '../src/backend/index.js'", "from 'ocpp-mqtt-gateway/backend'")
  assert.equal(block, file)
  assert.ok(file.trimEnd().split('\n').length < 30)
})

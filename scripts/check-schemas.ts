/**
 * Holds schemas/ to its manifest: every bundle's sha256 and schema count as schemas/MANIFEST.json
 * says, every schema readable by the loader (src/schema/schema-source.ts). Exit 1 on a mismatch,
 * naming the file. `--update` writes the manifest anew from the files (after replacing one, e.g.
 * a new OCA edition), then checks.
 *
 *   npm run check:schemas            # = node dist/scripts/check-schemas.js
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleFiles, loadActionSchemas, schemasDir } from '../src/schema/schema-source.js'
import type { OcppVersion } from '../src/ocpp/dialect.js'

interface Manifest { files: Record<string, { version: string, schemas: number, sha256: string }> }

/** Problems found, one line each; none when the files are what the manifest says. */
export function checkSchemas (dir = schemasDir()): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8')) as Manifest
  const problems: string[] = []
  for (const [version, file] of Object.entries(bundleFiles) as Array<[OcppVersion, string]>) {
    const entry = manifest.files[file]
    if (entry === undefined) { problems.push(`${file}: not in MANIFEST.json`); continue }
    const bytes = readFileSync(join(dir, file))
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    if (sha256 !== entry.sha256) problems.push(`${file}: sha256 ${sha256}, MANIFEST.json says ${entry.sha256}`)
    const count = (JSON.parse(bytes.toString('utf8')) as unknown[]).length
    if (count !== entry.schemas) problems.push(`${file}: ${count} schemas, MANIFEST.json says ${entry.schemas}`)
    if (entry.version !== version) problems.push(`${file}: MANIFEST.json says version ${entry.version}, the loader reads it as ${version}`)
    try { loadActionSchemas(version) } catch (err) { problems.push(`${file}: ${(err as Error).message}`) }
  }
  return problems
}

function update (dir = schemasDir()): void {
  const path = join(dir, 'MANIFEST.json')
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest
  for (const [version, file] of Object.entries(bundleFiles)) {
    const bytes = readFileSync(join(dir, file))
    manifest.files[file] = { version, schemas: (JSON.parse(bytes.toString('utf8')) as unknown[]).length, sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  writeFileSync(path, JSON.stringify(manifest, null, 2) + '\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  if (process.argv.includes('--update')) update()
  const problems = checkSchemas()
  for (const p of problems) console.error(p)
  if (problems.length > 0) process.exit(1)
  console.log(`schemas/: ${Object.keys(bundleFiles).length} bundles match MANIFEST.json`)
}

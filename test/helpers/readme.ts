/**
 * The README as tests read it: a section by its heading, its fenced blocks (also those indented
 * inside a numbered list), and expected output lines in which `…` stands for any text.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root (tests run from dist/test/…). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

export function readme (): string {
  return readFileSync(join(repoRoot, 'README.md'), 'utf8')
}

/** The text under `heading` (any level) up to the next heading of the same or a higher level. */
export function section (markdown: string, heading: string): string {
  const lines = markdown.split('\n')
  const at = lines.findIndex((l) => /^#+ /.test(l) && l.replace(/^#+ /, '') === heading)
  if (at < 0) throw new Error(`README has no heading "${heading}"`)
  const level = /^#+/.exec(lines[at]!)![0].length
  let end = lines.length
  // Fences may hold lines starting with '#' (shell comments): only headings outside them count.
  let inFence = false
  for (let i = at + 1; i < lines.length; i++) {
    if (/^\s*```/.test(lines[i]!)) inFence = !inFence
    const m = inFence ? null : /^(#+) /.exec(lines[i]!)
    if (m !== null && m[1]!.length <= level) { end = i; break }
  }
  return lines.slice(at + 1, end).join('\n')
}

export interface Block { lang: string, body: string }

/** The fenced blocks of a text, in order, their indentation (that of the fence) removed. */
export function fencedBlocks (text: string): Block[] {
  const blocks: Block[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!)
    if (open === null) continue
    const indent = open[1]!.length
    const body: string[] = []
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent))
    blocks.push({ lang: open[2]!, body: body.join('\n') })
  }
  return blocks
}

/** A printed output line as a whole-line pattern: literal text, `…` matching anything. */
export function linePattern (expected: string): RegExp {
  const parts = expected.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('.*')}$`)
}

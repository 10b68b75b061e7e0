/**
 * Call back when any of a few files changes: the TLS files of a wss listener, a credentials
 * file. Shared so that both see the same replacements the same way.
 *
 * - The files' directories are watched, not the files: certbot, editors, `mv` and `passwd`
 *   replace a file by rename, which ends a watch on the file itself, and a Kubernetes secret
 *   volume swaps a symlinked `..data` directory (events for `..data`, `..data_tmp`, …).
 * - A stat poll (inode, size, mtime of each path, following symlinks) is the fallback for
 *   file systems where fs.watch says nothing (NFS, some container mounts).
 * - Changes are debounced: a certificate and its key are rarely written at the same instant.
 *
 * Nothing here keeps the process alive (watchers not persistent, timers unref'd).
 *
 * @example
 *   const w = watchFiles([certfile, keyfile], () => { void reload() }, { debounceMs: 200, pollIntervalMs: 5000 })
 *   // later
 *   w.close()
 */
import { statSync, watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'

export interface WatchFilesOptions {
  /** Quiet time after the last change before calling back, in ms. */
  debounceMs: number
  /** Stat poll interval in ms, the fallback for fs.watch; 0 disables the poll. */
  pollIntervalMs: number
  /** Use fs.watch on the directories (default true; false leaves only the poll). */
  fsWatch?: boolean
}

export interface FileWatch {
  /** Stop watching; a change already debounced is not reported. */
  close: () => void
}

type StatLike = { ino: number, size: number, mtimeMs: number }

const keyOf = (s: StatLike): string => `${s.ino}:${s.size}:${s.mtimeMs}`

function stateSync (paths: readonly string[]): string {
  return paths.map(p => {
    try {
      return keyOf(statSync(p))
    } catch {
      return '-'
    }
  }).join('|')
}

async function state (paths: readonly string[]): Promise<string> {
  const parts = await Promise.all(paths.map(async p => await stat(p).then(keyOf, () => '-')))
  return parts.join('|')
}

class FilesWatcher implements FileWatch {
  private readonly paths: string[]
  private readonly watchers: FSWatcher[] = []
  private poll: NodeJS.Timeout | undefined
  private timer: NodeJS.Timeout | undefined
  /** The files' state when the last callback was decided. */
  private last: string
  /** The debounce ended and its stat is not taken yet: a change now is seen by that stat. */
  private firing = false
  private polling = false
  private closed = false

  constructor (paths: readonly string[], private readonly onChange: () => void, private readonly opts: WatchFilesOptions) {
    this.paths = [...new Set(paths.map(p => resolve(p)))]
    this.last = stateSync(this.paths)
    if (opts.fsWatch !== false) this.watchDirectories()
    if (opts.pollIntervalMs > 0) {
      this.poll = setInterval(() => { void this.check() }, opts.pollIntervalMs)
      this.poll.unref()
    }
  }

  close (): void {
    this.closed = true
    for (const w of this.watchers) w.close()
    this.watchers.length = 0
    if (this.poll !== undefined) clearInterval(this.poll)
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.poll = this.timer = undefined
  }

  private watchDirectories (): void {
    const byDir = new Map<string, Set<string>>()
    for (const p of this.paths) {
      const names = byDir.get(dirname(p)) ?? new Set<string>()
      names.add(basename(p))
      byDir.set(dirname(p), names)
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => {
          // null: the platform did not say which file; `..x`: a Kubernetes volume swap.
          if (file === null || names.has(file) || file.startsWith('..')) this.schedule()
        })
        w.on('error', () => { w.close() })
        this.watchers.push(w)
      } catch {
        // a directory that cannot be watched (absent, no inotify left): the poll still sees changes
      }
    }
  }

  private schedule (): void {
    if (this.closed || this.firing) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.fire() }, this.opts.debounceMs)
    this.timer.unref()
  }

  private async fire (): Promise<void> {
    this.timer = undefined
    this.firing = true
    try {
      // Taken before the owner reads the files: a change during its read shows on the next poll.
      this.last = await state(this.paths)
    } finally {
      this.firing = false
    }
    if (!this.closed) this.onChange()
  }

  private async check (): Promise<void> {
    if (this.polling || this.firing || this.timer !== undefined) return
    this.polling = true
    try {
      const now = await state(this.paths)
      // Re-checked after the await: a watch event may have scheduled the same change meanwhile.
      if (now !== this.last && !this.firing && this.timer === undefined) this.schedule()
    } finally {
      this.polling = false
    }
  }
}

/** Watch `paths` and call `onChange` (debounced) when one of them changes, appears or goes. */
export function watchFiles (paths: readonly string[], onChange: () => void, opts: WatchFilesOptions): FileWatch {
  return new FilesWatcher(paths, onChange, opts)
}

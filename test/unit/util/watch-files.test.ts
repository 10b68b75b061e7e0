import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { watchFiles, type FileWatch, type WatchFilesOptions } from '../../../src/util/watch-files.js'

let root: string
let n = 0
before(() => { root = mkdtempSync(join(tmpdir(), 'ocpp-gw-watch-')) })
after(() => { rmSync(root, { recursive: true, force: true }) })

/** A fresh directory per test, so one test's events never reach another's watcher. */
function freshDir (): string {
  const d = join(root, `t${n++}`)
  mkdirSync(d)
  return d
}

/** Counts callbacks; `next()` resolves at the next one, or rejects after `ms`. */
function counter (ms = 5000): { cb: () => void, count: () => number, next: () => Promise<number> } {
  let calls = 0
  let seen = 0
  let waiter: (() => void) | undefined
  return {
    cb: () => { calls++; const w = waiter; waiter = undefined; w?.() },
    count: () => calls,
    next: async () => await new Promise<number>((resolve, reject) => {
      if (calls > seen) { seen++; resolve(calls); return }
      const t = setTimeout(() => reject(new Error('timed out waiting for the callback')), ms)
      waiter = () => { clearTimeout(t); seen++; resolve(calls) }
    })
  }
}

const WATCH_ONLY: WatchFilesOptions = { debounceMs: 20, pollIntervalMs: 0 }
const POLL_ONLY: WatchFilesOptions = { debounceMs: 10, pollIntervalMs: 20, fsWatch: false }

async function withWatch (paths: string[], cb: () => void, opts: WatchFilesOptions, body: (w: FileWatch) => Promise<void>): Promise<void> {
  const w = watchFiles(paths, cb, opts)
  try { await body(w) } finally { w.close() }
}

describe('watchFiles', () => {
  test('a file replaced by rename is seen through the directory watch', async () => {
    const d = freshDir()
    const file = join(d, 'cert.pem')
    writeFileSync(file, 'one')
    const c = counter()
    await withWatch([file], c.cb, WATCH_ONLY, async () => {
      writeFileSync(join(d, 'cert.pem.new'), 'two')
      renameSync(join(d, 'cert.pem.new'), file)
      assert.equal(await c.next(), 1)
      // The watch survived the rename: a second replacement is seen too.
      writeFileSync(join(d, 'cert.pem.new'), 'three')
      renameSync(join(d, 'cert.pem.new'), file)
      assert.equal(await c.next(), 2)
    })
  })

  test('the stat poll alone sees a change, a deletion and a re-creation', async () => {
    const d = freshDir()
    const file = join(d, 'credentials')
    writeFileSync(file, 'a')
    const c = counter()
    await withWatch([file], c.cb, POLL_ONLY, async () => {
      writeFileSync(file, 'bigger')
      assert.equal(await c.next(), 1)
      unlinkSync(file)
      assert.equal(await c.next(), 2)
      writeFileSync(file, 'back')
      assert.equal(await c.next(), 3)
    })
  })

  test('a burst of writes to several files is one callback', async () => {
    const d = freshDir()
    const cert = join(d, 'cert.pem')
    const key = join(d, 'key.pem')
    writeFileSync(cert, 'c')
    writeFileSync(key, 'k')
    const c = counter()
    await withWatch([cert, key], c.cb, { debounceMs: 100, pollIntervalMs: 20 }, async () => {
      for (let i = 0; i < 5; i++) {
        writeFileSync(key, `k${i}`)
        writeFileSync(cert, `c${i}`)
      }
      assert.equal(await c.next(), 1)
      // Had the burst made a second callback, it would come before the next change's.
      writeFileSync(cert, 'after')
      assert.equal(await c.next(), 2)
    })
  })

  test('a Kubernetes secret volume swap (..data symlink renamed over) is seen', async () => {
    const d = freshDir()
    mkdirSync(join(d, '..v1'))
    writeFileSync(join(d, '..v1', 'tls.crt'), 'v1')
    symlinkSync('..v1', join(d, '..data'))
    symlinkSync(join('..data', 'tls.crt'), join(d, 'tls.crt'))
    const c = counter()
    await withWatch([join(d, 'tls.crt')], c.cb, WATCH_ONLY, async () => {
      // What the kubelet does: new timestamped directory, new link beside, renamed over ..data.
      mkdirSync(join(d, '..v2'))
      writeFileSync(join(d, '..v2', 'tls.crt'), 'v2')
      symlinkSync('..v2', join(d, '..data_tmp'))
      renameSync(join(d, '..data_tmp'), join(d, '..data'))
      assert.equal(await c.next(), 1)
    })
  })

  test('files in two directories are both watched', async () => {
    const a = freshDir()
    const b = freshDir()
    writeFileSync(join(a, 'cert.pem'), 'c')
    writeFileSync(join(b, 'ca.pem'), 'ca')
    const c = counter()
    await withWatch([join(a, 'cert.pem'), join(b, 'ca.pem')], c.cb, WATCH_ONLY, async () => {
      writeFileSync(join(b, 'ca.pem'), 'ca2')
      assert.equal(await c.next(), 1)
      writeFileSync(join(a, 'cert.pem'), 'c2')
      assert.equal(await c.next(), 2)
    })
  })

  // The next two compare with a second watcher on the same directory whose debounce is longer:
  // by the time it calls back, the first one would have, had it been going to.

  test('another file in the same directory is not a change', async () => {
    const d = freshDir()
    writeFileSync(join(d, 'cert.pem'), 'c')
    writeFileSync(join(d, 'other'), 'o')
    const watched = counter()
    const clock = counter()
    await withWatch([join(d, 'cert.pem')], watched.cb, { debounceMs: 10, pollIntervalMs: 10 }, async () => {
      await withWatch([join(d, 'other')], clock.cb, { debounceMs: 150, pollIntervalMs: 0 }, async () => {
        writeFileSync(join(d, 'other'), 'o2')
        await clock.next()
        assert.equal(watched.count(), 0)
      })
    })
  })

  test('after close(), a change already debounced is not reported, nor any later one', async () => {
    const d = freshDir()
    const file = join(d, 'key.pem')
    writeFileSync(file, 'k')
    const closed = counter()
    const probe = counter()
    const clock = counter()
    const w = watchFiles([file], closed.cb, { debounceMs: 100, pollIntervalMs: 0 })
    const p = watchFiles([file], probe.cb, { debounceMs: 1, pollIntervalMs: 0 })
    await withWatch([file], clock.cb, { debounceMs: 300, pollIntervalMs: 0 }, async () => {
      writeFileSync(file, 'k2')
      // The probe has seen the event, so w has too and is waiting out its debounce.
      await probe.next()
      p.close()
      w.close()
      await clock.next()
      writeFileSync(file, 'k3')
      await clock.next()
      assert.equal(closed.count(), 0)
    })
    w.close() // idempotent
  })
})

#!/usr/bin/env node
/**
 * What reading stored pieces out of order costs (issue 14): engine/storage/idb.ts stores the pieces a transaction
 * writes as runs of up to 1 MiB, and a `get` of one piece reads its run's record. A scattered read (an uploader
 * serving pieces in the order other peers ask for them, a video seek) may then read up to 1 MiB for one piece.
 *
 * In Chromium, with a profile on disk (a visitor's) and off the record, a page writes BENCH_SCATTER_MB (64) of random
 * bytes through the real IdbStore, bundled from source with esbuild:
 *   - `base, one piece per record`: the store of BENCH_SCATTER_BASE (default: commit 14571a3, this session's start),
 *     each put awaited before the next (so every transaction holds one piece: the layout before runs),
 *   - `base, runs`: the same store, pieces put 8 at a time (one transaction, one 1 MiB run each, as a download at
 *     full speed writes them at best),
 *   - `work, runs`: the store of this working tree, written the same way,
 * then reads every piece back with a fresh store, in order and then in a random order (the same permutation for
 * every layout; BENCH_SCATTER_PARALLEL gets in flight at once, default 4, as upload.ts prefetches). Measured per
 * phase: CPU ms per MB of every Chromium process, of the browser process and of the renderer (the page), and wall
 * time. The layouts alternate order round by round.
 *
 *   node bench/store-scatter.mjs   (BENCH_SCATTER_ROUNDS=3, BENCH_SCATTER_PIECE=131072; no build, no network namespace)
 * A diagnostic: it exports no run(), so bench/run-all.mjs skips it.
 */
import http from 'node:http'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'
import { closeStorageContext, launchStorageContext } from './lib/chromium.mjs'
import { cpuPerMB, cpuSnapshot } from './lib/cpu.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const TOTAL = envNumber('BENCH_SCATTER_MB', 64) * 1024 * 1024
const PIECE = envNumber('BENCH_SCATTER_PIECE', 131072)
const PARALLEL = envNumber('BENCH_SCATTER_PARALLEL', 4)
const rounds = envNumber('BENCH_SCATTER_ROUNDS', 3)
const BASE = process.env.BENCH_SCATTER_BASE ?? '14571a3'
/** Optional: a third build (a commit) measured with the others, as `other, runs` (e.g. the commit before a change). */
const OTHER = process.env.BENCH_SCATTER_OTHER
/** Optional: skip the `base, one piece per record` layout (BENCH_SCATTER_ONE=0), the slowest to write. */
const ONE = process.env.BENCH_SCATTER_ONE !== '0'
const MB = TOTAL / 1e6
const root = resolve(import.meta.dirname, '..')

const dir = await mkdtemp(join(tmpdir(), 'peersite-store-scatter-'))
/** The IdbStore of `srcRoot` as a script that sets window[name]. */
async function bundle (srcRoot, name) {
  const out = await build({
    stdin: { contents: `import { IdbStore } from './engine/storage/idb.ts'; window.${name} = IdbStore`, resolveDir: srcRoot, loader: 'ts' },
    bundle: true, format: 'iife', write: false, target: 'es2022'
  })
  return out.outputFiles[0].text
}
execFileSync('sh', ['-c', `git -C "${root}" archive ${BASE} engine | tar -x -C "${dir}"`])
const scripts = { base: await bundle(dir, 'BaseStore'), work: await bundle(root, 'WorkStore'), other: '' }
if (OTHER !== undefined) {
  const otherDir = join(dir, 'other')
  execFileSync('sh', ['-c', `mkdir -p "${otherDir}" && git -C "${root}" archive ${OTHER} engine | tar -x -C "${otherDir}"`])
  scripts.other = await bundle(otherDir, 'OtherStore')
}

const PAGE_SETUP = ([total, piece, parallel]) => {
  const n = Math.ceil(total / piece)
  const random = new Uint8Array(8 << 20)
  for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536))
  const pieceOf = (i) => random.slice((i * 4099) % (random.length - piece), (i * 4099) % (random.length - piece) + piece)
  // A fixed permutation (xorshift), the same for every layout.
  const order = [...Array(n).keys()]
  let s = 0x9e3779b9
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5
    const j = (s >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]]
  }
  const open = (Store, name) => new Store({ infoHash: 'ab'.repeat(20), pieceLength: piece, length: n * piece, name })
  window.scatter = {
    write: async (which, name, perTx) => {
      const store = open(window[which], name)
      for (let i = 0; i < n; i += perTx) {
        const batch = []
        for (let j = i; j < Math.min(n, i + perTx); j++) batch.push(store.put(j, pieceOf(j)))
        await Promise.all(batch)
      }
      await store.close()
    },
    read: async (which, name, scattered) => {
      const store = open(window[which], name)
      const list = scattered ? order : [...Array(n).keys()]
      let next = 0
      let bad = 0
      const worker = async () => {
        while (next < list.length) {
          const i = list[next++]
          const got = await store.get(i)
          const want = pieceOf(i)
          if (got.length !== want.length || got[0] !== want[0] || got[got.length - 1] !== want[want.length - 1] || got[got.length >> 1] !== want[want.length >> 1]) bad++
        }
      }
      await Promise.all(Array.from({ length: parallel }, worker))
      await store.close()
      if (bad > 0) throw new Error(`${bad} pieces read wrong`)
    },
    drop: (name) => new Promise((resolve) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = r.onerror = r.onblocked = resolve })
  }
}

const LAYOUTS = {
  ...(ONE ? { 'base, one piece per record': { store: 'BaseStore', perTx: 1 } } : {}),
  'base, runs': { store: 'BaseStore', perTx: 8 },
  ...(OTHER !== undefined ? { [`${OTHER}, runs`]: { store: 'OtherStore', perTx: 8 } } : {}),
  'work, runs': { store: 'WorkStore', perTx: 8 }
}

const server = http.createServer((req, res) => {
  const js = req.url === '/base.js' ? scripts.base : req.url === '/work.js' ? scripts.work : req.url === '/other.js' ? scripts.other : undefined
  res.setHeader('content-type', js === undefined ? 'text/html' : 'text/javascript')
  res.end(js ?? '<!doctype html><title>store scatter</title><script src="/base.js"></script><script src="/work.js"></script><script src="/other.js"></script>')
}).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const url = `http://127.0.0.1:${server.address().port}/`

const results = new Map()
const loads = [loadavg()[0]]
const sum = (before, after, match) => {
  let ms = 0
  for (const [key, v] of after) if (match(key)) ms += v - (before.get(key) ?? 0)
  return ms / MB
}
try {
  for (const where of ['profile on disk', 'off the record']) {
    const { context, tag, browser } = await launchStorageContext(where, join(dir, 'profile'))
    try {
      const page = await context.newPage()
      await page.goto(url)
      await page.evaluate(PAGE_SETUP, [TOTAL, PIECE, PARALLEL])
      for (let round = 0; round < rounds; round++) {
        const layouts = Object.entries(LAYOUTS)
        if (round % 2 === 1) layouts.reverse()
        for (const [layout, { store, perTx }] of layouts) {
          const name = `scatter-${round}-${perTx}-${store}`
          const phases = [
            ['write', () => page.evaluate(([s, n, p]) => window.scatter.write(s, n, p), [store, name, perTx])],
            ['read in order', () => page.evaluate(([s, n]) => window.scatter.read(s, n, false), [store, name])],
            ['read scattered', () => page.evaluate(([s, n]) => window.scatter.read(s, n, true), [store, name])]
          ]
          for (const [what, run] of phases) {
            const before = await cpuSnapshot(tag)
            const t0 = performance.now()
            await run()
            const wall = performance.now() - t0
            const after = await cpuSnapshot(tag)
            const { chromium } = cpuPerMB(before, after, MB, 1)
            const browserMs = sum(before, after, (k) => k.startsWith('browser '))
            const renderer = sum(before, after, (k) => k.startsWith('renderer '))
            const storage = sum(before, after, (k) => k.startsWith('storage service '))
            const key = `${where} | ${layout} | ${what}`
            if (!results.has(key)) results.set(key, [])
            results.get(key).push({ chromium, browserMs, renderer, storage, wall })
            console.error(`bench/store-scatter: ${key}, round ${round + 1}: ${fmt(chromium)} ms/MB (browser ${fmt(browserMs)}, renderer ${fmt(renderer)}), ${fmt(wall)} ms`)
          }
          await page.evaluate((n) => window.scatter.drop(n), name)
        }
      }
    } finally {
      await closeStorageContext({ context, browser })
    }
    loads.push(loadavg()[0])
  }
} finally {
  server.close()
  await rm(dir, { recursive: true, force: true })
}

const rows = [...results].map(([key, runs]) => {
  const [where, layout, what] = key.split(' | ')
  const m = (f) => fmt(median(runs.map(f)))
  return [where, layout, what, m((r) => r.chromium), runs.map((r) => fmt(r.chromium)).join(', '), m((r) => r.browserMs),
    m((r) => r.storage), m((r) => r.renderer), m((r) => r.wall)]
})
console.log(markdownTable(['browser', 'layout', '', 'Chromium CPU ms/MB (median)', 'rounds', 'browser process', 'storage service', 'renderer (page)', 'wall ms'], rows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']))
console.log(`\n${fmt(MB)} MB of random bytes in pieces of ${PIECE} bytes, ${PARALLEL} gets in flight; load average ${loads.map((l) => fmt(l)).join(', ')} (start, after each browser).`)
process.exit(0)

#!/usr/bin/env node
/**
 * What storing pieces costs Chromium, in CPU ms per MB of every process of the browser (issue 14 part 2): 100 MB of
 * random bytes (pieces of a video do not compress; constant bytes do, and Chromium then keeps IndexedDB values
 * inline and cheap, which hides the cost) written from a page as
 *   - IndexedDB records of one 128 KiB piece, 16 per transaction (what engine/storage/idb.ts does),
 *   - IndexedDB records of 1 MiB (8 pieces), 2 per transaction,
 *   - IndexedDB records of 32 KiB (a quarter piece: under the size at which Chromium keeps a value as a file of its
 *     own), 64 per transaction, a piece read back with one getAll,
 *   - an OPFS file through a sync access handle in a dedicated worker (each piece copied and transferred to it),
 * each then read back piece by piece in order (what uploading to other visitors, or a return visit, does; a 1 MiB
 * record is read once for its 8 pieces), in a browser whose profile is on disk (as a visitor's is) and in an
 * off-the-record context (what bench/media.mjs
 * and bench/profile-throughput.mjs use: Chromium keeps that storage in memory), the ways alternating round by round.
 * Values over 64 KiB (after compression) are kept by Chromium's IndexedDB as one blob file each on disk.
 *
 *   node bench/store-cost.mjs   (BENCH_STORE_ROUNDS=3; needs no build, and no network namespace: loopback HTTP only)
 * A diagnostic: it exports no run(), so bench/run-all.mjs skips it.
 */
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, loadavg } from 'node:os'
import { join } from 'node:path'
import { closeStorageContext, launchStorageContext } from './lib/chromium.mjs'
import { cpuPerMB, cpuSnapshot } from './lib/cpu.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const MB = 100 * 1024 * 1024 / 1e6
const PIECE = 131072

/** The OPFS writer: opens `pieces-NAME`, writes each transferred piece at its offset, answers `flush`. */
const WORKER = `
let access
onmessage = async (e) => {
  const d = e.data
  if (d.open !== undefined) {
    const root = await navigator.storage.getDirectory()
    access = await (await root.getFileHandle('pieces-' + d.open, { create: true })).createSyncAccessHandle()
    postMessage('opened')
  } else if (d.flush) {
    access.flush()
    postMessage('flushed')
  } else if (d.read !== undefined) {
    const out = new Uint8Array(d.length)
    access.read(out, { at: d.read })
    postMessage({ bytes: out.buffer }, [out.buffer])
  } else if (d.close) {
    access.close()
    postMessage('closed')
  } else {
    access.write(new Uint8Array(d.bytes), { at: d.at })
  }
}`

/** In the page: helpers that write 100 MB of random pieces one way. */
const PAGE_SETUP = () => {
  const random = new Uint8Array(8 << 20)
  for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536))
  let at = 0
  /** A fresh copy of `size` random bytes, as the engine hands the store a fresh piece. */
  const next = (size) => {
    if (at + size > random.length) at = (at + 4099) % 65536
    const out = random.slice(at, at + size)
    at += size
    return out
  }
  window.storeCost = {
    idb: async (name, size, perTx) => {
      const db = await new Promise((resolve, reject) => {
        const req = indexedDB.open(name, 1)
        req.onupgradeneeded = () => req.result.createObjectStore('pieces')
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
      const n = Math.ceil(104857600 / size)
      for (let i = 0; i < n; i += perTx) {
        await new Promise((resolve, reject) => {
          const tx = db.transaction(['pieces'], 'readwrite')
          const store = tx.objectStore('pieces')
          for (let j = i; j < Math.min(n, i + perTx); j++) store.put(next(size), j)
          tx.oncomplete = resolve
          tx.onabort = () => reject(tx.error)
        })
      }
      window.storeCost.db = db
    },
    /** Reads back every piece in order: one get per record, a record's pieces sliced from it (1 MiB: 8 each). */
    idbRead: async (size) => {
      const db = window.storeCost.db
      const n = Math.ceil(104857600 / size)
      let bytes = 0
      for (let i = 0; i < n; i++) {
        const value = await new Promise((resolve, reject) => {
          const req = db.transaction(['pieces'], 'readonly').objectStore('pieces').get(i)
          req.onsuccess = () => resolve(req.result)
          req.onerror = () => reject(req.error)
        })
        for (let at = 0; at < value.length; at += 131072) bytes += value.slice(at, at + 131072).length
      }
      db.close()
      if (bytes !== 104857600) throw new Error(`read ${bytes} bytes`)
    },
    /**
     * Reads back every 128 KiB piece in order from records of `size` bytes (under 128 KiB: one getAll over the piece's
     * records, joined into one buffer, as a store would hand the piece on).
     */
    idbReadParts: async (size) => {
      const db = window.storeCost.db
      const parts = 131072 / size
      let bytes = 0
      for (let i = 0; i < 800; i++) {
        const values = await new Promise((resolve, reject) => {
          const req = db.transaction(['pieces'], 'readonly').objectStore('pieces').getAll(IDBKeyRange.bound(i * parts, i * parts + parts - 1))
          req.onsuccess = () => resolve(req.result)
          req.onerror = () => reject(req.error)
        })
        const piece = new Uint8Array(131072)
        values.forEach((v, k) => piece.set(v, k * size))
        bytes += piece.length
      }
      db.close()
      if (bytes !== 104857600) throw new Error(`read ${bytes} bytes`)
    },
    opfs: async (name, workerUrl) => {
      const worker = new Worker(workerUrl)
      const answer = () => new Promise((resolve) => { worker.onmessage = resolve })
      worker.postMessage({ open: name })
      await answer()
      for (let i = 0; i < 800; i++) {
        const bytes = next(131072).buffer
        worker.postMessage({ bytes, at: i * 131072 }, [bytes])
        // Yield now and then, as pieces arrive over time.
        if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 0))
      }
      worker.postMessage({ flush: true })
      await answer()
      window.storeCost.worker = worker
    },
    /** Reads back every piece in order: the worker reads it into a fresh buffer and transfers it here. */
    opfsRead: async () => {
      const worker = window.storeCost.worker
      let bytes = 0
      for (let i = 0; i < 800; i++) {
        const got = new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data.bytes) })
        worker.postMessage({ read: i * 131072, length: 131072 })
        bytes += (await got).byteLength
      }
      worker.postMessage({ close: true })
      await new Promise((resolve) => { worker.onmessage = resolve })
      worker.terminate()
      if (bytes !== 104857600) throw new Error(`read ${bytes} bytes`)
    }
  }
}

/** Each way: write 100 MB, then read it back piece by piece (what uploading to other visitors, or a return visit, does). */
const WAYS = {
  'IndexedDB, 128 KiB records (16 per transaction)': {
    write: (page, name) => page.evaluate(([n, s]) => window.storeCost.idb(n, s, 16), [name, PIECE]),
    read: (page) => page.evaluate((s) => window.storeCost.idbRead(s), PIECE)
  },
  'IndexedDB, 1 MiB records (2 per transaction)': {
    write: (page, name) => page.evaluate(([n, s]) => window.storeCost.idb(n, s, 2), [name, 8 * PIECE]),
    read: (page) => page.evaluate((s) => window.storeCost.idbRead(s), 8 * PIECE)
  },
  // Under Chromium's 64 KiB threshold a value stays in the database's own files (LevelDB), not a blob file of its own.
  'IndexedDB, 128 KiB pieces as 32 KiB records (64 per transaction)': {
    write: (page, name) => page.evaluate(([n, s]) => window.storeCost.idb(n, s, 64), [name, PIECE / 4]),
    read: (page) => page.evaluate((s) => window.storeCost.idbReadParts(s), PIECE / 4)
  },
  'OPFS, sync access handle in a dedicated worker': {
    write: (page, name) => page.evaluate(([n]) => window.storeCost.opfs(n, '/writer.js'), [name]),
    read: (page) => page.evaluate(() => window.storeCost.opfsRead())
  }
}

const server = http.createServer((req, res) => {
  res.setHeader('content-type', req.url === '/writer.js' ? 'text/javascript' : 'text/html')
  res.end(req.url === '/writer.js' ? WORKER : '<!doctype html><title>store cost</title>')
}).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const url = `http://127.0.0.1:${server.address().port}/`

const rounds = envNumber('BENCH_STORE_ROUNDS', 3)
const results = new Map()
const loads = [loadavg()[0]]
const dir = await mkdtemp(join(tmpdir(), 'peersite-store-cost-'))
try {
  for (const where of ['profile on disk', 'off the record']) {
    const { context, tag, browser } = await launchStorageContext(where, join(dir, 'profile'))
    try {
      const page = await context.newPage()
      await page.goto(url)
      await page.evaluate(PAGE_SETUP)
      for (let round = 0; round < rounds; round++) {
        const ways = Object.entries(WAYS)
        if (round % 2 === 1) ways.reverse()
        for (const [way, { write, read }] of ways) {
          for (const [what, run] of [['write', write], ['read', read]]) {
            const before = await cpuSnapshot(tag)
            await run(page, `r${round}-${way.slice(0, 4)}-${way.length}`)
            const after = await cpuSnapshot(tag)
            const { chromium, threads } = cpuPerMB(before, after, MB, 1)
            const key = `${where} | ${way} | ${what}`
            if (!results.has(key)) results.set(key, [])
            results.get(key).push({ chromium, threads: threads.filter(([t]) => !t.startsWith('node')) })
            console.error(`bench/store-cost: ${key}, round ${round + 1}: ${fmt(chromium)} ms/MB`)
          }
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
  const [where, way, what] = key.split(' | ')
  const mid = [...runs].sort((a, b) => a.chromium - b.chromium)[runs.length >> 1]
  return [where, way, what, fmt(median(runs.map((r) => r.chromium))), runs.map((r) => fmt(r.chromium)).join(', '),
    mid.threads.slice(0, 4).map(([t, v]) => `${t.replace(/ \d+ \//, ' /')} ${fmt(v)}`).join('; ')]
})
console.log(markdownTable(['browser', 'pieces stored as', '', 'Chromium CPU ms/MB (median)', 'rounds', 'busiest threads, median round (ms/MB)'], rows, ['l', 'l', 'l', 'r', 'r', 'l']))
console.log(`\n100 MB of random bytes per round; load average ${loads.map((l) => fmt(l)).join(', ')} (start, after each browser).`)
process.exit(0)

#!/usr/bin/env node
/**
 * Where the CPU goes while a big file streams into Chromium (issue 14 part 2): the 100 MB download of bench/media.mjs,
 * Node seeder -> Chromium, then Chromium -> Chromium (the seeder stopped), with
 *   - the CPU time of every thread of the browser's processes (/proc/<pid>/task/<tid>/stat), grouped by process kind
 *     and thread name, in ms per MB, and the bench process's own (the Node seeder and playwright);
 *   - with --profile, a JavaScript CPU profile (CDP Profiler) of the downloading loader page and of its service
 *     worker, summarised by function (self time), written to DIR/*.cpuprofile for devtools.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/profile-throughput.mjs [--profile DIR] [--mb 100] [--skip-page]
 *     [--disk DIR] [--no-idb] [--raw-sizes 16,32,64 [--rounds 3]]
 * --disk: Node seeder -> Chromium only, in a browser whose profile is on disk (DIR, emptied first), as a visitor's is:
 * the contexts of the other runs are off the record, where Chromium keeps IndexedDB in memory, and stores pieces at
 * a different CPU cost than on disk (no worker profile there). --no-idb: the page has no IndexedDB, so the engine
 * keeps its pieces in memory (MemoryStore): what storing them costs. --raw-sizes: only the raw channel, Node ->
 * Chromium, with messages of each size in KiB in turn (alternated, --rounds times): what a message costs the
 * receiving page's main thread and Chromium, apart from its bytes.
 * PEERSITE_BENCH_DIST points it at another build. A diagnostic, not a benchmark: it exports no run(), so
 * bench/run-all.mjs skips it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { ensureDownloadSite } from '../scripts/make-media.mjs'
import { launchChromium, launchPersistentChromium, rawChromiumToChromium, rawNodeToChromium, siteFrame, timedFetch } from './lib/chromium.mjs'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { cpuPerMB, cpuSnapshot } from './lib/cpu.mjs'
import { fmt, mbps, median } from './lib/table.mjs'

const args = process.argv.slice(2)
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1] }
const profileDir = opt('--profile')
const bigMB = Number(opt('--mb') ?? 100)
const skipPage = args.includes('--skip-page')
const diskDir = opt('--disk')
function printCpu (label, before, after, mb) {
  const { chromium, node, threads } = cpuPerMB(before, after, mb)
  console.log(`\n${label}: Chromium ${fmt(chromium, 1)} ms/MB, bench process (Node seeder + playwright) ${fmt(node, 1)} ms/MB`)
  const byKind = new Map()
  for (const [k, v] of cpuPerMB(before, after, mb, 0).threads) {
    const kind = k.split(' / ')[0]
    byKind.set(kind, (byKind.get(kind) ?? 0) + v)
  }
  for (const [kind, v] of [...byKind].sort((x, y) => y[1] - x[1])) if (v >= 0.1) console.log(`  ${kind.padEnd(34)} ${fmt(v, 1).padStart(7)} ms/MB`)
  console.log('  threads over 0.5 ms/MB:')
  for (const [k, v] of threads) console.log(`    ${k.padEnd(56)} ${fmt(v, 1).padStart(7)} ms/MB`)
}

/** Self time by function (and by URL's last part) of a CDP CPU profile, the top `n`. */
function summarise (profile, n = 25) {
  const byFn = new Map()
  const dt = new Map()
  const { nodes, samples, timeDeltas } = profile
  const byId = new Map(nodes.map((x) => [x.id, x]))
  for (let i = 0; i < samples.length; i++) dt.set(samples[i], (dt.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0))
  let total = 0
  for (const [id, us] of dt) {
    const node = byId.get(id)
    const cf = node.callFrame
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').pop()}:${cf.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    total += us
  }
  const lines = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, n)
  return { total: total / 1000, lines: lines.map(([k, us]) => `${fmt(us / 1000, 0).padStart(7)} ms ${fmt(us / total * 100, 1).padStart(5)}%  ${k}`) }
}

/** A CPU profile of the first service worker target, through the browser's CDP session (non-flat attach). */
async function workerProfiler (browser, contextId) {
  const cdp = await browser.newBrowserCDPSession()
  const { targetInfos } = await cdp.send('Target.getTargets')
  const sw = targetInfos.filter((t) => t.type === 'service_worker' && t.browserContextId === contextId)
  if (sw.length === 0) return undefined
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: sw[sw.length - 1].targetId, flatten: false })
  let id = 0
  const pending = new Map()
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return
    const msg = JSON.parse(e.message)
    const p = pending.get(msg.id)
    if (p !== undefined) { pending.delete(msg.id); msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result) }
  })
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const mid = ++id
    pending.set(mid, { resolve, reject })
    void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: mid, method, params }) }).catch(reject)
  })
  await send('Profiler.enable')
  await send('Profiler.setSamplingInterval', { interval: 500 })
  await send('Profiler.start')
  return { stop: async () => (await send('Profiler.stop')).profile }
}

/** Counts the page's data-channel sends (what each costs: a blocking call into WebRTC's network thread). */
const COUNT_SENDS = () => {
  const send = RTCDataChannel.prototype.send
  window.__sends = { n: 0, bytes: 0 }
  RTCDataChannel.prototype.send = function (data) {
    window.__sends.n++
    window.__sends.bytes += data.byteLength ?? data.length ?? 0
    return send.call(this, data)
  }
  // And the data-channel messages it receives: each is a task and an event of its own on the page's main thread.
  window.__received = { n: 0, bytes: 0 }
  const add = RTCDataChannel.prototype.addEventListener
  RTCDataChannel.prototype.addEventListener = function (type, listener, ...rest) {
    if (type === 'message') {
      add.call(this, type, (e) => { window.__received.n++; window.__received.bytes += e.data.byteLength ?? e.data.size ?? 0 }, ...rest)
    }
    return add.call(this, type, listener, ...rest)
  }
  // And its IndexedDB writes: each readwrite transaction costs the page and the browser far more than its bytes.
  window.__idb = { tx: 0, puts: 0 }
  if (typeof IDBDatabase === 'undefined') return
  const transaction = IDBDatabase.prototype.transaction
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    if (mode === 'readwrite') window.__idb.tx++
    return transaction.call(this, stores, mode, ...rest)
  }
  const put = IDBObjectStore.prototype.put
  IDBObjectStore.prototype.put = function (...a) {
    window.__idb.puts++
    return put.apply(this, a)
  }
}

async function measure (browser, tag, context, site, label) {
  await context.addInitScript(COUNT_SENDS)
  if (args.includes('--no-idb')) await context.addInitScript(() => { Object.defineProperty(window, 'indexedDB', { value: undefined }) })
  const page = await context.newPage()
  await page.goto(site.url)
  const frame = await siteFrame(page, 'Download')
  let pageCdp
  if (profileDir !== undefined) {
    pageCdp = await context.newCDPSession(page)
    await pageCdp.send('Profiler.enable')
    await pageCdp.send('Profiler.setSamplingInterval', { interval: 500 })
    await pageCdp.send('Profiler.start')
  }
  const contextId = pageCdp === undefined ? undefined : (await pageCdp.send('Target.getTargetInfo')).targetInfo.browserContextId
  const sw = profileDir !== undefined ? await workerProfiler(browser, contextId).catch((err) => { console.log('no worker profile:', err.message); return undefined }) : undefined
  const inspector = profileDir === undefined ? undefined : new (await import('node:inspector')).Session()
  const post = (method, params = {}) => new Promise((resolve, reject) => inspector.post(method, params, (err, res) => err ? reject(err) : resolve(res)))
  if (inspector !== undefined) {
    inspector.connect()
    await post('Profiler.enable')
    await post('Profiler.start')
  }
  const tracePath = opt('--trace')
  if (tracePath !== undefined) {
    await browser.startTracing(undefined, { path: `${tracePath}-${label}.json`, categories: ['toplevel', 'disabled-by-default-devtools.timeline', 'blink', 'mojom', 'v8', 'IndexedDB', 'ServiceWorker', 'loading', 'webrtc'] })
  }
  // The Node seeder's send buffer toward the visitor, sampled, and the requests it has not answered yet (bytes asked
  // for since sampling began, less those sent): both near empty = the visitor asks too little (request-starved); a
  // full queue with an empty buffer = the seeder is slow to answer; a full buffer = the channel sets the pace.
  const buffered = []
  const queued = []
  const asked = new Map()
  // Payload bytes sent to each peer since it was first watched, counted here: the engine keeps no such counter.
  const sent = new Map()
  const seeder = site.seeder?.torrent
  const watch = (p) => {
    if (asked.has(p)) return
    asked.set(p, 0)
    sent.set(p, 0)
    const writePieces = p.writePieces
    p.writePieces = function (blocks) {
      sent.set(p, sent.get(p) + blocks.reduce((n, b) => n + b.block.length, 0))
      return writePieces.call(this, blocks)
    }
    p.on('message', (m) => { if (m.type === 'request') asked.set(p, asked.get(p) + m.length) })
  }
  for (const p of seeder?.peers ?? []) watch(p)
  const sampler = seeder === undefined
    ? undefined
    : setInterval(() => {
      for (const p of seeder.peers) {
        watch(p)
        if (sent.get(p) === 0) continue
        buffered.push(p.connection.bufferedAmount)
        queued.push(Math.max(0, asked.get(p) - sent.get(p)))
      }
    }, 5)
  const before = await cpuSnapshot(tag)
  const t0 = process.hrtime.bigint() / 1000n
  // --engine-only: the leader page reads the file from its engine (torrent.read), no service worker in the way.
  const r = args.includes('--engine-only')
    ? await page.evaluate(async () => {
      const t = window.peersite.torrent
      const f = t.metainfo.files.find((x) => x.path === 'media/big.bin')
      const start = performance.now()
      let bytes = 0
      for await (const chunk of t.read(f.offset, f.length)) bytes += chunk.byteLength
      return { status: 0, bytes, ms: performance.now() - start, engineMs: NaN }
    })
    : await timedFetch(frame, 'media/big.bin')
  clearInterval(sampler)
  if (buffered.length > 0) {
    const starved = buffered.filter((b, i) => b < 65536 && queued[i] < 65536).length / buffered.length
    buffered.sort((a, b) => a - b)
    const q = (f) => fmt(buffered[Math.floor(f * (buffered.length - 1))] / 1024, 0)
    console.log(`seeder bufferedAmount KiB (${buffered.length} samples): p10 ${q(0.1)}, p25 ${q(0.25)}, median ${q(0.5)}, p75 ${q(0.75)}, p90 ${q(0.9)}; under 64 KiB ${fmt(buffered.filter((b) => b < 65536).length / buffered.length * 100, 0)}%`)
    queued.sort((a, b) => a - b)
    const r = (f) => fmt(queued[Math.floor(f * (queued.length - 1))] / 1024, 0)
    console.log(`seeder's unanswered requests KiB: p10 ${r(0.1)}, p25 ${r(0.25)}, median ${r(0.5)}, p75 ${r(0.75)}, p90 ${r(0.9)}; both under 64 KiB (request-starved) ${fmt(starved * 100, 0)}%`)
  }
  if (inspector !== undefined) {
    const { profile } = await post('Profiler.stop')
    inspector.disconnect()
    await writeFile(join(profileDir, `${label}-node.cpuprofile`), JSON.stringify(profile))
  }
  console.log(`${label}: hrtime window ${t0} ${process.hrtime.bigint() / 1000n} (us, for node --cpu-prof)`)
  const after = await cpuSnapshot(tag)
  if (tracePath !== undefined) await browser.stopTracing()
  const mb = r.bytes / 1e6
  const sends = await page.evaluate(() => window.__sends)
  console.log(`${label}: the page's data-channel sends since it loaded: ${sends.n} (${fmt(sends.bytes / 1024, 0)} KiB)`)
  const received = await page.evaluate(() => window.__received)
  console.log(`${label}: the page's data-channel messages received since it loaded: ${received.n} (${fmt(received.bytes / 1e6, 1)} MB, ${fmt(received.bytes / Math.max(1, received.n) / 1024, 1)} KiB each)`)
  const idb = await page.evaluate(() => window.__idb)
  console.log(`${label}: the page's IndexedDB readwrite transactions since it loaded: ${idb.tx}, puts ${idb.puts}`)
  console.log(`\n=== ${label}: ${fmt(mb, 0)} MB in ${fmt(r.ms / 1000, 2)} s = ${fmt(mbps(r.bytes, r.ms))} MB/s (status ${r.status}, engine done at ${fmt(r.engineMs / 1000, 2)} s)`)
  printCpu(label, before, after, mb)
  if (pageCdp !== undefined) {
    const { profile } = await pageCdp.send('Profiler.stop')
    await writeFile(join(profileDir, `${label}-page.cpuprofile`), JSON.stringify(profile))
    const s = summarise(profile)
    console.log(`\n  page JS profile (samples total ${fmt(s.total, 0)} ms, includes idle):\n    ${s.lines.join('\n    ')}`)
  }
  if (sw !== undefined) {
    const profile = await sw.stop()
    await writeFile(join(profileDir, `${label}-worker.cpuprofile`), JSON.stringify(profile))
    const s = summarise(profile)
    console.log(`\n  worker JS profile (samples total ${fmt(s.total, 0)} ms, includes idle):\n    ${s.lines.join('\n    ')}`)
  }
  return page
}

assertInNetns()
requireDist('bench/profile-throughput')
if (profileDir !== undefined) await mkdir(profileDir, { recursive: true })
if (diskDir !== undefined) {
  await rm(diskDir, { recursive: true, force: true })
  const { context, tag } = await launchPersistentChromium(diskDir)
  const site0 = await ensureDownloadSite({ bigMB })
  const site = await startLocalSite(site0.dir)
  console.log(`piece length ${site.result.metainfo.pieceLength}, build ${process.env.PEERSITE_BENCH_DIST ?? 'dist'}, profile on disk`)
  try {
    await measure(context.browser(), tag, context, site, 'node-to-chromium')
  } finally {
    // Bounded: a persistent context can take long to close, and the figures are printed already.
    await Promise.race([context.close().then(() => site.close()), new Promise((resolve) => setTimeout(resolve, 15_000))])
  }
  process.exit(0)
}
/** The raw channel's CPU per MB, same accounting (64 KiB messages, what the engine sends). */
async function raw (label, fn) {
  const before = await cpuSnapshot(tag)
  const r = await fn()
  const after = await cpuSnapshot(tag)
  console.log(`\n=== ${label}: ${fmt(r.bytes / 1e6, 0)} MB in ${fmt(r.ms / 1000, 2)} s = ${fmt(r.mbps)} MB/s`)
  printCpu(label, before, after, r.bytes / 1e6)
}
/** Contexts the raw measures close only after their CPU has been read (a closed page's renderer takes its counts along). */
const deferred = []
const keepOpen = (context) => ({
  newPage: async () => { const p = await context.newPage(); return { evaluate: p.evaluate.bind(p), close: async () => {} } },
  close: async () => { deferred.push(context) }
})
const closeDeferred = async () => { for (const c of deferred.splice(0)) await c.close().catch(() => {}) }
if (opt('--raw-sizes') !== undefined) {
  const sizes = opt('--raw-sizes').split(',').map((k) => Number(k) * 1024)
  const rounds = Number(opt('--rounds') ?? 3)
  const { browser, tag } = await launchChromium()
  const rows = new Map(sizes.map((s) => [s, []]))
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ')
  console.log(`raw node-to-chromium, ${bigMB} MB per run, message sizes ${sizes.map((s) => s / 1024).join(' / ')} KiB, ${rounds} rounds; load ${load()}`)
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order too, so that no size always runs first or last in a round.
      for (const size of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        const context = await browser.newContext()
        const r = await rawNodeToChromium(keepOpen(context), bigMB * 1e6, size, () => cpuSnapshot(tag))
        const { before, after } = r.cpu
        await context.close()
        const mb = r.bytes / 1e6
        const { chromium, node, threads } = cpuPerMB(before, after, mb, 0)
        const sum = (re) => threads.filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0)
        // The page's renderer is the one with WebRTC's thread; a renderer's main thread is named after the executable.
        const pagePid = threads.find(([k]) => /^renderer \d+ \/ WebRTC/.test(k))?.[0].split(' ')[1]
        const row = {
          mbps: r.mbps,
          chromium,
          node,
          main: sum(new RegExp(`^renderer ${pagePid} / chromium$`)),
          renderer: sum(new RegExp(`^renderer ${pagePid} /`)),
          others: sum(/^renderer /) - sum(new RegExp(`^renderer ${pagePid} /`)),
          network: sum(/^network service /)
        }
        rows.get(size).push(row)
        console.log(`round ${round + 1} ${String(size / 1024).padStart(2)} KiB: ${fmt(row.mbps)} MB/s; ms/MB: page main thread ${fmt(row.main, 1)}, ` +
          `its renderer ${fmt(row.renderer, 1)}, other renderers ${fmt(row.others, 1)}, network service ${fmt(row.network, 1)}, Chromium ${fmt(row.chromium, 1)}, bench (sender) ${fmt(row.node, 1)}; load ${load()}`)
      }
    }
  } finally {
    await browser.close()
  }
  console.log('\nmedians, ms/MB (MB/s):')
  for (const [size, rs] of rows) {
    const m = (k) => fmt(median(rs.map((r) => r[k])), 1)
    console.log(`  ${String(size / 1024).padStart(2)} KiB: page main thread ${m('main')}, its renderer ${m('renderer')}, other renderers ${m('others')}, network service ${m('network')}, Chromium ${m('chromium')}, bench ${m('node')} (${m('mbps')} MB/s)`)
  }
  console.log(`load ${load()}`)
  process.exit(0)
}
const site0 = await ensureDownloadSite({ bigMB })
const site = await startLocalSite(site0.dir)
console.log(`piece length ${site.result.metainfo.pieceLength}, build ${process.env.PEERSITE_BENCH_DIST ?? 'dist'}`)
const { browser, tag } = await launchChromium()
try {
  if (args.includes('--raw')) {
    const rc = await browser.newContext()
    await raw('raw node-to-chromium', () => rawNodeToChromium(keepOpen(rc), bigMB * 1e6, 64 * 1024))
    await rc.close()
    if (!skipPage) {
      await raw('raw chromium-to-chromium', () => rawChromiumToChromium({ newContext: async () => keepOpen(await browser.newContext()) }, bigMB * 1e6, 64 * 1024))
      await closeDeferred()
    }
  }
  const ca = await browser.newContext()
  const a = await measure(browser, tag, ca, site, 'node-to-chromium')
  if (!skipPage) {
    await a.waitForFunction(() => window.peersite.torrent?.done === true, undefined, { timeout: 120_000 })
    await site.stopSeeder()
    const cb = await browser.newContext()
    await measure(browser, tag, cb, site, 'chromium-to-chromium')
    await cb.close()
  }
  await ca.close()
} finally {
  await site.close()
  await browser.close()
}
process.exit(0)

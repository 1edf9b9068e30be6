#!/usr/bin/env node
/**
 * Memory while a visitor takes a large file from the swarm (the "peak memory of the page and the worker
 * while streaming 1 GB"), two ways, each in its own fresh Chromium (so every process's VmHWM is this run's):
 *
 *   fetch     fetch('media/big.bin') in the site frame, the body read to the end and dropped;
 *   download  a click on the page's `<a href="media/big.bin" download>`: the browser's download manager saves
 *             the worker's stream to disk (loader/shell.ts routes the click through the worker).
 *
 * and each with two kinds of profile:
 *
 *   disk      a profile folder (chromium.launchPersistentContext), as a visitor's browser has;
 *   memory    an off-the-record context (browser.newContext(), like an incognito window): Chromium keeps its
 *             IndexedDB in the browser process's memory.
 *
 * For each: the page's and the service worker's JS heap peaks, every browser process's peak RSS by kind (browser,
 * renderers, GPU, network service, storage service, other utilities, zygotes), the RSS split into anonymous,
 * file-backed and shared memory, the peaks of the summed RSS and of the summed Pss (shared pages counted once),
 * and the throughput. One visitor, a Node seeder, every byte over WebRTC.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/download.mjs
 *   BENCH_DOWNLOAD_MB=1000 (default; about 1 minute per run on the 2-core machines, 4-5 minutes in all; 300 for a
 *   quick look)   BENCH_DOWNLOAD_MODES=fetch,download   BENCH_DOWNLOAD_PROFILES=disk,memory (defaults: all)
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ensureDownloadSite } from '../scripts/make-media.mjs'
import { launchChromium, launchPersistentChromium, siteFrame, timedFetch } from './lib/chromium.mjs'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { memorySampler, workerHeapProbe } from './lib/memory.mjs'
import { envNumber, fmt, markdownTable, mbps } from './lib/table.mjs'

const FILE = 'media/big.bin'
const MODES = ['fetch', 'download']
/**
 * disk: a profile on disk, as a visitor's browser has; memory: an off-the-record context (playwright's
 * browser.newContext(), like an incognito window), whose IndexedDB Chromium keeps in memory.
 */
const PROFILES = ['disk', 'memory']

/** A fresh Chromium with one page of `profile` kind, and a CDP session on that page. */
async function openBrowser (profile) {
  if (profile === 'memory') {
    const { browser, tag } = await launchChromium()
    const context = await browser.newContext({ acceptDownloads: true })
    return { tag, context, page: await context.newPage(), close: async () => { await browser.close() } }
  }
  const dir = await mkdtemp(join(tmpdir(), 'peersite-bench-profile-'))
  const { context, tag } = await launchPersistentChromium(dir, [], { acceptDownloads: true })
  return {
    tag,
    context,
    page: context.pages()[0] ?? await context.newPage(),
    close: async () => {
      await context.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** One visitor takes the file `mode`'s way in a fresh browser; its memory is sampled throughout. */
async function measure (site, mode, profile, bytes, log) {
  const { tag, context, page, close } = await openBrowser(profile)
  try {
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    await page.goto(site.url)
    const frame = await siteFrame(page, 'Download')
    const sampler = memorySampler({ tag, page: cdp, worker: await workerHeapProbe(cdp) })
    await sampler.sample()
    const before = structuredClone([...sampler.peaks.procs.values()])
    sampler.start()
    const t0 = performance.now()
    let got
    if (mode === 'fetch') {
      got = (await timedFetch(frame, FILE)).bytes
    } else {
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 600_000 }), frame.click('a[download]')])
      const path = await download.path() // resolves when the download manager has finished
      const failure = await download.failure()
      if (failure !== null) throw new Error(`the download failed: ${failure}`)
      got = (await stat(path)).size
    }
    const ms = performance.now() - t0
    const peaks = await sampler.stop()
    if (got !== bytes) throw new Error(`${mode}: got ${got} bytes of ${bytes}`)
    log(`bench/download: ${mode}, profile in ${profile}: ${fmt(bytes / 1e6, 0)} MB in ${fmt(ms / 1000, 1)} s, ${peaks.samples} samples`)
    return { mode, profile, bytes, ms, mbps: mbps(bytes, ms), peaks, before }
  } finally {
    await close().catch(() => {})
  }
}

const KIND_ORDER = ['browser', 'renderer', 'GPU', 'network service', 'storage service']

/**
 * Per process kind: how many, the sum of their peak RSS (VmHWM) and of their RSS before the transfer, and their
 * RSS split (anonymous / file-backed / shared) at the moment of the run's summed-RSS peak.
 */
function byKind (run) {
  const kinds = new Map()
  const kindOf = (name) => {
    let k = kinds.get(name)
    if (k === undefined) kinds.set(name, k = { n: 0, hwm: 0, largest: 0, before: 0, anon: 0, file: 0, shmem: 0 })
    return k
  }
  for (const p of run.peaks.procs.values()) {
    const k = kindOf(p.kind)
    k.n++
    k.hwm += p.hwm
    k.largest = Math.max(k.largest, p.hwm)
    k.before += run.before.find((b) => b.pid === p.pid)?.rss ?? 0
  }
  for (const p of run.peaks.atSumRss) {
    const k = kindOf(p.kind)
    k.anon += p.anon
    k.file += p.file
    k.shmem += p.shmem
  }
  return kinds
}

function kindNames (runs) {
  const names = new Set(runs.flatMap((r) => [...byKind(r).keys()]))
  const rank = (k) => { const i = KIND_ORDER.indexOf(k); return i < 0 ? KIND_ORDER.length : i }
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist('bench/download')
  const mb = envNumber('BENCH_DOWNLOAD_MB', 1000)
  const list = (name, all) => (process.env[name] ?? all.join(',')).split(',').map((s) => s.trim()).filter((m) => all.includes(m))
  const modes = list('BENCH_DOWNLOAD_MODES', MODES)
  const profiles = list('BENCH_DOWNLOAD_PROFILES', PROFILES)
  const { dir, files } = await ensureDownloadSite({ bigMB: mb })
  const bytes = files[FILE]
  const site = await startLocalSite(dir, { label: 'download' })
  log(`bench/download: ${mb} MB published in ${fmt(site.publishMs / 1000)} s, ${site.result.metainfo.pieceLength / 1024} KiB pieces`)
  const runs = []
  try {
    for (const profile of profiles) for (const mode of modes) runs.push(await measure(site, mode, profile, bytes, log))
  } finally {
    await site.close()
  }

  const mib = (n) => fmt(n / 2 ** 20, 0)
  const kinds = runs.map(byKind)
  const names = kindNames(runs)
  const cols = ['', ...runs.map((r) => `${r.mode}, profile ${r.profile === 'disk' ? 'on disk' : 'in memory'}`)]
  const align = ['l', ...runs.map(() => 'r')]
  const how = {
    fetch: 'fetch() in the site frame, body read and dropped',
    download: '`<a download>` click, saved to disk by the download manager'
  }
  const sections = [
    markdownTable(cols, [
      ['how', ...runs.map((r) => how[r.mode])],
      ['throughput MB/s', ...runs.map((r) => fmt(r.mbps))],
      ['page JS heap, peak MiB (CDP JSHeapUsedSize)', ...runs.map((r) => mib(r.peaks.pageHeap))],
      ['service worker JS heap, peak MiB (CDP Runtime.getHeapUsage)', ...runs.map((r) => Number.isNaN(r.peaks.workerHeap) ? 'n/a' : mib(r.peaks.workerHeap))],
      ['largest renderer, peak RSS MiB (VmHWM)', ...kinds.map((k) => mib(k.get('renderer')?.largest ?? 0))],
      ['all processes, peak of the summed RSS MiB', ...runs.map((r) => mib(r.peaks.sumRss))],
      ['all processes, peak of the summed Pss MiB (shared pages counted once)', ...runs.map((r) => mib(r.peaks.sumPss))]
    ], align),
    '',
    'Peak RSS (VmHWM) of each kind of process, summed over the processes of that kind (their RSS before the transfer ' +
      'in parentheses), MiB:',
    '',
    markdownTable(cols, names.map((name) => [
      `${name} (${Math.max(...kinds.map((k) => k.get(name)?.n ?? 0))})`,
      ...kinds.map((k) => { const v = k.get(name); return v === undefined ? '-' : `${mib(v.hwm)} (${mib(v.before)})` })
    ]), align),
    '',
    'At the moment of the summed-RSS peak, each kind\'s RSS as anonymous / file-backed / shared memory, MiB ' +
      '(/proc/PID/status RssAnon, RssFile, RssShmem). File-backed pages are mostly the Chromium binary and its ' +
      'libraries, mapped by every process: the summed RSS counts them once per process, the summed Pss once.',
    '',
    markdownTable(cols, names.map((name) => [
      name,
      ...kinds.map((k) => { const v = k.get(name); return v === undefined ? '-' : `${mib(v.anon)} / ${mib(v.file)} / ${mib(v.shmem)}` })
    ]), align),
    '',
    'Profile on disk: `chromium.launchPersistentContext` with a profile folder, as a visitor\'s browser has. ' +
      'Profile in memory: `browser.newContext()`, an off-the-record context like an incognito window, whose IndexedDB ' +
      'Chromium keeps in the browser process\'s memory. A visit stores at most its budget (loader/engine-host.ts ' +
      'storeBudget, 256 MiB by default); the rest of a larger file is streamed to the reader without being kept. ' +
      'One visitor, a Node seeder, every byte over WebRTC, each run in a fresh browser, memory sampled every 0.5 s ' +
      '(VmHWM is the kernel\'s exact peak). The JS heaps do not count ArrayBuffer contents; RSS does.'
  ]
  return {
    title: `Memory while a visitor takes a ${fmt(bytes / 1e6, 0)} MB file from the swarm: fetch stream and download manager (BENCH_DOWNLOAD_MB=${mb})`,
    markdown: sections.join('\n'),
    runs
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}

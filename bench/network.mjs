#!/usr/bin/env node
/**
 * The network around a site: web seeds and mirrors.
 *
 * 1. First paint with a web seed only: examples/hello published `--with-files` (the files beside the loader) and no
 *    peer at all, in Chromium (fresh profile each run), next to the same site from a plain static server in the same
 *    run. The peersite row pays for the loader, the worker's install and the engine, then fetches the site's
 *    pieces from the host with Range requests and verifies them.
 * 2. The publisher's upload with two mirrors (`peersite mirror`) and N visitors, against no mirrors, in the same run:
 *    a generated site (BENCH_NETWORK_MB, 4 MB), N Node visitors (`get`, BENCH_NETWORK_VISITORS, 4) arriving
 *    together after the mirrors have their copy. Bytes are the engines' counts of piece data (block payloads): all
 *    peers share this process, so interface counters cannot tell them apart.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/network.mjs     (BENCH_NETWORK_RUNS=3)
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { dist, ensureSite, publish, rtcConfig, trackerUrl } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM, SITE, waitForFramePaint } from './lib/first-paint.mjs'


async function plainFcp (page) {
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0)
  return await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime)
}

/** The site page's FCP in the shell's frame, on the top-level navigation's timeline. */
async function shellFcp (page) {
  await waitForFramePaint(page)
  return await page.evaluate(() => {
    const w = document.getElementById('peersite-frame').contentWindow
    return w.performance.getEntriesByName('first-contentful-paint')[0].startTime + (w.performance.timeOrigin - performance.timeOrigin)
  })
}

async function firstPaint (runs, log) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  const { chromium } = await import('playwright-core')
  const { publishSite } = await dist('cli/lib/publish.js')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-network-'))
  const closers = [async () => await rm(work, { recursive: true, force: true })]
  try {
    const tracker = await startTrackerServer({ host: '127.0.0.1' })
    closers.push(() => tracker.close())
    const out = join(work, 'out')
    const server = await startStaticServer({ root: out, host: '127.0.0.1' })
    closers.push(() => server.close())
    await publishSite({ dir: SITE, out, trackers: [tracker.url], loaderDir: join(repoRoot, 'dist', 'browser'), withFiles: true })
    const plain = await startStaticServer({ root: SITE, host: '127.0.0.1' })
    closers.push(() => plain.close())
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_CHROMIUM_ARGS, headless: true })
    closers.push(() => browser.close())
    const rows = { plain: [], webSeed: [], webSeedBytes: [] }
    for (let i = 0; i < runs; i++) {
      log(`bench/network: first paint, run ${i + 1}/${runs}`)
      for (const [key, url, measure] of [['plain', plain.url, plainFcp], ['webSeed', server.url, shellFcp]]) {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.goto(url)
        rows[key].push(await measure(page))
        if (key === 'webSeed') rows.webSeedBytes.push(await page.evaluate(() => window.peersite.stats()?.webSeed ?? 0))
        await context.close()
      }
    }
    return rows
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }
}

/** One round: the publisher, `mirrors` mirrors that fetch the site first, then `visitors` Node visitors at once. */
async function uploadRound (site, published, mirrors, visitors, log) {
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const { startSeeder, download } = await dist('cli/lib/swarm.js')
  const { startMirror } = await dist('cli/lib/mirror.js')
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-mirror-'))
  const closers = [async () => await rm(work, { recursive: true, force: true })]
  try {
    const tracker = await startTrackerServer({ intervalMs: 2_000 })
    closers.push(() => tracker.close())
    const publisher = await startSeeder({ metainfo: published.metainfo, root: site.dir, trackers: [trackerUrl(tracker, 'publisher')], rtcConfig, announceIntervalMs: 2_000 })
    closers.push(() => publisher.close())
    const ms = []
    for (let i = 0; i < mirrors; i++) {
      const m = await startMirror({ dir: join(work, `mirror-${i}`), sources: [published.infoHash], trackers: [trackerUrl(tracker, `mirror-${i}`)], rtcConfig, announceIntervalMs: 2_000 })
      closers.push(() => m.close())
      ms.push(m)
    }
    const deadline = Date.now() + 120_000
    while (!ms.every((m) => m.sites().every((s) => s.state() === 'seeding'))) {
      if (Date.now() > deadline) throw new Error('the mirrors did not get their copy in 120 s')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const beforeVisitors = publisher.stats().uploaded
    const mirrorsBefore = ms.map((m) => m.sites()[0].stats().uploaded)
    log(`bench/network: ${visitors} visitors, ${mirrors} mirrors`)
    const t0 = performance.now()
    await Promise.all(Array.from({ length: visitors }, async (_, i) => await download({
      infoHash: published.infoHash, metainfo: published.metainfo, out: join(work, `visitor-${i}`), trackers: [trackerUrl(tracker, `visitor-${i}`)], rtcConfig
    })))
    const visitMs = performance.now() - t0
    return {
      mirrorFetch: beforeVisitors,
      publisherDuringVisits: publisher.stats().uploaded - beforeVisitors,
      mirrorsDuringVisits: ms.map((m, i) => m.sites()[0].stats().uploaded - mirrorsBefore[i]),
      visitMs
    }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }
}

export async function run ({ runs = envNumber('BENCH_NETWORK_RUNS', 3), log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist('bench/network')
  const paint = await firstPaint(runs, log)

  const visitors = envNumber('BENCH_NETWORK_VISITORS', 4)
  const site = await ensureSite(envNumber('BENCH_NETWORK_MB', 4) * 1e6)
  const published = await publish(site.dir)
  const size = published.metainfo.length
  const rounds = { 0: [], 2: [] }
  for (let i = 0; i < runs; i++) {
    for (const mirrors of [0, 2]) rounds[mirrors].push(await uploadRound(site, published, mirrors, visitors, log))
  }

  const plain = median(paint.plain)
  const seeded = median(paint.webSeed)
  const paintTable = markdownTable(
    ['visit (fresh profile)', 'FCP of the site page', 'vs plain'],
    [
      ['plain static server (HTTP on 127.0.0.1)', `${fmt(plain, 0)} ms`, '1.00x'],
      ['peersite, web seed only (--with-files, no peer)', `${fmt(seeded, 0)} ms`, `${fmt(seeded / plain, 2)}x`]
    ]
  )
  const copies = (bytes) => `${fmt(bytes / size, 2)}`
  const row = (mirrors) => {
    const list = rounds[mirrors]
    const pub = median(list.map((r) => r.publisherDuringVisits))
    const fetch = median(list.map((r) => r.mirrorFetch))
    const mirrorShare = list.length === 0 || mirrors === 0 ? '-' : list[0].mirrorsDuringVisits.map((_, i) => copies(median(list.map((r) => r.mirrorsDuringVisits[i])))).join(' / ')
    return [
      mirrors === 0 ? 'no mirrors' : `${mirrors} mirrors`,
      copies(pub),
      mirrors === 0 ? '-' : copies(fetch),
      mirrorShare,
      `${fmt(median(list.map((r) => r.visitMs)) / 1000, 1)} s`
    ]
  }
  const uploadTable = markdownTable(
    [`${visitors} visitors arriving together`, 'publisher upload during the visits (copies)', 'publisher upload to the mirrors first (copies)', 'each mirror\'s upload (copies)', 'all visitors done'],
    [row(0), row(2)]
  )
  const markdown = [
    `First paint of examples/hello (median of ${runs}):`,
    '',
    paintTable,
    '',
    `Web-seed bytes per visit (verified pieces): ${fmt(median(paint.webSeedBytes) / 1024, 1)} KiB.`,
    '',
    `The publisher's upload with and without two mirrors, a ${fmt(size / 1e6, 1)} MB site, median of ${runs} rounds (a copy = the site's size; piece data counted by the engines):`,
    '',
    uploadTable,
    ''
  ].join('\n')
  return { title: 'Web seeds and mirrors: first paint with a web seed only, the publisher\'s upload with mirrors', markdown, paint, rounds }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}

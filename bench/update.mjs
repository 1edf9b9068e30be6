#!/usr/bin/env node
/**
 * A keyed site's update reaching a connected visitor (issue 11), in Chromium over WebRTC through a local tracker:
 * a visitor holds the whole of version 1 (its prefetch); the publisher changes 1 or 10 pages (each grows a little),
 * publishes version 2 with the same key into a new folder, stops version 1's seeder and seeds version 2. Measured:
 *   - time from the start of `publish` of version 2 to the visitor's worker serving version 2 (the visitor learnt the
 *     record from the swarm, fetched the metadata, copied the pieces it shares and the worker checked it);
 *   - bytes the visitor downloaded for the update (pieces after its reload + the metadata) against the changed
 *     files' bytes and the whole site.
 * Everything from the BUILT code in dist/ (`npm run build`).
 *
 *   npm run build && sh scripts/in-netns.sh node bench/update.mjs      (BENCH_UPDATE_RUNS=3 by default)
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { dist, rtcConfig } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM } from './lib/first-paint.mjs'

const PAGES = 40
const ASSETS = 12

/** A site of PAGES pages (4-12 KB of text each) and ASSETS images (24-64 KB, incompressible). */
async function makeSite (dir) {
  await cp(join(repoRoot, 'examples', 'hello'), dir, { recursive: true })
  for (let i = 0; i < PAGES; i++) await writeFile(join(dir, `page-${String(i).padStart(2, '0')}.html`), page(i, 1))
  for (let i = 0; i < ASSETS; i++) await writeFile(join(dir, `img-${i}.bin`), randomBytes(24_000 + (i * 3_500)))
}

function page (i, version) {
  const words = randomBytes(2_000 + (i % 5) * 1_000).toString('base64')
  return `<!doctype html><title>Page ${i}</title><h1>Page ${i}, version ${version}</h1><p>${words}</p>\n`
}

const ready = () => {
  const p = window.peersite
  return p?.torrent?.done === true && p.follow !== undefined
}

async function once (browser, changed, log) {
  const { publishSite } = await dist('cli/lib/publish.js')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const { startSeeder } = await dist('cli/lib/swarm.js')
  const { startPointerSeeders } = await dist('cli/lib/pointer-swarm.js')
  const loaderDir = join(process.env.PEERSITE_BENCH_DIST || join(repoRoot, 'dist'), 'browser')
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-update-'))
  const closers = []
  const running = []
  try {
    const tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 2000 })
    closers.push(() => tracker.close())
    const site = join(work, 'site')
    await makeSite(site)
    const common = { dir: site, trackers: [tracker.url], loaderDir, keyFile: join(work, 'site.key'), stateDir: join(work, 'state') }
    let n = 0
    const seed = async (v, into) => {
      const name = `seeder-${n++}`
      const pointers = await startPointerSeeders({ record: v.pointer, trackers: [`${tracker.url}/${name}-pointer`], rtcConfig, announceIntervalMs: 2000 })
      into.push(() => pointers.close())
      const seeder = await startSeeder({ metainfo: v.metainfo, root: v.plan.site.root, trackers: [`${tracker.url}/${name}-site`], rtcConfig, pointer: pointers.siteExchange, announceIntervalMs: 2000 })
      into.push(() => seeder.close())
    }
    const v1 = await publishSite({ ...common, out: join(work, 'v1') })
    const host = await startStaticServer({ root: join(work, 'v1'), host: '127.0.0.1' })
    closers.push(() => host.close())
    await seed(v1, running)

    const context = await browser.newContext()
    closers.push(() => context.close())
    const visitor = await context.newPage()
    await visitor.goto(host.url)
    await visitor.waitForFunction(ready, undefined, { timeout: 60_000 })

    const names = Array.from({ length: changed }, (_, i) => `page-${String(i * 3).padStart(2, '0')}.html`)
    for (const name of names) await writeFile(join(site, name), page(Number(name.slice(5, 7)), 2) + '<p>What is new.</p>\n')
    const t0 = performance.now()
    const v2 = await publishSite({ ...common, out: join(work, 'v2') })
    const publishMs = performance.now() - t0
    for (const close of running.splice(0).reverse()) await close()
    await seed(v2, running)
    await visitor.waitForFunction((ih) => window.peersite?.follow?.next?.infoHash === ih &&
      (document.getElementById('peersite-card')?.textContent ?? '').includes('new version'), v2.infoHash, { timeout: 60_000, polling: 20 })
    const updateMs = performance.now() - t0

    await visitor.reload()
    await visitor.waitForFunction((ih) => window.peersite?.torrent?.infoHash === ih && window.peersite.torrent.done === true, v2.infoHash, { timeout: 60_000 })
    const pieces = await visitor.evaluate(() => window.peersite.stats()?.downloaded ?? 0)
    const changedBytes = v2.metainfo.files.filter((f) => names.includes(f.path)).reduce((s, f) => s + f.length, 0)
    const metadata = v2.metainfo.info.length
    log(`bench/update: ${changed} changed: ${pieces} B pieces + ${metadata} B metadata for ${changedBytes} B changed, ${Math.round(updateMs)} ms (publish ${Math.round(publishMs)} ms)`)
    return { updateMs, publishMs, pieces, metadata, changedBytes, siteBytes: v2.metainfo.length, pieceLength: v2.metainfo.pieceLength }
  } finally {
    for (const close of [...closers, ...running].reverse()) await Promise.resolve().then(close).catch(() => {})
    await rm(work, { recursive: true, force: true })
  }
}

export async function run ({ runs = envNumber('BENCH_UPDATE_RUNS', 3), log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist()
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_CHROMIUM_ARGS, headless: true })
  const rows = []
  try {
    for (const changed of [1, 10]) {
      const results = []
      for (let i = 0; i < runs; i++) results.push(await once(browser, changed, log))
      const med = (key) => median(results.map((r) => r[key]))
      const bytes = med('pieces') + med('metadata')
      rows.push([
        String(changed), fmt(med('changedBytes') / 1000), fmt(med('pieces') / 1000), fmt(med('metadata') / 1000),
        fmt(bytes / med('changedBytes'), 2), fmt(med('siteBytes') / 1000), fmt(med('publishMs'), 0), fmt(med('updateMs'), 0)
      ])
    }
  } finally {
    await browser.close()
  }
  const markdown = markdownTable(
    ['changed pages', 'changed KB', 'pieces downloaded KB', 'metadata KB', 'update / changed bytes', 'site KB', 'publish ms', 'publish to visitor has it, ms'],
    rows, ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'])
  return {
    title: `Update of a keyed site reaching a connected visitor (Chromium, ${PAGES} pages + ${ASSETS} images, median of ${runs})`,
    markdown
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  console.log(`\n${title}\n\n${markdown}`)
}

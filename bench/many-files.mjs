#!/usr/bin/env node
/**
 * Sites with many small files (issue 16): `publish` time and peak memory (the max RSS of a child process that runs
 * only the publish) for 1,000 / 10,000 / 50,000 HTML pages of 250 B to 4 KB, next to
 * `find DIR -type f -print0 | xargs -0 cat | sha1sum` over the same tree in the same run (reading and hashing the
 * bytes: the floor for a publish); then, in Chromium, what a cold visitor downloads from the static host before the
 * first byte of a deep page (gzipped, from the browser's network events, as test/e2e/many-files.test.ts counts
 * it) and that page's first contentful paint, for 10 and 10,000 files.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/many-files.mjs
 *   BENCH_MANY_SIZES=1000,10000 ... to publish fewer sizes; BENCH_MANY_BROWSER=0 to skip the browser part;
 *   BENCH_MANY_RUNS=3 cold visits per site (medians)
 *
 * The trees and outputs are made under os.tmpdir() (TMPDIR moves them); publish's index files can cost ~0.8 ms each to
 * create on an ext4 where other jobs freed many inodes lately (docs/HISTORY.md, eleventh round).
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { launchChromium } from './lib/chromium.mjs'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { hostResponse } from './lib/host-response.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { writeManyFilesSite } from './lib/many-files-site.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const SIZES = (process.env.BENCH_MANY_SIZES ?? '1000,10000,50000').split(',').map(Number).filter((n) => n > 0)
const BROWSER = process.env.BENCH_MANY_BROWSER !== '0'
const RUNS = envNumber('BENCH_MANY_RUNS', 3)

const sh = async (cmd, args, opts = {}) => await new Promise((resolve, reject) => {
  execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts }, (err, stdout, stderr) => err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout))
})

/** Publishes `dir` in a child process: its wall time and its max RSS (process.resourceUsage, KiB). */
async function publishInChild (dir, out) {
  const script = `
    const { publishSite } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'cli', 'lib', 'publish.js')).href)})
    const t0 = performance.now()
    const r = await publishSite({ dir: ${JSON.stringify(dir)}, out: ${JSON.stringify(out)}, trackers: ['ws://127.0.0.1:1'], loaderDir: ${JSON.stringify(join(repoRoot, 'dist', 'browser'))} })
    const ms = performance.now() - t0
    process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, sections: r.manifest.index?.sections.length ?? 0 }))
  `
  return JSON.parse(await sh(process.execPath, ['--input-type=module', '-e', script]))
}

async function sha1sumTree (dir) {
  const t0 = performance.now()
  await sh('sh', ['-c', 'find . -type f -print0 | xargs -0 cat | sha1sum'], { cwd: dir })
  return performance.now() - t0
}

/**
 * A cold visit of `site.url + path` in a fresh context: gzipped bytes of the host's responses that ended before the
 * site frame's document began to arrive, and the frame's first contentful paint on the top-level timeline.
 */
async function coldVisit (browser, site, deep) {
  const context = await browser.newContext()
  try {
    const origin = new URL(site.url).origin
    const done = []
    context.on('requestfinished', (request) => {
      const url = new URL(request.url())
      if (url.origin !== origin) return
      done.push(hostResponse(request))
    })
    const page = await context.newPage()
    await page.goto(`${site.url}${deep.path}`)
    await page.waitForFunction((h1) => {
      const w = document.getElementById('peersite-frame')?.contentWindow
      return w?.document.querySelector('h1')?.textContent === h1 && w.performance.getEntriesByName('first-contentful-paint').length > 0
    }, deep.h1, { timeout: 60_000 })
    const t = await page.evaluate(() => {
      const w = document.getElementById('peersite-frame').contentWindow
      const nav = w.performance.getEntriesByType('navigation')[0]
      return {
        firstByteEpoch: w.performance.timeOrigin + nav.responseStart,
        firstByte: w.performance.timeOrigin - performance.timeOrigin + nav.responseStart,
        fcp: w.performance.timeOrigin - performance.timeOrigin + w.performance.getEntriesByName('first-contentful-paint')[0].startTime
      }
    })
    let gz = 0
    let raw = 0
    const files = {}
    for (const e of await Promise.all(done)) {
      if (e === undefined || e.end > t.firstByteEpoch) continue
      gz += e.gz
      raw += e.raw
      const key = e.path.startsWith('/peersite-index/') ? 'index sections' : e.path
      files[key] = (files[key] ?? 0) + e.gz
    }
    return { gz, raw, files, firstByte: t.firstByte, fcp: t.fcp }
  } finally {
    await context.close()
  }
}

export async function run () {
  assertInNetns()
  requireDist('bench/many-files.mjs')
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-many-'))
  try {
    const trees = new Map()
    const tree = async (count) => {
      if (!trees.has(count)) {
        const dir = join(work, `site-${count}`)
        await mkdir(dir)
        trees.set(count, { dir, ...await writeManyFilesSite(dir, count) })
      }
      return trees.get(count)
    }
    const publishRows = []
    for (const count of SIZES) {
      const t = await tree(count)
      const hashMs = await sha1sumTree(t.dir)
      const pub = await publishInChild(t.dir, join(work, `out-${count}`))
      await rm(join(work, `out-${count}`), { recursive: true, force: true })
      publishRows.push([
        count.toLocaleString('en'), `${fmt(t.bytes / 1e6, 1)} MB`, `${fmt(pub.ms / 1000, 2)} s`, `${fmt(pub.ms * 1000 / count, 0)} µs`,
        `${fmt(pub.maxRssKiB / 1024, 0)} MB`, `${fmt(hashMs, 0)} ms`, `${fmt(hashMs / pub.ms * 100, 1)}%`, pub.sections
      ])
    }
    const parts = [
      markdownTable(['files', 'site', 'publish', 'per file', 'publish max RSS', 'find | xargs cat | sha1sum', 'sha1sum / publish', 'index sections'], publishRows),
      ''
    ]
    if (BROWSER) {
      const { browser } = await launchChromium()
      const visitRows = []
      try {
        for (const count of [10, 10_000]) {
          const t = await tree(count)
          const site = await startLocalSite(t.dir, { label: `many-${count}` })
          try {
            // The first context of a fresh browser pays Chromium's own start-up: one visit before the measured ones.
            if (count === 10) await coldVisit(browser, site, t.deep)
            const visits = []
            for (let r = 0; r < RUNS; r++) visits.push(await coldVisit(browser, site, t.deep))
            const mid = (key) => median(visits.map((x) => x[key]))
            const v = { ...visits[0], firstByte: mid('firstByte'), fcp: mid('fcp') }
            visitRows.push([count.toLocaleString('en'), `${v.gz.toLocaleString('en')} B`, `${v.raw.toLocaleString('en')} B`,
              Object.entries(v.files).map(([k, n]) => `${k} ${n}`).join(', '), `${fmt(v.firstByte, 0)} ms`, `${fmt(v.fcp, 0)} ms`])
          } finally {
            await site.close()
          }
        }
      } finally {
        await browser.close()
      }
      parts.push(
        `A cold visit of the deepest page (fresh context each, one Node seeder over WebRTC; times: median of ${RUNS}), bytes from the static host before the first site byte (first visit):`,
        '',
        markdownTable(['files', 'gzipped', 'raw', 'gzipped per file', 'first site byte', 'FCP'], visitRows),
        '',
        'sw.js shows 0: the browser reports no body for the worker script fetch, on both rows (about 9 KB gzipped). The deep link also ' +
          'costs the loader page once more for each folder above it the loader looks for peersite.json in (the same on both rows). ' +
          'Aim: at most 10 KB gzipped more for 10,000 files than for 10.',
        ''
      )
    }
    return { title: 'Sites with many small files: publish and a first visit', markdown: parts.join('\n') }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

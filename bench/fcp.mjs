#!/usr/bin/env node
/**
 * First contentful paint of examples/hello in Chromium: served by peersite (loader + worker + engine, the bytes
 * from a Node seeder over WebRTC) cold (fresh profile, no worker yet) and warm (second visit: the worker is
 * installed, the first tab closed), next to the same site served by a plain local static server, in the same run.
 * Also: time from navigation to the first byte of the site's page, and the gzipped bytes a visitor downloads
 * before it (the loader's files, as the static server's request log shows them).
 *
 *   npm run build && sh scripts/in-netns.sh node bench/fcp.mjs      (BENCH_FCP_RUNS=5 by default)
 * BENCH_FCP_BASELINE_DIST=/path/to/an/older/dist (inside this repository) adds that build's peersite, visited in the
 * same rounds (order alternating), with the load average of each round.
 *
 * FCP of the peersite rows is the site page's own first contentful paint (in the shell's frame), on the timeline
 * of the top-level navigation; the shell's status line paints earlier and is shown separately.
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { loadavg } from 'node:os'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { dist } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM, SITE, waitForFramePaint } from './lib/first-paint.mjs'


/** Paint and navigation timings of a plain page, ms since its navigation started. */
async function plainTimings (page) {
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0)
  return await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0]
    return { fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime, firstByte: nav.responseStart }
  })
}

/** The same for the site page in the shell's frame, on the top-level navigation's timeline. */
async function shellTimings (page) {
  await waitForFramePaint(page)
  return await page.evaluate(() => {
    const w = document.getElementById('peersite-frame').contentWindow
    const offset = w.performance.timeOrigin - performance.timeOrigin
    const nav = w.performance.getEntriesByType('navigation')[0]
    const shell = performance.getEntriesByName('first-contentful-paint')[0]
    return {
      fcp: w.performance.getEntriesByName('first-contentful-paint')[0].startTime + offset,
      firstByte: nav.responseStart + offset,
      frameStart: offset,
      timeOrigin: performance.timeOrigin,
      shellFcp: shell?.startTime ?? NaN,
      marks: Object.fromEntries(performance.getEntriesByType('mark')
        .filter((m) => m.name.startsWith('peersite:')).map((m) => [m.name.slice(9), m.startTime]))
    }
  })
}


/** Gzipped size of what the static server sent for each logged path (404s get 404.html, the loader). */
async function servedBytes (root, paths) {
  let raw = 0
  let gz = 0
  for (const path of paths) {
    const rel = path === '/' || path.endsWith('/') ? `${path.slice(1)}index.html` : path.slice(1)
    const file = existsSync(join(root, rel)) ? join(root, rel) : join(root, '404.html')
    const bytes = await readFile(file)
    raw += bytes.length
    gz += gzipSync(bytes, { level: 9 }).length
  }
  return { raw, gz }
}

export async function run ({ runs = envNumber('BENCH_FCP_RUNS', 5), log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist('bench/fcp')
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  const { chromium } = await import('playwright-core')
  const { startStaticServer } = await dist('cli/lib/static-server.js')

  const closers = []
  try {
    const baselineDist = process.env.BENCH_FCP_BASELINE_DIST
    const variants = baselineDist === undefined || baselineDist === '' ? [''] : ['', 'baseline build: ']
    const sites = {}
    for (const variant of variants) {
      const saved = process.env.PEERSITE_BENCH_DIST
      if (variant !== '') process.env.PEERSITE_BENCH_DIST = baselineDist
      try {
        // Each answer of the static server, when it was sent (Date.now()) and its status: a 304 (the worker's
        // precache revalidating what the page fetched) sends no body.
        const answers = []
        sites[variant] = await startLocalSite(SITE, { label: 'fcp', onRequest: ({ path, status }) => { answers.push({ path, status, at: Date.now() }) } })
        sites[variant].answers = answers
      } finally {
        if (saved === undefined) delete process.env.PEERSITE_BENCH_DIST
        else process.env.PEERSITE_BENCH_DIST = saved
      }
      closers.push(() => sites[variant].close())
    }
    const plainServer = await startStaticServer({ root: SITE, host: '127.0.0.1' })
    closers.push(() => plainServer.close())
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_CHROMIUM_ARGS, headless: true })
    closers.push(() => browser.close())

    const all = Object.fromEntries(variants.map((v) => [v, { cold: [], warm: [], tab: [] }]))
    const rows = { plain: [], ...all[''] }
    const loaderBytes = []
    const loads = []
    for (let i = 0; i < runs; i++) {
      loads.push(loadavg()[0])
      log(`bench/fcp: run ${i + 1}/${runs} (load ${loadavg()[0].toFixed(2)})`)
      {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.goto(plainServer.url)
        rows.plain.push(await plainTimings(page))
        await context.close()
      }
      for (const variant of i % 2 === 0 ? variants : [...variants].reverse()) {
        const { out, url, answers } = sites[variant]
        const out2 = all[variant]
        const context = await browser.newContext()
        const before = answers.length
        const cold = await context.newPage()
        await cold.goto(url)
        const coldTimings = await shellTimings(cold)
        out2.cold.push(coldTimings)
        if (variant === '') {
          // Split at the site's first byte (both clocks are this machine's wall clock, in ms since the epoch).
          const firstByteAt = coldTimings.timeOrigin + coldTimings.firstByte
          const sent = answers.slice(before).filter((a) => a.status === 200)
          const early = sent.filter((a) => a.at <= firstByteAt).map((a) => a.path)
          const late = sent.filter((a) => a.at > firstByteAt).map((a) => a.path)
          loaderBytes.push({ ...await servedBytes(out, early), earlyNames: early, late: await servedBytes(out, late), lateNames: late })
        }
        // Warm with another tab of the site open: this page is not the leader and uses the open tab's engine.
        const tab = await context.newPage()
        await tab.goto(url)
        out2.tab.push(await shellTimings(tab))
        await tab.close()
        // Warm: second visit after the first tab closed. The worker is installed; this page boots its own engine.
        await cold.close()
        const warm = await context.newPage()
        await warm.goto(url)
        out2.warm.push(await shellTimings(warm))
        await context.close()
      }
    }

    const med = (list, key) => median(list.map((r) => r[key]))
    const plainFcp = med(rows.plain, 'fcp')
    const line = (name, list) => [
      name,
      `${fmt(med(list, 'fcp'), 0)} ms`,
      `${fmt(med(list, 'fcp') / plainFcp, 2)}x`,
      `${fmt(med(list, 'firstByte'), 0)} ms`,
      list[0]?.shellFcp !== undefined ? `${fmt(med(list, 'shellFcp'), 0)} ms` : '-'
    ]
    const bytes = loaderBytes[0] ?? { raw: 0, gz: 0 }
    const STEPS = ['boot', 'controlled', 'leader', 'engine', 'first-peer', 'first-chunk']
    const stepCell = (list, step) => {
      const values = list.map((r) => r.marks?.[step]).filter((v) => v !== undefined)
      return values.length === 0 ? '-' : `${fmt(median(values), 0)}`
    }
    const steps = markdownTable(
      ['visit (ms since navigation start, median)', ...STEPS, 'site first byte', 'site FCP'],
      variants.flatMap((v) => [[`${v}cold`, all[v].cold], [`${v}warm, first tab closed`, all[v].warm], [`${v}warm, another tab open`, all[v].tab]]).map(([name, list]) => [
        name, ...STEPS.map((step) => stepCell(list, step)), fmt(med(list, 'firstByte'), 0), fmt(med(list, 'fcp'), 0)
      ])
    )
    const title = `First contentful paint of examples/hello, peersite vs a plain static server (median of ${runs})`
    const table = markdownTable(
      ['visit', 'FCP of the site page', 'vs plain', 'navigation -> first site byte', 'loader status line FCP'],
      [
        line('plain static server (HTTP on 127.0.0.1)', rows.plain),
        ...variants.flatMap((v) => [
          line(`${v}peersite cold (fresh profile, no worker)`, all[v].cold),
          line(`${v}peersite warm (worker installed, first tab closed)`, all[v].warm),
          line(`${v}peersite warm (another tab of the site open)`, all[v].tab)
        ])
      ]
    )
    const markdown = [
      table,
      '',
      'Where the time goes (User Timing marks of the loader: loader script running, page controlled by the worker, leader lock held, engine started, first peer handshaken, first verified chunk handed to the worker):',
      '',
      steps,
      '',
      `Downloaded from the static host before the first site byte (cold, first round): **${fmt(bytes.gz / 1024, 1)} KiB gzipped** ` +
        `(${fmt(bytes.raw / 1024, 1)} KiB raw: the files the static server sent whole, status 200, before the site's first byte reached the frame, each file gzipped at level 9 as test/e2e/budget.test.ts counts them against its budget, aim 30 KB: ${bytes.earlyNames?.join(', ')}; the worker's revalidations of them, answered 304, carry no body); ` +
        `then, until the site's first paint, ${fmt((bytes.late?.gz ?? 0) / 1024, 1)} KiB gzipped more (${bytes.lateNames?.length > 0 ? bytes.lateNames.join(', ') : 'nothing'}). ` +
        'Every site byte came from a Node seeder over WebRTC, verified. Aim: cold FCP at most 1.5 s; warm at most 1.2x plain HTTP (issue 14).' +
          (variants.length > 1 ? ' The baseline build (BENCH_FCP_BASELINE_DIST) is visited in the same rounds, alternating which goes first.' : '') +
          ` Load average (1 min) at each round: ${loads.map((l) => l.toFixed(1)).join(', ')}.`,
      ''
    ].join('\n')
    return { title, markdown, rows, loaderBytes: bytes }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}

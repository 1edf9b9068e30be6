#!/usr/bin/env node
/**
 * Where a warm visit's time goes, step by step: examples/hello (or WARM_SITE=dir) opened through peersite on a
 * return visit (worker installed, pieces cached, first tab closed) with the worker still running and with the worker
 * stopped first (CDP ServiceWorker.stopAllWorkers: what Chromium does to a worker idle for about 30 s), next to a
 * plain static server's warm visit, in the same rounds. Prints the medians (ms since the top-level navigation) of
 * the shell's navigation (worker start, response start/end), the frame's navigation, each of the frame's resources
 * (start, first byte, end) and the site's first contentful paint.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/warm-steps.mjs     (WARM_RUNS=5;
 *   WARM_BASELINE_DIST=/path/to/dist adds that build's peersite, visited in the same rounds, order alternating)
 * A diagnostic, not a benchmark: it exports no run(), so bench/run-all.mjs skips it.
 */
import { pathToFileURL } from 'node:url'
import { assertInNetns, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { dist } from './lib/swarm.mjs'
import { median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM, SITE, waitForFramePaint } from './lib/first-paint.mjs'
import { loadavg } from 'node:os'

const resources = (w, offset) => w.performance.getEntriesByType('resource').map((e) => ({
  name: new URL(e.name).pathname.split('/').pop() || '/',
  start: e.startTime + offset,
  worker: e.workerStart > 0 ? e.workerStart + offset : NaN,
  first: e.responseStart + offset,
  end: e.responseEnd + offset
}))

async function plainSteps (page) {
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0)
  return await page.evaluate(`(${(resourcesSrc) => {
    const resources = eval(resourcesSrc)
    const nav = performance.getEntriesByType('navigation')[0]
    return {
      'frame nav first byte': nav.responseStart,
      'frame nav end': nav.responseEnd,
      ...Object.fromEntries(resources(window, 0).flatMap((r) => [[`${r.name} start`, r.start], [`${r.name} first byte`, r.first], [`${r.name} end`, r.end]])),
      fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime
    }
  }})(${JSON.stringify(resources.toString())})`)
}

async function shellSteps (page) {
  await waitForFramePaint(page)
  return await page.evaluate(`(${(resourcesSrc) => {
    const resources = eval(resourcesSrc)
    const top = performance.getEntriesByType('navigation')[0]
    const w = document.getElementById('peersite-frame').contentWindow
    const offset = w.performance.timeOrigin - performance.timeOrigin
    const nav = w.performance.getEntriesByType('navigation')[0]
    return {
      'shell worker start': top.workerStart,
      'shell first byte': top.responseStart,
      'shell end': top.responseEnd,
      'shell dom interactive': top.domInteractive,
      'frame created': offset,
      'frame nav worker start': nav.workerStart + offset,
      'frame nav first byte': nav.responseStart + offset,
      'frame nav end': nav.responseEnd + offset,
      ...Object.fromEntries(resources(w, offset).flatMap((r) => [[`${r.name} start`, r.start], [`${r.name} first byte`, r.first], [`${r.name} end`, r.end]])),
      fcp: w.performance.getEntriesByName('first-contentful-paint')[0].startTime + offset
    }
  }})(${JSON.stringify(resources.toString())})`)
}

async function main () {
  assertInNetns()
  requireDist('bench/warm-steps')
  const runs = Number(process.env.WARM_RUNS ?? 5)
  const dir = process.env.WARM_SITE ?? SITE
  const { chromium } = await import('playwright-core')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const variants = [['this', undefined]]
  if (process.env.WARM_BASELINE_DIST) variants.push(['base', process.env.WARM_BASELINE_DIST])
  const sites = {}
  for (const [name, d] of variants) {
    const saved = process.env.PEERSITE_BENCH_DIST
    if (d !== undefined) process.env.PEERSITE_BENCH_DIST = d
    sites[name] = await startLocalSite(dir, { label: `warm-${name}` })
    if (saved === undefined) delete process.env.PEERSITE_BENCH_DIST
    else process.env.PEERSITE_BENCH_DIST = saved
  }
  const plainServer = await startStaticServer({ root: dir, host: '127.0.0.1' })
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_CHROMIUM_ARGS, headless: true })
  const rows = { plain: [] }
  for (const [name] of variants) { rows[`${name} warm`] = []; rows[`${name} warm, worker stopped`] = [] }
  const loads = []
  try {
    for (let i = 0; i < runs; i++) {
      loads.push(loadavg()[0])
      process.stderr.write(`warm-steps: run ${i + 1}/${runs}, load ${loadavg()[0].toFixed(2)}\n`)
      {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.goto(plainServer.url)
        await plainSteps(page)
        await page.close()
        const again = await context.newPage()
        await again.goto(plainServer.url)
        rows.plain.push(await plainSteps(again))
        await context.close()
      }
      const order = i % 2 === 0 ? variants : [...variants].reverse()
      for (const [name] of order) {
        const site = sites[name]
        const context = await browser.newContext()
        const cold = await context.newPage()
        await cold.goto(site.url)
        await waitForFramePaint(cold)
        await new Promise((resolve) => setTimeout(resolve, 1500)) // the pieces' cache writes settle
        await cold.close()
        const warm = await context.newPage()
        await warm.goto(site.url)
        rows[`${name} warm`].push(await shellSteps(warm))
        await warm.close()
        const cdp = await context.newCDPSession(await context.newPage())
        await cdp.send('ServiceWorker.enable')
        await cdp.send('ServiceWorker.stopAllWorkers')
        await new Promise((resolve) => setTimeout(resolve, 300))
        const stopped = await context.newPage()
        await stopped.goto(site.url)
        rows[`${name} warm, worker stopped`].push(await shellSteps(stopped))
        await context.close()
      }
    }
  } finally {
    await browser.close()
    await plainServer.close()
    for (const site of Object.values(sites)) await site.close()
  }
  const keys = [...new Set(Object.values(rows).flatMap((list) => list.flatMap((r) => Object.keys(r))))]
  const names = Object.keys(rows)
  console.log(`warm-steps: ${dir}, median of ${runs} (ms since the top-level navigation); load average 1 min ${loads.map((l) => l.toFixed(1)).join(', ')}`)
  console.log(['step', ...names].map((s) => s.padEnd(26)).join(''))
  for (const key of keys) {
    const cells = names.map((n) => {
      const values = rows[n].map((r) => r[key]).filter((v) => Number.isFinite(v))
      return values.length === 0 ? '-' : median(values).toFixed(1)
    })
    console.log([key, ...cells].map((s) => String(s).padEnd(26)).join(''))
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main()
  process.exit(0)
}

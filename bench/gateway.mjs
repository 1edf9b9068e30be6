#!/usr/bin/env node
/**
 * First contentful paint of examples/hello through `peersite gateway` (the generic loader at
 * http://<id>.localhost:PORT/: the site named by the host name, its metadata from peers, BEP 9) next to the per-site
 * loader (peersite.json and site.torrent on the host) and a plain static server, cold (fresh profile) and warm
 * (second visit, the first tab closed), same run, same seeder. Also the bytes a first visitor downloads before the
 * site's first byte through each loader.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/gateway.mjs      (BENCH_GATEWAY_RUNS=5 by default)
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { dist, rtcConfig } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM, SITE, waitForFramePaint } from './lib/first-paint.mjs'


async function plainFcp (page) {
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0)
  return await page.evaluate(() => ({ fcp: performance.getEntriesByName('first-contentful-paint')[0].startTime }))
}

/** The site page's FCP in the shell's frame, on the top-level navigation's timeline, and the loader's marks. */
async function shellFcp (page) {
  await waitForFramePaint(page)
  return await page.evaluate(() => {
    const w = document.getElementById('peersite-frame').contentWindow
    const offset = w.performance.timeOrigin - performance.timeOrigin
    return {
      fcp: w.performance.getEntriesByName('first-contentful-paint')[0].startTime + offset,
      // The first of each mark (the gateway loader marks `boot` again when it hands over to the per-site boot).
      marks: Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('peersite:')).reverse().map((m) => [m.name.slice(9), m.startTime]))
    }
  })
}

/** A cold visit and a warm one (same profile, first tab closed) at `url`. */
async function coldAndWarm (browser, url) {
  const context = await browser.newContext()
  try {
    const cold = await context.newPage()
    await cold.goto(url)
    const c = await shellFcp(cold)
    await cold.close()
    const warm = await context.newPage()
    await warm.goto(url)
    const w = await shellFcp(warm)
    return { cold: c, warm: w }
  } finally {
    await context.close()
  }
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length

export async function run ({ runs = envNumber('BENCH_GATEWAY_RUNS', 5), log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  requireDist('bench/gateway')
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  const { chromium } = await import('playwright-core')
  const { startStaticServer } = await dist('cli/lib/static-server.js')
  const { startOriginGateway } = await dist('cli/lib/origin-gateway.js')
  const { buildGenericLoader } = await dist('cli/lib/generic-loader.js')
  const loaderDir = join(process.env.PEERSITE_BENCH_DIST || join(repoRoot, 'dist'), 'browser')

  const closers = []
  try {
    const site = await startLocalSite(SITE, { label: 'gateway' })
    closers.push(() => site.close())
    const plain = await startStaticServer({ root: SITE, host: '127.0.0.1' })
    closers.push(() => plain.close())
    const gateway = await startOriginGateway({ trackers: [site.tracker.url], rtcConfig, loaderDir })
    closers.push(() => gateway.close())
    const gatewayUrl = gateway.siteUrl(site.result.infoHash)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_CHROMIUM_ARGS, headless: true })
    closers.push(() => browser.close())

    const rows = { plain: [], siteCold: [], siteWarm: [], gwCold: [], gwWarm: [] }
    for (let i = 0; i < runs; i++) {
      log(`bench/gateway: run ${i + 1}/${runs}`)
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(plain.url)
      rows.plain.push(await plainFcp(page))
      await context.close()
      // Alternate which loader goes first: the seeder and the machine warm up as a run goes on.
      const order = i % 2 === 0 ? ['site', 'gw'] : ['gw', 'site']
      for (const which of order) {
        const { cold, warm } = await coldAndWarm(browser, which === 'site' ? site.url : gatewayUrl)
        rows[`${which}Cold`].push(cold)
        rows[`${which}Warm`].push(warm)
      }
    }

    const med = (list, key = 'fcp') => median(list.map((r) => r[key]))
    const markMed = (list, name) => {
      const values = list.map((r) => r.marks?.[name]).filter((v) => v !== undefined)
      return values.length === 0 ? '-' : `${fmt(median(values), 0)} ms`
    }
    const plainMs = med(rows.plain)
    const line = (name, list) => [name, `${fmt(med(list), 0)} ms`, `${fmt(med(list) / plainMs, 2)}x`, markMed(list, 'boot'), markMed(list, 'engine'), markMed(list, 'first-peer'), markMed(list, 'metadata'), markMed(list, 'first-chunk')]

    // Bytes before the first site byte: the loader files each host sent, gzipped (+ the info dictionary over the
    // data channel for the gateway, which has no site.torrent to send).
    const perSite = ['index.html', 'peersite.js', 'sw.js', 'peersite.json', 'site.torrent']
    let perSiteBytes = 0
    for (const f of perSite) perSiteBytes += gz(await readFile(join(site.out, f)))
    const generic = await buildGenericLoader({ trackers: [site.tracker.url], rtcConfig, loaderDir })
    const genericFiles = ['index.html', 'peersite.js', 'sw.js'].reduce((n, f) => n + gz(generic.get(f)), 0)
    const info = site.result.metainfo.info.length

    const title = `First paint through the gateway vs the per-site loader vs plain HTTP (examples/hello, median of ${runs})`
    const table = markdownTable(
      ['visit', 'FCP of the site page', 'vs plain', 'loader script runs', 'engine started', 'first peer', 'metadata from peers', 'first chunk to the worker'],
      [
        [`plain static server (HTTP on 127.0.0.1)`, `${fmt(plainMs, 0)} ms`, '1.00x', '-', '-', '-', '-', '-'],
        line('per-site loader, cold', rows.siteCold),
        line('gateway (<id>.localhost), cold', rows.gwCold),
        line('per-site loader, warm (first tab closed)', rows.siteWarm),
        line('gateway, warm (first tab closed)', rows.gwWarm)
      ]
    )
    const weights = markdownTable(
      ['loader', 'bytes before the first site byte'],
      [
        ['per-site (index.html, peersite.js, sw.js, peersite.json, site.torrent; gzipped)', `${perSiteBytes} B`],
        ['gateway (index.html, peersite.js, sw.js gzipped + the info dictionary from peers, raw)', `${genericFiles + info} B (${genericFiles} + ${info})`]
      ]
    )
    const markdown = `${table}\n\n${weights}\n\nMarks are ms since the top-level navigation started (loader/engine-host.ts \`mark\`); "metadata from peers" exists only through the gateway (the per-site loader reads site.torrent from its host). The gateway's cold visit registers a worker on a fresh origin and waits for the info dictionary from a peer before it can build the manifest.`
    return { title, markdown }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

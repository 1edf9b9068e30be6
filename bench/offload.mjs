#!/usr/bin/env node
/**
 * Offload: how much of the audience's traffic the publisher's seeder carries. N headless visitors (N = 1, 4, 8,
 * 16; each its own browser context of one Chromium, so its own profile, service worker and engine) open
 * examples/hello, published like `peersite publish --local` (a WebSocket tracker and a static server on 127.0.0.1,
 * a Node seeder over node-datachannel). Visitors arrive BENCH_OFFLOAD_STAGGER_MS apart, so later ones arrive while
 * earlier ones are still loading; each stays until every visitor has the whole site (the engine fetches every
 * piece in the background) and keeps seeding meanwhile.
 *
 * Printed per N: the seeder's uploaded bytes / the site's size (the ideal is one copy), and the share of all bytes
 * the visitors downloaded that came from other visitors: (sum of visitors' downloaded - seeder's uploaded) / sum of
 * visitors' downloaded. Aim: N = 8 -> the seeder uploads at most 2x the site; N = 16 -> at most 2.5x.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/offload.mjs
 *   BENCH_OFFLOAD_SIZES=1,4,8,16  BENCH_OFFLOAD_STAGGER_MS=400  BENCH_OFFLOAD_ROUNDS=3
 *
 * Exports run() -> { title, markdown } for bench/run-all.mjs. Each round gets a fresh tracker and seeder, and its
 * contexts are closed before the next round (16 Chromium contexts on a small machine are heavy).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const CHROMIUM = process.env.PEERSITE_CHROMIUM ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-features=WebRtcHideLocalIpsWithMdns', '--allow-loopback-in-peer-connection',
  // Background contexts must keep their timers and peer connections running at full speed.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'
]
const SITE = join(repoRoot, 'examples', 'hello')
/** A round gives up after this long (the table then shows how many visitors finished). */
const ROUND_TIMEOUT_MS = 120_000

function sizesFromEnv () {
  const raw = process.env.BENCH_OFFLOAD_SIZES
  if (raw === undefined || raw === '') return [1, 4, 8, 16]
  return raw.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The engine's figures in a visitor's page (`window.peersite`, loader/main.ts); undefined before it starts. */
async function visitorStats (page) {
  return await page.evaluate(() => {
    const p = window.peersite
    const s = p?.stats?.()
    if (s === undefined) return undefined
    return { done: p.torrent?.done === true, downloaded: s.downloaded, uploaded: s.uploaded, peers: s.peers, verified: s.verified }
  }).catch(() => undefined)
}

/** `n` visitors of the site at `server`, arriving `stagger` ms apart; their figures and the seeder's. */
async function visit ({ n, stagger, browser, seederStats, log, closers, length, server }) {
  const visitors = []
  const started = Date.now()
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(stagger)
    const context = await browser.newContext()
    closers.push(() => context.close())
    // The page notes when its engine has every piece, on its own clock (ms since its navigation started).
    await context.addInitScript(() => {
      const timer = setInterval(() => {
        if (window.peersite?.torrent?.done === true) {
          window.__offloadDoneAt = performance.now()
          clearInterval(timer)
        }
      }, 50)
    })
    const page = await context.newPage()
    page.on('pageerror', (err) => log(`bench/offload: visitor ${i + 1}: ${err.message}`))
    visitors.push({ i, page, arrivedAt: Date.now() - started, doneAt: undefined, stats: undefined })
    page.goto(server.url).catch((err) => log(`bench/offload: visitor ${i + 1}: ${err.message}`))
  }
  // Everyone stays (and seeds) until every visitor has the whole site, or the round times out.
  const deadline = started + ROUND_TIMEOUT_MS
  await Promise.all(visitors.map(async (v) => {
    try {
      const handle = await v.page.waitForFunction(() => window.__offloadDoneAt ?? false, null, {
        timeout: Math.max(1, deadline - Date.now()), polling: 250
      })
      v.doneAt = await handle.jsonValue()
    } catch {}
  }))
  // Last figures of every page, then of the seeder (it uploads nothing more once everyone is done).
  for (const v of visitors) v.stats = (await visitorStats(v.page)) ?? v.stats
  const seederUploaded = seederStats().uploaded
  const downloaded = visitors.reduce((sum, v) => sum + (v.stats?.downloaded ?? 0), 0)
  const uploadedByVisitors = visitors.reduce((sum, v) => sum + (v.stats?.uploaded ?? 0), 0)
  const complete = visitors.filter((v) => v.doneAt !== undefined).length
  const loadTimes = visitors.filter((v) => v.doneAt !== undefined).map((v) => v.doneAt)
  return {
    n,
    complete,
    seederUploaded,
    downloaded,
    uploadedByVisitors,
    length,
    ratio: seederUploaded / length,
    /** Everything sent (seeder and visitors) over what was needed: above 1 are duplicate blocks (end game). */
    sentPerNeeded: downloaded > 0 ? (seederUploaded + uploadedByVisitors) / downloaded : NaN,
    fromVisitors: downloaded > 0 ? Math.max(0, downloaded - seederUploaded) / downloaded : NaN,
    medianLoadMs: loadTimes.length > 0 ? median(loadTimes) : NaN,
    perVisitor: visitors.map((v) => ({ arrivedAt: v.arrivedAt, doneAt: v.doneAt, ...v.stats }))
  }
}

export async function run ({
  sizes = sizesFromEnv(),
  stagger = envNumber('BENCH_OFFLOAD_STAGGER_MS', 400),
  rounds = envNumber('BENCH_OFFLOAD_ROUNDS', 3),
  log = (s) => process.stderr.write(s + '\n')
} = {}) {
  assertInNetns()
  requireDist('bench/offload')
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  const { chromium } = await import('playwright-core')
  const closers = []
  const results = []
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
    closers.push(() => browser.close())
    for (const n of sizes) {
      for (let r = 0; r < rounds; r++) {
        log(`bench/offload: ${n} visitor(s), round ${r + 1}/${rounds}`)
        // A fresh tracker, site folder (its peersite.json names the tracker) and seeder per round.
        const roundClosers = []
        try {
          const site = await startLocalSite(SITE, { label: 'offload', trackerIntervalMs: 5_000, announceIntervalMs: 5_000 })
          roundClosers.push(() => site.close())
          const { server, result } = site
          const res = await visit({ n, stagger, browser, seederStats: site.seederStats, log, closers: roundClosers, length: result.metainfo.length, server })
          log(`bench/offload: n=${n}: seeder ${fmt(res.ratio, 2)}x the site, ${fmt(res.fromVisitors * 100, 0)}% from visitors, ${res.complete}/${n} complete`)
          for (const v of res.perVisitor) {
            log(`  visitor arriving at ${v.arrivedAt} ms: whole site ${v.doneAt === undefined ? '-' : Math.round(v.doneAt)} ms after its navigation, down ${v.downloaded ?? '-'}, up ${v.uploaded ?? '-'}, peers ${v.peers ?? '-'}`)
          }
          results.push(res)
        } finally {
          for (const close of roundClosers.reverse()) await Promise.resolve().then(close).catch(() => {})
        }
      }
    }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }

  const bySize = new Map()
  for (const r of results) bySize.set(r.n, [...(bySize.get(r.n) ?? []), r])
  const aim = { 8: 2, 16: 2.5 }
  const rows = [...bySize].map(([n, list]) => {
    const ratio = median(list.map((r) => r.ratio))
    return [
      String(n),
      `${fmt(ratio, 2)}x`,
      list.map((r) => `${fmt(r.ratio, 2)}x`).join(', '),
      aim[n] === undefined ? '-' : `${ratio <= aim[n] ? 'met' : 'missed'} (<= ${aim[n]}x)`,
      `${fmt(median(list.map((r) => r.fromVisitors)) * 100, 0)} %`,
      `${fmt(median(list.map((r) => r.sentPerNeeded)), 2)}x`,
      `${list.reduce((s, r) => s + r.complete, 0)}/${n * list.length}`,
      `${fmt(median(list.map((r) => r.medianLoadMs)), 0)} ms`
    ]
  })
  const length = results[0]?.length ?? 0
  const title = `Offload: the publisher's upload as visitors arrive (examples/hello, ${fmt(length / 1024, 1)} KiB; median of ${rounds})`
  const markdown = [
    markdownTable(
      ['visitors', 'seeder uploaded / site size (median)', 'each round', 'aim', 'bytes from other visitors', 'all bytes sent / bytes needed', 'visitors with the whole site', 'median time to the whole site'],
      rows
    ),
    '',
    `Each visitor is its own Chromium context (own profile, worker and engine), arriving ${stagger} ms after the previous one; ` +
      'everyone stays and seeds until all have the whole site. Seeder: a Node peer over node-datachannel; tracker and ' +
      'static host on 127.0.0.1. The ideal is 1x: the publisher uploads one copy, the visitors the rest. ' +
      '"All bytes sent / bytes needed" counts every block the seeder and the visitors uploaded over the blocks the ' +
      'visitors kept: above 1x are duplicates (end-game requests to two peers, answered by both before the cancel). ' +
      'Time to the whole site is from each visitor\'s navigation start. The rounds vary a lot: 16 Chromium contexts share ' +
      'the 2 cores, and whether a newcomer gets its copy from the publisher depends on whether the earlier visitors had ' +
      'announced their first pieces when it asked (they announce a piece once IndexedDB has stored it).',
    ''
  ].join('\n')
  return { title, markdown, results }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}

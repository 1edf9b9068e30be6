#!/usr/bin/env node
/**
 * Offload: how much of the audience's traffic the publisher's seeder carries, counted on the wire. N headless
 * visitors (each its own browser context of one Chromium, so its own profile, service worker and engine) open a site
 * published like `peersite publish --local` (a WebSocket tracker and a static server in the private namespace), whose
 * Node seeder runs in a network namespace of its own (bench/lib/netns-seeder.mjs): its upload is the byte counter of
 * the veth pair between the two namespaces, headers included, not its own report. Visitors arrive
 * BENCH_OFFLOAD_STAGGER_MS apart (later ones arrive while earlier ones are loading) and stay, seeding, until every
 * visitor has the whole site (the engine fetches every piece in the background).
 *
 * Sites: "2mb", a generated site of a 2,000,000-byte file plus a few pages, a stylesheet, a script and an image
 * (bench/.data/offload-2mb, 16 KiB pieces); "hello", examples/hello (57 KB). Printed per site and N: the publisher's
 * upload on the wire / the site's size (ideal: 1.00x, one copy; the headers add about 5-8%: the 1-visitor row shows
 * what one copy costs on the wire), the same from the seeder's own count of payload bytes, the share of the
 * visitors' bytes that came from other visitors, the slowest visitor's time to the whole site, and the first
 * contentful paint of the first visitor and of the newcomers (the site's page in the shell's frame, from the
 * visitor's navigation start).
 *
 *   npm run build && sh scripts/in-netns.sh node bench/offload.mjs
 *   BENCH_OFFLOAD_SITES=2mb,hello  BENCH_OFFLOAD_SIZES=1,8,16  BENCH_OFFLOAD_STAGGER_MS=300  BENCH_OFFLOAD_ROUNDS=3
 *   BENCH_OFFLOAD_BASELINE_DIST=/repo/bench/.data/base/dist   an older build (inside this repository) measured in the
 *     same rounds, alternating which goes first (A/B: the machine's load changes between runs)
 *   BENCH_OFFLOAD_SEEDER_SCTP='{"sendBufferSize":262144}'   the publisher's SCTP settings (node-datachannel's
 *     setSctpSettings) as a second variant in the same rounds, alternating with the build's own. The call replaces
 *     every field (those not given go back to libdatachannel's defaults, not the build's), and a send buffer below
 *     the peer connection's maximum message size (engine/transport/node-wrtc.ts NODE_MAX_MESSAGE_SIZE, 256 KiB) is raised to it.
 *     A smaller window needs that constant lowered too.
 *   BENCH_OFFLOAD_UPLINK=20mbit   the publisher's upload capped at that rate (tc tbf on its end of the veth pair, a
 *     100 ms queue), as from a home connection, where on the bare veth pair its datagrams arrive in loopback bursts
 *
 * Logged per round (stderr): the publisher's requests served by reason (engine/spread.ts ServeReason: `only`, no other
 * peer held the piece; `newcomer`, `starved`, `max`, `patience`: which hold ran out; the pauses that kept starved
 * checks waiting), and the links between visitors every 2 s ((the visitors' connected peers summed - the seeder's) /
 * 2, with the seeder's peers in brackets): where extra copies go, and whether visitors could reach each other in
 * time. Also the seeder's packets on the wire against its payload, and the UDP datagrams dropped by full receive
 * buffers on the visitors' side (SCTP sends them again: with 16 visitors on 2 cores the wire carried 1.2-1.7 times
 * the payload on 2026-12-04, against 1.1 with one visitor).
 * OFFLOAD_TRACE=/tmp/trace.log writes every message the publisher's seeder receives and every block it sends, timed
 * (bench/lib/seeder-process.mjs), and each request it serves with the reason and the copies other peers held then.
 * Needs root inside the namespace (scripts/in-netns.sh as root: `npm run bench`), for the seeder's namespace.
 * Exports run() -> { title, markdown } for bench/run-all.mjs. Each round gets a fresh tracker and seeder, and its
 * contexts are closed before the next round (16 Chromium contexts on a small machine are heavy).
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { assertInNetns, repoRoot, requireDist } from './lib/env.mjs'
import { startLocalSite } from './lib/local-site.mjs'
import { startNetnsSeeder } from './lib/netns-seeder.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'
import { BASE_CHROMIUM_ARGS, CHROMIUM } from './lib/first-paint.mjs'

const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  // Background contexts must keep their timers and peer connections running at full speed.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'
]
/** A round gives up after this long (the table then shows how many visitors finished). */
const ROUND_TIMEOUT_MS = 120_000
/** Every visitor should have the whole site within this long after its navigation (issue 14). */
const DONE_AIM_MS = 20_000
/** Publisher's upload on the wire / site size that issue 14 aims at. */
const AIM = { 8: 1.2, 16: 1.5 }

function listFromEnv (name, fallback, parse = (s) => s) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  return raw.split(',').map((s) => parse(s.trim())).filter((v) => v !== '' && !Number.isNaN(v))
}

/** A deterministic pseudo-random byte stream (xorshift32): the big file is incompressible and the same every run. */
function noise (length, seed) {
  const out = Buffer.alloc(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** The 2 MB site: a 2,000,000-byte file plus pages, styles, a script and an image; generated once. */
async function ensureTwoMegabyteSite () {
  const dir = join(repoRoot, 'bench', '.data', 'offload-2mb')
  const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `<link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script></head><body><h1>${title}</h1>${body}</body></html>\n`
  const files = [
    ['index.html', page('Offload test site', '<p><img src="/logo.png" alt="logo" width="64" height="64"></p>' +
      '<p><a href="/about.html">About</a> · <a href="/docs/index.html">Docs</a> · <a href="/data/archive.bin" download>The 2 MB file</a></p>' +
      `<p>${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(40)}</p>`)],
    ['about.html', page('About', `<p>${'About this site. '.repeat(80)}</p>`)],
    ['docs/index.html', page('Docs', `<p>${'Documentation text. '.repeat(120)}</p>`)],
    ['style.css', `body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem }\n${
      Array.from({ length: 200 }, (_, i) => `.c${i} { color: #${(i * 4099 % 0xffffff).toString(16).padStart(6, '0')} }`).join('\n')}\n`],
    ['app.js', `document.documentElement.dataset.app = 'ok'\n${
      Array.from({ length: 300 }, (_, i) => `function f${i} (x) { return x * ${i} + ${i % 7} }`).join('\n')}\n`],
    ['logo.png', noise(24_000, 7)],
    ['data/archive.bin', noise(2_000_000, 1)]
  ]
  for (const [path, content] of files) {
    const full = join(dir, path)
    const bytes = typeof content === 'string' ? Buffer.from(content) : content
    try {
      if ((await stat(full)).size === bytes.length) continue
    } catch {}
    await mkdir(join(full, '..'), { recursive: true })
    await writeFile(full, bytes)
  }
  return dir
}

const SITES = {
  '2mb': { label: '2 MB site', dir: ensureTwoMegabyteSite },
  hello: { label: 'examples/hello', dir: async () => join(repoRoot, 'examples', 'hello') }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** This namespace's UDP counters (/proc/net/snmp: InDatagrams, RcvbufErrors, ...). */
async function udpStats () {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'))
  const keys = lines[0].split(/\s+/).slice(1)
  const vals = lines[1].split(/\s+/).slice(1).map(Number)
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]]))
}

/** The engine's figures in a visitor's page (`window.peersite`, loader/main.ts); undefined before it starts. */
async function visitorStats (page) {
  return await page.evaluate(() => {
    const p = window.peersite
    const s = p?.stats?.()
    if (s === undefined) return undefined
    return { done: p.torrent?.done === true, downloaded: s.downloaded, uploaded: s.uploaded, peers: s.peers, verified: s.verified }
  }).catch(() => undefined)
}

/** `n` visitors of the site at `url`, arriving `stagger` ms apart; their figures and the seeder's. */
async function visit ({ n, stagger, browser, seeder, log, closers, length, url }) {
  const load = loadavg()[0]
  const udp0 = await udpStats()
  // Every context and tab is made first (that takes a while on a busy machine), then they navigate `stagger` apart.
  const visitors = []
  for (let i = 0; i < n; i++) {
    const context = await browser.newContext()
    closers.push(() => context.close())
    // The page notes when its engine has every piece, and the site page's first contentful paint (in the shell's
    // frame), both on its own clock (ms since its navigation started).
    await context.addInitScript(() => {
      if (window.top !== window) return
      const timer = setInterval(() => {
        if (window.__offloadFcp === undefined) {
          try {
            const w = document.getElementById('peersite-frame')?.contentWindow
            const fcp = w?.performance.getEntriesByName('first-contentful-paint')[0]
            if (fcp !== undefined) window.__offloadFcp = fcp.startTime + w.performance.timeOrigin - performance.timeOrigin
          } catch {}
        }
        if (window.__offloadDoneAt === undefined && window.peersite?.torrent?.done === true) window.__offloadDoneAt = performance.now()
        // Its connected peers over time (the links between visitors: see linksTimeline).
        const peers = window.peersite?.stats?.()?.peers
        const t = performance.now() + performance.timeOrigin
        const line = (window.__offloadPeers ??= [])
        if (peers !== undefined && (line.length === 0 || line[line.length - 1][1] !== peers)) line.push([t, peers])

      }, 20)
    })
    const page = await context.newPage()
    page.on('pageerror', (err) => log(`bench/offload: visitor ${i + 1}: ${err.message}`))
    visitors.push({ i, page, arrivedAt: undefined, doneAt: undefined, fcp: undefined, stats: undefined })
  }
  const started = Date.now()
  // The seeder's connected peers over time, next to the visitors' own counts (linksTimeline).
  const seederPeers = []
  const poll = setInterval(() => {
    seeder.stats().then((s) => seederPeers.push([Date.now(), s.peers])).catch(() => {})
  }, 1000)
  for (const v of visitors) {
    if (v.i > 0) await sleep(started + v.i * stagger - Date.now())
    v.arrivedAt = Date.now() - started
    v.page.goto(url).catch((err) => log(`bench/offload: visitor ${v.i + 1}: ${err.message}`))
  }
  // Everyone stays (and seeds) until every visitor has the whole site, or the round times out.
  const deadline = started + ROUND_TIMEOUT_MS
  await Promise.all(visitors.map(async (v) => {
    try {
      const handle = await v.page.waitForFunction(() => window.__offloadDoneAt !== undefined && window.__offloadFcp !== undefined
        ? [window.__offloadDoneAt, window.__offloadFcp]
        : false, null, { timeout: Math.max(1, deadline - Date.now()), polling: 250 })
      ;[v.doneAt, v.fcp] = await handle.jsonValue()
    } catch {}
  }))
  clearInterval(poll)
  // Last figures of every page, then of the seeder (it uploads nothing more once everyone is done).
  for (const v of visitors) {
    v.stats = (await visitorStats(v.page)) ?? v.stats
    v.peerLine = await v.page.evaluate(() => window.__offloadPeers ?? []).catch(() => [])
  }
  const spread = await seeder.spreadStats?.().catch(() => undefined)
  await sleep(300) // packets in flight reach the counter
  const wire = await seeder.wireBytes()
  const own = (await seeder.stats()).uploaded
  // Where the wire's bytes beyond the payload go: datagrams the visitors' side dropped (full receive buffers of
  // Chromiums too busy to read; visitor-to-visitor traffic included) are sent again by SCTP.
  const udp1 = await udpStats()
  const queueDrops = seeder.queueDrops?.()
  log(`  on the wire: ${wire} B in ${seeder.wirePackets()} packets (payload ${own} B); UDP datagrams dropped on the visitors' side: ` +
    `${udp1.RcvbufErrors - udp0.RcvbufErrors} of ${udp1.InDatagrams - udp0.InDatagrams}` +
    `${queueDrops !== undefined ? `; dropped by the capped uplink's queue: ${queueDrops} packets` : ''}`)
  const downloaded = visitors.reduce((sum, v) => sum + (v.stats?.downloaded ?? 0), 0)
  const complete = visitors.filter((v) => v.doneAt !== undefined).length
  const doneTimes = visitors.map((v) => v.doneAt ?? Infinity)
  return {
    n,
    load,
    complete,
    length,
    wireRatio: wire / length,
    ownRatio: own / length,
    fromVisitors: downloaded > 0 ? Math.max(0, downloaded - own) / downloaded : NaN,
    slowestMs: Math.max(...doneTimes),
    firstFcp: visitors[0]?.fcp ?? NaN,
    newcomerFcp: n > 1 ? median(visitors.slice(1).map((v) => v.fcp ?? Infinity)) : NaN,
    perVisitor: visitors.map((v) => ({ arrivedAt: v.arrivedAt, doneAt: v.doneAt, fcp: v.fcp, ...v.stats })),
    spread,
    links: linksTimeline(visitors, seederPeers, started)
  }
}

/**
 * Links between visitors every 2 s of a round: (the visitors' connected peers summed - the seeder's) / 2, each link
 * counted at both ends; and how many visitors the seeder had. Tells whether visitors could pass pieces on in time.
 */
function linksTimeline (visitors, seederPeers, started) {
  const at = (line, t) => {
    let value = 0
    for (const [time, peers] of line) { if (time <= t) value = peers; else break }
    return value
  }
  const end = Math.max(started, ...seederPeers.map(([t]) => t))
  const out = []
  for (let t = started + 2000; t <= end; t += 2000) {
    const visitorSum = visitors.reduce((sum, v) => sum + at(v.peerLine ?? [], t), 0)
    const fromSeeder = at(seederPeers, t)
    out.push({ s: (t - started) / 1000, links: Math.max(0, (visitorSum - fromSeeder) / 2), seeder: fromSeeder })
  }
  return out
}

export async function run ({
  sites = listFromEnv('BENCH_OFFLOAD_SITES', ['2mb', 'hello']),
  sizes = listFromEnv('BENCH_OFFLOAD_SIZES', [1, 8, 16], Number),
  stagger = envNumber('BENCH_OFFLOAD_STAGGER_MS', 300),
  rounds = envNumber('BENCH_OFFLOAD_ROUNDS', 3),
  log = (s) => process.stderr.write(s + '\n')
} = {}) {
  assertInNetns()
  requireDist('bench/offload')
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  for (const s of sites) if (SITES[s] === undefined) throw new Error(`BENCH_OFFLOAD_SITES: unknown site ${s} (known: ${Object.keys(SITES).join(', ')})`)
  const { chromium } = await import('playwright-core')
  // The build under test, and optionally a baseline build in the same rounds (bench/lib/swarm.mjs dist() and the
  // seeder's process read PEERSITE_BENCH_DIST when called).
  const own = process.env.PEERSITE_BENCH_DIST
  const setDist = (d) => { if (d === undefined) { if (own === undefined) delete process.env.PEERSITE_BENCH_DIST; else process.env.PEERSITE_BENCH_DIST = own } else process.env.PEERSITE_BENCH_DIST = d }
  const baselineDist = process.env.BENCH_OFFLOAD_BASELINE_DIST
  const uplink = process.env.BENCH_OFFLOAD_UPLINK || undefined
  if (uplink !== undefined && !/^\d+(?:\.\d+)?[kmg]bit$/.test(uplink)) throw new Error(`BENCH_OFFLOAD_UPLINK=${uplink}: give a rate such as 20mbit`)
  // An experiment with the publisher's SCTP settings (node-datachannel setSctpSettings, JSON), as a variant in the same
  // rounds: bench/lib/seeder-process.mjs applies BENCH_SEEDER_SCTP before its first association.
  const sctp = process.env.BENCH_OFFLOAD_SEEDER_SCTP || undefined
  if (sctp !== undefined) JSON.parse(sctp)
  const variants = [
    { name: 'this build', dist: undefined },
    ...(baselineDist ? [{ name: 'baseline build', dist: baselineDist }] : []),
    ...(sctp !== undefined ? [{ name: `seeder SCTP ${sctp}`, dist: undefined, sctp }] : [])
  ]
  const closers = []
  const results = []
  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
    closers.push(() => browser.close())
    for (const siteName of sites) {
      const dir = await SITES[siteName].dir()
      for (const n of sizes) {
        for (let r = 0; r < rounds; r++) {
          for (const variant of r % 2 === 0 ? variants : [...variants].reverse()) {
          log(`bench/offload: ${siteName}, ${n} visitor(s), round ${r + 1}/${rounds}${variant.dist !== undefined ? ` (${variant.name})` : ''}`)
          setDist(variant.dist)
          if (variant.sctp !== undefined) process.env.BENCH_SEEDER_SCTP = variant.sctp
          else delete process.env.BENCH_SEEDER_SCTP
          // A fresh tracker, site folder (its peersite.json names the tracker) and seeder per round.
          const roundClosers = []
          try {
            const site = await startLocalSite(dir, {
              label: 'offload',
              trackerIntervalMs: 5_000,
              seed: async ({ out, root, trackerPort }) => await startNetnsSeeder({
                siteDir: root, torrent: await readFile(join(out, 'site.torrent')), trackerPort, announceIntervalMs: 5_000,
                ...(uplink !== undefined ? { uplink } : {})
              })
            })
            roundClosers.push(() => site.close())
            const res = await visit({ n, stagger, browser, seeder: site.seeder, log, closers: roundClosers, length: site.result.metainfo.length, url: site.url })
            log(`bench/offload: ${siteName} n=${n}: publisher ${fmt(res.wireRatio, 2)}x the site on the wire (${fmt(res.ownRatio, 2)}x by its count), ` +
              `${fmt(res.fromVisitors * 100, 0)}% from visitors, ${res.complete}/${n} complete, slowest ${fmt(res.slowestMs, 0)} ms`)
            if (res.spread !== undefined) {
              log(`  publisher's requests served: ${Object.entries(res.spread.served).filter(([, c]) => c > 0).map(([r, c]) => `${r} ${c}`).join(', ')} ` +
                `(${res.spread.duplicates} while another peer held the piece; ${res.spread.held} held at least once` +
                `${res.spread.pauses !== undefined ? `; ${res.spread.pauses} pauses, ${res.spread.pauseHeld} starved checks held by one` : ''})`)
            }
            log(`  links between visitors (seeder's peers) every 2 s: ${res.links.map((l) => `${l.links}(${l.seeder})`).join(' ')}`)
            for (const v of res.perVisitor) {
              log(`  visitor arriving at ${v.arrivedAt} ms: FCP ${v.fcp === undefined ? '-' : Math.round(v.fcp)} ms, whole site ${v.doneAt === undefined ? '-' : Math.round(v.doneAt)} ms, ` +
                `down ${v.downloaded ?? '-'}, up ${v.uploaded ?? '-'}, peers ${v.peers ?? '-'}`)
            }
            results.push({ site: siteName, variant: variant.name, ...res })
          } finally {
            for (const close of roundClosers.reverse()) await Promise.resolve().then(close).catch(() => {})
          }
          }
        }
      }
    }
  } finally {
    for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => {})
  }

  const groups = new Map()
  for (const r of results) {
    const key = `${r.site}/${r.n}/${r.variant}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  /** One copy on the wire, headers and retransmissions included: the 1-visitor rows of the same site and build. */
  const oneCopy = (site, variant) => {
    const list = results.filter((r) => r.site === site && r.variant === variant && r.n === 1)
    return list.length > 0 ? median(list.map((r) => r.wireRatio)) : NaN
  }
  const rows = [...groups.values()].map((list) => {
    const { site, n, length, variant } = list[0]
    const wire = median(list.map((r) => r.wireRatio))
    const copies = wire / oneCopy(site, variant)
    const slowest = median(list.map((r) => r.slowestMs))
    const aim = site === '2mb' ? AIM[n] : undefined
    return [
      `${SITES[site].label} (${fmt(length / 1e6, 2)} MB)${variants.length > 1 ? `, ${variant}` : ''}`,
      String(n),
      `${fmt(wire, 2)}x`,
      list.map((r) => `${fmt(r.wireRatio, 2)}x`).join(', '),
      `${fmt(copies, 2)}x`,
      '1.00x',
      aim === undefined ? '-' : `${copies <= aim ? 'met' : 'missed'} (<= ${aim}x)`,
      `${fmt(median(list.map((r) => r.ownRatio)), 2)}x`,
      `${fmt(median(list.map((r) => r.fromVisitors)) * 100, 0)} %`,
      `${list.reduce((s, r) => s + r.complete, 0)}/${n * list.length}`,
      `${fmt(slowest / 1000, 1)} s${site === '2mb' && n > 1 ? (slowest <= DONE_AIM_MS ? ' (met)' : ' (missed)') : ''}`,
      `${fmt(median(list.map((r) => r.load)), 1)}`,
      `${fmt(median(list.map((r) => r.firstFcp)), 0)} ms`,
      n > 1 ? `${fmt(median(list.map((r) => r.newcomerFcp)), 0)} ms` : '-'
    ]
  })
  const title = `Offload: the publisher's upload on the wire as visitors arrive (median of ${rounds}${uplink !== undefined ? `; the publisher's uplink capped at ${uplink}` : ''})`
  const markdown = [
    markdownTable(
      ['site', 'visitors', 'publisher upload on the wire / site size', 'each round', 'copies on the wire (/ 1-visitor row)', 'ideal', 'aim (copies)', 'by the seeder\'s own count',
        'visitors\' bytes from other visitors', 'visitors with the whole site', 'slowest visitor to the whole site',
        'load average', 'first visitor FCP', 'newcomers\' FCP (median)'],
      rows
    ),
    '',
    `Each visitor is its own Chromium context (own profile, worker and engine), arriving ${stagger} ms after the previous one; ` +
      'everyone stays and seeds until all have the whole site. The publisher\'s seeder (Node, node-datachannel) runs in a network ' +
      'namespace of its own; its upload is the byte counter of the veth pair to it (every packet\'s Ethernet, IP, UDP, DTLS and SCTP ' +
      'headers and retransmissions included: the 1-visitor row is one copy on the wire, and "copies" divides by it). ' +
      'Times are from each visitor\'s navigation start; FCP is the ' +
      'site page\'s first contentful paint in the shell\'s frame. Aims (issue 14, 2 MB site): at most 1.2x with 8 visitors, ' +
      `1.5x with 16, every visitor done within ${DONE_AIM_MS / 1000} s.`,
    ''
  ].join('\n')
  return { title, markdown, results }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { title, markdown } = await run()
  process.stdout.write(`## ${title}\n\n${markdown}\n`)
  process.exit(0)
}

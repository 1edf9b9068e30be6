/**
 * Time from starting a `get` to the first verified piece, with a warm local tracker (the seeder announced before
 * the visitor starts). The visitor is the engine's Torrent built exactly as cli/lib/swarm.ts's download() builds
 * it (FsStore in a temporary folder, the lean WebSocket-tracker discovery over node-datachannel, no STUN), so the engine's own events
 * time each step: tracker answered, peer connected (handshake), metadata known, first piece verified.
 * A second series calls download() itself and sees the first verified bytes through onProgress (every 5 ms).
 *
 *   npm run build && sh scripts/in-netns.sh node bench/first-piece.mjs      (BENCH_FIRST_RUNS=7)
 *
 * Each visitor announces to its own path of the tracker (a fresh WebSocket, as a new `peersite get` process
 * would open) and is destroyed before the next one starts.
 */
import { fileURLToPath } from 'node:url'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { assertInNetns } from './lib/env.mjs'
import { dist, ensureSite, publish, rtcConfig, startSwarm, tempOut, trackerUrl } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const AIM_MS = 500

/**
 * The discovery the CLI uses: the lean client (engine/discovery/node.js); builds older than it (an A/B run with
 * PEERSITE_BENCH_DIST) used bittorrent-tracker's client.
 */
async function discoveryFactory () {
  try {
    const { createNodeTrackerDiscovery } = await dist('engine/discovery/node.js')
    return createNodeTrackerDiscovery
  } catch {
    const { TrackerDiscovery } = await dist('engine/discovery/tracker.js')
    const { nodeWrtc } = await dist('engine/transport/node-wrtc.js')
    return (init) => new TrackerDiscovery({ ...init, wrtc: nodeWrtc })
  }
}

/** One visitor through the engine: the time of each step, ms since the Torrent was constructed. */
async function engineVisit ({ swarm, metainfo, withMetainfo }) {
  const { Torrent } = await dist('engine/torrent.js')
  const { FsStore } = await dist('engine/storage/fs.js')
  const createDiscovery = await discoveryFactory()
  const dir = await mkdtemp(join(tmpdir(), 'peersite-bench-first-'))
  const url = trackerUrl(swarm.tracker, 'visitor')
  const t = {}
  let torrent
  try {
    const start = performance.now()
    const at = () => performance.now() - start
    torrent = new Torrent({
      createStore: (m) => new FsStore({ pieceLength: m.pieceLength, length: m.length, root: dir, files: m.files, names: process.platform }),
      createDiscovery: (init) => createDiscovery({ ...init, announce: [url], rtcConfig })
    }, { infoHash: metainfo.infoHash, ...(withMetainfo ? { metainfo } : {}) })
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no verified piece after 20 s (${JSON.stringify(t)})`)), 20_000)
      torrent.once('announced', () => { t.announced ??= at() })
      torrent.once('peer', () => { t.peer ??= at() })
      torrent.once('metadata', () => { t.metadata ??= at() })
      torrent.once('verified', () => {
        t.verified = at()
        clearTimeout(timer)
        resolve()
      })
    })
    if (withMetainfo) t.metadata = 0
    return t
  } finally {
    await torrent?.destroy()
    await rm(dir, { recursive: true, force: true })
  }
}

/** One visitor through the CLI's download(): first verified bytes as reported by onProgress (5 ms period). */
async function downloadVisit ({ swarm, metainfo, withMetainfo }) {
  const { download } = await dist('cli/lib/swarm.js')
  const { out, cleanup } = await tempOut('first')
  const controller = new AbortController()
  const t = {}
  try {
    const start = performance.now()
    await download({
      infoHash: metainfo.infoHash,
      ...(withMetainfo ? { metainfo } : {}),
      out,
      trackers: [trackerUrl(swarm.tracker, 'visitor')],
      rtcConfig,
      signal: controller.signal,
      progressIntervalMs: 5,
      onMetadata: () => { t.metadata ??= performance.now() - start },
      onProgress: (p) => {
        if (p.verified > 0 && t.verified === undefined) {
          t.verified = performance.now() - start
          controller.abort()
        }
      }
    }).catch((err) => { if (t.verified === undefined) throw err })
    return t
  } finally {
    await cleanup()
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  const runs = envNumber('BENCH_FIRST_RUNS', 7)
  const mb = envNumber('BENCH_FIRST_MB', 100)
  const site = await ensureSite(Math.round(mb * 1e6))
  const { metainfo, torrent } = await publish(site.dir)
  const swarm = await startSwarm(site, metainfo, torrent)
  const series = [
    ['engine, infohash alone', (o) => engineVisit({ ...o, withMetainfo: false })],
    ['engine, infohash + metainfo', (o) => engineVisit({ ...o, withMetainfo: true })],
    ['download(), infohash alone', (o) => downloadVisit({ ...o, withMetainfo: false })],
    ['download(), infohash + metainfo', (o) => downloadVisit({ ...o, withMetainfo: true })]
  ]
  const results = new Map(series.map(([name]) => [name, []]))
  try {
    // One visit to warm the JIT and the tracker, not counted.
    await engineVisit({ swarm, metainfo, withMetainfo: false })
    for (let i = 0; i < runs; i++) {
      for (const [name, fn] of series) {
        log(`bench/first-piece: ${name}, run ${i + 1}/${runs} ...`)
        results.get(name).push(await fn({ swarm, metainfo }))
      }
    }
  } finally {
    await swarm.close()
  }

  const stat = (list, key) => {
    const v = list.map((r) => r[key]).filter((x) => x !== undefined)
    return v.length === 0 ? ['-', '-', '-'] : [fmt(median(v), 0), fmt(Math.min(...v), 0), fmt(Math.max(...v), 0)]
  }
  const rows = []
  for (const [name] of series) {
    const list = results.get(name)
    const steps = name.startsWith('engine')
      ? [['tracker answered', 'announced'], ['peer connected (handshake)', 'peer'], ['metadata', 'metadata'], ['first verified piece', 'verified']]
      : [['metadata', 'metadata'], ['first verified piece (onProgress, 5 ms)', 'verified']]
    for (const [label, key] of steps) {
      if (key === 'metadata' && name.endsWith('metainfo')) continue
      rows.push([`${name}: ${label}`, ...stat(list, key)])
    }
  }
  const headline = median(results.get('engine, infohash alone').map((r) => r.verified))
  const title = 'Time from get start to the first verified piece (warm local tracker)'
  const markdown = [
    `${fmt(metainfo.length / 1e6, 0)} MB site, ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB, one seeder already ` +
      `announced to a WebSocket tracker on 127.0.0.1, no STUN. ${runs} runs per series, after one warm-up visit. ` +
      'Times in ms from the start of the visitor (Torrent constructed / download() called). Each visitor opens its ' +
      'own tracker WebSocket, as a new `peersite get` process would.',
    '',
    markdownTable(['series: step', 'median ms', 'min ms', 'max ms'], rows),
    '',
    `First verified piece by infohash alone: **${fmt(headline, 0)} ms** (median), aim: under ${AIM_MS} ms -> ` +
      `${headline < AIM_MS ? 'met' : 'NOT met'}.`
  ].join('\n')
  return { title, markdown, medianMs: headline, results: Object.fromEntries(results) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

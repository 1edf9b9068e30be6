/**
 * Hostile peers against a Node visitor (cli/lib/swarm.ts download(), what `peersite get` runs): time from the honest
 * seeder's start to the complete, verified download, with 0 (the baseline, measured in the same run), 2, 20 and 50
 * silent peers (they claim every piece, unchoke, accept requests and never send a block) connected to the visitor
 * first, and with a corrupt peer (answers every request with wrong bytes) beside the seeder. Then by infohash alone
 * (the metadata from peers, BEP 9): no attacker (the second baseline), and a metadata liar (a wrong metadata_size, or
 * the right size with garbage) that the visitor meets and asks first.
 * The hostile peers are test/helpers/hostile-peer.ts and test/helpers/metadata-liar.ts (the tests use the same),
 * bundled on the fly with esbuild.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/hostile.mjs      (BENCH_HOSTILE_RUNS=2, BENCH_HOSTILE_MB=20)
 *
 * Every case has its own tracker (a fresh swarm): the visitor starts, the hostile peers connect to it and leave the
 * tracker, then the seeder starts (in this process) and the clock runs until the download is complete.
 * Aim: every case within 2 s of the baseline.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { assertInNetns, repoRoot } from './lib/env.mjs'
import { dist, ensureSite, publish, rtcConfig, tempOut, trackerUrl } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, median } from './lib/table.mjs'

const AIM_MS = 2000

async function testHelper (name) {
  const outfile = join(repoRoot, 'bench', '.data', `${name}.mjs`)
  await mkdir(join(outfile, '..'), { recursive: true })
  await build({
    entryPoints: [join(repoRoot, 'test', 'helpers', `${name}.ts`)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error'
  })
  return await import(pathToFileURL(outfile).href)
}

/**
 * One case: the visitor, then `count` hostile peers of `mode`, then the seeder. Returns ms from seeder start to done.
 * `byInfoHash`: the visitor starts with the infohash alone; a 'wrong-size' or 'garbage' mode is a metadata liar.
 */
async function visit ({ site, metainfo, mode, count, byInfoHash = false, helpers }) {
  const { download, startSeeder } = await dist('cli/lib/swarm.js')
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const tracker = await startTrackerServer({ intervalMs: 5_000 })
  const { out, cleanup } = await tempOut('hostile')
  const controller = new AbortController()
  let hostile
  let seeder
  let peers = 0
  const bans = []
  try {
    const done = download({
      infoHash: metainfo.infoHash,
      ...(byInfoHash ? {} : { metainfo }),
      out,
      trackers: [trackerUrl(tracker, 'visitor')],
      rtcConfig,
      signal: controller.signal,
      progressIntervalMs: 50,
      onProgress: (p) => { peers = p.peers },
      onWarning: (w) => { if (/banned/.test(w)) bans.push(w) }
    })
    done.catch(() => {})
    if (count > 0 && (mode === 'wrong-size' || mode === 'garbage')) {
      const running = await helpers.liar.startMetadataLiar({
        infoHash: metainfo.infoHashBytes, realSize: metainfo.info.length, lie: mode, announce: [trackerUrl(tracker, 'liar')]
      })
      hostile = running
      // The seeder starts once the liar has answered the visitor's first metadata request: the visitor met it first.
      const until = Date.now() + 30_000
      while (running.liar.answered === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      if (running.liar.answered === 0) throw new Error('the visitor never asked the metadata liar')
    } else if (count > 0) {
      hostile = await helpers.hostile.startHostilePeers({ mode, metainfo, tracker: trackerUrl(tracker, 'hostile'), count, rtcConfig })
      await hostile.waitOpen(count)
      // Silent peers: the visitor has them all (handshakes done, requests sent) before the seeder starts. A corrupt
      // peer would be banned before the seeder arrives if it were left alone with the visitor: the seeder starts at once.
      const until = Date.now() + 30_000
      while (mode === 'silent' && peers < count && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      if (mode === 'silent' && peers < count) throw new Error(`the visitor has ${peers} of ${count} hostile peers`)
    }
    const start = performance.now()
    seeder = await startSeeder({ metainfo, root: site.dir, trackers: [trackerUrl(tracker, 'seeder')], rtcConfig })
    const result = await done
    const ms = performance.now() - start
    if (result.stats.verified !== metainfo.length) throw new Error('incomplete download')
    const seederId = Buffer.from(seeder.torrent.peerId).toString('hex')
    if (bans.some((w) => w.includes(seederId))) throw new Error('the honest seeder was banned')
    return { ms, bans: bans.length }
  } finally {
    controller.abort()
    await hostile?.close()
    await seeder?.close()
    await tracker.close()
    await cleanup()
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  const runs = envNumber('BENCH_HOSTILE_RUNS', 2)
  const mb = envNumber('BENCH_HOSTILE_MB', 20)
  const helpers = { hostile: await testHelper('hostile-peer'), liar: await testHelper('metadata-liar') }
  const site = await ensureSite(Math.round(mb * 1e6))
  const { metainfo } = await publish(site.dir)
  const WITH = 'no attacker (baseline)'
  const BY_HASH = 'by infohash, no attacker (baseline)'
  // [name, mode, count, by infohash alone, the baseline it is compared with]
  const cases = [
    [WITH, 'silent', 0, false, WITH],
    ['2 silent peers first', 'silent', 2, false, WITH],
    ['20 silent peers first', 'silent', 20, false, WITH],
    ['50 silent peers first (the peer cap)', 'silent', 50, false, WITH],
    ['1 corrupt peer first', 'corrupt', 1, false, WITH],
    [BY_HASH, 'silent', 0, true, BY_HASH],
    ['by infohash, metadata liar first (wrong size)', 'wrong-size', 1, true, BY_HASH],
    ['by infohash, metadata liar first (garbage)', 'garbage', 1, true, BY_HASH]
  ]
  const results = new Map(cases.map(([name]) => [name, []]))
  for (let i = 0; i < runs; i++) {
    for (const [name, mode, count, byInfoHash] of cases) {
      log(`bench/hostile: ${name}, run ${i + 1}/${runs} ...`)
      results.get(name).push(await visit({ site, metainfo, mode, count, byInfoHash, helpers }))
    }
  }
  const rows = cases.map(([name, , , , baseline]) => {
    const list = results.get(name)
    const ms = median(list.map((r) => r.ms))
    const extra = ms - median(results.get(baseline).map((r) => r.ms))
    return [name, fmt(ms, 0), list.map((r) => fmt(r.ms, 0)).join(', '), fmt(extra, 0), String(Math.max(...list.map((r) => r.bans))),
      extra <= AIM_MS ? 'yes' : 'NO']
  })
  const title = 'Hostile peers: time to a complete download after the honest seeder starts'
  const markdown = [
    `${fmt(metainfo.length / 1e6, 0)} MB site, ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB; a Node visitor ` +
      '(download(), as `peersite get`) with the metainfo (the rows "by infohash": with the infohash alone, the metadata ' +
      'from peers), a fresh tracker per case. The hostile peers (test/helpers/hostile-peer.ts, metadata-liar.ts) ' +
      'connect to the visitor first; then the honest seeder starts, and the clock runs from its ' +
      `start (including its first announce) to the verified download. ${runs} runs per case, interleaved; median.`,
    '',
    markdownTable(['case', 'median ms', 'runs ms', 'beyond baseline ms', 'bans', `within ${AIM_MS / 1000} s`], rows)
  ].join('\n')
  return { title, markdown }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

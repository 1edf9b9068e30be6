/**
 * `get` throughput Node to Node: a generated 100 MB site (bench/.data/, reused), published with the default
 * piece-length rule, seeded with startSeeder through a WebSocket tracker on 127.0.0.1, then downloaded with the
 * CLI's `download` into a temporary folder, (a) given the infohash and the torrent's metainfo (`get site.torrent`)
 * and (b) given the infohash alone (metadata over BEP 9 first). Each round also measures the raw node-datachannel
 * ceiling over the same number of bytes, so every ratio compares numbers of the same moment.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/get-throughput.mjs
 *   (BENCH_GET_MB=100 BENCH_GET_RUNS=5 BENCH_GET_BASELINE=bench/.data/base-dist)
 *
 * BENCH_GET_BASELINE=/some/copy/of/dist adds an older build (the "before", e.g. main's dist/ copied there; like
 * PEERSITE_BENCH_DIST it must live inside this repository, so that its imports resolve node_modules/): a seeder of
 * its own from that build, and in every round one more get with the metainfo, getter and seeder both of that build,
 * alternating with this build's get (which goes first in odd rounds, second in even ones), so that both face the same
 * moments of the machine's load. Its rows and its ratio to this round's raw ceiling are printed beside this build's.
 *
 * "total" is `download()` called to resolved (tracker announce, WebRTC set-up, metadata, every piece verified and
 * written, files moved into place): what a user waits for. "transfer" starts at the first payload byte (seen
 * through onProgress every 10 ms), to compare the data path alone with the raw channel.
 */
import { loadavg } from 'node:os'
import { relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertInNetns } from './lib/env.mjs'
import { assertSameTree, dist, ensureSite, publish, rtcConfig, startSwarm, tempOut, trackerUrl } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, mbps, median } from './lib/table.mjs'
import { measureRawNodeToNode } from './raw-datachannel.mjs'

const AIM = 0.9 // issue 14 item 2: 90% of the raw ceiling

/** dist() of the baseline build (BENCH_GET_BASELINE), or of this one. */
async function distOf (build, rel) {
  if (build === undefined) return await dist(rel)
  const saved = process.env.PEERSITE_BENCH_DIST
  process.env.PEERSITE_BENCH_DIST = build
  try {
    return await dist(rel)
  } finally {
    if (saved === undefined) delete process.env.PEERSITE_BENCH_DIST
    else process.env.PEERSITE_BENCH_DIST = saved
  }
}

/** startSwarm with the seeder's process (which reads PEERSITE_BENCH_DIST as it starts) and tracker of `build`. */
async function startSwarmOf (build, site, metainfo, torrent) {
  if (build === undefined) return await startSwarm(site, metainfo, torrent)
  const saved = process.env.PEERSITE_BENCH_DIST
  process.env.PEERSITE_BENCH_DIST = build
  try {
    return await startSwarm(site, metainfo, torrent)
  } finally {
    if (saved === undefined) delete process.env.PEERSITE_BENCH_DIST
    else process.env.PEERSITE_BENCH_DIST = saved
  }
}

async function timedGet ({ swarm, metainfo, withMetainfo, verify, siteDir, build }) {
  const { download } = await distOf(build, 'cli/lib/swarm.js')
  const { out, cleanup } = await tempOut('get')
  try {
    let firstByteAt
    let metadataAt
    const seederCpu0 = await swarm.seeder.cpu()
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    const result = await download({
      infoHash: metainfo.infoHash,
      ...(withMetainfo ? { metainfo } : {}),
      out,
      trackers: [trackerUrl(swarm.tracker, 'leecher')],
      rtcConfig,
      progressIntervalMs: 10,
      onMetadata: () => { metadataAt ??= performance.now() },
      onProgress: (p) => { if (p.downloaded > 0) firstByteAt ??= performance.now() }
    })
    const end = performance.now()
    const cpu = process.cpuUsage(cpu0)
    const seederCpu1 = await swarm.seeder.cpu()
    const seederMs = (seederCpu1.user + seederCpu1.system - seederCpu0.user - seederCpu0.system) / 1000
    if (result.stats.verified !== metainfo.length) throw new Error(`verified ${result.stats.verified} of ${metainfo.length} bytes`)
    if (verify) await assertSameTree(siteDir, out)
    const bytes = metainfo.length
    return {
      bytes,
      /** CPU ms per MB: the downloading process, the seeder's process. */
      leecherCpuPerMB: (cpu.user + cpu.system) / 1000 / (bytes / 1e6),
      seederCpuPerMB: seederMs / (bytes / 1e6),
      totalMs: end - start,
      transferMs: end - (firstByteAt ?? start),
      setupMs: (firstByteAt ?? start) - start,
      metadataMs: (metadataAt ?? start) - start,
      total: mbps(bytes, end - start),
      transfer: mbps(bytes, end - (firstByteAt ?? start))
    }
  } finally {
    await cleanup()
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  const mb = envNumber('BENCH_GET_MB', 100)
  const runs = envNumber('BENCH_GET_RUNS', 5)
  const baseline = process.env.BENCH_GET_BASELINE ? resolve(process.env.BENCH_GET_BASELINE) : undefined
  log(`bench/get-throughput: preparing a ${mb} MB site under bench/.data/ ...`)
  const site = await ensureSite(Math.round(mb * 1e6))
  const { metainfo, torrent } = await publish(site.dir)
  log(`bench/get-throughput: ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB, ${site.files.length} files`)
  const swarm = await startSwarm(site, metainfo, torrent)
  const baseSwarm = baseline === undefined ? undefined : await startSwarmOf(baseline, site, metainfo, torrent)
  const raw = []
  const withMeta = []
  const hashOnly = []
  const baseMeta = []
  const loads = [loadavg()[0]]
  try {
    // Warm-up: one small raw transfer and JIT of the engine paths, not counted.
    await measureRawNodeToNode({ bytes: 8e6 })
    for (let i = 0; i < runs; i++) {
      log(`bench/get-throughput: round ${i + 1}/${runs}: raw ...`)
      raw.push(await measureRawNodeToNode({ bytes: metainfo.length }))
      const ours = async () => {
        log(`bench/get-throughput: round ${i + 1}/${runs}: get (infohash + metainfo) ...`)
        withMeta.push(await timedGet({ swarm, metainfo, withMetainfo: true, verify: i === 0, siteDir: site.dir }))
      }
      const theirs = async () => {
        if (baseSwarm === undefined) return
        log(`bench/get-throughput: round ${i + 1}/${runs}: get (infohash + metainfo), baseline build ...`)
        baseMeta.push(await timedGet({ swarm: baseSwarm, metainfo, withMetainfo: true, verify: i === 0, siteDir: site.dir, build: baseline }))
      }
      if (i % 2 === 0) { await ours(); await theirs() } else { await theirs(); await ours() }
      log(`bench/get-throughput: round ${i + 1}/${runs}: get (infohash alone) ...`)
      hashOnly.push(await timedGet({ swarm, metainfo, withMetainfo: false, verify: i === 0, siteDir: site.dir }))
      loads.push(loadavg()[0])
    }
  } finally {
    await swarm.close()
    await baseSwarm?.close()
  }

  const rawBest = Math.max(...raw.map((r) => r.mbps))
  const rawMedian = median(raw.map((r) => r.mbps))
  const rows = [['raw data channel (16 KiB messages, 4 MiB buffered)', fmt(rawBest), fmt(rawMedian), '100%', '100%', fmt(median(raw.map((r) => r.ms)) / 1000, 2), '-',
    `${fmt(median(raw.map((r) => r.cpuPerMB)), 1)} (both ends)`]]
  const ratios = {}
  const lists = [['get, infohash + metainfo (site.torrent)', withMeta], ['get, infohash alone (BEP 9 metadata first)', hashOnly]]
  if (baseline !== undefined) lists.push([`baseline build (${relative(process.cwd(), baseline) || baseline}): get, infohash + metainfo`, baseMeta])
  for (const [name, list] of lists) {
    for (const [kind, key] of [['total', 'total'], ['transfer', 'transfer']]) {
      const best = Math.max(...list.map((r) => r[key]))
      const med = median(list.map((r) => r[key]))
      ratios[`${name}/${kind}`] = med / rawMedian
      rows.push([
        `${name}: ${kind}`,
        fmt(best),
        fmt(med),
        `${fmt((best / rawBest) * 100, 0)}%`,
        `${fmt((med / rawMedian) * 100, 0)}%`,
        fmt(median(list.map((r) => (kind === 'total' ? r.totalMs : r.transferMs))) / 1000, 2),
        fmt(median(list.map((r) => r.setupMs)), 0),
        kind === 'total' ? `${fmt(median(list.map((r) => r.leecherCpuPerMB)), 1)} + ${fmt(median(list.map((r) => r.seederCpuPerMB)), 1)}` : ''
      ])
    }
  }
  const perRun = raw.map((r, i) => [
    `round ${i + 1}`, fmt(r.mbps), fmt(withMeta[i].total), fmt(withMeta[i].transfer), fmt(hashOnly[i].total), fmt(hashOnly[i].transfer),
    fmt(withMeta[i].total / r.mbps * 100, 0) + '%',
    `${fmt(withMeta[i].leecherCpuPerMB, 1)} + ${fmt(withMeta[i].seederCpuPerMB, 1)}`,
    ...(baseline === undefined ? [] : [fmt(baseMeta[i].total / r.mbps * 100, 0) + '%', `${fmt(baseMeta[i].leecherCpuPerMB, 1)} + ${fmt(baseMeta[i].seederCpuPerMB, 1)}`]),
    fmt(loads[i + 1], 1)
  ])
  const headline = ratios['get, infohash + metainfo (site.torrent)/total']
  const title = `get throughput Node to Node, ${fmt(metainfo.length / 1e6, 0)} MB site vs the raw data channel`
  const markdown = [
    `${metainfo.length / 1e6} MB in ${site.files.length} files, ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB ` +
      '(default piece-length rule), one seeder, one visitor, both in this process, WebSocket tracker on 127.0.0.1, ' +
      `no STUN. ${runs} rounds; each round measures the raw ceiling over the same byte count, then both kinds of get` +
      (baseline === undefined ? '. ' : ', and the baseline build\'s get with the metainfo (before or after this build\'s, alternately). ') +
      'MB = 10^6 bytes. "total": download() called to resolved; "transfer": from the first payload byte. ' +
      'Ratios: best vs best raw, median vs median raw. CPU: process.cpuUsage() of the getter (this process) and of the ' +
      `seeder's process over the whole get, per MB (raw: both ends live in this process). Load average at the start: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`,
    '',
    markdownTable(['what', 'best MB/s', 'median MB/s', 'best ratio', 'median ratio', 'median s', 'setup ms', 'CPU ms per MB (getter + seeder)'], rows),
    '',
    markdownTable(['round', 'raw MB/s', 'get+meta total', 'get+meta transfer', 'get hash total', 'get hash transfer', 'get+meta/raw', 'get+meta CPU ms/MB',
      ...(baseline === undefined ? [] : ['baseline get+meta/raw', 'baseline CPU ms/MB']), 'load (1 min)'], perRun),
    '',
    `get (with metainfo) runs at **${fmt(headline * 100, 0)}%** of the raw data channel (median), aim: at least ${AIM * 100}%` +
      ` -> ${headline >= AIM ? 'met' : 'NOT met'}.` +
      (baseline === undefined ? '' : ` The baseline build, in the same rounds: ${fmt(ratios[lists[2][0] + '/total'] * 100, 0)}%.`)
  ].join('\n')
  return { title, markdown, ratio: headline, raw, withMeta, hashOnly, baseMeta }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

/**
 * `get` over TCP against a real BitTorrent client: the same generated site (bench/.data/, reused), one seeder at a
 * time, downloaded by `peersite get` (the CLI as a process) and by aria2c, in the same run. Seeders: aria2c, then
 * `peersite seed`; so the four rows are every pairing of the two clients. Tracker: bittorrent-tracker's server (the
 * one `peersite tracker` runs) in this process on 127.0.0.1, HTTP announces; DHT, PEX and local discovery off.
 *
 *   npm run build && sh scripts/in-netns.sh node bench/tcp-get.mjs
 *   (BENCH_TCP_MB=100 BENCH_TCP_RUNS=3)
 *
 * Time: from the downloader's process start to its exit (what a user waits for: start-up, announce, connect,
 * every piece verified and written). aria2c verifies each piece's SHA-1 like peersite does.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { assertInNetns, repoRoot } from './lib/env.mjs'
import { assertSameTree, dist, ensureSite } from './lib/swarm.mjs'
import { envNumber, fmt, markdownTable, mbps, median } from './lib/table.mjs'

const ARIA2_QUIET = ['--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
  '--disable-ipv6=true', '--console-log-level=warn', '--summary-interval=0', '--bt-tracker-connect-timeout=5']
const cli = join(repoRoot, 'dist', 'cli', 'main.js')

function start (cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    output: () => output,
    exited,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
}

async function seeders (httpUrl, infoHash) {
  const { bdecode } = await dist('engine/util/bencode.js')
  const { percentEncodeBytes } = await dist('engine/discovery/http-tracker.js')
  const { fromHex } = await dist('engine/util/bytes.js')
  const body = new Uint8Array(await (await fetch(`${httpUrl.replace(/announce$/, 'scrape')}?info_hash=${percentEncodeBytes(fromHex(infoHash))}`)).arrayBuffer())
  const files = bdecode(body).files ?? {}
  return Object.values(files)[0]?.complete ?? 0
}

async function waitForSeeder (httpUrl, infoHash, proc) {
  const started = Date.now()
  while (await seeders(httpUrl, infoHash) < 1) {
    if (proc.child.exitCode !== null) throw new Error(`seeder exited: ${proc.output().slice(-500)}`)
    if (Date.now() - started > 120_000) throw new Error('the seeder did not announce within 120 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * The client's own figure for the transfer, without process start-up: aria2c's "Download Results" average speed,
 * `peersite get --json`'s `ms` (from its handler's start to the files in place). MB/s.
 */
function reportedRate (who, output, bytes) {
  if (who === 'peersite') {
    const json = JSON.parse(/^\{.*\}$/m.exec(output)?.[0] ?? '{}')
    return typeof json.ms === 'number' ? mbps(bytes, json.ms) : NaN
  }
  const m = /\|OK\s*\|\s*([\d.]+)(Ki|Mi|Gi)?B\/s\|/.exec(output)
  if (m === null) return NaN
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2]] ?? 1
  return (Number(m[1]) * unit) / 1e6
}

/** One download by `who` into a fresh folder; returns ms from process start to exit, and the client's own rate. */
async function timedDownload (who, torrentPath, name, siteDir, verify, bytes) {
  const parent = await mkdtemp(join(tmpdir(), 'peersite-bench-tcp-'))
  try {
    const out = join(parent, 'copy')
    const t0 = performance.now()
    const proc = who === 'aria2c'
      ? start('aria2c', [...ARIA2_QUIET, '--console-log-level=notice', '--seed-time=0', '-d', out, torrentPath])
      : start(process.execPath, [cli, 'get', torrentPath, '--out', out, '--json', '--no-dht', '--peer-port', '0', '--timeout', '300'])
    const code = await proc.exited
    const ms = performance.now() - t0
    if (code !== 0) throw new Error(`${who} exited with ${code}: ${proc.output().slice(-800)}`)
    if (verify) await assertSameTree(siteDir, who === 'aria2c' ? join(out, name) : out)
    return { ms, reported: reportedRate(who, proc.output(), bytes) }
  } finally {
    await rm(parent, { recursive: true, force: true })
  }
}

export async function run ({ log = (s) => process.stderr.write(s + '\n') } = {}) {
  assertInNetns()
  try {
    execFileSync('aria2c', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error('aria2c is missing: apt-get install -y aria2')
  }
  const mb = envNumber('BENCH_TCP_MB', 100)
  const runs = envNumber('BENCH_TCP_RUNS', 3)
  log(`bench/tcp-get: preparing a ${mb} MB site under bench/.data/ ...`)
  const site = await ensureSite(Math.round(mb * 1e6))
  const { startTrackerServer } = await dist('cli/lib/tracker-server.js')
  const { publishSite } = await dist('cli/lib/publish.js')
  const tracker = await startTrackerServer({ host: '127.0.0.1', intervalMs: 30_000 })
  const work = await mkdtemp(join(tmpdir(), 'peersite-bench-tcp-publish-'))
  const results = {}
  const reported = {}
  try {
    const out = join(work, `${basename(site.dir)}-peersite`)
    // No BEP 47 pad files: aria2c 1.36 does not know them and would look for `.pad/N` files in the seeded folder
    // (README "The BitTorrent network"); the transfer being measured is the same without them.
    // What an aria2c seeder of a padded torrent, or one stopped midway, left in the reused site folder.
    await rm(join(site.dir, '.pad'), { recursive: true, force: true })
    await rm(`${site.dir}.aria2`, { force: true })
    const published = await publishSite({ dir: site.dir, out, trackers: [tracker.httpUrl], padPolicy: 'none' })
    const torrentPath = join(out, 'site.torrent')
    const { metainfo } = published
    log(`bench/tcp-get: ${metainfo.pieceCount} pieces of ${metainfo.pieceLength / 1024} KiB`)
    for (const seederKind of ['aria2c', 'peersite']) {
      const seeder = seederKind === 'aria2c'
        ? start('aria2c', [...ARIA2_QUIET, '-V', '--seed-ratio=0.0', '--seed-time=600', '-d', dirname(site.dir), torrentPath])
        : start(process.execPath, [cli, 'seed', out, '--path', site.dir, '--no-check', '--no-dht', '--peer-port', '0'])
      try {
        await waitForSeeder(tracker.httpUrl, metainfo.infoHash, seeder)
        for (let i = 0; i < runs; i++) {
          // Alternate who goes first, so neither always meets a warmer page cache.
          const order = i % 2 === 0 ? ['peersite', 'aria2c'] : ['aria2c', 'peersite']
          for (const who of order) {
            log(`bench/tcp-get: seeder ${seederKind}, round ${i + 1}/${runs}: ${who} downloads ...`)
            const r = await timedDownload(who, torrentPath, metainfo.name, site.dir, i === 0, site.bytes)
            ;(results[`${seederKind}->${who}`] ??= []).push(r.ms)
            ;(reported[`${seederKind}->${who}`] ??= []).push(r.reported)
          }
        }
      } finally {
        await seeder.stop()
      }
    }
  } finally {
    await tracker.close()
    await rm(work, { recursive: true, force: true })
  }

  const bytes = site.bytes
  const rows = []
  for (const seederKind of ['aria2c', 'peersite']) {
    const base = median(results[`${seederKind}->aria2c`])
    for (const who of ['aria2c', 'peersite']) {
      const list = results[`${seederKind}->${who}`]
      const med = median(list)
      rows.push([`${who === 'peersite' ? 'peersite get' : 'aria2c'} from ${seederKind === 'peersite' ? 'peersite seed' : 'aria2c'}`,
        fmt(mbps(bytes, Math.min(...list))), fmt(mbps(bytes, med)), fmt(med / 1000, 2), `${fmt((base / med) * 100, 0)}%`,
        fmt(median(reported[`${seederKind}->${who}`]))])
    }
  }
  const fromAria = median(results['aria2c->aria2c']) / median(results['aria2c->peersite'])
  const title = `TCP get vs aria2c, ${fmt(bytes / 1e6, 0)} MB site`
  const markdown = [
    `${bytes / 1e6} MB in ${site.files.length} files over TCP on 127.0.0.1, HTTP tracker in process, one seeder at a ` +
      `time, ${runs} rounds per pairing (order alternated). Time: downloader process start to exit, every piece ` +
      'verified and written. MB = 10^6 bytes. "vs aria2c": aria2c\'s median time from the same seeder / this row\'s. ' +
      '"client-reported": the transfer alone, without process start-up (aria2c\'s Download Results average, ' +
      '`get --json` ms). The load average of the machine is printed below: on a shared machine start-up dominates.',
    '',
    markdownTable(['downloader from seeder', 'best MB/s', 'median MB/s', 'median s', 'vs aria2c', 'client-reported MB/s (median)'], rows),
    '',
    `From an aria2c seeder, \`peersite get\` runs at **${fmt(fromAria * 100, 0)}%** of aria2c's speed (ratio of median times).`,
    '',
    `Load average at the end: ${loadavg().map((n) => n.toFixed(1)).join(' ')} (${cpus().length} cores).`
  ].join('\n')
  return { title, markdown }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { title, markdown } = await run()
  console.log(`## ${title}\n\n${markdown}`)
  process.exit(0)
}

/** `peersite publish <dir>`: hash a folder into a torrent, write the loader beside it, and seed it. */
import { ArgumentError } from '../../engine/errors.js'
import { toHex } from '../../engine/util/bytes.js'
import { siteIdOf } from '../../engine/util/site-id.js'
import { countOf, formatBytes, warn } from '../lib/format.js'
import { parsePieceLength } from '../lib/piece-length.js'
import { parsePrefetchLimit } from '../lib/prefetch.js'
import { keptLine } from '../lib/output-folder.js'
import { executePublish, planPublish, type PublishPlan } from '../lib/publish.js'
import type { StaticServer } from '../lib/static-server.js'
import type { TrackerServer } from '../lib/tracker-server.js'
import { addressWithTrackers, DEFAULT_TRACKERS, defaultIceServers, parseIceServers, parsePort, validateTrackers } from '../lib/trackers.js'
import type { BtNetwork } from '../lib/bt-network.js'
import { networkInit } from '../lib/network-options.js'
import type { PublishArgs } from '../commands/publish.js'

export async function run (argv: PublishArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  if (argv.local && given.length > 0) throw new ArgumentError('--local announces only to its own tracker: drop --tracker or --local')
  if (argv.port !== undefined && !argv.local) throw new ArgumentError('--port is the --local static server\'s port: add --local')
  const port = parsePort(argv.port, '--port')
  const pieceLength = argv.pieceLength !== undefined ? parsePieceLength(argv.pieceLength) : undefined
  const prefetchLimit = argv.prefetchLimit !== undefined ? parsePrefetchLimit(argv.prefetchLimit) : undefined
  const trackers = argv.local ? [] : given.length > 0 ? given : [...DEFAULT_TRACKERS]
  // --local: everything is on this machine, so no STUN (see defaultIceServers).
  const rtcConfig = parseIceServers(argv.iceServers ?? (argv.local ? 'none' : defaultIceServers(trackers)))
  const netInit = networkInit(argv, trackers, argv.local)

  // Everything that can be refused is checked before anything is written.
  let plan: PublishPlan = await planPublish({
    dir: argv.dir,
    ...(argv.out !== undefined ? { out: argv.out } : {}),
    trackers,
    ...(pieceLength !== undefined ? { pieceLength } : {}),
    ...(prefetchLimit !== undefined ? { prefetchLimit } : {}),
    ...(argv.loaderDir !== undefined ? { loaderDir: argv.loaderDir } : {}),
    spa: argv.spa,
    webSeeds: argv.webSeed ?? [],
    withFiles: argv.withFiles,
    ...(argv.index !== undefined ? { index: argv.index } : {}),
    ...(argv.key !== undefined ? { keyFile: argv.key } : {})
  })
  // Bad `_redirects` lines are left out with a warning, as Netlify's build does; the rest of the file applies.
  for (const warning of plan.warnings) warn(warning)
  if (plan.key?.exposed === true) warn(`key file ${argv.key} is readable by other users: chmod 600 it`)

  let server: StaticServer | undefined
  let tracker: TrackerServer | undefined
  let network: BtNetwork | undefined
  const closeLocal = async (): Promise<void> => {
    await server?.close()
    await tracker?.close()
    await network?.close()
  }
  try {
    // The servers and the seeder (WebRTC, the DHT, the tracker bundle) load only when used: `--no-seed` hashes and
    // writes without paying for them.
    if (argv.local) {
      const [{ startStaticServer }, { startTrackerServer }] = await Promise.all([import('../lib/static-server.js'), import('../lib/tracker-server.js')])
      server = await startStaticServer({ root: plan.out, host: '127.0.0.1', ...(port !== undefined ? { port } : {}) })
      tracker = await startTrackerServer({ host: '127.0.0.1' })
      plan = { ...plan, trackers: [tracker.url] }
    }

    const progress = hashingProgress(plan.site.length, argv.json)
    const result = await executePublish(plan, progress)
    const url = server?.url ?? null
    // Files added to the output folder since the last publish (a CNAME, .nojekyll) were carried over: said, not hidden.
    if (result.kept.length > 0) process.stderr.write(`peersite: ${keptLine(result.kept, result.out)}\n`)

    const keyed = result.pointer !== undefined && result.address !== undefined
      ? { publicKey: toHex(result.pointer.publicKey), keyId: siteIdOf(toHex(result.pointer.publicKey)), seq: result.pointer.seq, address: result.address }
      : undefined
    if (argv.json) {
      // `id`: the site's name in a gateway address, http://<id>.localhost:8888/ (engine/util/site-id.ts).
      process.stdout.write(JSON.stringify({ infoHash: result.infoHash, id: siteIdOf(result.infoHash), magnetURI: result.magnetURI, url, out: result.out, ...keyed }) + '\n')
    } else {
      // --local --no-seed: the server and the tracker this process runs stop with it, and the output names that
      // tracker; said on their lines, since a newcomer would otherwise open a URL that no longer answers.
      const closing = argv.seed ? '' : ' (closed as publish exits: --no-seed)'
      const lines = [
        `published ${plan.name}: ${countOf(plan.site.files.length, 'file')}, ${formatBytes(plan.site.length)}, piece length ${plan.pieceLength / 1024} KiB`,
        `  out:      ${result.out}`,
        `  infohash: ${result.infoHash}`,
        `  magnet:   ${result.magnetURI}`,
        url !== null
          ? `  url:      ${url}${closing}`
          : `  url:      upload ${result.out} to any static host (GitHub Pages, Netlify, S3...) and open it there`
      ]
      if (tracker !== undefined) lines.push(`  tracker:  ${tracker.url}${closing}`)
      if (keyed !== undefined) {
        lines.push(
          `  address:  ${addressWithTrackers(keyed.address, plan.trackers)}`,
          `  key:      ${keyed.publicKey}, seq ${keyed.seq}`,
          plan.key?.created === true
            ? `  new key:  ${plan.key.path} (mode 0600). Back it up now: without it this address can never be updated again`
            : `  key file: ${plan.key?.path ?? ''}`
        )
      }
      process.stdout.write(lines.join('\n') + '\n')
    }

    if (!argv.seed) {
      await closeLocal()
      return
    }
    const [{ startBtNetwork }, { seedUntilStopped }] = await Promise.all([import('../lib/bt-network.js'), import('../lib/seeding.js')])
    network = await startBtNetwork(netInit)
    if (!argv.json) process.stderr.write(`seeding (${network.describe()}); press Ctrl-C to stop\n`)
    await seedUntilStopped({
      metainfo: result.metainfo,
      root: plan.site.root,
      trackers: plan.trackers.slice(),
      rtcConfig,
      network,
      onShutdown: closeLocal,
      ...(result.pointer !== undefined ? { pointer: result.pointer } : {})
    })
  } catch (err) {
    await closeLocal()
    throw err
  }
}

/** A hashing percentage on a terminal for sites big enough to take a moment. */
function hashingProgress (total: number, quiet: boolean): ((hashed: number) => void) | undefined {
  if (quiet || process.stderr.isTTY !== true || total < 64 * 1024 * 1024) return undefined
  let last = -1
  return (hashed) => {
    const pct = Math.floor((hashed / total) * 100)
    if (pct === last) return
    last = pct
    process.stderr.write(`\r\x1b[2Khashing ${pct}% of ${formatBytes(total)}`)
    if (hashed >= total) process.stderr.write('\r\x1b[2K')
  }
}

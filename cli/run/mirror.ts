/** `peersite mirror <site>... [--dir DIR]`: fetch sites and keep seeding them from this machine, following site keys. */
import { ArgumentError } from '../../engine/errors.js'
import { formatBytes, terminalLine } from '../lib/format.js'
import { filesLength } from '../../engine/metainfo/index.js'
import { parseMirrorSources, startMirror, type Mirror, type MirroredSite } from '../lib/mirror.js'
import { waitForShutdown } from '../lib/signals.js'
import { renderSwarmStatus, warningPrinter } from '../lib/status.js'
import { startBtNetwork } from '../lib/bt-network.js'
import { networkInit } from '../lib/network-options.js'
import { DEFAULT_TRACKERS, iceConfigFor, isTracker, parseIceServers, parseSeconds, validateTrackers } from '../lib/trackers.js'
import type { MirrorArgs } from '../commands/mirror.js'

/** One line per site: "<infohash> <name> (seq N): seeding 1.2 MB · 3 peers · up … · down …". */
export function mirrorStatusLine (site: MirroredSite): string {
  const m = site.torrent?.metainfo
  const label = site.infoHash === '' ? terminalLine(site.source) : `${site.infoHash}${m !== undefined ? ` ${terminalLine(m.name)}` : ''}${site.seq !== undefined ? ` (seq ${site.seq})` : ''}`
  const stats = site.stats()
  const state = site.state()
  // The state's name alone read "<infohash>: metadata": said as get says it.
  if (stats === undefined || m === undefined) return `${label}: ${state === 'metadata' ? 'fetching metadata from peers' : state}`
  const pct = m.length === 0 ? 100 : Math.floor((stats.verified / m.length) * 100)
  // The site's bytes (without BEP 47 padding), as get's result line counts them.
  return renderSwarmStatus(`${label}: ${state} ${pct}% of ${formatBytes(filesLength(m))}`, stats, m.length)
}

/**
 * The trackers the sources name themselves (magnets' `tr`, torrents' announce lists), else the defaults. Entries that
 * are not tracker URLs do not count (startMirror leaves them out, with a warning): a `dht://` beside a local tracker
 * would otherwise take the swarm off this machine.
 */
async function sourceTrackers (sites: string[]): Promise<string[]> {
  const listed = (await parseMirrorSources(sites)).flatMap((s) => s.source?.trackers ?? s.address?.trackers ?? []).filter(isTracker)
  return listed.length > 0 ? listed : [...DEFAULT_TRACKERS]
}

export async function run (argv: MirrorArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers)
  if (!Number.isSafeInteger(argv.keep) || argv.keep < 1) throw new ArgumentError(`invalid --keep "${String(argv.keep)}": expected a whole number of versions, at least 1`)
  const statusMs = parseSeconds(argv.statusInterval, '--status-interval')
  // STUN only when some tracker is not on this machine (cli/lib/trackers.ts): sites' own trackers count too.
  const known = given.length > 0 ? given : await sourceTrackers(argv.sites.map(String))
  const rtcConfig = iceConfigFor(argv.iceServers, known)
  // TCP and the DHT as for seed (cli/lib/network-options.ts): local trackers keep everything on 127.0.0.1.
  const network = await startBtNetwork(networkInit(argv, known))
  const shutdown = waitForShutdown()
  const print = (): void => {
    if (mirror === undefined) return
    process.stdout.write(mirror.sites().map(mirrorStatusLine).join('\n') + '\n')
  }
  let mirror: Mirror | undefined
  try {
    mirror = await startMirror({
      dir: argv.dir,
      sources: argv.sites.map(String),
      trackers: given,
      defaultTrackers: DEFAULT_TRACKERS,
      keep: argv.keep,
      network,
      ...(rtcConfig !== undefined ? { rtcConfig } : {}),
      // Each distinct warning once, as get, seed and serve do: a failing tracker is retried every few seconds.
      onWarning: warningPrinter(() => undefined),
      onChange: () => print()
    })
  } catch (err) {
    await network.close()
    throw err
  }
  print()
  const timer = setInterval(print, statusMs)
  const signal = await shutdown
  clearInterval(timer)
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  print()
  await mirror.close()
  await network.close()
}

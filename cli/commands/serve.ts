/**
 * `peersite serve <infohash | magnet | site.torrent>`: a Node gateway that joins the swarm and serves the site on
 * http://HOST:PORT/ with the service worker's file mapping and headers, Range included (VLC and mpv can play and
 * seek its videos), while seeding what it has fetched.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { MANIFEST_FILE } from '../../worker/protocol.js'
import { formatBytes } from '../lib/format.js'
import { formatRequestLog, startGateway } from '../lib/gateway.js'
import { parseGetSource } from '../lib/get-source.js'
import { waitForShutdown } from '../lib/signals.js'
import { printAbove, renderSwarmStatus, startStatusLine, warningPrinter, type StatusLine } from '../lib/status.js'
import { ICE_SERVERS_OPTION, iceConfigFor, joinTrackers, parseIceServers, parsePort, validateTrackers } from '../lib/trackers.js'
import { startBtNetwork } from '../lib/bt-network.js'
import { networkInit, withNetworkOptions } from '../lib/network-options.js'

export const command = 'serve <source>'
export const describe = 'Serve a site from the swarm on a local HTTP address (with Range: players can seek its videos)'

export const DEFAULT_SERVE_PORT = 8888

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('source', { type: 'string', demandOption: true, describe: 'Infohash, magnet URI or path to a .torrent file' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; added to the magnet\'s or torrent\'s own)' })
    .option('port', { type: 'number', default: DEFAULT_SERVE_PORT, describe: 'HTTP port to listen on (0: a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 to accept other machines)' })
    .option('spa', { type: 'boolean', default: false, describe: 'A single-page app (as published with --spa): unknown paths get /index.html with status 200' })
    .option('ice-servers', ICE_SERVERS_OPTION)
    .option('log-requests', { type: 'boolean', default: false, describe: 'Print one line per HTTP request on stderr (what a player asked for and what it got)' })
}

export type ServeArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

export async function handler (argv: ServeArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers) // refuse a bad value before touching anything
  const port = parsePort(argv.port, '--port') ?? DEFAULT_SERVE_PORT
  const host = argv.host.trim()
  if (host === '') throw new UsageError('--host needs an address')
  const source = await parseGetSource(argv.source)
  const trackers = joinTrackers(given, source.trackers)
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const network = await startBtNetwork(networkInit(argv, trackers))

  let status: StatusLine | undefined
  let metainfo: Metainfo | undefined = source.metainfo
  const shutdown = waitForShutdown()
  const gateway = await startGateway({
    infoHash: source.infoHash,
    network,
    ...(source.metainfo !== undefined ? { metainfo: source.metainfo } : {}),
    ...(source.webSeeds !== undefined ? { webSeeds: source.webSeeds } : {}),
    trackers,
    ...(rtcConfig !== undefined ? { rtcConfig } : {}),
    host,
    port,
    spa: argv.spa || (source.kind === 'torrent' && await publishedWithSpa(argv.source, source.infoHash)),
    onWarning: warningPrinter(() => status),
    ...(argv.logRequests ? { onRequest: (entry) => { printAbove(status, formatRequestLog(entry)) } } : {})
  })
  const url = gateway.url
  process.stdout.write(`serving ${source.name ?? source.infoHash} on ${url}\n  infohash: ${source.infoHash}\n  trackers: ${trackers.join(' ')}\n  network:  ${network.describe()}\n`)
  status = startStatusLine(() => {
    const stats = gateway.stats()
    if (metainfo === undefined) return `fetching metadata from peers (${stats.peers} connected)`
    const pct = metainfo.length === 0 ? 100 : Math.floor((stats.verified / metainfo.length) * 100)
    return renderSwarmStatus(`${pct}% of ${formatBytes(metainfo.length)} here`, stats, metainfo.length)
  })
  void gateway.torrent.ready().then((m) => {
    metainfo = m
    // Not a web site (no index.html at the top): name a few files, as a player needs their URLs.
    if (m.files.some((f) => f.path === 'index.html')) return
    const shown = m.files.slice(0, 10).map((f) => `  ${url}${f.path.split('/').map(encodeURIComponent).join('/')}  (${formatBytes(f.length)})`)
    const more = m.files.length > 10 ? [`  ... and ${m.files.length - 10} more`] : []
    printAbove(status, [`files of ${m.name}:`, ...shown, ...more].join('\n'), process.stdout)
  }, () => {})
  const signal = await shutdown
  status.stop()
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await gateway.close()
  await network.close()
}

/**
 * `publish --spa` is recorded in peersite.json, not in the torrent: a site.torrent given by path inside a publish's
 * output folder brings it along (a magnet or infohash needs `serve --spa`).
 */
export async function publishedWithSpa (torrentPath: string, infoHash: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(dirname(torrentPath), MANIFEST_FILE), 'utf8')) as { infoHash?: unknown, spa?: unknown }
    return typeof manifest.infoHash === 'string' && manifest.infoHash.toLowerCase() === infoHash.toLowerCase() && manifest.spa === true
  } catch {
    return false
  }
}

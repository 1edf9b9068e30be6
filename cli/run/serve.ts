/**
 * `peersite serve <infohash | magnet | site.torrent>`: a Node gateway that joins the swarm and serves the site on
 * http://HOST:PORT/ with the service worker's file mapping and headers, Range included (VLC and mpv can play and
 * seek its videos), while seeding what it has fetched.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import type { NamePlatform, NameRules } from '../../engine/metainfo/names.js'
import { MANIFEST_FILE } from '../../worker/protocol.js'
import { formatBytes, terminalLine } from '../lib/format.js'
import { formatRequestLog, startGateway, type Gateway } from '../lib/gateway.js'
import { parseGetSource, type GetSource } from '../lib/get-source.js'
import { PointerStateFile } from '../lib/pointer-state.js'
import { checkAddressTrackers, parseSiteAddress, resolvePointerUntilStopped, startPointerSeeders, type PointerSeeders } from '../lib/pointer-swarm.js'
import { btpkMagnet, pointerId, type VerifiedPointer } from '../../engine/pointer/index.js'
import { abortOnShutdown, waitForShutdown } from '../lib/signals.js'
import { printAbove, renderSwarmStatus, startStatusLine, warningPrinter, type StatusLine } from '../lib/status.js'
import { addressWithTrackers, iceConfigFor, joinTrackers, parseHost, parseIceServers, parsePort, validateTrackers } from '../lib/trackers.js'
import { startBtNetwork } from '../lib/bt-network.js'
import { networkInit } from '../lib/network-options.js'
import { type ServeArgs, DEFAULT_SERVE_PORT } from '../commands/serve.js'

/** `platform`: whose file-name rules the site must meet (engine/metainfo/names.ts); a test seam, default this one. */
export async function run (argv: ServeArgs, seams: { platform?: NamePlatform | NameRules } = {}): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers) // refuse a bad value before touching anything
  const port = parsePort(argv.port, '--port') ?? DEFAULT_SERVE_PORT
  const host = parseHost(argv.host)
  const address = parseSiteAddress(argv.source)
  let source: GetSource | undefined = address === undefined ? await parseGetSource(argv.source) : undefined
  const trackers = joinTrackers(given, source?.trackers ?? address?.trackers ?? [])
  if (address !== undefined) checkAddressTrackers(trackers)
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const network = await startBtNetwork(networkInit(argv, trackers))

  let status: StatusLine | undefined
  const onWarning = warningPrinter(() => status)
  const shutdown = waitForShutdown()
  const stopping = abortOnShutdown(shutdown)
  // The state file's warnings (a failed save, on each new version) are said once, as the others are.
  const state = new PointerStateFile(undefined, onWarning)
  let pointer: VerifiedPointer | undefined
  if (address !== undefined) {
    // A keyed site: the pointer swarm tells the newest version; it is served, and followed below.
    process.stderr.write(`finding the newest version of ${btpkMagnet(address.publicKey, address.salt)} from ${trackers.join(' ')}\n`)
    pointer = await resolvePointerUntilStopped({ publicKey: address.publicKey, salt: address.salt, trackers, ...(rtcConfig !== undefined ? { rtcConfig } : {}), onWarning, state, signal: stopping })
    source = { infoHash: pointer.infoHash, trackers: [], kind: 'infohash' }
  }
  let metainfo: Metainfo | undefined = source!.metainfo
  // One site whose file names cannot be stored here (from peers) ends the command with that reason, as `get` does. A
  // key's version is warned about: the gateway answers 502 until a newer version replaces it.
  let refuse: (err: Error) => void = () => {}
  const refused = new Promise<Error>((resolve) => { refuse = resolve })
  const onRefused = (err: Error): void => {
    if (pointer !== undefined) onWarning(`${err.message}: not served`)
    else refuse(err)
  }
  const open = async (from: GetSource, port: number): Promise<Gateway> => await startGateway({
    infoHash: from.infoHash,
    network,
    ...(from.metainfo !== undefined ? { metainfo: from.metainfo } : {}),
    ...(from.webSeeds !== undefined ? { webSeeds: from.webSeeds } : {}),
    trackers,
    ...(rtcConfig !== undefined ? { rtcConfig } : {}),
    host,
    port,
    spa: argv.spa || (from.kind === 'torrent' && await publishedWithSpa(argv.source, from.infoHash)),
    onWarning,
    onRefused,
    ...(seams.platform !== undefined ? { platform: seams.platform } : {}),
    ...(argv.logRequests ? { onRequest: (entry) => { printAbove(status, formatRequestLog(entry)) } } : {})
  })
  let gateway = await open(source!, port)
  const url = gateway.url
  process.stdout.write(`serving ${terminalLine(source!.name ?? source!.infoHash)} on ${url}\n  infohash: ${source!.infoHash}\n  trackers: ${terminalLine(trackers.join(' '))}\n  network:  ${network.describe()}\n`)
  if (pointer !== undefined) process.stdout.write(`  address:  ${addressWithTrackers(btpkMagnet(pointer.publicKey, pointer.salt), trackers)} (seq ${pointer.seq})\n`)
  const describeFiles = (g: Gateway): void => {
    void g.torrent.ready().then((m) => {
      metainfo = m
      // Not a web site (no index.html at the top): name a few files, as a player needs their URLs.
      if (m.files.some((f) => f.path === 'index.html')) return
      const shown = m.files.slice(0, 10).map((f) => `  ${url}${f.path.split('/').map(encodeURIComponent).join('/')}  (${formatBytes(f.length)})`)
      const more = m.files.length > 10 ? [`  ... and ${m.files.length - 10} more`] : []
      printAbove(status, [`files of ${terminalLine(m.name)}:`, ...shown, ...more].join('\n'), process.stdout)
    }, () => {})
  }
  describeFiles(gateway)

  // Following the key: a newer version announced in the pointer swarm replaces the one served, on the same port.
  let pointers: PointerSeeders | undefined
  let switching = Promise.resolve()
  if (pointer !== undefined) {
    pointers = await startPointerSeeders({
      record: pointer,
      trackers,
      ...(rtcConfig !== undefined ? { rtcConfig } : {}),
      onWarning,
      onRefused: (error) => onWarning(error.message),
      onNewer: (record) => {
        const known = pointers?.book.known
        if (known !== undefined) void state.saveOrWarn(pointerId(record.publicKey, record.salt), known)
        if (record.infoHash === gateway.torrent.infoHash) return
        switching = switching.then(async () => {
          await gateway.close()
          metainfo = undefined
          gateway = await open({ infoHash: record.infoHash, trackers: [], kind: 'infohash' }, gateway.port)
          describeFiles(gateway)
          printAbove(status, `now serving the newer version seq ${record.seq} (infohash ${record.infoHash}) on ${url}`, process.stdout)
        }).catch((err: unknown) => { onWarning(`cannot switch to seq ${record.seq}: ${(err as Error).message}`) })
      }
    })
  }
  status = startStatusLine(() => {
    const stats = gateway.stats()
    if (metainfo === undefined) return `fetching metadata from peers (${stats.peers} connected)`
    const pct = metainfo.length === 0 ? 100 : Math.floor((stats.verified / metainfo.length) * 100)
    return renderSwarmStatus(`${pct}% of ${formatBytes(metainfo.length)} here`, stats, metainfo.length)
  })
  const ended = await Promise.race([shutdown, refused])
  status.stop()
  if (ended instanceof Error) {
    await pointers?.close()
    await gateway.close()
    await network.close()
    throw new UsageError(ended.message)
  }
  process.stderr.write(`peersite: ${ended} received, stopping\n`)
  await switching
  await pointers?.close()
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

/** `peersite get <infohash | magnet | site.torrent> --out DIR`: a Node visitor that downloads a whole site. */
import { lstat, readdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import cliProgress from 'cli-progress'
import { AbortError, ArgumentError, InterruptedError, PeersiteError, UsageError } from '../../engine/errors.js'
import { filesLength, type Metainfo } from '../../engine/metainfo/index.js'
import { countOf, formatBytes, formatDuration, formatRate, terminalLine } from '../lib/format.js'
import { parseGetSource } from '../lib/get-source.js'
import { checkAddressTrackers, parseSiteAddress, resolvePointer } from '../lib/pointer-swarm.js'
import { PointerStateFile } from '../lib/pointer-state.js'
import { btpkMagnet, type VerifiedPointer } from '../../engine/pointer/index.js'
import { toHex } from '../../engine/util/bytes.js'
import { printAbove, startStatusLine, warningPrinter, type StatusLine } from '../lib/status.js'
import { download, type DownloadProgress } from '../lib/swarm.js'
import { interruptedBy } from '../lib/signals.js'
import { systemReason } from '../lib/system-errors.js'
import { iceConfigFor, joinTrackers, parseIceServers, parseSeconds, validateTrackers } from '../lib/trackers.js'
import { startBtNetwork, type BtNetwork } from '../lib/bt-network.js'
import { networkInit } from '../lib/network-options.js'
import type { GetArgs } from '../commands/get.js'


export async function run (argv: GetArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers) // refuse a bad value before touching anything
  if (argv.timeout !== undefined) parseSeconds(argv.timeout, '--timeout')
  const out = resolve(argv.out)
  await checkOut(argv.out, out)
  const address = parseSiteAddress(argv.source)
  let source = address === undefined ? await parseGetSource(argv.source) : undefined
  const trackers = joinTrackers(given, source?.trackers ?? address?.trackers ?? [])
  if (address !== undefined) checkAddressTrackers(trackers)
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const netInit = networkInit(argv, trackers)

  const controller = new AbortController()
  let interrupted: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal
    controller.abort(new AbortError(interruptedBy(signal)))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const timer = argv.timeout !== undefined
    ? setTimeout(() => controller.abort(new AbortError(`timed out after ${argv.timeout} s`)), argv.timeout * 1000)
    : undefined

  const started = Date.now()
  const display = progressDisplay(argv.json, address !== undefined)
  let last: DownloadProgress | undefined
  let metainfo: Metainfo | undefined = source?.metainfo
  let pointer: VerifiedPointer | undefined
  let network: BtNetwork | undefined
  try {
    if (address !== undefined) {
      // A keyed site: the pointer swarm tells us its newest version, then that version is fetched like an infohash.
      display.say(`finding the newest version of ${btpkMagnet(address.publicKey, address.salt)} from ${trackers.join(' ')}`)
      pointer = await resolvePointer({
        publicKey: address.publicKey,
        salt: address.salt,
        trackers,
        ...(rtcConfig !== undefined ? { rtcConfig } : {}),
        signal: controller.signal,
        onWarning: display.warn,
        state: new PointerStateFile(undefined, display.warn)
      })
      display.resolved()
      display.say(`newest version: seq ${pointer.seq}, infohash ${pointer.infoHash}`)
      source = { infoHash: pointer.infoHash, trackers: [], kind: 'infohash' }
    }
    if (source === undefined) throw new Error('unreachable: no source')
    network = await startBtNetwork(netInit)
    display.say(`getting ${terminalLine(source.name ?? source.infoHash)} from ${terminalLine(trackers.join(' '))} (${network.describe()})`)
    const result = await download({
      infoHash: source.infoHash,
      ...(source.metainfo !== undefined ? { metainfo: source.metainfo } : {}),
      ...(source.webSeeds !== undefined ? { webSeeds: source.webSeeds } : {}),
      out,
      trackers,
      network,
      ...(rtcConfig !== undefined ? { rtcConfig } : {}),
      signal: controller.signal,
      onWarning: display.warn,
      onMetadata: (m) => {
        metainfo = m
        display.metadata(m)
      },
      onProgress: (p) => {
        last = p
        display.progress(p)
      }
    })
    display.stop()
    const ms = Date.now() - started
    // The site's bytes, as written to --out: BEP 47 pad files are neither fetched nor written (metainfo.length counts them).
    const bytes = filesLength(result.metainfo)
    if (argv.json) {
      const keyed = pointer !== undefined ? { publicKey: toHex(pointer.publicKey), seq: pointer.seq, address: btpkMagnet(pointer.publicKey, pointer.salt) } : {}
      process.stdout.write(JSON.stringify({ infoHash: result.metainfo.infoHash, name: result.metainfo.name, out, files: result.metainfo.files.length, bytes, ms, ...keyed }) + '\n')
    } else {
      process.stdout.write(`downloaded ${terminalLine(result.metainfo.name)}: ${countOf(result.metainfo.files.length, 'file')}, ${formatBytes(bytes)} in ${formatDuration(ms)} ` +
        `(average ${formatRate(bytes / Math.max(ms / 1000, 0.001))}) into ${out}\n`)
    }
  } catch (err) {
    display.stop()
    if (controller.signal.aborted) {
      const have = last !== undefined && metainfo !== undefined
        ? `${formatBytes(last.verified)} of ${formatBytes(metainfo.length)} verified, ${last.peers} peers`
        : address !== undefined && pointer === undefined ? 'no peer showed a record for this site key'
          : metainfo === undefined ? 'no metadata received from any peer' : 'nothing verified'
      const message = `${(controller.signal.reason as Error).message} (${have}); nothing was written to ${out}`
      throw interrupted !== undefined ? new InterruptedError(message, interrupted) : new PeersiteError(message, 'ERR_TIMEOUT')
    }
    throw err
  } finally {
    await network?.close()
    if (timer !== undefined) clearTimeout(timer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** `get` writes only into a folder that does not exist yet or is empty: it never mixes a site into other files. */
async function checkOut (label: string, out: string): Promise<void> {
  let info
  try {
    // lstat: the finished download is renamed into place, which would replace a symbolic link, not fill its target.
    info = await lstat(out)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw new UsageError(`cannot use output folder ${label}: ${systemReason(err)}`)
  }
  if (info.isSymbolicLink()) throw new UsageError(`output ${label} is a symbolic link: give the folder itself as --out`)
  if (!info.isDirectory()) throw new UsageError(`output ${label} exists and is not a folder`)
  if ((await readdir(out)).length > 0) throw new UsageError(`output folder ${label} is not empty`)
}

interface ProgressDisplay {
  /** A line above the status (which starts with the first one): what get is doing, in the order it does it. */
  say: (line: string) => void
  /** A site key's newest version is known: what follows is that version's metadata and pieces. */
  resolved: () => void
  metadata: (m: Metainfo) => void
  progress: (p: DownloadProgress) => void
  warn: (message: string) => void
  stop: () => void
}

/**
 * A cli-progress bar on a terminal; sparse plain lines (every 5 s) in logs. `keyed`: a site key's newest version is
 * looked for first (until resolved()), which the status says instead of a metadata fetch that has not begun.
 */
function progressDisplay (quiet: boolean, keyed = false): ProgressDisplay {
  const tty = process.stderr.isTTY === true && !quiet
  let resolving = keyed
  let latest: DownloadProgress | undefined
  let meta: Metainfo | undefined
  /** The site's bytes (filesLength(meta)), counted once when the metadata comes: every redraw uses them. */
  let siteBytes = 0
  let status: StatusLine | undefined
  let bar: cliProgress.SingleBar | undefined
  const warnOnce = warningPrinter(() => status)
  // In the site's bytes, as the result line counts them: `verified` counts whole pieces, BEP 47 padding included, so it
  // is scaled to the files' share of the pieces (exact at the start and at the end, close in between).
  const siteShare = (verified: number): number => meta === undefined || meta.length === 0 ? 0 : Math.round(verified * siteBytes / meta.length)
  const payload = (p: DownloadProgress | undefined): Record<string, string> => ({
    done: formatBytes(siteShare(p?.verified ?? 0)),
    size: formatBytes(siteBytes),
    speed: formatRate(p?.downloadRate ?? 0),
    peers: `${p?.peers ?? 0} peer${p?.peers === 1 ? '' : 's'}`
  })
  const plain = (): string => {
    if (resolving) return 'waiting for a peer to show the site key\'s newest version'
    if (meta === undefined) return `fetching metadata from peers (${latest?.peers ?? 0} connected)`
    const pct = meta.length === 0 ? 100 : Math.floor(((latest?.verified ?? 0) / meta.length) * 100)
    const p = payload(latest)
    return `${pct}% ${p.done} of ${p.size} · ${p.speed} · ${p.peers}`
  }
  return {
    say: (line) => {
      printAbove(status, line)
      // Started after the first line, which says where get is looking: a status drawn at once came before it.
      if (!quiet && status === undefined && bar === undefined) status = startStatusLine(plain)
    },
    resolved: () => { resolving = false },
    metadata: (m) => {
      meta = m
      siteBytes = filesLength(m)
      if (!tty) return
      status?.stop()
      status = undefined
      bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: '{bar} {percentage}% | {done} of {size} | {speed} | {peers}',
        hideCursor: true,
        barsize: 30
      }, cliProgress.Presets.shades_classic)
      bar.start(m.length, 0, payload(latest))
    },
    progress: (p) => {
      latest = p
      bar?.update(p.verified, payload(p))
    },
    warn: (message) => {
      if (bar !== undefined) return // a bar cannot share its line; warnings are not fatal
      if (!quiet) warnOnce(message)
    },
    stop: () => {
      bar?.stop()
      bar = undefined
      status?.stop()
      status = undefined
      if (!tty && !quiet && latest !== undefined && meta !== undefined) printAbove(undefined, plain())
    }
  }
}

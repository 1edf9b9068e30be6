/** `peersite seed <out-dir | site.torrent>`: check a published folder against its torrent, then seed it. */
import type { BigIntStats } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { ArgumentError, UsageError } from '../../engine/errors.js'
import { checkSiteFolder } from '../lib/check.js'
import { statFiles } from '../../engine/storage/fs.js'
import { countOf, formatBytes, terminalLine, warn } from '../lib/format.js'
import { MANIFEST_FILE, OUT_SUFFIX, TORRENT_FILE } from '../lib/publish.js'
import { nodeVerifier } from '../../engine/pointer/node.js'
import { btpkMagnet, parsePointerAddress, pointerFromJson, pointerId, verifyPointer, type VerifiedPointer } from '../../engine/pointer/index.js'
import { seedUntilStopped } from '../lib/seeding.js'
import { PointerStateFile } from '../lib/pointer-state.js'
import { checkAddressTrackers, parseSiteAddress, resolvePointerUntilStopped, startPointerSeeders, type PointerSeeders, type SiteAddress } from '../lib/pointer-swarm.js'
import { abortOnShutdown, waitForShutdown } from '../lib/signals.js'
import { printAbove, renderSwarmStatus, startStatusLine, warningPrinter, type StatusLine } from '../lib/status.js'
import { download, fetchMetainfo, startSeeder, type Seeder } from '../lib/swarm.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { toHex } from '../../engine/util/bytes.js'
import { readTorrentFile } from '../lib/torrent.js'
import { addressWithTrackers, DEFAULT_TRACKERS, iceConfigFor, isTracker, joinTrackers, parseIceServers, validateTrackers } from '../lib/trackers.js'
import { startBtNetwork } from '../lib/bt-network.js'
import { networkInit } from '../lib/network-options.js'
import { fsError } from '../lib/walk.js'
import { readJsonObject } from '../lib/paths.js'
import { errorInWords } from '../lib/system-errors.js'
import type { SeedArgs } from '../commands/seed.js'

export async function run (argv: SeedArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers) // refuse a bad value before reading anything
  const address = parseSiteAddress(argv.target)
  if (address !== undefined) return await seedAddress(argv, address, given)
  const { torrentPath, outDir } = await locateTorrent(argv.target)
  const { metainfo, trackers: listed } = await readTorrentFile(torrentPath)
  const root = await locateSite(outDir, argv.path)
  /** One stat of each file: its size for the check, its device and inode numbers for the seeder's same-file refusal. */
  let stats: Array<BigIntStats | undefined> | undefined

  if (argv.check) {
    // On a terminal only: a refusal must stay the one line on stderr.
    const tty = process.stderr.isTTY === true
    if (tty) process.stderr.write(`checking ${countOf(metainfo.files.length, 'file')} (${formatBytes(metainfo.length)}) against ${torrentPath}`)
    stats = await statFiles(metainfo.files.map((f) => f.path), root)
    const problems = await checkSiteFolder(metainfo, root, undefined, stats)
    if (tty) process.stderr.write('\r\x1b[2K')
    if (problems.length > 0) {
      const shown = problems.slice(0, 8).map((p) => `${p.path} (${p.reason})`).join(', ')
      const more = problems.length > 8 ? ` and ${problems.length - 8} more` : ''
      throw new UsageError(`${root} does not match the torrent: ${shown}${more}; publish again to make a new torrent`)
    }
  }

  const fromTorrent = listed.filter(isTracker)
  const trackers = given.length > 0 ? given : fromTorrent.length > 0 ? fromTorrent : [...DEFAULT_TRACKERS]
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const pointer = await readOutputPointer(outDir)
  const network = await startBtNetwork(networkInit(argv, trackers))
  process.stdout.write(`seeding ${terminalLine(metainfo.name)} from ${root}\n  infohash: ${metainfo.infoHash}\n  trackers: ${terminalLine(trackers.join(' '))}\n  network:  ${network.describe()}\n`)
  if (pointer !== undefined) process.stdout.write(`  address:  ${addressWithTrackers(btpkMagnet(pointer.publicKey, pointer.salt), trackers)} (seq ${pointer.seq})\n`)
  await seedUntilStopped({ metainfo, root, stats, trackers, rtcConfig, network, ...(pointer !== undefined ? { pointer } : {}) })
}

/**
 * `seed <address>`: a mirror of a keyed site. The newest version the pointer swarm shows is downloaded (verified
 * piece by piece) into `<path>/<seq>-<infohash>` and seeded, with its record announced in the pointer swarm and the
 * site's swarm; a newer version announced while it runs is downloaded beside it and seeded instead (the older
 * folder is left in place).
 */
async function seedAddress (argv: SeedArgs, address: SiteAddress, given: string[]): Promise<void> {
  const trackers = joinTrackers(given, address.trackers)
  checkAddressTrackers(trackers)
  const rtcConfig = iceConfigFor(argv.iceServers, trackers)
  const parent = resolve(argv.path ?? `peersite-${toHex(address.publicKey).slice(0, 16)}`)
  // Checked now, not as the first version arrives (perhaps hours later, each download then failing with a warning).
  const existing = await stat(parent).catch(() => undefined)
  if (existing !== undefined && !existing.isDirectory()) throw new UsageError(`${argv.path !== undefined ? '--path ' : ''}${parent} is not a folder: the versions are downloaded into it`)
  const id = pointerId(address.publicKey, address.salt)
  const shutdown = waitForShutdown()
  const stopping = abortOnShutdown(shutdown)
  let status: StatusLine | undefined
  const onWarning = warningPrinter(() => status)
  // The state file's warnings (a failed save, on each new version) are said once, as the others are.
  const state = new PointerStateFile(undefined, onWarning)
  const swarm = { trackers, ...(rtcConfig !== undefined ? { rtcConfig } : {}), onWarning }
  process.stderr.write(`finding the newest version of ${btpkMagnet(address.publicKey, address.salt)} from ${trackers.join(' ')}\n`)
  const first = await resolvePointerUntilStopped({ ...swarm, publicKey: address.publicKey, salt: address.salt, state, signal: stopping })
  let seeder: Seeder | undefined
  let pointers: PointerSeeders | undefined
  let seq = -1
  /** The seq being downloaded: one version at a time, never the same twice. */
  let taking = -1
  /** The version seeded now: its pieces are reused by the next. */
  let held: { metainfo: Metainfo, root: string } | undefined
  /** Downloads version `record` (unless a newer one came meanwhile) and seeds it in place of the one before. */
  const take = async (record: VerifiedPointer): Promise<void> => {
    if (record.seq <= seq || record.seq <= taking) return
    taking = record.seq
    const out = join(parent, `${record.seq}-${record.infoHash}`)
    process.stderr.write(`getting version seq ${record.seq} (infohash ${record.infoHash}) into ${out}\n`)
    // A folder of an earlier run is fetched again rather than trusted; the pieces the version seeded now shares with
    // this one are copied by hash (checked again) instead of downloaded.
    await rm(out, { recursive: true, force: true })
    const before = held
    const known = before !== undefined ? await fetchMetainfo({ ...swarm, infoHash: record.infoHash, signal: stopping }) : undefined
    const { metainfo } = await download({
      ...swarm,
      signal: stopping,
      infoHash: record.infoHash,
      out,
      ...(known !== undefined ? { metainfo: known } : {}),
      ...(before !== undefined ? { reuse: before } : {}),
      onReused: (n) => { printAbove(status, `${n} pieces of seq ${record.seq} copied from seq ${seq}, the rest downloaded`, process.stdout) }
    })
    if (record.seq <= seq) return
    seq = record.seq
    held = { metainfo, root: out }
    await seeder?.close()
    seeder = await startSeeder({ ...swarm, metainfo, root: out, ...(pointers !== undefined ? { pointer: pointers.siteExchange } : {}) })
    printAbove(status, `seeding version seq ${record.seq} of ${btpkMagnet(address.publicKey, address.salt)} from ${out}`, process.stdout)
  }
  let following = Promise.resolve()
  pointers = await startPointerSeeders({
    ...swarm,
    record: first,
    onRefused: (error) => onWarning(error.message),
    onNewer: (record) => {
      const known = pointers?.book.known
      if (known !== undefined) void state.saveOrWarn(id, known)
      following = following.then(async () => { await take(record) }).catch((err: unknown) => {
        if (!stopping.aborted) onWarning(`version seq ${record.seq}: ${errorInWords(err)}`)
      })
    }
  })
  // The first record went through onNewer when the book took it: its download is under way in `following`.
  await following
  status = startStatusLine(() => seeder === undefined ? 'starting' : renderSwarmStatus(`seeding seq ${seq}`, seeder.stats(), seeder.torrent.metainfo?.length ?? 0))
  const signal = await shutdown
  status.stop()
  process.stderr.write(`peersite: ${signal} received, stopping\n`)
  await following
  await seeder?.close()
  await pointers.close()
}

/**
 * A keyed site's output folder carries its address and signed record in peersite.json: announced in the pointer
 * swarm when it checks out against the address's key. A record that does not is left out with a warning (the
 * file may have been edited); the site itself is still seeded. So is a peersite.json that cannot be read or is not
 * JSON (a truncated copy): with a warning, since a keyed site's address then goes unannounced. Only a folder without
 * one (a site.torrent kept elsewhere) says nothing.
 */
async function readOutputPointer (outDir: string | undefined): Promise<VerifiedPointer | undefined> {
  if (outDir === undefined) return undefined
  const path = join(outDir, MANIFEST_FILE)
  const lost = "a site key's record in it is not announced"
  const read = await readJsonObject(path)
  if (read.kind === 'unreadable') warn(`cannot read ${path} (${read.reason}): ${lost}`)
  if (read.kind === 'damaged') warn(`${path} is ${read.reason}: ${lost}`)
  if (read.kind !== 'object') return undefined
  const manifest: { address?: unknown, pointer?: unknown } = read.value
  if (manifest.pointer === undefined || typeof manifest.address !== 'string') return undefined
  try {
    const expected = parsePointerAddress(manifest.address)
    return await verifyPointer(nodeVerifier, pointerFromJson(manifest.pointer), expected)
  } catch (err) {
    warn(`${MANIFEST_FILE}'s pointer record is not announced: ${(err as Error).message}`)
    return undefined
  }
}

async function locateTorrent (target: string): Promise<{ torrentPath: string, outDir: string }> {
  let info
  try {
    info = await stat(target)
  } catch (err) {
    throw fsError(err, target)
  }
  if (info.isDirectory()) {
    const torrentPath = join(target, TORRENT_FILE)
    try {
      await stat(torrentPath)
    } catch {
      throw new UsageError(`${target} has no ${TORRENT_FILE}: is it an output folder of peersite publish?`)
    }
    return { torrentPath, outDir: resolve(target) }
  }
  return { torrentPath: target, outDir: dirname(resolve(target)) }
}

/** --path, else the publish default: "<dir>-peersite" was written beside "<dir>". */
async function locateSite (outDir: string, path: string | undefined): Promise<string> {
  let root = path
  if (root === undefined) {
    const name = basename(outDir)
    if (!name.endsWith(OUT_SUFFIX) || name.length === OUT_SUFFIX.length) {
      throw new UsageError(`cannot tell which folder ${outDir} was published from: pass --path DIR`)
    }
    root = join(dirname(outDir), name.slice(0, -OUT_SUFFIX.length))
  }
  let info
  try {
    info = await stat(root)
  } catch (err) {
    throw new UsageError(`site folder ${root} ${fsError(err, '').message.trim()}${path === undefined ? ': pass --path DIR' : ''}`)
  }
  if (!info.isDirectory()) throw new UsageError(`site folder ${root} is not a folder`)
  return resolve(root)
}

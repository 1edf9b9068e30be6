/** `peersite seed <out-dir | site.torrent>`: check a published folder against its torrent, then seed it. */
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { ArgumentsCamelCase, Argv } from 'yargs'
import { UsageError } from '../../engine/errors.js'
import { checkSiteFolder } from '../lib/check.js'
import { formatBytes } from '../lib/format.js'
import { MANIFEST_FILE, OUT_SUFFIX, TORRENT_FILE } from '../lib/publish.js'
import { nodeVerifier } from '../../engine/pointer/node.js'
import { btpkMagnet, parsePointerAddress, pointerFromJson, verifyPointer, type VerifiedPointer } from '../../engine/pointer/index.js'
import { seedUntilStopped } from '../lib/seeding.js'
import { readTorrentFile } from '../lib/torrent.js'
import { DEFAULT_TRACKERS, ICE_SERVERS_OPTION, iceConfigFor, isTracker, parseIceServers, validateTrackers } from '../lib/trackers.js'
import { startBtNetwork } from '../lib/bt-network.js'
import { networkInit, withNetworkOptions } from '../lib/network-options.js'
import { fsError } from '../lib/walk.js'

export const command = 'seed <target>'
export const describe = 'Seed an already-published site (checks the files against the torrent first)'

export function builder (yargs: Argv) {
  return withNetworkOptions(yargs)
    .positional('target', { type: 'string', demandOption: true, describe: 'The output folder of publish, or its site.torrent' })
    .option('path', { type: 'string', describe: 'The site folder (default: the output folder\'s name without -peersite)' })
    .option('tracker', { type: 'string', array: true, describe: 'Tracker URL: ws(s):// for WebRTC peers, http(s):// or udp:// for TCP peers (repeatable; default: the torrent\'s own)' })
    .option('check', { type: 'boolean', default: true, describe: 'Verify every piece before seeding (--no-check: trust the folder)' })
    .option('ice-servers', ICE_SERVERS_OPTION)
}

export type SeedArgs = ArgumentsCamelCase<Awaited<ReturnType<typeof builder>['argv']>>

export async function handler (argv: SeedArgs): Promise<void> {
  const given = validateTrackers(argv.tracker ?? [])
  parseIceServers(argv.iceServers) // refuse a bad value before reading anything
  const { torrentPath, outDir } = await locateTorrent(argv.target)
  const { metainfo, trackers: listed } = await readTorrentFile(torrentPath)
  const root = await locateSite(outDir, argv.path)

  if (argv.check) {
    // On a terminal only: a refusal must stay the one line on stderr.
    const tty = process.stderr.isTTY === true
    if (tty) process.stderr.write(`checking ${metainfo.files.length} files (${formatBytes(metainfo.length)}) against ${torrentPath}`)
    const problems = await checkSiteFolder(metainfo, root)
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
  process.stdout.write(`seeding ${metainfo.name} from ${root}\n  infohash: ${metainfo.infoHash}\n  trackers: ${trackers.join(' ')}\n  network:  ${network.describe()}\n`)
  if (pointer !== undefined) process.stdout.write(`  address:  ${btpkMagnet(pointer.publicKey, pointer.salt)} (seq ${pointer.seq})\n`)
  await seedUntilStopped({ metainfo, root, trackers, rtcConfig, network, ...(pointer !== undefined ? { pointer } : {}) })
}

/**
 * A keyed site's output folder carries its address and signed record in peersite.json: announced in the pointer
 * swarm when it checks out against the address's key. A record that does not is left out with a warning (the
 * file may have been edited); the site itself is still seeded.
 */
async function readOutputPointer (outDir: string | undefined): Promise<VerifiedPointer | undefined> {
  if (outDir === undefined) return undefined
  let manifest: { address?: unknown, pointer?: unknown }
  try {
    manifest = JSON.parse(await readFile(join(outDir, MANIFEST_FILE), 'utf8')) as typeof manifest
  } catch {
    return undefined
  }
  if (manifest.pointer === undefined || typeof manifest.address !== 'string') return undefined
  try {
    const expected = parsePointerAddress(manifest.address)
    return await verifyPointer(nodeVerifier, pointerFromJson(manifest.pointer), expected)
  } catch (err) {
    process.stderr.write(`peersite: warning: ${MANIFEST_FILE}'s pointer record is not announced: ${(err as Error).message}\n`)
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

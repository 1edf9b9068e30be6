/**
 * Node glue between the CLI and the engine: a seeder for a published folder and a downloader for `get`.
 * Both are an engine Torrent with a file-system store and the lean WebSocket-tracker discovery (the browser's)
 * over `ws` and node-datachannel.
 */
import { createHash } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { Bitfield, fullBitfield } from '../../engine/bitfield.js'
import { CombinedDiscovery } from '../../engine/discovery/combined.js'
import { createNodeTrackerDiscovery } from '../../engine/discovery/node.js'
import { AbortError, StorageError, UsageError } from '../../engine/errors.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { siteLabel, type NamePlatform, type NameRules } from '../../engine/metainfo/names.js'
import { copyPiecesByHash } from '../../engine/storage/by-hash.js'
import { fileNamesRefusal, FsStore, sameFileRefusal } from '../../engine/storage/fs.js'
import { probeNameRules } from '../../engine/storage/name-probe.js'
import { MemoryStore } from '../../engine/storage/memory.js'
import type { PieceStore } from '../../engine/storage/index.js'
import { Spread } from '../../engine/spread.js'
import { Torrent, type TorrentComponents, type TorrentStats } from '../../engine/torrent.js'
import { TcpPeerExchange } from '../../engine/discovery/pex.js'
import { PUBLIC_RTC_CONFIG } from '../../engine/transport/rtc-config.js'
import { WebSeeds } from '../../engine/webseed.js'
import { describeSystemError, errnoCode, errorInWords, shortPath, systemReason } from './system-errors.js'
import type { PointerExchange } from '../../engine/pointer-exchange.js'
import type { Peer } from '../../engine/wire/peer.js'
import type { BtNetwork } from './bt-network.js'
import { isWebSocketTracker } from './trackers.js'
import { keptAsideWarning, makeFolders, makeOutputStaging, renameOntoEmpty } from './paths.js'

/** Peers, bytes up and down, rates, verified bytes: the engine's figures. */
export type SwarmStats = TorrentStats

export interface SwarmOptions {
  /** Tracker URLs to announce to: WebSocket ones for WebRTC peers, HTTP and UDP ones (with `network`) for TCP peers. */
  trackers: string[]
  /** The BitTorrent network (TCP, DHT, HTTP/UDP trackers) of this process; without it, WebRTC only. */
  network?: BtNetwork | undefined
  /** Passed to every RTCPeerConnection; tests pass { iceServers: [] }. Default: public STUN servers. */
  rtcConfig?: RTCConfiguration
  signal?: AbortSignal
  /** A hostile peer, a tracker error: reported, never fatal. */
  onWarning?: (message: string) => void
  /** Re-announce period (ms); trackers tell peers every 30 s by default. */
  announceIntervalMs?: number
  /**
   * Whose file-name rules a site's files must meet on disk (engine/metainfo/names.ts): on Windows and macOS, names
   * that differ only in case (or Unicode form) are one file. Default: asked of the folder a download writes into, once
   * (engine/storage/name-probe.ts); tests pass a platform or rules. A seeder writes nothing and asks nothing: its
   * files are on disk, and two of them that are one file are refused as such (sameFileRefusal).
   */
  platform?: NamePlatform | NameRules
}

const SEEDER_ANNOUNCE_WAIT_MS = 5000

/** A piece's SHA-1 by node:crypto, where it lies (TorrentComponents.sha1: no copy for WebCrypto's thread-pool job). */
export function nodeSha1 (data: Uint8Array): Uint8Array {
  return createHash('sha1').update(data).digest()
}

export interface Seeder {
  readonly infoHash: string
  readonly torrent: Torrent
  /** The origin's hold policy (engine/spread.ts): its stats() say why each copy went out (bench/offload.mjs). */
  readonly spread: Spread<Peer>
  stats (): SwarmStats
  close (): Promise<void>
}

/**
 * WebRTC peers from the WebSocket trackers, and with a network also TCP peers (HTTP/UDP trackers, DHT, incoming,
 * PEX): one torrent for both, so what comes from one side is served to the other (a hybrid peer bridges them).
 * Returns the torrent's discovery and, with a network, its peer exchange (TorrentInit.pex).
 */
export function swarmParts (opts: SwarmOptions): { createDiscovery: NonNullable<TorrentComponents['createDiscovery']>, pex?: TcpPeerExchange } {
  const pex = opts.network !== undefined && opts.network.port > 0 ? new TcpPeerExchange({ listenPort: opts.network.port }) : undefined
  const createDiscovery: NonNullable<TorrentComponents['createDiscovery']> = (init) => {
    const webrtc = createNodeTrackerDiscovery({
      ...init,
      announce: opts.trackers.filter(isWebSocketTracker),
      rtcConfig: opts.rtcConfig ?? PUBLIC_RTC_CONFIG,
      ...(opts.announceIntervalMs !== undefined ? { announceIntervalMs: opts.announceIntervalMs } : {})
    })
    if (opts.network === undefined) return webrtc
    const tcp = opts.network.discovery(init, opts.trackers, opts.announceIntervalMs)
    pex?.connect((addresses) => tcp.addPeers(addresses))
    return new CombinedDiscovery([webrtc, tcp])
  }
  return { createDiscovery, ...(pex !== undefined ? { pex } : {}) }
}

/**
 * Seeds `metainfo` from the files under `root` (the published folder). The files must already match. `stats`:
 * statFiles of the torrent's paths under `root`, if the caller took them already (`seed`, for its check).
 */
export async function startSeeder (opts: SwarmOptions & { metainfo: Metainfo, root: string, pointer?: PointerExchange<Peer>, stats?: ReadonlyArray<BigIntStats | undefined> }): Promise<Seeder> {
  const { metainfo } = opts
  // The files are there: two of the torrent's paths that are one file here (A.html and a.html where case is ignored)
  // cannot both hold their bytes, and pieces are served from disk without hashing them again. Names the file system
  // keeps apart are fine, whatever the platform (case-sensitive APFS). This is the check, not a probe of the folder:
  // seeding writes nothing there.
  const site = siteLabel(metainfo)
  const same = await sameFileRefusal(metainfo.files.map((f) => f.path), resolve(opts.root), site, opts.stats)
  if (same !== undefined) throw new UsageError(same.message)
  const { createDiscovery, pex } = swarmParts(opts)
  const spread = new Spread<Peer>()
  const torrent = new Torrent({
    createStore: (m) => new FsStore({ pieceLength: m.pieceLength, length: m.length, root: resolve(opts.root), files: m.files, names: 'checked', site }),
    createDiscovery
  }, {
    infoHash: metainfo.infoHash,
    metainfo,
    have: fullBitfield(metainfo.pieceCount),
    spread,
    ...(opts.pointer !== undefined ? { pointer: opts.pointer } : {}),
    ...(pex !== undefined ? { pex } : {})
  })
  torrent.on('warning', (err) => opts.onWarning?.(errorInWords(err)))
  const close = async (): Promise<void> => { await torrent.destroy() }
  // Ready once a tracker knows us, so a visitor that starts right after is sent to us (bounded: a tracker that
  // is down must not hold the seeder back; it keeps retrying in the background). With no tracker and no BitTorrent
  // network there is nobody to tell: ready now.
  if (opts.trackers.length > 0 || opts.network !== undefined) await new Promise<void>((resolvePromise) => {
    const timer = setTimeout(resolvePromise, SEEDER_ANNOUNCE_WAIT_MS)
    torrent.once('announced', () => {
      clearTimeout(timer)
      resolvePromise()
    })
  })
  opts.signal?.addEventListener('abort', () => { void close() }, { once: true })
  return { infoHash: metainfo.infoHash, torrent, spread, stats: () => torrent.stats(), close }
}

/** The info dictionary of `infoHash` from its swarm (BEP 9), nothing downloaded: e.g. to copy shared pieces first. */
export async function fetchMetainfo (opts: SwarmOptions & { infoHash: string }): Promise<Metainfo> {
  const torrent = new Torrent({
    createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }),
    createDiscovery: swarmParts(opts).createDiscovery
  }, { infoHash: opts.infoHash })
  torrent.on('warning', (err) => opts.onWarning?.(errorInWords(err)))
  try {
    return await new Promise<Metainfo>((resolvePromise, reject) => {
      torrent.once('metadata', (m) => {
        torrent.setWanted(0, m.pieceCount - 1, false)
        resolvePromise(m)
      })
      opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new AbortError()), { once: true })
    })
  } finally {
    await torrent.destroy()
  }
}

export interface DownloadProgress extends SwarmStats {}

/**
 * Downloads a torrent into `out` (which must not exist or be empty), verifying every piece. Without `metainfo`,
 * the info dictionary is fetched from peers (BEP 9). Files appear in `out` only when complete: the download goes
 * to a staging folder beside it first, renamed into place at the end and removed on failure.
 */
export async function download (opts: SwarmOptions & {
  infoHash: string
  metainfo?: Metainfo
  out: string
  onMetadata?: (metainfo: Metainfo) => void
  onProgress?: (progress: DownloadProgress) => void
  /** Progress callback period, ms (default 250). */
  progressIntervalMs?: number
  /** BEP 19 web seeds: asked for what no peer delivers (engine/webseed.ts, background mode). */
  webSeeds?: readonly string[]
  /**
   * Another torrent's verified files (an earlier version of a keyed site): with `metainfo` known, the pieces it shares
   * by hash are copied from there instead of downloaded (engine/storage/by-hash.ts).
   */
  reuse?: { metainfo: Metainfo, root: string }
  /** Called with the number of pieces copied from `reuse`. */
  onReused?: (pieces: number) => void
}): Promise<{ metainfo: Metainfo, stats: SwarmStats }> {
  const out = resolve(opts.out)
  // How the output's file system compares names, asked once (a probe file: engine/storage/name-probe.ts): the staging
  // folder is made beside `out`, on the same file system, so its store takes the same rules.
  const platform = opts.platform ?? probeNameRules(dirname(out))
  // Known up front (a .torrent file): names this file system would merge are refused before any folder is made, and
  // only here (its store is told they were checked).
  if (opts.metainfo !== undefined) {
    const refusal = fileNamesRefusal(opts.metainfo.files.map((f) => f.path), platform, siteLabel(opts.metainfo))
    if (refusal !== undefined) throw new UsageError(refusal.message)
  }
  let staging: string
  try {
    staging = await makeOutputStaging(out, `the output folder ${shortPath(out)}`, (path) => opts.onWarning?.(keptAsideWarning(path)))
  } catch (err) {
    throw describeSystemError(err, `create the output folder ${shortPath(out)}`)
  }
  let store: FsStore | undefined
  let torrent: Torrent | undefined
  const timer = setInterval(() => { if (torrent !== undefined) opts.onProgress?.(torrent.stats()) }, opts.progressIntervalMs ?? 250)
  try {
    // Known up front (a .torrent file): a layout this file system refuses fails before any peer is contacted.
    if (opts.metainfo !== undefined) await createLayout(staging, opts.metainfo, out)
    const { createDiscovery, pex } = swarmParts(opts)
    let have: Bitfield | undefined
    if (opts.metainfo !== undefined) {
      const m = opts.metainfo
      // Its names were refused or accepted above, before any folder was made.
      store = new FsStore({ pieceLength: m.pieceLength, length: m.length, root: staging, shownRoot: out, files: m.files, site: siteLabel(m), names: 'checked' })
      if (opts.reuse !== undefined) {
        const old = opts.reuse.metainfo
        // Only read, and each piece copied is hashed again: the earlier copy's folder is neither checked nor probed.
        const source = new FsStore({ pieceLength: old.pieceLength, length: old.length, root: resolve(opts.reuse.root), files: old.files, site: siteLabel(old), names: 'checked' })
        try {
          const copied = await copyPiecesByHash({ meta: old, store: source }, { meta: m, store }, opts.signal)
          have = new Bitfield(m.pieceCount)
          for (const i of copied) have.set(i)
          opts.onReused?.(copied.length)
        } finally {
          await source.close()
        }
      }
    }
    const prepared = store
    /** From peers: why this site cannot be written here (the store is made before 'metadata' is emitted). */
    let refused: UsageError | undefined
    const t = new Torrent({
      createStore: (m) => {
        if (prepared !== undefined) return (store = prepared)
        const made = fsStoreOrRefusal(m, staging, platform, (err) => { refused = new UsageError(err.message) }, out)
        if (made instanceof FsStore) store = made
        return made
      },
      createDiscovery,
      sha1: nodeSha1
    }, { infoHash: opts.infoHash, ...(opts.metainfo !== undefined ? { metainfo: opts.metainfo } : {}), ...(pex !== undefined ? { pex } : {}), ...(have !== undefined && have.count > 0 ? { have } : {}) })
    torrent = t
    t.on('warning', (err) => opts.onWarning?.(errorInWords(err)))
    if (opts.webSeeds !== undefined && opts.webSeeds.length > 0) new WebSeeds(t, { urls: opts.webSeeds, background: true })
    if (opts.metainfo !== undefined) opts.onMetadata?.(opts.metainfo)
    await new Promise<void>((resolvePromise, reject) => {
      if (t.done) {
        resolvePromise()
        return
      }
      t.once('done', resolvePromise)
      // From peers: the files are created at once, so a name the file system refuses is an error now, not a
      // download that stalls on every write until --timeout.
      t.on('metadata', (m) => {
        if (refused !== undefined) {
          reject(refused)
          return
        }
        opts.onMetadata?.(m)
        createLayout(staging, m, out).catch(reject)
      })
      const onAbort = (): void => reject(opts.signal?.reason instanceof Error ? opts.signal.reason : new AbortError('download aborted'))
      if (opts.signal?.aborted === true) onAbort()
      opts.signal?.addEventListener('abort', onAbort, { once: true })
    })
    const metainfo = t.metainfo!
    await store?.createEmptyFiles()
    const stats = t.stats()
    opts.onProgress?.(stats)
    await t.destroy()
    await moveIntoPlace(staging, out)
    return { metainfo, stats }
  } catch (err) {
    await torrent?.destroy()
    await rm(staging, { recursive: true, force: true })
    throw err
  } finally {
    clearInterval(timer)
  }
}

/**
 * Creates every file of the torrent (empty) and its folders under `root`, so that a name the file system refuses
 * (longer than 255 bytes, a path deeper than PATH_MAX, characters it does not allow) is a UsageError naming the
 * file at once. The store writes into these files afterwards.
 */
async function createLayout (root: string, metainfo: Metainfo, out: string): Promise<void> {
  for (const file of metainfo.files) {
    const path = join(root, ...file.path.split('/'))
    try {
      await makeFolders(dirname(path))
      await (await open(path, 'a')).close()
    } catch (err) {
      if (errnoCode(err) === undefined) throw err
      throw new UsageError(`cannot write ${shortPath(file.path)} into ${shortPath(out)}: ${systemReason(err)}`)
    }
  }
}

/**
 * The store of a torrent whose metadata comes from peers, under `root`, whose file system follows `names` (asked of
 * the folder once by the caller). The torrent makes it as the metadata arrives, where a throw would reach no one (an
 * unhandled rejection): for file names this file system would merge or this platform refuse
 * (FsStore's ERR_FILE_NAMES), `refuse` is told why, and an empty memory store stands in until the caller ends the
 * torrent. Nothing is fetched into it that soon, and nothing reaches the disk.
 */
export function fsStoreOrRefusal (m: Metainfo, root: string, names: NamePlatform | NameRules, refuse: (err: StorageError) => void, shownRoot?: string): PieceStore {
  try {
    return new FsStore({ pieceLength: m.pieceLength, length: m.length, root, files: m.files, site: siteLabel(m), names, ...(shownRoot !== undefined ? { shownRoot } : {}) })
  } catch (err) {
    if (!(err instanceof StorageError) || err.code !== 'ERR_FILE_NAMES') throw err
    refuse(err)
    return new MemoryStore({ pieceLength: m.pieceLength, length: m.length })
  }
}

/** Renames the finished staging folder to `out`; an existing empty `out` is replaced. */
async function moveIntoPlace (staging: string, out: string): Promise<void> {
  if (!await renameOntoEmpty(staging, out)) throw new Error(`output folder ${out} is not empty`)
}

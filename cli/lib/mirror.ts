/**
 * `peersite mirror` as a library: keep sites up from this machine. Each site (an infohash, a magnet, a .torrent, or a
 * site key) is fetched into DIR and seeded from there by one engine Torrent, which goes on seeding once complete.
 * Mirrors are ordinary peers: several of them, on several machines, share the visitors between them and the
 * publisher (whose own seeder lets newcomers fetch from others first, engine/choker.ts SEED_DEFER_MS).
 *
 * DIR holds, per site, `<infohash>/info` (the info dictionary, as hashed) and `<infohash>/files/` (the site's files, as
 * `get` writes them); `mirror.json` (which versions each key has, newest last); `pointers.json` (the newest record
 * verified per key, cli/lib/pointer-state.ts). After a restart each site's files are checked against their hashes
 * (read from disk, nothing downloaded again) and seeded at once; only what is missing is fetched.
 *
 * A site key is followed: the mirror sits in the key's pointer swarm with the newest record it knows (telling
 * visitors of it too), and when a peer shows a newer one it mirrors that version as well, keeping the last
 * `keep` versions (older ones are closed and their files removed).
 */
import { readFile, rm, rmdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Bitfield } from '../../engine/bitfield.js'
import { ArgumentError, StorageError } from '../../engine/errors.js'
import { parseInfoDictionary, type Metainfo } from '../../engine/metainfo/index.js'
import { pointerId, type VerifiedPointer } from '../../engine/pointer/index.js'
import type { PointerExchange } from '../../engine/pointer-exchange.js'
import { FsStore } from '../../engine/storage/fs.js'
import { probeNameRules } from '../../engine/storage/name-probe.js'
import { siteLabel, type NamePlatform, type NameRules } from '../../engine/metainfo/names.js'
import { Torrent, type TorrentStats } from '../../engine/torrent.js'
import { toHex } from '../../engine/util/bytes.js'
import { WebSeeds } from '../../engine/webseed.js'
import type { Peer } from '../../engine/wire/peer.js'
import { parseGetSource, type GetSource } from './get-source.js'
import { checkAddressTrackers, parseSiteAddress, resolvePointer, startPointerSeeders, type PointerSeeders, type SiteAddress } from './pointer-swarm.js'
import { PointerStateFile } from './pointer-state.js'
import { fsStoreOrRefusal, nodeSha1, swarmParts, type SwarmOptions } from './swarm.js'
import { isNetworkTracker, joinTrackers } from './trackers.js'
import { describeSystemError, errorInWords, systemReason } from './system-errors.js'
import { MIRROR_KEEP_VERSIONS } from '../../engine/constants.js'
import { makeFolders, readJsonObject, removeKilledWrites, writeAtomically } from './paths.js'

export { MIRROR_KEEP_VERSIONS }
const INDEX_FILE = 'mirror.json'

export interface MirrorInit extends SwarmOptions {
  /** Where sites are kept (created if missing). */
  dir: string
  /** What `mirror` was given: infohashes, magnets, .torrent files, site keys (64 hex or a btpk magnet). */
  sources: readonly string[]
  /** Trackers for a site that names none and was given none (`trackers`); default: none. */
  defaultTrackers?: readonly string[]
  /** Versions of each keyed site to keep; default MIRROR_KEEP_VERSIONS. */
  keep?: number
  /** A new site version opened, a site completed, a key moved on: worth a status line now. */
  onChange?: () => void
}

export type MirrorState = 'checking' | 'metadata' | 'fetching' | 'seeding' | 'finding newest version'

export interface MirroredSite {
  /** The source as given (a key for every version it brought). */
  readonly source: string
  readonly infoHash: string
  /** A keyed site's version. */
  readonly seq?: number
  readonly torrent: Torrent | undefined
  state (): MirrorState
  stats (): TorrentStats | undefined
  /** Bytes verified from the files already on disk when the site was opened (a restart resumes from them). */
  readonly resumed: number
}

export interface Mirror {
  /** Every site now mirrored, in the order of the sources (a key's versions oldest first). */
  sites (): MirroredSite[]
  close (): Promise<void>
}

interface SiteEntry extends MirroredSite {
  close (): Promise<void>
  /**
   * True once its info dictionary is known and its files can be stored here; false if its file names cannot be
   * (warned about, its empty folder removed): the site is dropped, and a key's refused version counts against
   * nothing. Never settles for a site closed before its metadata came.
   */
  readonly accepted: Promise<boolean>
}

interface MirrorIndex { version: 1, keys: Record<string, string[]> }

/** Refuses what cannot be mirrored before anything starts (one clear line each). */
export async function parseMirrorSources (sources: readonly string[]): Promise<Array<{ text: string, address?: SiteAddress, source?: GetSource }>> {
  if (sources.length === 0) throw new ArgumentError('name at least one site to mirror: an infohash, magnet URI, .torrent file or site key')
  const out = []
  for (const text of sources) {
    const address = parseSiteAddress(text)
    out.push(address !== undefined ? { text, address } : { text, source: await parseGetSource(text) })
  }
  return out
}

export async function startMirror (init: MirrorInit): Promise<Mirror> {
  const dir = resolve(init.dir)
  const trackersFor = (own: readonly string[]): string[] => {
    // The source's own trackers as get and seed take them (joinTrackers: an entry that is not a tracker URL is left
    // out with a warning). HTTP and UDP ones only with the BitTorrent network (TCP peers): without it this swarm
    // cannot use them, which is no fault of the source.
    const usable = init.network !== undefined ? own : own.filter((url) => !isNetworkTracker(url))
    return joinTrackers(init.trackers, usable, (message) => init.onWarning?.(message), init.defaultTrackers ?? [])
  }
  // A site key's records are found over WebRTC only: without a WebSocket tracker it would wait for one in vain.
  const parsed = (await parseMirrorSources(init.sources)).map((item) => {
    const trackers = trackersFor(item.source?.trackers ?? item.address?.trackers ?? [])
    if (item.address !== undefined) checkAddressTrackers(trackers)
    return { ...item, trackers }
  })
  try {
    await makeFolders(dir)
  } catch (err) {
    throw describeSystemError(err, `create the mirror folder ${init.dir}`)
  }
  await removeKilledWrites(join(dir, INDEX_FILE))
  // How the mirror folder's file system compares names, asked once (a probe file: engine/storage/name-probe.ts) for
  // every site's files under it.
  const names = init.platform ?? probeNameRules(dir)
  const keep = Math.max(1, init.keep ?? MIRROR_KEEP_VERSIONS)
  // Its warnings (a damaged pointers.json, a failed save) go where the mirror's go: said once each (warningPrinter).
  const state = new PointerStateFile(dir, (message) => init.onWarning?.(message))
  await state.removeKilledWrites()
  const index = await readIndex(dir, init.onWarning)
  const groups: Array<{ sites: SiteEntry[], close?: () => Promise<void> }> = []
  let closed = false
  const changed = (): void => init.onChange?.()
  // One write of mirror.json at a time, each with the index as it is then: every key's versions are saved into it,
  // and two writes at once (keys opened together at start) shared the temporary file, so one rename failed (ENOENT)
  // and the file kept whichever list was written last.
  let indexWrites = Promise.resolve()
  const saveIndex = async (): Promise<void> => {
    indexWrites = indexWrites.then(async () => { await writeIndex(dir, index) }).catch((err: unknown) => {
      init.onWarning?.(`cannot save ${join(dir, INDEX_FILE)} (${systemReason(err)}): the next run may not reopen the versions of site keys kept now`)
    })
    await indexWrites
  }

  /** A site whose file names cannot be stored here leaves its group (and, for a key, the saved list of versions). */
  const dropSite = (group: { sites: SiteEntry[] }, site: SiteEntry, save?: () => Promise<void>): void => {
    const at = group.sites.indexOf(site)
    if (at < 0) return
    group.sites.splice(at, 1)
    void save?.()
    changed()
  }

  const openSite = async (text: string, infoHash: string, opts: { metainfo?: Metainfo, webSeeds?: readonly string[], trackers: string[], pointer?: PointerExchange<Peer>, seq?: number }): Promise<SiteEntry> =>
    await openMirroredSite(dir, text, infoHash, { ...init, ...opts, names, onChange: changed })

  for (const item of parsed) {
    if (item.source !== undefined) {
      const s = item.source
      const trackers = item.trackers
      const site = await openSite(item.text, s.infoHash, {
        trackers,
        ...(s.metainfo !== undefined ? { metainfo: s.metainfo } : {}),
        ...(s.webSeeds !== undefined ? { webSeeds: s.webSeeds } : {})
      })
      const group = { sites: [site] }
      groups.push(group)
      void site.accepted.then((ok) => {
        if (!ok) dropSite(group, site)
      })
      continue
    }
    const address = item.address!
    const id = pointerId(address.publicKey, address.salt)
    const trackers = item.trackers
    const group: { sites: SiteEntry[], close?: () => Promise<void> } = { sites: [] }
    groups.push(group)
    let seeders: PointerSeeders | undefined
    const controller = new AbortController()
    const saveVersions = async (): Promise<void> => {
      index.keys[id] = group.sites.map((s) => s.infoHash)
      await saveIndex()
    }
    /** Mirrors `record`'s version (if new), dropping versions beyond `keep`, oldest first. */
    const opening = new Set<string>()
    /** Versions whose file names cannot be stored here: not tried again. */
    const refusedVersions = new Set<string>()
    const follow = async (record: VerifiedPointer): Promise<void> => {
      if (closed || opening.has(record.infoHash) || refusedVersions.has(record.infoHash) || group.sites.some((s) => s.infoHash === record.infoHash)) return
      opening.add(record.infoHash)
      const site = await openSite(item.text, record.infoHash, { trackers, seq: record.seq, ...(seeders !== undefined ? { pointer: seeders.hub.exchange() } : {}) })
      if (closed) {
        await site.close()
        return
      }
      opening.delete(record.infoHash)
      group.sites.push(site)
      group.sites.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0))
      changed()
      // Older versions give way only to one whose files can be stored here.
      if (!await site.accepted) {
        refusedVersions.add(record.infoHash)
        dropSite(group, site, saveVersions)
        return
      }
      if (closed || !group.sites.includes(site)) return
      while (group.sites.length > keep) {
        const old = group.sites.shift()!
        await old.close()
        await rm(join(dir, old.infoHash), { recursive: true, force: true })
      }
      await saveVersions()
      changed()
    }
    // Versions kept by an earlier run, reopened at once (seeded from disk while the key's newest is looked for).
    for (const infoHash of index.keys[id] ?? []) {
      if (!/^[0-9a-f]{40}$/.test(infoHash)) continue
      const site = await openSite(item.text, infoHash, { trackers })
      group.sites.push(site)
      void site.accepted.then((ok) => {
        if (!ok) dropSite(group, site, saveVersions)
      })
    }
    const pending: SiteEntry = placeholder(item.text)
    if (group.sites.length === 0) group.sites.push(pending)
    group.close = async () => {
      controller.abort()
      await seeders?.close()
    }
    // The newest record: remembered from an earlier run, else from the key's pointer swarm (may take a while).
    void (async () => {
      const known = await state.load(id)
      const record = known?.record ?? await resolvePointer({
        ...init,
        trackers,
        publicKey: address.publicKey,
        salt: address.salt,
        state,
        signal: controller.signal
      })
      if (closed) return
      seeders = await startPointerSeeders({
        ...init,
        trackers,
        record,
        signal: controller.signal,
        onNewer: (newer, peer) => {
          if (peer === undefined) return // our own record, announced just now
          void state.saveOrWarn(id, { seq: newer.seq, record: newer })
          follow(newer).catch((err: Error) => init.onWarning?.(`cannot mirror version ${newer.seq} (${newer.infoHash}): ${errorInWords(err)}`))
        }
      })
      const at = group.sites.indexOf(pending)
      if (at >= 0) group.sites.splice(at, 1)
      await follow(record)
    })().catch((err: Error) => {
      if (!closed) init.onWarning?.(`site key ${toHex(address.publicKey).slice(0, 16)}…: ${errorInWords(err)}`)
    })
  }

  return {
    sites: () => groups.flatMap((g) => g.sites),
    close: async () => {
      closed = true
      for (const group of groups) {
        await group.close?.()
        for (const site of group.sites) await site.close()
      }
    }
  }
}

/** A key whose first record is not known yet. */
function placeholder (source: string): SiteEntry {
  return {
    source,
    infoHash: '',
    torrent: undefined,
    resumed: 0,
    state: () => 'finding newest version',
    stats: () => undefined,
    accepted: new Promise<boolean>(() => {}),
    close: async () => {}
  }
}

/**
 * One site in DIR/<infohash>: its info dictionary from `opts.metainfo`, else from DIR (an earlier run), else from
 * peers (BEP 9, then written to DIR). Files already there are checked against their hashes and announced at once.
 */
async function openMirroredSite (dir: string, source: string, infoHash: string, opts: SwarmOptions & {
  metainfo?: Metainfo
  webSeeds?: readonly string[]
  pointer?: PointerExchange<Peer>
  seq?: number
  /** How the mirror folder's file system compares names (probed once by startMirror). */
  names: NamePlatform | NameRules
  onChange: () => void
}): Promise<SiteEntry> {
  const folder = join(dir, infoHash)
  const infoPath = join(folder, 'info')
  const filesRoot = join(folder, 'files')
  await makeFolders(folder)
  await removeKilledWrites(infoPath)
  let metainfo = opts.metainfo
  if (metainfo === undefined) {
    try {
      const parsed = await parseInfoDictionary(new Uint8Array(await readFile(infoPath)))
      if (parsed.infoHash === infoHash) metainfo = parsed
    } catch { /* not fetched yet (or damaged): from peers */ }
  }
  let checking = metainfo !== undefined
  let have: Bitfield | undefined
  let store: FsStore | undefined
  let resumed = 0
  let accept: (ok: boolean) => void = () => {}
  const accepted = new Promise<boolean>((resolve) => { accept = resolve })
  /** Its file names cannot be stored here: warned about, not mirrored, and its folder removed if nothing is in it. */
  const refuse = (err: StorageError): void => {
    opts.onWarning?.(`${infoHash.slice(0, 8)}: ${err.message}: not mirrored`)
    void removeIfEmpty(folder).finally(() => { accept(false) })
  }
  if (metainfo !== undefined) {
    try {
      store = new FsStore({ pieceLength: metainfo.pieceLength, length: metainfo.length, root: filesRoot, files: metainfo.files, site: siteLabel(metainfo), names: opts.names })
    } catch (err) {
      if (!(err instanceof StorageError) || err.code !== 'ERR_FILE_NAMES') throw err
      // A .torrent given, or an info dictionary saved by an earlier run: this site only is skipped.
      refuse(err)
      return { source, infoHash, ...(opts.seq !== undefined ? { seq: opts.seq } : {}), torrent: undefined, resumed: 0, accepted, state: () => 'metadata', stats: () => undefined, close: async () => {} }
    }
    await saveInfo(infoPath, metainfo)
    accept(true)
    have = await store.checkPieces(metainfo)
    for (let i = 0; i < metainfo.pieceCount; i++) if (have.has(i)) resumed += i === metainfo.pieceCount - 1 ? metainfo.length - i * metainfo.pieceLength : metainfo.pieceLength
    checking = false
  }
  const { createDiscovery, pex } = swarmParts(opts)
  /** Its file names cannot be written here (from peers): neither its files nor its info are kept. */
  let refused = false
  const torrent = new Torrent({
    // From peers, a site whose file names this platform would merge (or refuse) is warned about and not mirrored.
    createStore: (m) => store ?? fsStoreOrRefusal(m, filesRoot, opts.names, (err) => {
      refused = true
      setImmediate(() => { void torrent.destroy().finally(() => { refuse(err) }) })
    }),
    // WebRTC peers from the WebSocket trackers and, with the BitTorrent network, TCP peers too (cli/lib/swarm.ts).
    createDiscovery,
    sha1: nodeSha1
  }, {
    infoHash,
    ...(metainfo !== undefined ? { metainfo } : {}),
    ...(have !== undefined ? { have } : {}),
    // The publisher keeps a mirror connected to send newcomers its way (TorrentInit.keepSeeds): stay connected too.
    keepSeeds: true,
    ...(pex !== undefined ? { pex } : {}),
    ...(opts.pointer !== undefined ? { pointer: opts.pointer } : {})
  })
  // The engine's errors as they come, a file it cannot store or read said as every other file error here (the file
  // and why: errorInWords), not in errno's words.
  torrent.on('warning', (err) => opts.onWarning?.(`${infoHash.slice(0, 8)}: ${errorInWords(err)}`))
  torrent.on('metadata', (m) => {
    if (refused) return
    accept(true)
    void saveInfo(infoPath, m).catch((err: unknown) => opts.onWarning?.(`cannot save ${infoPath} (${systemReason(err)}): the next run fetches it from peers again`))
    opts.onChange()
  })
  // No piece writes a zero-length file: they are made once the site is complete, or its folder lacks them (named,
  // with why, in one line).
  const makeEmptyFiles = (): void => {
    void (torrent.store as FsStore | undefined)?.createEmptyFiles().catch((err: Error) => {
      opts.onWarning?.(`${infoHash.slice(0, 8)}: cannot create its empty files: ${errorInWords(err)}`)
    })
  }
  torrent.on('done', () => {
    makeEmptyFiles()
    opts.onChange()
  })
  // Complete on disk already ('done' is not emitted then): a run killed before it made them, or one removed since.
  if (torrent.done) makeEmptyFiles()
  if (opts.webSeeds !== undefined && opts.webSeeds.length > 0) new WebSeeds(torrent, { urls: opts.webSeeds, background: true })
  return {
    source,
    infoHash,
    ...(opts.seq !== undefined ? { seq: opts.seq } : {}),
    torrent,
    resumed,
    accepted,
    state: () => checking ? 'checking' : torrent.metainfo === undefined ? 'metadata' : torrent.done ? 'seeding' : 'fetching',
    stats: () => torrent.stats(),
    close: async () => { await torrent.destroy() }
  }
}

/** DIR/<infohash> of a refused site, unless files from an earlier run are in it (rmdir leaves a folder with files). */
async function removeIfEmpty (folder: string): Promise<void> {
  try {
    await rmdir(join(folder, 'files'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return
  }
  await rm(folder, { recursive: true, force: true })
}

/** The info dictionary, written atomically (a crash leaves the old file or the new one). */
async function saveInfo (path: string, metainfo: Metainfo): Promise<void> {
  try {
    const old = await readFile(path)
    if (Buffer.from(metainfo.info).equals(old)) return
  } catch { /* not there yet */ }
  await writeAtomically(path, metainfo.info)
}

/**
 * mirror.json, or an empty index when there is none yet. One that cannot be read or parsed is read as empty too, with
 * a warning: the keys' newest versions come back from pointers.json, but the older ones it listed are neither
 * reopened nor ever removed (it is written again without them).
 */
async function readIndex (dir: string, onWarning?: (message: string) => void): Promise<MirrorIndex> {
  const path = join(dir, INDEX_FILE)
  const empty = `read as empty, so each site key starts again from its newest version; folders of older versions stay in ${dir}`
  const read = await readJsonObject(path)
  if (read.kind === 'unreadable') onWarning?.(`cannot read ${path} (${read.reason}): ${empty}`)
  if (read.kind === 'damaged') onWarning?.(`${path} is damaged (${read.reason}): ${empty}`)
  if (read.kind !== 'object') return { version: 1, keys: {} }
  const keys: Record<string, string[]> = {}
  for (const [id, list] of Object.entries((read.value as Partial<MirrorIndex>).keys ?? {})) if (Array.isArray(list)) keys[id] = list.filter((x): x is string => typeof x === 'string')
  return { version: 1, keys }
}

async function writeIndex (dir: string, index: MirrorIndex): Promise<void> {
  await writeAtomically(join(dir, INDEX_FILE), JSON.stringify(index))
}

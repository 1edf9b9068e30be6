/**
 * The engine in the leader page, and the server side of the worker's port (worker/protocol.ts): `read` opens a
 * read of the whole pieces holding a range of a site file, each `pull` sends its next piece, `cancel` drops it (and
 * the priority of its pieces), `bad-piece` drops a stored piece the worker found altered and fetches it again.
 * WebRTC exists only in pages, so this is where the swarm lives; the worker only asks, and checks every piece.
 */
import { BROWSER_MAX_PEERS } from '../engine/constants.js'
import { WebSocketTrackerDiscovery } from '../engine/discovery/websocket-tracker.js'
import { parseInfoDictionary, piecesForRange, type Metainfo } from '../engine/metainfo/index.js'
import { Bitfield } from '../engine/bitfield.js'
import type { PieceStore } from '../engine/storage/index.js'
import { LateStore } from '../engine/storage/late.js'
import { MemoryStore } from '../engine/storage/memory.js'
import { createPeerId, Torrent, type PointerPort } from '../engine/torrent.js'
import { allTrackersLocal, PUBLIC_RTC_CONFIG } from '../engine/transport/rtc-config.js'
import { rawDictValue } from '../engine/util/bencode.js'
import { fromHex, sha1, toHex } from '../engine/util/bytes.js'
import { holdBackground, prefetchLimitOf } from './prefetch.js'
import { TORRENT_FILE, WEB_SEED_SCRIPT, type EngineErrorKind, type EngineReply, type EngineRequest, type SiteManifest } from '../worker/protocol.js'
import { installHashes, isLazy, upgradeMetainfo } from './lazy-metainfo.js'
import { later } from './lazy.js'

/** A plain site's build (scripts/build-browser.mjs): no sectioned index, so every read names a file of site.torrent. */
declare const PEERSITE_PLAIN: boolean | undefined

/** A User Timing mark (`peersite:NAME`), for devtools and bench/fcp.mjs. */
export function mark (name: string): void {
  try {
    performance.mark(`peersite:${name}`)
  } catch { /* marks are a nicety */ }
}

let rtcOverride: RTCConfiguration | undefined

/** The ICE servers a gateway was started with (`peersite gateway --ice-servers`), for every engine of this page. */
export function setRtcConfig (config: RTCConfiguration): void {
  rtcOverride = config
}

/** Trackers on this machine mean a local demo or test (`publish --local`): no STUN then (engine/transport/rtc-config.ts). */
export function rtcConfigFor (trackers: readonly string[]): RTCConfiguration {
  return rtcOverride ?? (allTrackersLocal(trackers) ? { iceServers: [] } : PUBLIC_RTC_CONFIG)
}

/** The site's web seeds (BEP 19): its own folder with `publish --with-files`, and the `--web-seed` URLs. */
export function webSeedsOf (root: string, manifest: SiteManifest): string[] {
  return [...manifest.withFiles === true ? [root] : [], ...manifest.webSeeds ?? []]
}

/** The web-seed code (loader/webseed.ts), a bundle of its own; undefined if it cannot load (offline: peers only). */
export async function loadWebSeedCode (root: string): Promise<typeof import('./webseed.js') | undefined> {
  const url = new URL(WEB_SEED_SCRIPT, root).href
  return await (import(url) as Promise<typeof import('./webseed.js')>).catch(() => undefined)
}

/** Fetches site.torrent beside the loader. */
export async function fetchTorrentFile (root: string): Promise<Uint8Array> {
  const res = await fetch(new URL(TORRENT_FILE, root), { cache: 'no-cache' })
  if (!res.ok) throw new Error(`${TORRENT_FILE}: HTTP ${res.status}`)
  return new Uint8Array(await res.arrayBuffer())
}

/** The metainfo of site.torrent, checked to be the torrent peersite.json names. */
export async function parseTorrentFile (bytes: Uint8Array, manifest: SiteManifest): Promise<Metainfo> {
  // The info dictionary's bytes as written (never re-encoded: a torrent made elsewhere may have its keys out of
  // order, and the infohash is the SHA-1 of the bytes as they are).
  const info = rawDictValue(bytes, 'info')
  if (info?.[0] !== 0x64 /* 'd' */) throw new Error(`${TORRENT_FILE} has no info dictionary`)
  // The infohash before the info dictionary's checks: a site.torrent that is not the site's (stale, cut short,
  // altered) is named as such, and the checks see only a dictionary its publisher made, which publish checked with
  // the same code. (Their messages are codes in the browser bundles: scripts/error-codes.mjs.)
  const infoHash = toHex(await sha1(info))
  if (infoHash !== manifest.infoHash.toLowerCase()) throw new Error(`${TORRENT_FILE} (${infoHash}) is not the torrent of ${manifest.infoHash}`)
  return await parseInfoDictionary(info)
}

/**
 * A site with a sectioned index, after its first page: site.torrent completes the metainfo the engine started
 * without (lazy-metainfo.ts), for the whole-site prefetch and for peers that ask us for it (BEP 9).
 */
export async function completeMetainfo (torrent: Torrent, root: string, manifest: SiteManifest): Promise<void> {
  const lazy = torrent.metainfo
  if (lazy !== undefined && isLazy(lazy)) upgradeMetainfo(lazy, await parseTorrentFile(await fetchTorrentFile(root), manifest))
}

/**
 * The piece store of this visit and the pieces it already holds: IndexedDB when it works (pieces survive reloads
 * and restarts; a returning visitor announces them at once), else memory. Stored pieces are not hashed again here:
 * any script of the origin could have rewritten them, so the service worker checks every piece it serves and reports
 * a bad one (`bad-piece`: Torrent.forgetPiece deletes it and fetches it again); a peer that got a bad piece from us
 * would catch it by its hash. Pieces IndexedDB refuses (quota) are kept in memory for the visit (OverflowStore).
 *
 * A visit stores at most `budget` bytes (storeBudget): beyond it the engine still hands verified pieces to the
 * worker's reads, without keeping or announcing them (engine/download.ts #held). In an incognito or guest window
 * Chromium keeps IndexedDB in memory, and a page cannot tell: unbounded, a 1 GB download there held 1 GB in the
 * browser process (bench/download.mjs).
 *
 * The IndexedDB store's code is in peersite-later.js (loader/later.ts). A first visit (`late`), which has nothing
 * stored, does not wait for it: its pieces stay in memory (LateStore) until persistStore() attaches IndexedDB, once
 * the first page has painted (loader/main.ts). A return visit waits for it and reads what it holds first: its engine
 * starts late anyway, as index.html loads peersite.js only once the frame the worker fills from its copies has had its
 * load event and gone quiet, or after 3 s at most (a page whose load event is slower gets its engine before it), or at
 * once when the worker asks for the engine (a file it has no copy of).
 */
/** What opening a store needs: the torrent's layout (from site.torrent, or from peersite.json before it arrives). */
export type StoreLayout = Pick<Metainfo, 'infoHash' | 'pieceLength' | 'length' | 'pieceCount'>

export interface OpenedStore { readonly layout: StoreLayout, readonly store: PieceStore, readonly have: Bitfield | undefined }

/** The layout peersite.json announces (checked against site.torrent's in startTorrent). */
export function manifestLayout (manifest: Pick<SiteManifest, 'infoHash' | 'pieceLength' | 'length'>): StoreLayout {
  const pieceLength = manifest.pieceLength > 0 ? manifest.pieceLength : 1
  return { infoHash: manifest.infoHash.toLowerCase(), pieceLength, length: manifest.length, pieceCount: Math.ceil(manifest.length / pieceLength) }
}

export async function openStore (metainfo: StoreLayout, budget = VISIT_STORE_BUDGET, late = false): Promise<OpenedStore> {
  const layout = { pieceLength: metainfo.pieceLength, length: metainfo.length }
  if (late) return { layout: metainfo, store: new LateStore({ ...layout, maxBytes: budget }), have: undefined }
  const opened = await openPersistent(metainfo, budget)
  if (opened === undefined) return { layout: metainfo, store: new MemoryStore({ ...layout, maxBytes: budget }), have: undefined }
  const have = new Bitfield(metainfo.pieceCount)
  for (const index of opened.stored) have.set(index)
  return { layout: metainfo, store: opened.store, have: have.count > 0 ? have : undefined }
}

/**
 * IndexedDB, opened, and the pieces it holds (loader/persistent.ts, in peersite-later.js with the store's code).
 * Undefined without IndexedDB, or when peersite-later.js cannot be loaded: the visit keeps its pieces in memory.
 */
async function openPersistent (metainfo: StoreLayout, budget: number): Promise<{ store: PieceStore, stored: number[] } | undefined> {
  const opened = await later().then(async (l) => await l.openPersistent(metainfo, budget), (err: Error) => { console.debug('peersite: no persistent store:', err.message); return undefined })
  if (opened !== undefined) mark('store')
  return opened
}

/**
 * A first visit's pieces go to IndexedDB from now on, those held in memory first (openStore `late`); nothing to do
 * for another store. Without IndexedDB they stay in memory.
 */
export async function persistStore (torrent: Torrent, budget = VISIT_STORE_BUDGET): Promise<void> {
  const store = torrent.store
  const metainfo = torrent.metainfo
  if (!(store instanceof LateStore) || store.attached || metainfo === undefined) return
  const opened = await openPersistent(metainfo, budget)
  if (opened !== undefined) await (await later()).attachStore(store, opened.store)
}

/** What one visit stores at most, unless the publisher's prefetch limit asks for more (storeBudget). */
export const VISIT_STORE_BUDGET = 256 * 1024 * 1024

/**
 * The storage budget of a visit: VISIT_STORE_BUDGET, or twice the prefetch limit when that is larger (the prefetch
 * set rounded up to whole pieces, and room for what the visitor opens besides).
 */
export function storeBudget (manifest: Pick<SiteManifest, 'prefetchLimit'>): number {
  // Tests set a small one with an init script; nothing else sets this.
  const override = (globalThis as { PEERSITE_STORE_BUDGET?: unknown }).PEERSITE_STORE_BUDGET
  if (typeof override === 'number' && override >= 0) return override
  return Math.max(VISIT_STORE_BUDGET, 2 * prefetchLimitOf(manifest))
}

/** The swarm joined before site.torrent has arrived: the torrent takes over this discovery and its peer id. */
export interface EarlySwarm {
  readonly peerId: Uint8Array
  readonly discovery: WebSocketTrackerDiscovery
  /** Set once the torrent exists: it decides which peers to take. */
  torrent: Torrent | undefined
}

/**
 * Joins the swarm from peersite.json alone (infohash, trackers): the tracker socket, the ICE gathering of the first
 * offers and the answers run while site.torrent and the store load (100-300 ms on a first visit). Peers that connect
 * before the torrent exists are held by the discovery until the torrent listens (websocket-tracker.ts).
 */
export function joinSwarm (manifest: SiteManifest): EarlySwarm | undefined {
  // A malformed infohash fails later, with its own message (parseTorrentFile).
  if (!/^[0-9a-f]{40}$/i.test(manifest.infoHash)) return undefined
  const peerId = createPeerId()
  const swarm: EarlySwarm = {
    peerId,
    torrent: undefined,
    discovery: new WebSocketTrackerDiscovery({
      infoHash: fromHex(manifest.infoHash),
      peerId,
      announce: [...manifest.trackers],
      rtcConfig: rtcConfigFor(manifest.trackers),
      wantsPeer: (id) => swarm.torrent?.wantsPeer(id) ?? true
    })
  }
  swarm.discovery.start({ uploaded: 0, downloaded: 0, left: manifest.length })
  mark('swarm')
  return swarm
}

/**
 * `early`: the swarm joined already (joinSwarm), used by the torrent instead of a discovery of its own.
 * `opening`: a store opened from peersite.json's layout while site.torrent was on its way (IndexedDB takes 50-150 ms
 * to open on a first visit); used if site.torrent agrees, else closed and opened again from the torrent.
 */
export async function startTorrent (metainfo: Metainfo, manifest: SiteManifest, opening?: Promise<OpenedStore>, pointer?: PointerPort, early?: EarlySwarm): Promise<Torrent> {
  const rtcConfig = rtcConfigFor(manifest.trackers)
  let opened = await opening?.catch(() => undefined)
  const same = (a: StoreLayout, b: StoreLayout): boolean =>
    a.infoHash === b.infoHash && a.pieceLength === b.pieceLength && a.length === b.length && a.pieceCount === b.pieceCount
  let late = false
  if (opened !== undefined && !same(opened.layout, metainfo)) {
    late = opened.store instanceof LateStore
    await opened.store.close().catch(() => {})
    opened = undefined
  }
  const { store, have } = opened ?? await openStore(metainfo, storeBudget(manifest), late)
  const torrent = new Torrent({
    createStore: () => store,
    createDiscovery: (init) => early?.discovery ?? new WebSocketTrackerDiscovery({ ...init, announce: [...manifest.trackers], rtcConfig })
  }, {
    infoHash: metainfo.infoHash,
    metainfo,
    maxPeers: BROWSER_MAX_PEERS,
    // Serving other peers starts after the first site byte (loader/main.ts), its code in peersite-later.js.
    serveLater: true,
    servingCode: async () => (await later()).serving,
    peerId: early?.peerId,
    have,
    pointer
  })
  if (early !== undefined) early.torrent = torrent
  // Nothing in the background until the first page has painted (loader/prefetch.ts, main.ts).
  holdBackground(torrent)
  // A misbehaving peer or tracker is the torrent's problem, handled there; keep a trace for whoever debugs.
  torrent.on('warning', (err) => console.debug('peersite:', err.message))
  mark('engine')
  torrent.once('peer', () => mark('first-peer'))
  return torrent
}

export interface ReadProgress {
  readonly path: string
  readonly length: number
  /** Bytes sent to the worker so far. */
  readonly sent: number
}

export interface EngineHostInit {
  /** Called whenever a read advances (the loader shows the first page's progress). */
  onProgress?: (read: ReadProgress) => void
  /** Called when the worker opens a read of a file (an HTML page: its subresources can be raised, loader/preload.ts). */
  onRead?: (path: string) => void
  /** The worker sent what a page of a sectioned index needs (loader/preload.ts PageHints.onRanges). */
  onPreload?: (request: EngineRequest & { type: 'preload' }) => void
  /** Called whenever the number of open reads changes (the background prefetch yields to them, loader/prefetch.ts). */
  onActivity?: (open: number) => void
}

interface OpenRead {
  readonly path: string
  readonly offset: number
  readonly length: number
  readonly first: number
  readonly last: number
  /** The pieces' hashes the worker sent (a sectioned index: lazy-metainfo.ts). */
  readonly hashes: ArrayBuffer | undefined
  sent: number
  readonly controller: AbortController
  iterator: AsyncGenerator<Uint8Array> | undefined
  /** the index of the piece the iterator yields next */
  next: number
  /** Pulls are answered one at a time, in order. */
  queue: Promise<void>
}

/** A read the engine refuses: the worker answers 404 (`not-found`) or 416 (`range`). */
const refuse = (kind: EngineErrorKind, message: string): Error => Object.assign(new Error(message), { kind })

/**
 * Answers EngineRequests on one port. `torrent` may still be loading: reads wait for it, so the leader can hand its
 * port to the worker before site.torrent has arrived.
 */
export class EngineHost {
  readonly #port: MessagePort
  readonly #torrent: Promise<Torrent>
  readonly #reads = new Map<number, OpenRead>()
  readonly #init: EngineHostInit
  #closed = false
  #chunks = 0

  constructor (port: MessagePort, torrent: Promise<Torrent>, init: EngineHostInit = {}) {
    this.#port = port
    this.#torrent = torrent
    this.#init = init
    port.onmessage = (event: MessageEvent<EngineRequest>) => this.#onRequest(event.data)
    port.start()
  }

  #send (reply: EngineReply, transfer: Transferable[] = []): void {
    if (!this.#closed) this.#port.postMessage(reply, transfer)
  }

  #onRequest (request: EngineRequest): void {
    if (this.#closed || typeof request !== 'object' || request === null) return
    switch (request.type) {
      case 'read': {
        // The request's fields as sent (checked where they are used, #pull).
        const read: OpenRead = {
          ...request,
          hashes: request.hashes instanceof ArrayBuffer ? request.hashes : undefined,
          sent: 0,
          controller: new AbortController(),
          iterator: undefined,
          next: request.first,
          queue: Promise.resolve()
        }
        this.#reads.get(request.id)?.controller.abort()
        this.#reads.set(request.id, read)
        this.#init.onRead?.(request.path)
        this.#activity()
        return
      }
      case 'preload':
        if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN)) this.#init.onPreload?.(request)
        return
      case 'pull': {
        const read = this.#reads.get(request.id)
        if (read === undefined) {
          this.#send({ type: 'error', id: request.id, kind: 'unavailable', message: 'no such read' })
          return
        }
        read.queue = read.queue.then(async () => await this.#pull(request.id, read))
        return
      }
      case 'cancel': {
        const read = this.#reads.get(request.id)
        if (read === undefined) return
        this.#reads.delete(request.id)
        read.controller.abort()
        void read.iterator?.return(undefined).catch(() => {})
        this.#activity()
        return
      }
      case 'bad-piece': {
        // The worker hashed piece `index` as we sent it and it did not match: our stored copy was altered.
        const { index } = request
        void this.#torrent.then(async (t) => { await t.forgetPiece(index) }).catch(() => {})
      }
    }
  }

  #activity (): void {
    this.#init.onActivity?.(this.#reads.size)
  }

  async #pull (id: number, read: OpenRead): Promise<void> {
    if (this.#reads.get(id) !== read || read.controller.signal.aborted) return
    try {
      if (read.iterator === undefined) {
        const torrent = await this.#torrent
        const metainfo = torrent.metainfo
        const file = metainfo?.files.find((f) => f.path === read.path)
        let span: { first: number, last: number }
        if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && metainfo !== undefined && file === undefined && read.hashes !== undefined && isLazy(metainfo)) {
          // No file table yet (a sectioned index): the worker named the pieces and brought their hashes.
          if (!installHashes(metainfo, read.first, read.last, read.hashes)) throw refuse('range', `bad pieces for ${read.path}`)
          span = { first: read.first, last: read.last }
        } else {
          if (metainfo === undefined || file === undefined) throw refuse('not-found', `no file ${read.path}`)
          const { offset, length } = read
          if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length > 0 && offset + length <= file.length)) {
            throw refuse('range', `bytes ${offset}+${length} outside ${read.path}`)
          }
          // The pieces holding the range; a read moved to a new leader starts at a later one (`first`).
          span = piecesForRange(metainfo, file.offset + offset, length)
        }
        const first = Math.min(span.last, Math.max(span.first, read.first | 0))
        const start = first * metainfo.pieceLength
        const end = Math.min(metainfo.length, (span.last + 1) * metainfo.pieceLength)
        // Piece-aligned, so each chunk torrent.read yields is one whole piece.
        read.iterator = torrent.read(start, end - start, read.controller.signal)
        read.next = first
      }
      const next = await read.iterator.next()
      if (this.#reads.get(id) !== read) return
      if (next.done === true) {
        this.#reads.delete(id)
        this.#send({ type: 'end', id })
        this.#activity()
        return
      }
      const chunk = next.value
      const index = read.next++
      // The store hands out copies, so the buffer is ours to transfer (copied again if it is a view into a larger one).
      const bytes = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
        ? chunk.buffer as ArrayBuffer
        : chunk.slice().buffer
      if (this.#chunks++ === 0) mark('first-chunk')
      read.sent = Math.min(read.length, read.sent + chunk.byteLength) // whole pieces: the first and last overlap neighbours
      this.#init.onProgress?.({ path: read.path, length: read.length, sent: read.sent })
      this.#send({ type: 'piece', id, index, bytes }, [bytes])
    } catch (err) {
      if (this.#reads.get(id) !== read) return
      this.#reads.delete(id)
      read.controller.abort()
      const kind: EngineErrorKind = (err as { kind?: EngineErrorKind }).kind ?? 'unavailable'
      this.#send({ type: 'error', id, kind, message: err instanceof Error ? err.message : String(err) })
      this.#activity()
    }
  }

  /**
   * Stops answering: cancels every open read and closes the port (the worker got a new one, or the page is leaving).
   * The worker is told `gone` first: Chromium has no MessagePort close event.
   */
  close (): void {
    if (this.#closed) return
    this.#send({ type: 'gone' })
    this.#closed = true
    for (const read of this.#reads.values()) {
      read.controller.abort()
      void read.iterator?.return(undefined).catch(() => {})
    }
    this.#reads.clear()
    this.#port.close()
    this.#activity()
  }
}

/**
 * Following a keyed site's newest version in the browser (issue 11), bundled apart as peersite-follow.js and loaded
 * after the first paint (the loader's first-paint weight: test/e2e/budget.test.ts), or at once on a first visit.
 *
 * The leader page joins the pointer swarm (infohash SHA-1(public key + salt), BEP 46's target) and passes records
 * over the `peersite_pointer` extension there and in the site's swarm (the LatePointer main.ts gave the torrent).
 * Every record, peersite.json's included, goes through one PointerBook: the highest valid seq wins and is remembered
 * per key in IndexedDB (a replayed older record is refused as a rollback even after a restart; two records with the
 * same seq are a fork, both refused), and the visitor is told of refusals in the progress card.
 *
 * A newer version: its metadata (BEP 9) from its swarm, then the pieces it shares with the version held are copied
 * by hash (engine/storage/idb-hashes.ts), its manifest is built and handed with the info dictionary to the worker,
 * which checks the signature itself (worker/version.ts) and serves that version from the next navigation (a reload
 * shows it). This page keeps seeding the version it opened with, and leads the new one for the worker.
 */
import type { Bitfield } from '../engine/bitfield.js'
import { BROWSER_MAX_PEERS } from '../engine/constants.js'
import type { WebSocketTrackerDiscovery } from '../engine/discovery/websocket-tracker.js'
import type { Discovery, DiscoveryInit } from '../engine/discovery/index.js'
import type { PointerError } from '../engine/errors.js'
import type { Metainfo } from '../engine/metainfo/index.js'
import { PointerBook, parsePointerAddress, pointerFromJson, pointerId, pointerTarget, pointerToJson, verifyPointer, webCryptoVerifier, type PointerKnown, type PointerRecordJson, type VerifiedPointer } from '../engine/pointer/index.js'
import { PointerHub } from '../engine/pointer-exchange.js'
import { adoptPieces, indexPieces } from '../engine/storage/idb-hashes.js'
import { IDB_NAME, POINTERS, openDatabase, transact } from '../engine/storage/idb.js'
import type { MemoryStore } from '../engine/storage/memory.js'
import type { ServingParts, Torrent } from '../engine/torrent.js'
import { toHex } from '../engine/util/bytes.js'
import type { Peer } from '../engine/wire/peer.js'
import type { SiteManifest, WorkerMessage } from '../worker/protocol.js'
import type { manifestLayout, openStore, rtcConfigFor, startTorrent, storeBudget } from './engine-host.js'
import type { serveWorker } from './leader.js'
import type { LatePointer } from './late-pointer.js'

/**
 * The engine parts peersite.js already holds, handed over by main.ts rather than bundled a second time into
 * peersite-follow.js (esbuild builds the two apart).
 */
export interface FollowKit {
  readonly Torrent: typeof Torrent
  readonly MemoryStore: typeof MemoryStore
  readonly Bitfield: typeof Bitfield
  readonly WebSocketTrackerDiscovery: typeof WebSocketTrackerDiscovery
  readonly openStore: typeof openStore
  readonly startTorrent: typeof startTorrent
  readonly manifestLayout: typeof manifestLayout
  readonly storeBudget: typeof storeBudget
  readonly rtcConfigFor: typeof rtcConfigFor
  readonly serveWorker: typeof serveWorker
  /** The torrent's serving side (peersite-later.js: loader/lazy.ts), which the kit's Torrent builds only when given. */
  readonly serving: () => Promise<ServingParts>
}

/** Peers in the pointer swarm: it only carries records. */
const POINTER_SWARM_PEERS = 8

export interface FollowInit {
  readonly root: string
  readonly manifest: SiteManifest
  /** The torrent of the version this page opened with (it keeps seeding it). */
  readonly torrent: Torrent
  /** The stand-in main.ts gave that torrent as its pointer exchange. */
  readonly late: LatePointer
  /** Something for the visitor to read (a refused record, a new version ready). */
  readonly tell: (heading: string, detail: string) => void
  /** Takes the card told away. */
  readonly untell: () => void
  /** The worker now serves a newer version (main.ts reloads if no page of the old one has been shown yet). */
  readonly onSwitched?: () => void
  readonly kit: FollowKit
}

export interface Follower {
  /** Settles once the first peer has told its record (true: the worker now serves a newer version), or `waitMs` passed. */
  checked: (waitMs: number) => Promise<boolean>
  readonly book: PointerBook
  /** The newer version this page fetched and handed to the worker, if any. */
  readonly next: Torrent | undefined
  /** Records refused (rollback, fork), one line each. */
  readonly refused: readonly string[]
}

export async function follow (init: FollowInit): Promise<Follower> {
  const { manifest } = init
  const { Torrent, MemoryStore, Bitfield, WebSocketTrackerDiscovery, openStore, startTorrent, manifestLayout, storeBudget, rtcConfigFor, serveWorker } = init.kit
  const { publicKey, salt } = parsePointerAddress(manifest.address ?? '')
  const id = pointerId(publicKey, salt)
  const verifier = webCryptoVerifier()
  const known = await loadKnown(id, publicKey, salt)
  const book = new PointerBook({ verifier }, { publicKey, salt, ...(known !== undefined ? { known } : {}) })
  const refused: string[] = []
  const trackers = [...manifest.trackers]
  const rtcConfig = rtcConfigFor(trackers)
  let heard!: () => void
  const firstHeard = new Promise<void>((resolve) => { heard = resolve })
  let switched: Promise<boolean> = Promise.resolve(false)
  let next: Torrent | undefined
  const discovery = (init2: DiscoveryInit): Discovery => new WebSocketTrackerDiscovery({ ...init2, announce: trackers, rtcConfig })

  const hub = new PointerHub<Peer>({
    book,
    warn: (_peer, err) => console.debug('peersite: pointer:', err.message),
    onNewer: (record) => {
      void saveKnown(id, book.known)
      if (record.infoHash !== init.torrent.infoHash) switched = update(record)
    },
    onHeard: () => heard(),
    onRefused: (error: PointerError) => {
      void saveKnown(id, book.known)
      refused.push(error.message)
      heard()
      init.tell(
        error.reason === 'fork' ? 'This site\'s key signed two different versions' : 'An older version of this site was refused',
        error.reason === 'fork'
          ? `Two records with the same number (seq ${book.known?.seq ?? '?'}) name different versions: neither is shown until the publisher publishes a newer one. You see the version you already had.`
          : `A peer offered version seq ${error.message.match(/seq (\d+)/)?.[1] ?? '?'}, older than the newest this browser has verified (seq ${book.known?.seq ?? '?'}): ignored.`
      )
    }
  })
  init.late.attach(hub.exchange())

  // peersite.json's record: untrusted like any (a rollback there is the host serving an old loader folder).
  if (manifest.pointer !== undefined) {
    try {
      await hub.publish(pointerFromJson(manifest.pointer))
    } catch { /* malformed: ignored */ }
  }
  const current = book.current
  if (current !== undefined && current.infoHash !== init.torrent.infoHash && current.seq > (manifest.pointer?.seq ?? -1)) switched = update(current)

  const pointerSwarm = new Torrent({
    // Never called: no info dictionary hashes to the target (cli/lib/pointer-swarm.ts).
    createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }),
    createDiscovery: discovery
  }, { infoHash: toHex(await pointerTarget(publicKey, salt)), pointer: hub.exchange(), maxPeers: POINTER_SWARM_PEERS })
  pointerSwarm.on('warning', (err) => console.debug('peersite: pointer swarm:', err.message))

  // The pieces of the version held are findable by hash for the next one.
  const metainfo = init.torrent.metainfo
  if (metainfo !== undefined) {
    const held = [...Array(metainfo.pieceCount).keys()].filter((i) => init.torrent.have?.has(i) === true)
    void indexPieces(metainfo, held).catch(() => {})
    init.torrent.on('verified', (index) => { void indexPieces(metainfo, [index]).catch(() => {}) })
  }
  addEventListener('pagehide', (event) => { if (!event.persisted) { void pointerSwarm.destroy(); void next?.destroy() } })

  let updating: string | undefined
  /** Fetches version `record` and hands it to the worker; true once the worker serves it. */
  async function update (record: VerifiedPointer): Promise<boolean> {
    if (updating === record.infoHash) return await switched
    updating = record.infoHash
    const meta = await fetchMetadata(init.kit, record.infoHash, discovery)
    if (updating !== record.infoHash) return false
    const m = versionManifest(manifest, meta, pointerToJson(record))
    // The pieces it shares with what this browser holds, copied by hash before the torrent starts.
    const opened = await openStore(manifestLayout(m), storeBudget(m))
    const have = opened.have ?? new Bitfield(meta.pieceCount)
    const held = new Set<number>()
    for (let i = 0; i < meta.pieceCount; i++) if (have.has(i)) held.add(i)
    for (const i of await adoptPieces(meta, held).catch(() => [])) have.set(i)
    const torrent = await startTorrent(meta, m, Promise.resolve({ ...opened, have }), hub.exchange())
    // The new version is served to other visitors at once.
    torrent.serve(await init.kit.serving())
    void next?.destroy()
    next = torrent
    const reply = await toWorker(m, meta.info)
    if (reply.error !== undefined) {
      console.warn('peersite: the service worker refused version', record.seq, reply.error)
      return false
    }
    serveWorker(meta.infoHash, Promise.resolve(torrent))
    init.onSwitched?.()
    init.tell('A new version of this site is ready', 'It shows on the next page you open, or when you reload this one.')
    // Until that next page: once the frame has loaded it, the card would say of the new version that it is coming.
    document.getElementById('peersite-frame')?.addEventListener('load', init.untell, { once: true })
    return true
  }

  return {
    book,
    get next () { return next },
    refused,
    checked: async (waitMs) => {
      await Promise.race([firstHeard, new Promise((resolve) => setTimeout(resolve, waitMs))])
      return await switched
    }
  }
}

/** The info dictionary of `infoHash` from its swarm (BEP 9, checked against the infohash by the torrent). */
async function fetchMetadata (kit: FollowKit, infoHash: string, discovery: (init: DiscoveryInit) => Discovery): Promise<Metainfo> {
  const { Torrent, MemoryStore } = kit
  const serving = await kit.serving()
  const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }), createDiscovery: discovery }, { infoHash, maxPeers: BROWSER_MAX_PEERS })
  // The kit's Torrent is peersite.js's, which leaves the BEP 9 exchange to the serving side (engine/serving.ts).
  torrent.serve(serving)
  try {
    return await new Promise<Metainfo>((resolve) => {
      torrent.once('metadata', (m) => {
        // Nothing is downloaded here: the version's own torrent (with the pieces copied by hash) does that.
        torrent.setWanted(0, m.pieceCount - 1, false)
        resolve(m)
      })
    })
  } finally {
    void torrent.destroy()
  }
}

/** A common file type table for the paths version 1's manifest did not have. */
const TYPES: Record<string, string> = {
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript', json: 'application/json',
  txt: 'text/plain', md: 'text/markdown', xml: 'application/xml', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg',
  jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif', ico: 'image/vnd.microsoft.icon', woff2: 'font/woff2',
  woff: 'font/woff', ttf: 'font/ttf', wasm: 'application/wasm', mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', ogg: 'audio/ogg',
  pdf: 'application/pdf', zip: 'application/zip'
}

/**
 * The type of a path version 1 did not have, from the table's own entries only: `x.constructor` or `__proto__` (any
 * name a publisher chose) would otherwise get a function or an object from Object.prototype, which cannot be posted to
 * the worker, or which its manifest check refuses, so the version would never be served.
 */
function typeOf (path: string): string {
  const extension = path.split('.').pop()!.toLowerCase()
  return Object.hasOwn(TYPES, extension) ? TYPES[extension]! : 'application/octet-stream'
}

/**
 * The manifest of a newer version: version 1's (name, trackers, redirects, --spa, prefetch limit; they are not in the
 * torrent) with the new torrent's files. Page hints (`preload`) are left out: they described version 1's pages; so is
 * a sectioned index (`index`): its sections on the static host are version 1's, so a newer version lists every file
 * (the worker refuses a version with an index: worker/version.ts).
 */
export function versionManifest (base: SiteManifest, meta: Metainfo, pointer: PointerRecordJson): SiteManifest {
  const types = new Map(base.files.map((f) => [f.path, f.type]))
  const { preload: _, index: __, ...rest } = base
  return {
    ...rest,
    infoHash: meta.infoHash,
    pieceLength: meta.pieceLength,
    length: meta.length,
    files: meta.files.map((f) => ({
      path: f.path,
      length: f.length,
      type: types.get(f.path) ?? typeOf(f.path)
    })),
    pointer
  }
}

/** Hands a version to the worker and waits for its verdict. */
async function toWorker (manifest: SiteManifest, info: Uint8Array): Promise<Extract<WorkerMessage, { type: 'version' }>> {
  const container = navigator.serviceWorker
  return await new Promise((resolve) => {
    const onMessage = (event: MessageEvent<WorkerMessage>): void => {
      if (event.data?.type !== 'version') return
      if (event.data.error === undefined && event.data.infoHash !== manifest.infoHash) return
      container.removeEventListener('message', onMessage)
      resolve(event.data)
    }
    container.addEventListener('message', onMessage)
    container.controller?.postMessage({ type: 'version', manifest, info: info.slice() })
  })
}

/** What this browser remembers of a key (IndexedDB `pointers`); the record is verified again (anyone of the origin can write it). */
export async function loadKnown (id: string, publicKey: Uint8Array, salt: Uint8Array): Promise<PointerKnown | undefined> {
  try {
    const db = await openDatabase(indexedDB, IDB_NAME)
    const stored = await transact(db, [POINTERS], 'readonly', (tx) => {
      const req = tx.objectStore(POINTERS).get(id)
      return () => req.result as { seq?: unknown, forked?: unknown, record?: unknown } | undefined
    }).finally(() => db.close())
    if (stored === undefined || typeof stored.seq !== 'number' || !Number.isSafeInteger(stored.seq)) return undefined
    let record: VerifiedPointer | undefined
    if (stored.record !== undefined && stored.forked !== true) {
      record = await verifyPointer(webCryptoVerifier(), pointerFromJson(stored.record), { publicKey, salt }).catch(() => undefined)
      if (record?.seq !== stored.seq) record = undefined
    }
    return { seq: stored.seq, ...(stored.forked === true ? { forked: true } : {}), ...(record !== undefined ? { record } : {}) }
  } catch {
    return undefined
  }
}

/**
 * Remembers `known` for `id` unless IndexedDB already knows as much: a higher seq, or the same one forked, or with its
 * record when `known` has none. Saves are not awaited and each opens its own connection, so an earlier one (a lower
 * seq) can commit after a later one: the entry is read and written in one transaction and never goes back.
 */
export async function saveKnown (id: string, known: PointerKnown | undefined): Promise<void> {
  if (known === undefined) return
  try {
    const db = await openDatabase(indexedDB, IDB_NAME)
    await transact(db, [POINTERS], 'readwrite', (tx) => {
      const store = tx.objectStore(POINTERS)
      const req = store.get(id)
      req.onsuccess = () => {
        const old = req.result as { seq?: unknown, forked?: unknown, record?: unknown } | undefined
        if (typeof old?.seq === 'number' && (old.seq > known.seq || (old.seq === known.seq && (old.forked === true || (known.forked !== true && known.record === undefined))))) return
        store.put({
          seq: known.seq,
          ...(known.forked === true ? { forked: true } : {}),
          ...(known.record !== undefined ? { record: pointerToJson(known.record) } : {})
        }, id)
      }
      return () => undefined
    }).finally(() => db.close())
  } catch (err) {
    console.debug('peersite: cannot remember the site key\'s seq:', (err as Error).message)
  }
}

/**
 * Verified pieces in IndexedDB, so they survive reloads and browser restarts: a returning visitor announces them at
 * once and serves other visitors (issue 5).
 *
 * Layout: one database for the whole origin (several peersite sites may live on one origin under different paths;
 * the same infohash is the same bytes wherever it is published, so sharing is correct):
 *   pieces  key [infoHash, index] -> Uint8Array, one whole verified piece per record, or
 *           key [infoHash, first + 0.5, count, pieceLength] -> Uint8Array, `count` consecutive pieces from `first`
 *           in one record (a run: see "Runs" below)
 *   sites   key infoHash          -> { infoHash, lastUsed }, the least-recently-used order for eviction
 *   hashes  key SHA-1 hex of a piece -> [infoHash, index] where a verified copy was stored (idb-hashes.ts: a keyed
 *           site's next version reuses the pieces it shares with the last one)
 *   pointers key site key id (engine/pointer pointerId) -> what loader/follow.ts remembers of it (highest seq)
 * A piece and its site's `lastUsed` are written in one readwrite transaction, so a piece is either stored whole or
 * not at all: a crash or a quota error never leaves a torn piece behind.
 *
 * Runs: Chromium keeps every IndexedDB value over 64 KiB as a blob file of its own, and on disk (a visitor's profile)
 * each file costs the browser CPU: 128 KiB records cost about 17 ms/MB to write, 1 MiB records about 10 (README,
 * "Storing pieces on a visitor's disk"). So the pieces one transaction writes are sorted, and each run of consecutive
 * indexes among them is stored as records of up to RUN_BYTES (a lone piece as a record of its own, as before). No
 * piece waits longer than it did for its transaction, so nothing is less durable; how long the runs get depends on
 * what arrives within one batch (a download in order at full speed: a batch's pieces, up to WRITE_BATCH_BYTES). A
 * run's key sits between the keys of its first piece and the next, so one key range still spans a site's records
 * (clear, eviction), and `findRecord` finds the record holding a piece with a backward key cursor. The half keeps
 * runs out of an older loader's storedPieces (it lists integer indexes only, and reads [infoHash, index]): a release
 * before runs sharing the database sees no pieces in them, and its range deletes still remove them. Records of one
 * piece written by that release are read as they are.
 *
 * A run's record holds a Blob of its pieces (since 2026-12-03; runs of bytes written before are read as they are):
 * `get` reads the record (a handle to Chromium's blob file, nothing read yet) and then only its piece's part of it,
 * so a scattered read (an uploader serving what other peers ask for, rarest first; a seek) no longer reads up to
 * 1 MiB for one piece (bench/store-scatter.mjs: 64 MB read in a random order cost Chromium 53 ms/MB with runs of
 * bytes, 19 with Blobs, 18 with a record per piece). A reader going in order (a get of the piece after the last one
 * asked for) reads the rest of the run at once instead, one read per run as before. The store keeps the handles of
 * the last BLOB_CACHE runs it read (no bytes), and the bytes of the last RECORD_CACHE runs read whole.
 *
 * Small pieces (INLINE_BYTES, 60 KiB, or less: what publish picks for small sites) are not put in Blobs: each Blob
 * read costs a few ms of CPU however small, and a record of bytes up to 64 KiB stays inline in Chromium's database
 * (no blob file at all). So they go in records of bytes of up to INLINE_BYTES (one piece of 32 KiB, three of 16), a
 * scattered read reads little, and a reader in order reads ahead: its get reads the records of the next AHEAD_BYTES
 * of pieces in the same transaction, and the gets in flight inside that range wait for it (2026-12-03, third
 * session: bench/store-scatter.mjs, README "A run's record holds a Blob"). All three formats stay readable.
 *
 * Quota: a put that fails with QuotaExceededError evicts other sites' pieces, least recently used first, one site
 * at a time, retrying after each; sites used in the last `activeMs` are never evicted (another tab may be serving
 * them). With nothing left to evict the put rejects with StorageError 'ERR_QUOTA' (see OverflowStore for what the
 * loader does then).
 *
 * Trust: the engine puts a piece only after its SHA-1 matched, but any script of the origin (another site on the same
 * host, a page of this one) can rewrite IndexedDB. Stored pieces are announced without hashing them again; the
 * service worker checks every piece it serves (worker/verified-read.ts), and one that fails there is deleted
 * (`delete`) and fetched again (Torrent.forgetPiece), as is one whose `get` fails (engine/reader.ts: WebKit loses a
 * Blob now and then, `NotFoundError`).
 *
 * Never stored: a Blob made of slices of a Blob read from IndexedDB. WebKit (WebKitGTK 2.50, whose IndexedDB code
 * Safari shares) stores one wrongly: read back, it throws NotFoundError or holds another piece's bytes (README,
 * "Browsers"). So `delete`, rewriting a run's other pieces, and idb-hashes.ts's `adoptPieces`, copying pieces of
 * another torrent, read the bytes first and store those.
 */
import { AbortError, StorageError } from '../errors.js'
import { pieceRange, type PieceStore, type PieceStoreInit } from './index.js'

export const IDB_NAME = 'peersite'
/** 2: the `hashes` store (engine/storage/idb-hashes.ts) and `pointers` (loader/follow.ts: the highest seq per site key). */
const DB_VERSION = 2
const PIECES = 'pieces'
const SITES = 'sites'
export const HASHES = 'hashes'
export const POINTERS = 'pointers'
/** A site whose store was used this recently may be open in another tab: never evicted. */
export const ACTIVE_MS = 5 * 60 * 1000
/**
 * Puts queued while a write runs go into the next transaction together, up to this many bytes (measured in
 * Chromium: 400 pieces of 128 KiB took 360 ms one per transaction, 200-230 ms in transactions of 4-16 pieces).
 */
const WRITE_BATCH_BYTES = 2 * 1024 * 1024
/** How long a put waits for others to share its transaction (readers do not wait for it: download.ts readable). */
const WRITE_BATCH_DELAY_MS = 20
/** A run of consecutive pieces is stored in records of at most this many bytes (and at least one piece each). */
export const RUN_BYTES = 1024 * 1024
/**
 * Chromium (Blink) keeps an IndexedDB value whose serialization passes 64 KiB as a blob file of its own, and a
 * smaller one inline in its LevelDB: records of bytes up to this size (pieces of 60 KiB or less) stay inline.
 */
export const INLINE_BYTES = 60 * 1024
/** Runs of bytes (the format before runs were Blobs) `get` keeps after reading them (RUN_BYTES each at most). */
const RECORD_CACHE = 2
/** Runs held as Blobs `get` keeps (a handle each, nothing read: the pieces are read from it one by one). */
const BLOB_CACHE = 64
/**
 * A get in order (the piece after the last one asked for) of a piece stored in a record of its own, of pieces no longer
 * than INLINE_BYTES, reads the records of the pieces after it too, up to this many bytes, in the same transaction.
 */
const AHEAD_BYTES = 512 * 1024
/** How many records `findRecord` looks at, going back from a piece, before it gives up. */
const FIND_STEPS = 64
/** `get` refreshes the site's lastUsed at most this often (a write per read would be wasteful). */
const TOUCH_INTERVAL_MS = 60 * 1000

export interface IdbStoreInit extends PieceStoreInit {
  /** 40 lowercase hex digits: the site these pieces belong to. */
  readonly infoHash: string
  /** Default: globalThis.indexedDB. Tests pass fake-indexeddb's. */
  readonly indexedDB?: IDBFactory
  /** Default: globalThis.IDBKeyRange (tests pass fake-indexeddb's). */
  readonly keyRange?: typeof IDBKeyRange
  /** Database name; default 'peersite'. */
  readonly name?: string
  /** Clock for lastUsed (tests). */
  readonly now?: () => number
  /** Sites used within this many ms are not evicted; default ACTIVE_MS. */
  readonly activeMs?: number
}

interface SiteRecord { infoHash: string, lastUsed: number }

/** A run `get` read lately: its record's value, and its bytes when read whole (a Blob read in order, or bytes). */
interface CachedRun { readonly span: RecordSpan, readonly value: PieceData, bytes: Promise<Uint8Array> | undefined }

/** Whether this environment has a working IndexedDB (absent in Node, blocked in some private modes). */
export async function indexedDBWorks (factory: IDBFactory | undefined = globalThis.indexedDB, name = IDB_NAME): Promise<boolean> {
  if (factory === undefined) return false
  try {
    (await openDatabase(factory, name)).close()
    return true
  } catch {
    return false
  }
}

export function openDatabase (factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    let req: IDBOpenDBRequest
    try {
      req = factory.open(name, DB_VERSION)
    } catch (err) {
      reject(err)
      return
    }
    req.onupgradeneeded = () => {
      const db = req.result
      if (!db.objectStoreNames.contains(PIECES)) db.createObjectStore(PIECES)
      if (!db.objectStoreNames.contains(SITES)) db.createObjectStore(SITES, { keyPath: 'infoHash' })
      for (const name of [HASHES, POINTERS]) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name)
    }
    req.onsuccess = () => {
      const db = req.result
      // Another tab upgrading the schema (a newer loader): let it, this tab reopens on its next operation.
      db.onversionchange = () => { db.close() }
      resolve(db)
    }
    req.onerror = () => { reject(req.error ?? new Error('indexedDB.open failed')) }
    req.onblocked = () => { reject(new Error('indexedDB.open is blocked by another tab')) }
  })
}

/**
 * Runs `body` in one transaction and resolves with its result when the transaction has committed. Errors thrown
 * synchronously by `body` abort the transaction; errors of requests abort it too (IndexedDB's default).
 */
export function transact<T> (db: IDBDatabase, stores: string[], mode: IDBTransactionMode, body: (tx: IDBTransaction) => () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let tx: IDBTransaction
    let result: () => T
    try {
      tx = db.transaction(stores, mode)
    } catch (err) {
      reject(err)
      return
    }
    tx.oncomplete = () => { resolve(result()) }
    tx.onabort = () => { reject(tx.error ?? new StorageError('transaction aborted', 'ERR_STORAGE')) }
    tx.onerror = (event) => { event.preventDefault?.() } // reported once, by onabort
    try {
      result = body(tx)
    } catch (err) {
      try { tx.abort() } catch { /* already finished */ }
      tx.onabort = () => { reject(err) }
    }
  })
}

function isQuotaError (err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'QuotaExceededError'
}

function pieceKeyRange (keyRange: typeof IDBKeyRange, infoHash: string): IDBKeyRange {
  // Keys sort arrays element by element, numbers before strings: [h, 0] .. [h, ''] spans every index of h.
  return keyRange.bound([infoHash, 0], [infoHash, ''], false, true)
}

/** Pieces per record of a run, for pieces of `pieceLength` bytes. */
export const runPieces = (pieceLength: number): number => Math.max(1, Math.floor(RUN_BYTES / pieceLength))

/** Where a record's pieces are: `first`, `count` pieces of `pieceLength` bytes (the torrent's last may be shorter). */
export interface RecordSpan { readonly key: IDBValidKey, readonly first: number, readonly count: number, readonly pieceLength: number | undefined }

/** What a key of the pieces store holds, or undefined for a key that is none of ours (or another infohash's). */
export function recordSpan (key: unknown, infoHash: string): RecordSpan | undefined {
  if (!Array.isArray(key) || key[0] !== infoHash) return undefined
  const at = key[1]
  if (typeof at !== 'number' || at < 0) return undefined
  if (key.length === 2 && Number.isInteger(at)) return { key, first: at, count: 1, pieceLength: undefined }
  const [, , count, pieceLength] = key as unknown[]
  if (key.length === 4 && Number.isInteger(at - 0.5) && Number.isSafeInteger(count) && (count as number) > 0 &&
    Number.isSafeInteger(pieceLength) && (pieceLength as number) > 0) {
    return { key, first: at - 0.5, count: count as number, pieceLength: pieceLength as number }
  }
  return undefined
}

/** What a record holds: bytes, or (a run written since runs are Blobs) a Blob whose parts can be read alone. */
export type PieceData = Uint8Array | Blob

const sizeOf = (data: PieceData): number => data instanceof Uint8Array ? data.length : data.size

/**
 * Piece `index`'s bytes inside a record's `value`, if the record holds it whole: `size` is the piece's length (what
 * the caller expects; a piece of a run is `pieceLength` long unless it ends the record, the torrent's last piece).
 * A Blob's piece is a slice of it (nothing read yet: readPiece reads it, and checks its length again).
 */
export function pieceInRecord (span: RecordSpan, value: unknown, index: number, size: number): PieceData | undefined {
  const blob = typeof Blob !== 'undefined' && value instanceof Blob
  if (!(value instanceof Uint8Array || blob) || index < span.first || index >= span.first + span.count) return undefined
  const total = sizeOf(value)
  if (span.pieceLength === undefined) return total === size ? value : undefined
  const start = (index - span.first) * span.pieceLength
  const end = index === span.first + span.count - 1 ? total : start + span.pieceLength
  if (end - start !== size || end > total || total > span.count * span.pieceLength) return undefined
  return value instanceof Uint8Array ? value.subarray(start, end) : value.slice(start, end)
}

/** The bytes `offset`..`offset + length` of a piece pieceInRecord found; undefined if a Blob read fewer. */
export async function readPiece (piece: PieceData, offset: number, length: number): Promise<Uint8Array | undefined> {
  if (piece instanceof Uint8Array) return piece.slice(offset, offset + length)
  const bytes = new Uint8Array(await piece.slice(offset, offset + length).arrayBuffer())
  return bytes.length === length ? bytes : undefined
}

/**
 * Finds the record of `infoHash` that holds piece `index` (its own record or a run's) in `store`, calling `done`
 * with its span, or undefined when there is none (eachRecord: the first record at or before the piece's own keys
 * usually holds it).
 */
export function findRecord (store: IDBObjectStore, keyRange: typeof IDBKeyRange, infoHash: string, index: number, pieceLength: number | undefined, done: (span: RecordSpan | undefined) => void): void {
  let found: RecordSpan | undefined
  eachRecord(store, keyRange, infoHash, index, pieceLength, (span) => { found = span; return true }, () => done(found))
}

/**
 * Calls `each` with the span of every record of `infoHash` in `store` that holds piece `index`, nearest first, until
 * it returns true, then `done`. A backward key cursor from the piece's own keys, over FIND_STEPS keys at most: a
 * piece may have been stored twice. `pieceLength`, if known, bounds how far back a run holding the piece can start.
 */
function eachRecord (store: IDBObjectStore, keyRange: typeof IDBKeyRange, infoHash: string, index: number, pieceLength: number | undefined, each: (span: RecordSpan) => boolean, done: () => void): void {
  const lowest = pieceLength === undefined ? 0 : Math.max(0, index - runPieces(pieceLength) + 1)
  const req = store.openKeyCursor(keyRange.bound([infoHash, lowest], [infoHash, index + 0.5, Number.POSITIVE_INFINITY]), 'prev')
  let steps = 0
  req.onsuccess = () => {
    const cursor = req.result
    if (cursor === null) { done(); return }
    const span = recordSpan(cursor.key, infoHash)
    if (span !== undefined && index < span.first + span.count && each(span)) { done(); return }
    if (++steps >= FIND_STEPS) { done(); return }
    cursor.continue()
  }
}

/**
 * Pieces per record `putRuns` writes, for pieces of `pieceLength` bytes: up to INLINE_BYTES of bytes for pieces no
 * longer than it (at least one piece), up to RUN_BYTES as a Blob for longer ones. Never more than runPieces (what
 * findRecord looks back for).
 */
export const writtenRunPieces = (pieceLength: number): number =>
  pieceLength <= INLINE_BYTES ? Math.max(1, Math.floor(INLINE_BYTES / pieceLength)) : runPieces(pieceLength)

/**
 * Puts `pieces` (ascending indexes, of pieces `pieceLength` long but maybe the torrent's last) under `infoHash`:
 * each run of consecutive indexes as records of up to writtenRunPieces(pieceLength) pieces, a lone piece as its own
 * record. Pieces longer than INLINE_BYTES go in runs held as Blobs (reading one piece later reads that piece's bytes
 * only), shorter ones in records of bytes small enough to stay inline in Chromium's database (see "Runs" above).
 */
export function putRuns (store: IDBObjectStore, infoHash: string, pieceLength: number, pieces: ReadonlyArray<{ index: number, data: PieceData }>): void {
  const most = writtenRunPieces(pieceLength)
  for (let i = 0; i < pieces.length;) {
    let n = 1
    while (i + n < pieces.length && n < most && pieces[i + n]!.index === pieces[i]!.index + n && sizeOf(pieces[i + n - 1]!.data) === pieceLength) n++
    const first = pieces[i]!
    if (n === 1) store.put(first.data, [infoHash, first.index])
    else {
      const parts = pieces.slice(i, i + n).map((p) => p.data)
      // A Blob of one part (the pieces joined first) cost the same to read as one of n parts, and more to write.
      const bytes = pieceLength <= INLINE_BYTES && parts.every((p) => p instanceof Uint8Array)
      store.put(bytes ? concat(parts as Uint8Array[]) : new Blob(parts as BlobPart[]), [infoHash, first.index + 0.5, n, pieceLength])
    }
    i += n
  }
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

export class IdbStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  readonly infoHash: string
  readonly #factory: IDBFactory
  readonly #keyRange: typeof IDBKeyRange
  readonly #name: string
  readonly #now: () => number
  readonly #activeMs: number
  #db: Promise<IDBDatabase> | undefined
  #closed = false
  #touchedAt = 0
  /** Puts waiting for the next write (see #drain). */
  readonly #queue: Array<{ index: number, data: Uint8Array, resolve: () => void, reject: (err: Error) => void }> = []
  #queuedBytes = 0
  #writing = false
  #drainTimer: ReturnType<typeof setTimeout> | undefined
  /** Records of several pieces read lately, the latest last (see #remember). */
  #recent: CachedRun[] = []
  /** The index of the last get (a get of the next one reads in order: see #fromRun). */
  #lastGet = -2
  /** Counts deletes and clears: a run read across one is not kept in #recent (it may hold a deleted piece). */
  #forgets = 0
  /** One-piece records read ahead for a reader in order (see AHEAD_BYTES), by index: each handed out once. */
  #ahead = new Map<number, unknown>()
  /** The last read ahead: the indexes it covers (`from` .. `to` - 1), settled when it is in #ahead (or failed). */
  #aheadRead: { readonly from: number, readonly to: number, readonly done: Promise<void> } | undefined
  /**
   * Runs being read, by key: a get that finds its piece in one waits for that read instead of reading the record
   * again (the uploader asks for several pieces at once, upload.ts prefetch: each would read the whole run).
   */
  readonly #reading = new Map<string, Promise<unknown>>()
  /** The last write or delete queued: the next one waits for it (#alone). */
  #turn: Promise<unknown> = Promise.resolve()

  constructor (init: IdbStoreInit) {
    if (!Number.isSafeInteger(init.pieceLength) || init.pieceLength <= 0) throw new RangeError(`invalid piece length ${init.pieceLength}`)
    if (!Number.isSafeInteger(init.length) || init.length < 0) throw new RangeError(`invalid length ${init.length}`)
    if (!/^[0-9a-f]{40}$/.test(init.infoHash)) throw new RangeError(`invalid infohash ${init.infoHash}`)
    const factory = init.indexedDB ?? globalThis.indexedDB
    const keyRange = init.keyRange ?? globalThis.IDBKeyRange
    if (factory === undefined || keyRange === undefined) throw new StorageError('IndexedDB is not available here', 'ERR_UNAVAILABLE')
    this.pieceLength = init.pieceLength
    this.length = init.length
    this.infoHash = init.infoHash
    this.#factory = factory
    this.#keyRange = keyRange
    this.#name = init.name ?? IDB_NAME
    this.#now = init.now ?? Date.now
    this.#activeMs = init.activeMs ?? ACTIVE_MS
  }

  /** The database, opened on first use (and again if another tab's upgrade closed it). */
  async #open (): Promise<IDBDatabase> {
    this.#db ??= openDatabase(this.#factory, this.#name)
    try {
      return await this.#db
    } catch (err) {
      this.#db = undefined
      throw new StorageError(`cannot open IndexedDB: ${(err as Error).message}`, 'ERR_UNAVAILABLE', { cause: err })
    }
  }

  /** The pieces already stored for this infohash (ascending), e.g. to pass as `have` to the Torrent at startup. */
  async storedPieces (signal?: AbortSignal): Promise<number[]> {
    this.#check(signal)
    const db = await this.#open()
    const pieceCount = Math.ceil(this.length / this.pieceLength)
    const keys = await transact(db, [PIECES, SITES], 'readwrite', (tx) => {
      const req = tx.objectStore(PIECES).getAllKeys(pieceKeyRange(this.#keyRange, this.infoHash))
      tx.objectStore(SITES).put({ infoHash: this.infoHash, lastUsed: this.#now() } satisfies SiteRecord)
      return () => req.result
    })
    this.#touchedAt = this.#now()
    const held = new Set<number>()
    for (const key of keys) {
      const span = recordSpan(key, this.infoHash)
      if (span === undefined || (span.pieceLength !== undefined && span.pieceLength !== this.pieceLength)) continue
      for (let i = span.first; i < span.first + span.count && i < pieceCount; i++) held.add(i)
    }
    return [...held].sort((a, b) => a - b)
  }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#check(signal)
    const { pieceLength } = pieceRange(this, index)
    if (data.length !== pieceLength) {
      throw new StorageError(`piece ${index} is ${pieceLength} bytes, got ${data.length}`, 'ERR_INVALID_LENGTH')
    }
    // Not copied: the caller leaves `data` alone until this settles (PieceStore.put), and IndexedDB copies it when
    // the batch is written. Unless it is a view into a larger buffer: IndexedDB would store the whole buffer.
    const piece = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ index, data: piece, resolve, reject })
      this.#queuedBytes += piece.length
      if (this.#writing) return
      // Wait a moment for more pieces to share the transaction, unless a batch is full already.
      clearTimeout(this.#drainTimer)
      if (this.#queuedBytes >= WRITE_BATCH_BYTES) void this.#drain()
      else this.#drainTimer = setTimeout(() => { void this.#drain() }, WRITE_BATCH_DELAY_MS)
    })
  }

  /**
   * Writes the queued puts, all those queued meanwhile (up to WRITE_BATCH_BYTES) in one transaction: one transaction
   * per piece costs the page about 0.5 ms of main thread each and the browser a commit each, a significant share of
   * the CPU while a download runs at full speed. A batch that fails is written again piece by piece, so that a
   * quota error evicts and retries for each piece alone, and one piece's failure is not its neighbours'.
   */
  async #drain (): Promise<void> {
    clearTimeout(this.#drainTimer)
    this.#writing = true
    try {
      while (this.#queue.length > 0) {
        let n = 0
        let bytes = 0
        while (n < this.#queue.length && (n === 0 || bytes + this.#queue[n]!.data.length <= WRITE_BATCH_BYTES)) bytes += this.#queue[n++]!.data.length
        const batch = this.#queue.splice(0, n)
        this.#queuedBytes -= bytes
        if (batch.length > 1) {
          try {
            this.#check(undefined)
            await this.#write(await this.#open(), batch)
            for (const p of batch) p.resolve()
            continue
          } catch { /* each piece alone, below */ }
        }
        for (const p of batch) {
          try {
            await this.#putOne(p.index, p.data)
            p.resolve()
          } catch (err) {
            p.reject(err as Error)
          }
        }
      }
    } finally {
      this.#writing = false
    }
  }

  /** Writes one piece; on QuotaExceededError evicts other sites one at a time and retries. */
  async #putOne (index: number, data: Uint8Array): Promise<void> {
    this.#check(undefined)
    const db = await this.#open()
    const evicted = new Set<string>()
    for (;;) {
      this.#check(undefined)
      try {
        await this.#write(db, [{ index, data }])
        return
      } catch (err) {
        if (!isQuotaError(err)) {
          if (err instanceof StorageError || err instanceof AbortError) throw err
          throw new StorageError(`storing piece ${index} failed: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
        }
        const victim = await this.#evictOne(db, evicted).catch(() => undefined)
        if (victim === undefined) {
          throw new StorageError(`no room for piece ${index} (storage quota exceeded, nothing left to evict)`, 'ERR_QUOTA', { cause: err })
        }
        evicted.add(victim)
      }
    }
  }

  async #write (db: IDBDatabase, pieces: ReadonlyArray<{ index: number, data: Uint8Array }>): Promise<void> {
    await this.#alone(async () => {
      const now = this.#now()
      await transact(db, [PIECES, SITES], 'readwrite', (tx) => {
        putRuns(tx.objectStore(PIECES), this.infoHash, this.pieceLength, [...pieces].sort((a, b) => a.index - b.index))
        tx.objectStore(SITES).put({ infoHash: this.infoHash, lastUsed: now } satisfies SiteRecord)
        return () => undefined
      })
      this.#touchedAt = now
    })
  }

  /** Deletes every piece of the least recently used other site that is not active; its infohash, or undefined. */
  async #evictOne (db: IDBDatabase, skip: ReadonlySet<string>): Promise<string | undefined> {
    const sites = await transact(db, [SITES], 'readonly', (tx) => {
      const req = tx.objectStore(SITES).getAll()
      return () => req.result as SiteRecord[]
    })
    const now = this.#now()
    const candidates = sites
      .filter((s) => s.infoHash !== this.infoHash && !skip.has(s.infoHash) && now - s.lastUsed >= this.#activeMs)
      .sort((a, b) => a.lastUsed - b.lastUsed)
    const victim = candidates[0]
    if (victim === undefined) return undefined
    await transact(db, [PIECES, SITES], 'readwrite', (tx) => {
      tx.objectStore(PIECES).delete(pieceKeyRange(this.#keyRange, victim.infoHash))
      tx.objectStore(SITES).delete(victim.infoHash)
      return () => undefined
    })
    return victim.infoHash
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    this.#check(signal)
    const { pieceLength, offset, length } = pieceRange(this, index, range)
    const forgets = this.#forgets
    const inOrder = index === this.#lastGet + 1
    this.#lastGet = index
    // A run read lately: copied out (the caller may transfer or keep what it gets), or read from its Blob.
    const cached = this.#recent.find(({ span }) => index >= span.first && index < span.first + span.count)
    if (cached !== undefined) {
      const bytes = await this.#fromRun(cached, index, pieceLength, offset, length, inOrder).catch(() => undefined)
      if (bytes !== undefined) return bytes
      this.#recent = this.#recent.filter((r) => r !== cached) // unreadable now: look it up again
    }
    // A piece being read ahead (the other gets in flight of a reader in order): wait for it rather than read it too.
    const pending = this.#aheadRead
    if (pending !== undefined && index >= pending.from && index < pending.to) await pending.done
    if (this.#ahead.has(index)) {
      const value = this.#ahead.get(index)
      this.#ahead.delete(index)
      const piece = pieceInRecord({ key: [this.infoHash, index], first: index, count: 1, pieceLength: undefined }, value, index, pieceLength)
      // Deserialized for this get alone: handed out as it is when whole.
      if (piece instanceof Uint8Array && offset === 0 && length === piece.length) return piece
      const bytes = piece === undefined ? undefined : await readPiece(piece, offset, length).catch(() => undefined)
      if (bytes !== undefined) return bytes
    }
    // Read ahead for a reader in order of small pieces, unless the last read ahead covers this piece already (set
    // before any wait, so that the gets in flight after this one wait for it).
    const last = this.#aheadRead
    const aheadPieces = inOrder && this.pieceLength <= INLINE_BYTES && (last === undefined || index < last.from || index >= last.to)
      ? Math.floor(AHEAD_BYTES / this.pieceLength)
      : 0
    let aheadDone: (() => void) | undefined
    if (aheadPieces > 0) {
      const done = new Promise<void>((resolve) => { aheadDone = resolve })
      this.#aheadRead = { from: index + 1, to: index + 1 + aheadPieces, done }
    }
    let db: IDBDatabase
    try {
      db = await this.#open()
      this.#check(signal)
    } catch (err) {
      aheadDone?.()
      throw err
    }
    const touch = this.#now() - this.#touchedAt >= TOUCH_INTERVAL_MS
    let span: RecordSpan | undefined
    let value: unknown
    let shared: Promise<unknown> | undefined
    let mine: { id: string, resolve: (value: unknown) => void } | undefined
    let ahead: { keys: IDBValidKey[], values: unknown[] } | undefined
    try {
      await transact(db, touch ? [PIECES, SITES] : [PIECES], touch ? 'readwrite' : 'readonly', (tx) => {
        const store = tx.objectStore(PIECES)
        findRecord(store, this.#keyRange, this.infoHash, index, this.pieceLength, (found) => {
          span = found
          if (found === undefined) return
          const id = found.count > 1 ? String(found.key) : undefined
          // A run kept since this get looked (another get read it meanwhile): its value, not read again.
          const known = id === undefined ? undefined : this.#recent.find((r) => String(r.span.key) === id)
          if (known !== undefined) { value = known.value; return }
          if (id !== undefined) {
            shared = this.#reading.get(id)
            if (shared !== undefined) return
            let resolve!: (value: unknown) => void
            this.#reading.set(id, new Promise((r) => { resolve = r }))
            mine = { id, resolve }
          }
          const req = store.get(found.key)
          req.onsuccess = () => { value = req.result }
          if (found.count === 1 && found.pieceLength === undefined && aheadPieces > 0) {
            // In order, small pieces in records of their own: the next ones too, in this transaction.
            const range = this.#keyRange.bound([this.infoHash, index + 1], [this.infoHash, index + aheadPieces])
            const keys = store.getAllKeys(range)
            const values = store.getAll(range)
            values.onsuccess = () => { ahead = { keys: keys.result, values: values.result } }
          }
        })
        if (touch) tx.objectStore(SITES).put({ infoHash: this.infoHash, lastUsed: this.#now() } satisfies SiteRecord)
        return () => undefined
      })
    } catch (err) {
      throw new StorageError(`reading piece ${index} failed: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
    } finally {
      if (ahead !== undefined && forgets === this.#forgets) {
        // Only records of one piece (a run's key in the range is left to its own get), replacing those read before.
        const { keys, values } = ahead
        this.#ahead = new Map()
        keys.forEach((key, i) => {
          const at = recordSpan(key, this.infoHash)
          if (at !== undefined && at.pieceLength === undefined) this.#ahead.set(at.first, values[i])
        })
      }
      aheadDone?.()
      if (mine !== undefined) {
        this.#reading.delete(mine.id)
        mine.resolve(value)
      }
    }
    if (touch) this.#touchedAt = this.#now()
    if (shared !== undefined) value = await shared
    const piece = span === undefined ? undefined : pieceInRecord(span, value, index, pieceLength)
    if (span === undefined || piece === undefined) throw new StorageError(`piece ${index} is not stored`, 'ERR_NOT_FOUND')
    let bytes: Uint8Array | undefined
    try {
      if (span.count === 1) {
        // Each get deserializes a fresh copy, so the whole piece can be handed out as it is.
        if (piece instanceof Uint8Array && offset === 0 && length === piece.length) return piece
        bytes = await readPiece(piece, offset, length)
      } else {
        // The gets that shared this read share its entry too (one whole read of a Blob for a reader in order); only
        // the get that read it keeps it (a get that joined it may have started after a delete the read did not see).
        let run = this.#recent.find((r) => r.value === value)
        if (run === undefined) {
          run = { span, value: value as PieceData, bytes: value instanceof Uint8Array ? Promise.resolve(value) : undefined }
          if (mine !== undefined && forgets === this.#forgets) this.#remember(run)
        }
        bytes = await this.#fromRun(run, index, pieceLength, offset, length, inOrder)
      }
    } catch (err) {
      throw new StorageError(`reading piece ${index} failed: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
    }
    if (bytes === undefined) throw new StorageError(`piece ${index} is not stored`, 'ERR_NOT_FOUND')
    return bytes
  }

  /**
   * Bytes `offset`..`offset + length` of piece `index` (`size` long) from a run read lately, or undefined if the run
   * does not hold it whole. A run held as a Blob is read a piece at a time (a scattered reader: an uploader serving
   * what others ask for, a seek), unless the piece before was the last one asked for: then the reader goes in order,
   * and the whole run is read once for the pieces that follow (one read per run, as before runs were Blobs).
   */
  async #fromRun (run: CachedRun, index: number, size: number, offset: number, length: number, inOrder: boolean): Promise<Uint8Array | undefined> {
    if (run.bytes === undefined && inOrder && run.value instanceof Blob && index < run.span.first + run.span.count - 1) {
      const blob = run.value
      run.bytes = blob.arrayBuffer().then((b) => new Uint8Array(b))
      this.#trim()
    }
    if (run.bytes !== undefined) {
      const piece = pieceInRecord(run.span, await run.bytes, index, size)
      return piece === undefined ? undefined : (piece as Uint8Array).slice(offset, offset + length)
    }
    const piece = pieceInRecord(run.span, run.value, index, size)
    return piece === undefined ? undefined : await readPiece(piece, offset, length)
  }

  /**
   * Keeps a run just read for the next gets, the latest last: up to BLOB_CACHE runs, of which at most RECORD_CACHE
   * with their bytes (RUN_BYTES each at most; the others are Blob handles, nothing read).
   */
  #remember (run: CachedRun): void {
    this.#recent.push(run)
    if (this.#recent.length > BLOB_CACHE) this.#recent.shift()
    this.#trim()
  }

  #trim (): void {
    let held = this.#recent.filter((r) => r.bytes !== undefined).length
    for (let i = 0; held > RECORD_CACHE && i < this.#recent.length; i++) {
      const run = this.#recent[i]!
      if (run.bytes === undefined) continue
      held--
      if (run.value instanceof Uint8Array) this.#recent.splice(i--, 1)
      else run.bytes = undefined
    }
  }

  /**
   * Deletes one piece (a copy altered after it was stored, or one that could not be read: the engine fetches it
   * again). A run that holds it is written again without it (its other pieces stay stored, as the engine still counts
   * them), from bytes read out of it: WebKit (WebKitGTK 2.50, whose IndexedDB code Safari shares) stores a Blob made
   * of slices of a Blob read from IndexedDB wrongly, and such a rewrite left the run's other pieces unreadable
   * (NotFoundError) or holding another piece's bytes (README, "Browsers"). The read cannot happen inside the writing
   * transaction (IndexedDB commits a transaction at the first await that is not one of its requests), so a delete
   * takes three steps: a transaction finds the records holding the piece, their other pieces are read (a run's bytes
   * at most, RUN_BYTES, per record; one record but for a piece stored twice), and a second transaction removes those
   * records, if they are still there, and writes the pieces read. Writes wait meanwhile (#alone), so that no put
   * lands between the steps. A piece that cannot be read is left out: the engine finds it missing when it reads it.
   *
   * If that fails (a quota error rewriting the run, a run's record that cannot be read), the records holding the piece
   * are deleted whole, their other pieces with them, in a transaction that reads and writes nothing: a run left
   * holding the old copy would shadow the one the engine puts next (it is found first, or kept by a get of a
   * neighbour), and the pieces lost with it are fetched again when read, like any the store cannot read.
   */
  async delete (index: number): Promise<void> {
    this.#check(undefined)
    this.#forget(index)
    const db = await this.#open()
    try {
      await this.#alone(async () => {
        await this.#rewriteWithout(db, index).catch(async () => {
          await transact(db, [PIECES], 'readwrite', (tx) => {
            const store = tx.objectStore(PIECES)
            eachRecord(store, this.#keyRange, this.infoHash, index, this.pieceLength, (span) => { store.delete(span.key); return false }, () => {})
            return () => undefined
          })
        })
      })
    } finally {
      // A get that ran meanwhile may have kept the run as it was.
      this.#forget(index)
    }
  }

  /** Removes the records holding piece `index` and writes their other pieces back (see delete). */
  async #rewriteWithout (db: IDBDatabase, index: number): Promise<void> {
    const found = await transact(db, [PIECES], 'readonly', (tx) => {
      const store = tx.objectStore(PIECES)
      const records: Array<{ span: RecordSpan, value: unknown }> = []
      eachRecord(store, this.#keyRange, this.infoHash, index, this.pieceLength, (span) => {
        const record = { span, value: undefined as unknown }
        records.push(record)
        // A record of this piece alone is deleted unread.
        if (span.count > 1 && span.pieceLength !== undefined) store.get(span.key).onsuccess = (event) => { record.value = (event.target as IDBRequest).result }
        return false // every record that holds it (a piece stored twice)
      }, () => {})
      return () => records
    })
    const rewrites: Array<{ key: IDBValidKey, pieceLength: number, keep: Array<{ index: number, data: Uint8Array }> }> = []
    for (const { span, value } of found) {
      const keep: Array<{ index: number, data: Uint8Array }> = []
      if (span.pieceLength !== undefined && (value instanceof Uint8Array || (typeof Blob !== 'undefined' && value instanceof Blob))) {
        const total = sizeOf(value)
        for (let i = span.first; i < span.first + span.count; i++) {
          if (i === index) continue
          const at = (i - span.first) * span.pieceLength
          const end = i === span.first + span.count - 1 ? total : Math.min(total, at + span.pieceLength)
          if (end <= at) continue
          const data = await readPiece(value, at, end - at).catch(() => undefined)
          if (data !== undefined) keep.push({ index: i, data })
        }
      }
      rewrites.push({ key: span.key, pieceLength: span.pieceLength ?? this.pieceLength, keep })
    }
    if (rewrites.length === 0) return
    await transact(db, [PIECES], 'readwrite', (tx) => {
      const store = tx.objectStore(PIECES)
      for (const { key, pieceLength, keep } of rewrites) {
        // Gone meanwhile (a clear, or another tab): nothing to write back.
        store.count(key).onsuccess = (event) => {
          if ((event.target as IDBRequest<number>).result === 0) return
          store.delete(key)
          putRuns(store, this.infoHash, pieceLength, keep)
        }
      }
      return () => undefined
    })
  }

  /** Drops what gets kept of the records holding piece `index`, and keeps the gets in flight from keeping them. */
  #forget (index: number): void {
    this.#forgets++
    this.#recent = this.#recent.filter(({ span }) => index < span.first || index >= span.first + span.count)
    this.#ahead.delete(index)
  }

  /** Runs `body` after the writes and deletes before it, and before those after it (see delete). */
  #alone<T> (body: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(body)
    this.#turn = run.catch(() => {})
    return run
  }

  /** Deletes this site's pieces (e.g. the visitor clears the site). */
  async clear (): Promise<void> {
    this.#check(undefined)
    this.#forgets++
    this.#recent = []
    this.#ahead = new Map()
    const db = await this.#open()
    await transact(db, [PIECES, SITES], 'readwrite', (tx) => {
      tx.objectStore(PIECES).delete(pieceKeyRange(this.#keyRange, this.infoHash))
      tx.objectStore(SITES).delete(this.infoHash)
      return () => undefined
    })
  }

  /** Closes the connection; the pieces stay for the next visit. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#recent = []
    this.#ahead = new Map()
    const db = this.#db
    this.#db = undefined
    if (db !== undefined) (await db.catch(() => undefined))?.close()
  }

  #check (signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new AbortError()
    if (this.#closed) throw new StorageError('the store is closed', 'ERR_CLOSED')
  }
}

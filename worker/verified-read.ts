/**
 * Reads of site files that serve only verified bytes, wherever they come from: the piece cache (Cache Storage) or
 * the engine port (whose pieces may come from IndexedDB, or from a port a hostile script forged). Each whole piece is
 * checked against the torrent's SHA-1 (verify.ts) before its slice of the file is handed on; the response's consumer
 * pulls one piece at a time, and the next one is fetched and checked meanwhile (a paused video, or the download
 * manager, holds at most that one besides the engine's read window).
 *
 * A piece that fails is dropped where it came from: a cached copy is deleted, the engine is told (`bad-piece`: it
 * drops its stored copy and fetches it again from peers) and the read goes on from that piece. A leader whose pieces
 * fail twice loses its port (the real leader page introduces itself again); a piece that fails a third time ends the
 * read with EngineReadError 'verification'.
 */
import { AbortError, EngineReadError, type EnginePiece, type PieceRun } from './engine-client.js'
import { MAX_CACHED_FILE, type PieceCache, type VerifiedRuns } from './file-cache.js'
import type { OpenBody } from './site.js'
import { piecesOf, pieceSize, verifyPiece, type PieceTable } from './verify.js'

/** A plain site's build (scripts/build-browser.mjs): no sectioned index. */
declare const PEERSITE_PLAIN: boolean | undefined
/** Set in every browser build (undefined in Node's tests): onBadPiece, a probe for the tests, is left out of them. */
declare const PEERSITE_BROWSER: boolean | undefined

/** Tries per piece before the read fails: the first failure refetches it, the second also drops the leader. */
export const MAX_PIECE_ATTEMPTS = 3
/**
 * Bytes of pieces asked for ahead of the response's consumer, from the engine port and from the piece cache: each
 * piece one at a time cost a worker <-> page (or Cache Storage) round trip per piece, 5-15 ms on a busy machine,
 * which a 1 MB script of 16 KiB pieces paid 70 times in a row. Bounded, so a paused video or the download manager
 * still holds little: at most this much (or one piece, if pieces are larger) per open read.
 */
export const READ_WINDOW_BYTES = 2 * 1024 * 1024
const READ_WINDOW_MAX_PIECES = 32

/** Pieces of a read's window for this piece length (at least one). */
export function readWindow (pieceLength: number): number {
  return Math.max(1, Math.min(READ_WINDOW_MAX_PIECES, Math.floor(READ_WINDOW_BYTES / pieceLength)))
}

export interface PieceEngine {
  open (infoHash: string, run: PieceRun, signal?: AbortSignal, window?: number): Promise<ReadableStream<EnginePiece>>
  reject (infoHash: string, index: number, distrust?: boolean): void
}

export interface VerifiedReadInit {
  readonly table: PieceTable
  readonly engine: PieceEngine
  readonly cache?: PieceCache | undefined
  /** Runs verified in this worker's life (file-cache.ts): served without another read or check. */
  readonly memory?: VerifiedRuns | undefined
  /** Told of every piece that failed its check (Node's tests only: the browser builds leave the calls out). */
  readonly onBadPiece?: (index: number, source: 'cache' | 'engine') => void
}

/** Whether `bytes` are exactly the pieces `first`..`last`, each checked (in parallel: one file read from the cache). */
async function verifyRun (table: PieceTable, first: number, last: number, bytes: Uint8Array): Promise<boolean> {
  let size = 0
  for (let i = first; i <= last; i++) size += pieceSize(table, i)
  if (bytes.byteLength !== size) return false
  const checks: Array<Promise<boolean>> = []
  for (let i = first; i <= last; i++) {
    const at = (i - first) * table.pieceLength
    checks.push(verifyPiece(table, i, bytes.subarray(at, at + pieceSize(table, i))))
  }
  return (await Promise.all(checks)).every(Boolean)
}

/** The whole run `first`..`last` from the piece cache if it passes its check (a copy that fails is dropped), else undefined. */
async function cachedRun (init: VerifiedReadInit, first: number, last: number): Promise<Uint8Array | undefined> {
  const run = await init.cache!.getRun(first, last)
  if (run === undefined) return undefined
  if (await verifyRun(init.table, first, last, run)) return run
  init.cache!.deleteRun(first, last)
  if (typeof PEERSITE_BROWSER === 'undefined') init.onBadPiece?.(first, 'cache')
  return undefined
}

/** The verified run of small file `path` (a whole file), from memory or the piece cache (never the engine), else undefined. */
export async function verifiedRun (init: VerifiedReadInit, path: string): Promise<Uint8Array | undefined> {
  const { table, cache, memory } = init
  const file = table.files.get(path)
  if (file === undefined || cache === undefined || file.length === 0 || file.length > MAX_CACHED_FILE) return undefined
  const { first, last } = piecesOf(table, file.offset, 0, file.length)
  return await (memory === undefined ? cachedRun(init, first, last) : memory.get(first, last, async () => await cachedRun(init, first, last)))
}

/** An OpenBody (site.ts) that serves verified bytes only. */
export function verifiedOpen (init: VerifiedReadInit): OpenBody {
  return async (path, offset, length, signal) => await openVerified(init, path, offset, length, signal)
}

async function openVerified (init: VerifiedReadInit, path: string, offset: number, length: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const { table, engine, cache } = init
  const file = table.files.get(path)
  if (file === undefined) throw new EngineReadError('not-found', `no file ${path}`)
  const fileStart = file.offset
  if (offset < 0 || length <= 0 || offset + length > file.length) {
    throw new EngineReadError('range', `bytes ${offset}+${length} outside ${path}`)
  }
  const { first, last } = piecesOf(table, fileStart, offset, length)
  const start = fileStart + offset
  const end = start + length
  // Pieces of small files go to the cache (a whole page's worth); big media is read on demand each time.
  const cacheable = cache !== undefined && file.length <= MAX_CACHED_FILE
  // A small file's pieces are cached together when it is read whole (file-cache.ts), one by one otherwise. (The
  // range check above leaves no empty file here.)
  const whole = piecesOf(table, fileStart, 0, file.length)
  if (cacheable) {
    const run = await verifiedRun(init, path)
    if (run !== undefined) {
      const from = start - whole.first * table.pieceLength
      return new ReadableStream<Uint8Array>({
        start: (controller) => {
          controller.enqueue(run.subarray(from, from + length))
          controller.close()
        }
      })
    }
  }
  /** The verified pieces of a whole-file read, kept together in the cache once the last one is in. */
  const collect: Uint8Array[] | undefined = cacheable && first === whole.first && last === whole.last ? [] : undefined
  let index = first
  let engineReader: ReadableStreamDefaultReader<EnginePiece> | undefined
  let attempts = 0
  const window = readWindow(table.pieceLength)
  /** Cache lookups started ahead of the consumer (index -> its cached bytes, unverified). */
  const ahead = new Map<number, Promise<Uint8Array | undefined>>()
  const cached = (i: number): Promise<Uint8Array | undefined> => {
    for (let k = i; k <= last && k < i + window; k++) if (!ahead.has(k)) ahead.set(k, cache!.get(k).catch(() => undefined))
    const hit = ahead.get(i)!
    ahead.delete(i)
    return hit
  }

  const closeEngine = (): void => {
    void engineReader?.cancel().catch(() => {})
    engineReader = undefined
  }
  /** The consumer cancelled the body: the piece being fetched ahead (prepare) opens no engine read after that. */
  let cancelled = false

  const keep = (bytes: Uint8Array): void => {
    collect!.push(bytes)
    if (collect!.length !== last - first + 1) return
    const all = new Uint8Array(collect!.reduce((n, b) => n + b.byteLength, 0))
    let at = 0
    for (const b of collect!) { all.set(b, at); at += b.byteLength }
    collect!.length = 0
    cache!.putRun(first, last, all)
    init.memory?.set(first, last, all)
  }

  /** The verified bytes of piece `i` (called in order: each after the previous one has resolved). */
  const nextPiece = async (i: number): Promise<Uint8Array> => {
    if (engineReader === undefined && cache !== undefined) {
      const hit = await cached(i)
      if (hit !== undefined) {
        if (await verifyPiece(table, i, hit)) {
          if (collect !== undefined) keep(hit)
          return hit
        }
        cache.delete(i)
        if (typeof PEERSITE_BROWSER === 'undefined') init.onBadPiece?.(i, 'cache')
      }
    }
    // From here on the engine sends the rest of the read; lookups started ahead are dropped.
    ahead.clear()
    for (;;) {
      if (signal.aborted || cancelled) throw new AbortError()
      if (engineReader === undefined) {
        // An engine started without the info dictionary (a sectioned index) learns the hashes of the pieces it fetches here.
        // (A plain build has no sectioned index: its tables always know every hash.)
        const hashes = (typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) || table.known === undefined ? undefined : table.hashes.slice(i * 20, (last + 1) * 20).buffer
        engineReader = (await engine.open(table.infoHash, { path, offset, length, first: i, last, hashes }, signal, window)).getReader()
        if (cancelled) {
          closeEngine()
          throw new AbortError()
        }
      }
      const { done, value } = await engineReader.read()
      if (done) throw new EngineReadError('unavailable', `${path} ended early`)
      if (value.index === i && await verifyPiece(table, i, value.bytes)) {
        attempts = 0
        if (collect !== undefined) keep(value.bytes)
        else if (cacheable) cache.put(i, value.bytes)
        return value.bytes
      }
      attempts++
      if (typeof PEERSITE_BROWSER === 'undefined') init.onBadPiece?.(i, 'engine')
      closeEngine()
      if (attempts >= MAX_PIECE_ATTEMPTS) {
        engine.reject(table.infoHash, i, true)
        throw new EngineReadError('verification', `piece ${i} of ${path} failed verification ${attempts} times`)
      }
      engine.reject(table.infoHash, i, attempts >= 2)
    }
  }

  /** The part of piece `index` inside the range. */
  const slice = (bytes: Uint8Array): Uint8Array => {
    const pieceStart = index * table.pieceLength
    const from = Math.max(start, pieceStart) - pieceStart
    const to = Math.min(end, pieceStart + pieceSize(table, index)) - pieceStart
    return from === 0 && to === bytes.byteLength ? bytes : bytes.subarray(from, to)
  }

  /**
   * The next piece, fetched and checked while the consumer takes the one before: one piece at a time after each
   * pull, the worker's digest and port read added to every piece's time (a 1.1 MB script of 32 KiB pieces ended
   * 76 ms after its last piece had left the engine, on a loaded machine: bench/trace-visit.mjs).
   */
  let upcoming: Promise<Uint8Array> | undefined
  const prepare = (i: number): void => {
    if (i > last) return
    upcoming = nextPiece(i)
    upcoming.catch(() => {}) // a failure is thrown by the pull that awaits it
  }
  // The first piece before the response exists: a failure can still become an error page.
  let firstBytes: Uint8Array | undefined = slice(await nextPiece(first).catch((err: unknown) => { closeEngine(); throw err }))
  prepare(first + 1)
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        let bytes = firstBytes
        firstBytes = undefined
        if (bytes === undefined) {
          bytes = slice(await upcoming!)
          prepare(index + 1)
        }
        controller.enqueue(bytes)
        if (index++ >= last) {
          closeEngine()
          controller.close()
        }
      } catch (err) {
        closeEngine()
        throw err
      }
    },
    cancel: () => {
      cancelled = true
      closeEngine()
    }
  }, { highWaterMark: 0 })
}

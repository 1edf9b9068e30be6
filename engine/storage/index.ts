/**
 * Where verified pieces live. The engine writes a piece only after its SHA-1 matched, and reads pieces back to
 * serve readers and other peers. Implementations: memory (tests, browser fallback), fs (Node: the site's files),
 * idb (browser: IndexedDB, kept across visits), overflow (a persistent store that spills refused pieces to memory).
 */
import { StorageError } from '../errors.js'

export interface PieceStoreInit {
  /** Bytes in every piece but possibly the last. */
  readonly pieceLength: number
  /** Total bytes of the torrent. */
  readonly length: number
}

export interface PieceStore {
  readonly pieceLength: number
  readonly length: number
  /**
   * Stores one whole, verified piece. `data.length` must equal the piece's length. The caller must not modify `data`
   * until the returned promise settles: a store may write it later (IndexedDB writes in batches), and copying every
   * piece first costs a download at full speed measurable CPU. Once it settles the store holds no reference to it.
   */
  put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void>
  /**
   * Reads `length` bytes at `offset` inside piece `index` (the whole piece by default).
   * Rejects with StorageError code 'ERR_NOT_FOUND' when the piece was never put.
   */
  get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array>
  /**
   * Forgets piece `index` (a stored copy that failed a later check: the service worker hashes what it serves). Stores
   * that cannot delete leave it out; the engine then no longer counts the piece as held and overwrites it when the
   * piece is verified again.
   */
  delete?: (index: number) => Promise<void>
  /** Flushes and releases resources; the data stays (fs) or goes (memory). */
  close (): Promise<void>
}

/**
 * Shared argument checks for PieceStore implementations, so every store rejects the same misuse the same way:
 * returns the piece's length and the byte range inside it, or throws StorageError 'ERR_OUT_OF_RANGE'.
 */
export function pieceRange (
  store: Pick<PieceStore, 'pieceLength' | 'length'>,
  index: number,
  range?: { offset: number, length: number }
): { pieceLength: number, offset: number, length: number } {
  const pieceCount = Math.ceil(store.length / store.pieceLength)
  if (!Number.isInteger(index) || index < 0 || index >= pieceCount) {
    throw new StorageError(`piece ${index} out of range (0-${pieceCount - 1})`, 'ERR_OUT_OF_RANGE')
  }
  const pieceLength = index < pieceCount - 1 ? store.pieceLength : store.length - store.pieceLength * (pieceCount - 1)
  if (range === undefined) return { pieceLength, offset: 0, length: pieceLength }
  const { offset, length } = range
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > pieceLength) {
    throw new StorageError(`range ${offset}+${length} outside piece ${index} (${pieceLength} bytes)`, 'ERR_OUT_OF_RANGE')
  }
  return { pieceLength, offset, length }
}

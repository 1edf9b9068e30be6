/**
 * Where verified pieces live. The engine writes a piece only after its SHA-1 matched, and reads pieces back to
 * serve readers and other peers. Implementations: memory (tests, browser fallback), fs (Node: the site's files).
 */

export interface PieceStoreInit {
  /** Bytes in every piece but possibly the last. */
  readonly pieceLength: number
  /** Total bytes of the torrent. */
  readonly length: number
}

export interface PieceStore {
  readonly pieceLength: number
  readonly length: number
  /** Stores one whole, verified piece. `data.length` must equal the piece's length. */
  put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void>
  /**
   * Reads `length` bytes at `offset` inside piece `index` (the whole piece by default).
   * Rejects with StorageError code 'ERR_NOT_FOUND' when the piece was never put.
   */
  get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array>
  /** Flushes and releases resources; the data stays (fs) or goes (memory). */
  close (): Promise<void>
}

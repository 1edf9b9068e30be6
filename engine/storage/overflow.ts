/**
 * A persistent store with a memory overflow: when the primary store refuses a verified piece (quota exceeded after
 * eviction, IndexedDB broken mid-session), the piece is kept in memory instead, so the engine still serves it to the
 * page and to peers for the rest of the visit. Without this the Downloader would drop the piece and fetch it again,
 * and again, for as long as the quota stays full.
 *
 * After the first refusal the primary is not asked again for `retryMs` (a full quota rarely frees itself within
 * seconds, and each refusal costs an eviction scan). The memory part is bounded by `maxMemoryBytes`; beyond it the
 * put rejects (the Downloader then stops wanting the piece: see download.ts).
 *
 * `maxBytes` bounds what the store takes in all during its life (one visit), primary and memory together. The
 * primary is not always on disk: Chromium keeps the IndexedDB of an off-the-record profile (an incognito or guest
 * window) in the browser process's memory, and a page cannot tell. Without a bound, streaming a 1 GB file there
 * costs 1 GB of RAM until the window closes (bench/download.mjs). Beyond the bound a put rejects with ERR_QUOTA,
 * and the torrent hands such pieces to the readers waiting for them without keeping them (download.ts #held).
 */
import { AbortError, StorageError } from '../errors.js'
import { MemoryStore } from './memory.js'
import type { PieceStore } from './index.js'

export interface OverflowStoreInit {
  /** Bytes this store accepts in all (primary and memory), pieces put again counted again; default unbounded. */
  readonly maxBytes?: number
  /** Bytes kept in memory at most; default 256 MiB. */
  readonly maxMemoryBytes?: number
  /** After a refusal, puts go straight to memory for this long; default 60 s. */
  readonly retryMs?: number
  /** Told once per refusal streak (the loader logs it). */
  readonly onOverflow?: (err: Error) => void
}

/** Errors that say something about the call, not about the primary's health: passed through as they are. */
const CALLER_ERRORS = new Set(['ERR_OUT_OF_RANGE', 'ERR_INVALID_LENGTH', 'ERR_CLOSED'])

export class OverflowStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  readonly primary: PieceStore
  readonly memory: MemoryStore
  readonly #retryMs: number
  readonly #onOverflow: ((err: Error) => void) | undefined
  readonly #maxBytes: number
  #refusedAt: number | undefined
  #bytes = 0

  constructor (primary: PieceStore, init: OverflowStoreInit = {}) {
    this.primary = primary
    this.pieceLength = primary.pieceLength
    this.length = primary.length
    this.memory = new MemoryStore({ pieceLength: primary.pieceLength, length: primary.length, maxBytes: init.maxMemoryBytes ?? 256 * 1024 * 1024 })
    this.#retryMs = init.retryMs ?? 60_000
    this.#onOverflow = init.onOverflow
    this.#maxBytes = init.maxBytes ?? Number.POSITIVE_INFINITY
  }

  /** Bytes taken so far (primary and memory). */
  get bytes (): number { return this.#bytes }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.#bytes + data.length > this.#maxBytes) {
      throw new StorageError(`storing piece ${index} would take this visit past its ${this.#maxBytes} bytes`, 'ERR_QUOTA')
    }
    // Counted before the write: puts run concurrently, and each must see the others' bytes.
    this.#bytes += data.length
    try {
      await this.#put(index, data, signal)
    } catch (err) {
      this.#bytes -= data.length
      throw err
    }
  }

  async #put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    // A piece already in memory stays there (get looks in memory first).
    if (!this.memory.has(index) && (this.#refusedAt === undefined || Date.now() - this.#refusedAt >= this.#retryMs)) {
      try {
        await this.primary.put(index, data, signal)
        this.#refusedAt = undefined
        return
      } catch (err) {
        if (err instanceof AbortError || (err instanceof StorageError && CALLER_ERRORS.has(err.code))) throw err
        if (this.#refusedAt === undefined) this.#onOverflow?.(err as Error)
        this.#refusedAt = Date.now()
      }
    }
    await this.memory.put(index, data, signal)
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.memory.has(index)) return await this.memory.get(index, range, signal)
    return await this.primary.get(index, range, signal)
  }

  async delete (index: number): Promise<void> {
    await this.memory.delete(index)
    await this.primary.delete?.(index)
  }

  async close (): Promise<void> {
    await this.memory.close()
    await this.primary.close()
  }
}

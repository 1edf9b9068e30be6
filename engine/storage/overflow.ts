/**
 * A persistent store with a memory overflow: when the primary store refuses a verified piece (quota exceeded after
 * eviction, IndexedDB broken mid-session), the piece is kept in memory instead, so the engine still serves it to the
 * page and to peers for the rest of the visit. Without this the Downloader would drop the piece and fetch it again,
 * and again, for as long as the quota stays full.
 *
 * After the first refusal the primary is not asked again for `retryMs` (a full quota rarely frees itself within
 * seconds, and each refusal costs an eviction scan). The memory part is bounded by `maxMemoryBytes`; beyond it the
 * put rejects (the Downloader then stops wanting the piece: see download.ts).
 */
import { AbortError, StorageError } from '../errors.js'
import { MemoryStore } from './memory.js'
import type { PieceStore } from './index.js'

export interface OverflowStoreInit {
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
  #refusedAt: number | undefined

  constructor (primary: PieceStore, init: OverflowStoreInit = {}) {
    this.primary = primary
    this.pieceLength = primary.pieceLength
    this.length = primary.length
    this.memory = new MemoryStore({ pieceLength: primary.pieceLength, length: primary.length, maxBytes: init.maxMemoryBytes ?? 256 * 1024 * 1024 })
    this.#retryMs = init.retryMs ?? 60_000
    this.#onOverflow = init.onOverflow
  }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
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

  async close (): Promise<void> {
    await this.memory.close()
    await this.primary.close()
  }
}

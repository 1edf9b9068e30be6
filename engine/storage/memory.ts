/**
 * Pieces kept in memory: the store for tests and the browser's last resort when neither OPFS nor IndexedDB is
 * available. `maxBytes` simulates a storage quota so the engine's quota handling can be tested without a browser.
 */
import { CHECK_ARGS } from '../constants.js'
import { AbortError, StorageError } from '../errors.js'
import { pieceRange, type PieceStore, type PieceStoreInit } from './index.js'

export interface MemoryStoreInit extends PieceStoreInit {
  /** Total piece bytes this store accepts; a put beyond it rejects with StorageError 'ERR_QUOTA'. */
  readonly maxBytes?: number
}

export class MemoryStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  readonly maxBytes: number
  readonly #pieces = new Map<number, Uint8Array>()
  #bytes = 0
  #closed = false

  constructor (init: MemoryStoreInit) {
    if (CHECK_ARGS && (!Number.isSafeInteger(init.pieceLength) || init.pieceLength <= 0)) throw new RangeError(`invalid piece length ${init.pieceLength}`)
    if (CHECK_ARGS && (!Number.isSafeInteger(init.length) || init.length < 0)) throw new RangeError(`invalid length ${init.length}`)
    this.pieceLength = init.pieceLength
    this.length = init.length
    this.maxBytes = init.maxBytes ?? Number.POSITIVE_INFINITY
  }

  /** Bytes currently held. */
  get bytes (): number { return this.#bytes }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#check(signal)
    const { pieceLength } = pieceRange(this, index)
    if (data.length !== pieceLength) {
      throw new StorageError(`piece ${index} is ${pieceLength} bytes, got ${data.length}`, 'ERR_INVALID_LENGTH')
    }
    const previous = this.#pieces.get(index)?.length ?? 0
    const after = this.#bytes - previous + data.length
    if (after > this.maxBytes) {
      throw new StorageError(`storing piece ${index} would use ${after} of ${this.maxBytes} bytes`, 'ERR_QUOTA')
    }
    // A copy: the caller may reuse its buffer, and what we serve must stay what was verified.
    this.#pieces.set(index, data.slice())
    this.#bytes = after
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    this.#check(signal)
    const { offset, length } = pieceRange(this, index, range)
    const piece = this.#pieces.get(index)
    if (piece === undefined) throw new StorageError(`piece ${index} is not stored`, 'ERR_NOT_FOUND')
    // A copy, so a reader cannot alter the verified bytes other peers will be served.
    return piece.slice(offset, offset + length)
  }

  async delete (index: number): Promise<void> {
    const piece = this.#pieces.get(index)
    if (piece === undefined) return
    this.#pieces.delete(index)
    this.#bytes -= piece.length
  }

  /** Whether piece `index` was put (for tests; the engine tracks its own bitfield). */
  has (index: number): boolean {
    return this.#pieces.has(index)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#pieces.clear()
    this.#bytes = 0
  }

  #check (signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new AbortError()
    if (this.#closed) throw new StorageError('the store is closed', 'ERR_CLOSED')
  }
}

/**
 * A store whose persistent part comes later: pieces wait in memory until attach() hands it over, then move there, and
 * every later put goes to it. A visitor's first visit stores this way (loader/engine-host.ts): nothing is stored yet
 * on it, and the IndexedDB store's code loads after the first site byte (peersite-later.js). A piece the persistent
 * store refuses while moving stays in memory, readable, as it would in OverflowStore.
 *
 * `maxBytes` (the visit's storage budget, loader/engine-host.ts storeBudget) bounds memory and attached store
 * together. The attached store has the same budget of its own, but it cannot see the pieces still waiting here: the
 * download goes on while attach() moves them, and puts that went straight to it took its room, the waiting pieces
 * could not follow and stayed in memory, and the visit held up to twice its budget (test/e2e/download.test.ts, seen
 * when IndexedDB's code loaded late on a loaded machine). So a put after attach counts what is still waiting here.
 */
import { StorageError } from '../errors.js'
import type { PieceStore } from './index.js'
import { MemoryStore, type MemoryStoreInit } from './memory.js'

export class LateStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  readonly #memory: MemoryStore
  /** Pieces held in #memory. */
  readonly #waiting = new Set<number>()
  #target: PieceStore | undefined
  /**
   * Bytes handed to the attached store (moved or put), counted before each write (puts run concurrently) and never
   * given back: the attached store's own budget counts them that way (storage/overflow.ts).
   */
  #handed = 0
  #closed = false

  constructor (init: MemoryStoreInit) {
    this.#memory = new MemoryStore(init)
    this.pieceLength = init.pieceLength
    this.length = init.length
  }

  /** Whether the persistent store has been attached. */
  get attached (): boolean { return this.#target !== undefined }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const target = this.#target
    if (target === undefined) {
      await this.#memory.put(index, data, signal)
      this.#waiting.add(index)
      return
    }
    // A piece still waiting in memory is counted there until it leaves.
    if (this.#memory.bytes + this.#handed + data.length > this.#memory.maxBytes) {
      throw new StorageError(`storing piece ${index} would take this visit past its ${this.#memory.maxBytes} bytes`, 'ERR_QUOTA')
    }
    await this.#hand(target, index, data, signal)
    if (this.#waiting.delete(index)) await this.#memory.delete(index)
  }

  /** target.put, counted in #handed (given back if the put fails: nothing was taken). */
  async #hand (target: PieceStore, index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#handed += data.length
    try {
      await target.put(index, data, signal)
    } catch (err) {
      this.#handed -= data.length
      throw err
    }
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.#target === undefined || this.#waiting.has(index)) return await this.#memory.get(index, range, signal)
    return await this.#target.get(index, range, signal)
  }

  async delete (index: number): Promise<void> {
    this.#waiting.delete(index)
    await this.#memory.delete(index)
    await this.#target?.delete?.(index)
  }

  /**
   * Hands over the persistent store (same layout): it takes every put from now on, and the pieces waiting in memory
   * move there. Resolves once they have; a store attached after close() is closed.
   */
  async attach (target: PieceStore): Promise<void> {
    if (target.pieceLength !== this.pieceLength || target.length !== this.length) throw new StorageError('the attached store has another layout', 'ERR_INVALID_LENGTH')
    if (this.#target !== undefined) throw new StorageError('a store is attached already', 'ERR_CLOSED')
    if (this.#closed) {
      await target.close()
      return
    }
    this.#target = target
    for (const index of [...this.#waiting]) {
      try {
        const data = await this.#memory.get(index)
        await this.#hand(target, index, data)
      } catch {
        continue // refused (quota) or deleted meanwhile: it stays where it is
      }
      if (this.#waiting.delete(index)) await this.#memory.delete(index)
    }
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#waiting.clear()
    await this.#memory.close()
    await this.#target?.close()
  }
}

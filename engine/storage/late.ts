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
   * Bytes offered to the attached store (moved or put), counted before each write (puts run concurrently) and never
   * given back, as the attached store's own budget counts them (storage/overflow.ts); a put it refused (rare: its
   * budget is the same) stays counted, which errs on the safe side.
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
    // A piece still waiting in memory is counted there until it leaves. (MemoryStore's wording: gzip shares it.)
    const after = this.#memory.bytes + this.#handed + data.length
    if (after > this.#memory.maxBytes) throw new StorageError(`storing piece ${index} would use ${after} of ${this.#memory.maxBytes} bytes`, 'ERR_QUOTA')
    this.#handed += data.length
    await target.put(index, data, signal)
    if (this.#waiting.delete(index)) await this.#memory.delete(index)
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
        this.#handed += data.length
        await target.put(index, data)
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

/**
 * A store whose persistent part comes later: pieces wait in memory until attachStore() hands it over, then move there, and
 * every later put goes to it. A visitor's first visit stores this way (loader/engine-host.ts): nothing is stored yet
 * on it, and the IndexedDB store's code loads after the first site byte (peersite-later.js). A piece the persistent
 * store refuses while moving stays in memory, readable, as it would in OverflowStore.
 *
 * `maxBytes` (the visit's storage budget, loader/engine-host.ts storeBudget) bounds memory and attached store
 * together. The attached store has the same budget of its own, but it cannot see the pieces still waiting here: the
 * download goes on while attach() moves them, and puts that went straight to it took its room, the waiting pieces
 * could not follow and stayed in memory, and the visit held up to twice its budget (test/e2e/download.test.ts, seen
 * when IndexedDB's code loaded late on a loaded machine). So a put after attach counts what is still waiting here.
 *
 * Until then it is memory and a list: the handing over and what a put does afterwards (engine/storage/late-attach.ts)
 * come with the IndexedDB store's code in peersite-later.js, which is what attaches a store.
 */
import type { PieceStore } from './index.js'
import { MemoryStore, type MemoryStoreInit } from './memory.js'

export class LateStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  /** Where pieces wait until a store is attached (and where those it refused stay). */
  readonly memory: MemoryStore
  /** The pieces in `memory` that have not moved to the attached store. */
  readonly waiting = new Set<number>()
  /** What every call goes to once a store is attached (late-attach.ts): the attached store, with `memory` in front. */
  handover: PieceStore | undefined
  closed = false

  constructor (init: MemoryStoreInit) {
    this.memory = new MemoryStore(init)
    this.pieceLength = init.pieceLength
    this.length = init.length
  }

  get attached (): boolean { return this.handover !== undefined }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.handover !== undefined) return await this.handover.put(index, data, signal)
    await this.memory.put(index, data, signal)
    this.waiting.add(index)
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    return await (this.handover ?? this.memory).get(index, range, signal)
  }

  async delete (index: number): Promise<void> {
    this.waiting.delete(index)
    await (this.handover ?? this.memory).delete!(index)
  }

  async close (): Promise<void> {
    this.closed = true
    this.waiting.clear()
    await (this.handover ?? this.memory).close()
  }
}

/**
 * A LateStore's (late.ts) handing over to its persistent store, in peersite-later.js with the IndexedDB store's code
 * (loader/later.ts): nothing before the first site byte attaches a store. attachStore moves the pieces waiting in
 * memory to the attached store; afterwards every call goes through a Handover, which puts to the attached store,
 * reads a piece from memory while it is still waiting there, and bounds memory and the attached store together by
 * the visit's budget (late.ts says why a put counts what is still waiting).
 */
import { StorageError } from '../errors.js'
import type { PieceStore } from './index.js'
import type { LateStore } from './late.js'

class Handover implements PieceStore {
  readonly #late: LateStore
  readonly #target: PieceStore
  /** Bytes given to the attached store (moved or put). */
  handed = 0

  constructor (late: LateStore, target: PieceStore) {
    this.#late = late
    this.#target = target
  }

  get pieceLength (): number { return this.#late.pieceLength }
  get length (): number { return this.#late.length }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const { memory, waiting } = this.#late
    // A piece still waiting in memory is counted there until it leaves. (MemoryStore's wording: gzip shares it.)
    const after = memory.bytes + this.handed + data.length
    if (after > memory.maxBytes) throw new StorageError(`storing piece ${index} would use ${after} of ${memory.maxBytes} bytes`, 'ERR_QUOTA')
    this.handed += data.length
    await this.#target.put(index, data, signal)
    if (waiting.delete(index)) await memory.delete(index)
  }

  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    return await (this.#late.waiting.has(index) ? this.#late.memory : this.#target).get(index, range, signal)
  }

  /** (Reached through LateStore.delete, which has already taken the piece off the waiting list.) */
  async delete (index: number): Promise<void> {
    await this.#late.memory.delete(index)
    await this.#target.delete?.(index)
  }

  async close (): Promise<void> {
    await this.#late.memory.close()
    await this.#target.close()
  }
}

/** Hands `late` over to `target` (same layout; once): what waits in memory moves there, and so does every later put. */
export async function attachStore (late: LateStore, target: PieceStore): Promise<void> {
  if (target.pieceLength !== late.pieceLength || target.length !== late.length) throw new StorageError('the attached store has another layout', 'ERR_INVALID_LENGTH')
  if (late.handover !== undefined) throw new StorageError('a store is attached already', 'ERR_CLOSED')
  if (late.closed) {
    await target.close()
    return
  }
  const handover = late.handover = new Handover(late, target)
  const { memory, waiting } = late
  for (const index of [...waiting]) {
    try {
      const data = await memory.get(index)
      handover.handed += data.length
      await target.put(index, data)
    } catch {
      continue // refused (quota) or deleted meanwhile: it stays where it is
    }
    if (waiting.delete(index)) await memory.delete(index)
  }
}

/**
 * Reading torrent bytes as they are verified (what the service worker and `serve` use): readers waiting for pieces,
 * the window of pieces each reader raises in the picker, and where a verified piece's bytes come from (memory while
 * the store is still writing it, else the store).
 */
import { READ_PRIORITY_AHEAD, READ_PRIORITY_NOW, readAheadPieces } from './constants.js'
import type { Downloader } from './download.js'
import { AbortError, pieceLost } from './errors.js'
import { pieceLengthAt, piecesForRange, type Metainfo } from './metainfo/index.js'
import type { PieceStore } from './storage/index.js'
import type { Peer } from './wire/peer.js'

declare const PEERSITE_BROWSER: boolean | undefined

export interface ReaderComponents {
  /** Resolves once the metainfo is known. */
  ready: (signal?: AbortSignal) => Promise<Metainfo>
  /** Both set once the metainfo is known. */
  downloader: () => Downloader | undefined
  store: () => PieceStore | undefined
  peers: () => Iterable<Peer>
  /** A reader is about to wait for piece `index` (its window ends at `last`): the web seeds' cue (engine/webseed.ts). */
  stalled?: (index: number, last: number, signal?: AbortSignal) => void
  /**
   * The store could not read piece `index`, which it was said to hold (`err`): no longer held, fetched again
   * (Torrent.forgetPiece); or rejects with `err` (a store that cannot delete: Node's, files the user's).
   */
  lost: (index: number, err: unknown) => Promise<void>
}

interface Waiter { resolve: () => void, reject: (err: Error) => void }

export class Reader {
  readonly #c: ReaderComponents
  readonly #waiters = new Map<number, Set<Waiter>>()
  /** Set by rejectAll: the torrent is gone, and every read fails with it from then on. */
  #ended: Error | undefined

  constructor (components: ReaderComponents) {
    this.#c = components
  }

  /** Readers waiting for piece `index` may go on: it is verified (stored, or in memory: Downloader.readable). */
  wake (index: number): void {
    const waiters = this.#waiters.get(index)
    this.#waiters.delete(index)
    if (waiters !== undefined) for (const w of waiters) w.resolve()
  }

  /**
   * The torrent is going away: every read fails with `err`, those waiting now and those that go on or start later
   * (a reader whose consumer takes its next chunk, a read of a piece held in the store, which is closed now).
   */
  rejectAll (err: Error): void {
    this.#ended = err
    for (const set of this.#waiters.values()) for (const w of set) w.reject(err)
    this.#waiters.clear()
  }

  /** Throws if reads must stop: the torrent's end (rejectAll), or `signal` aborted. */
  #live (signal?: AbortSignal): void {
    if (this.#ended !== undefined) throw this.#ended
    if (signal?.aborted === true) throw new AbortError()
  }

  /** Resolves when piece `index` is verified: stored, or in memory (Downloader.readable). */
  async #waitForPiece (index: number, signal?: AbortSignal): Promise<void> {
    const downloader = this.#c.downloader()
    if (downloader?.have.has(index) === true || downloader?.readable(index) !== undefined) return
    await new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(index)
      if (set === undefined) {
        set = new Set()
        this.#waiters.set(index, set)
      }
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        }
      }
      const onAbort = (): void => {
        set.delete(waiter)
        reject(new AbortError())
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      set.add(waiter)
    })
  }

  /**
   * Reads torrent bytes [offset, offset + length) as they are verified. Only a window of the range is raised in the
   * picker: the piece under the reader at READ_PRIORITY_NOW, the next readAheadPieces() at READ_PRIORITY_AHEAD
   * (constants.ts), moved as the reader advances. The window is dropped when the read ends, is returned early, or
   * its `signal` aborts (at once, even while the consumer sits on a chunk: a seek must not leave the old position's
   * pieces ahead of the new one).
   */
  async * read (offset: number, length: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (typeof PEERSITE_BROWSER === 'undefined') this.#live(signal)
    // Torrent.ready fails at the torrent's end too (Node, where a read may start before the metainfo is known).
    const metainfo = await this.#c.ready(signal)
    this.#live(signal)
    if (offset < 0 || length < 0 || offset + length > metainfo.length) throw new RangeError('read beyond the torrent')
    const { first, last } = piecesForRange(metainfo, offset, length)
    if (first > last) return
    const downloader = this.#c.downloader()!
    const picker = downloader.picker
    const ahead = readAheadPieces(metainfo.pieceLength)
    let releases: Array<() => void> = []
    const releaseWindow = (): void => {
      for (const release of releases) release()
      releases = []
    }
    signal?.addEventListener('abort', releaseWindow, { once: true })
    try {
      for (let index = first; index <= last; index++) {
        this.#live(signal)
        releaseWindow()
        releases.push(picker.addPriority(index, index, READ_PRIORITY_NOW))
        if (index < last) releases.push(picker.addPriority(index + 1, Math.min(last, index + ahead), READ_PRIORITY_AHEAD))
        downloader.rush(index, this.#c.peers())
        downloader.fillAll(this.#c.peers())
        const pieceStart = index * metainfo.pieceLength
        const from = Math.max(offset, pieceStart) - pieceStart
        const to = Math.min(offset + length, pieceStart + pieceLengthAt(metainfo, index)) - pieceStart
        yield await this.#pieceBytes(downloader, index, from, to, Math.min(last, index + ahead), signal)
      }
    } finally {
      signal?.removeEventListener('abort', releaseWindow)
      releaseWindow()
    }
  }

  /**
   * Bytes [from, to) of piece `index` once verified: a copy of the piece while it is still on its way into the store
   * (IndexedDB commits lag while a download runs at full speed) or after the store refused it, else from the store.
   * Copies: the reader may transfer or keep the bytes. A stored piece the store cannot read is fetched again (`lost`).
   */
  async #pieceBytes (downloader: Downloader, index: number, from: number, to: number, last: number, signal?: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      const held = downloader.readable(index)
      if (held !== undefined) return held.slice(from, to)
      if (downloader.have.has(index)) {
        try {
          return await this.#c.store()!.get(index, { offset: from, length: to - from }, signal)
        } catch (err) {
          // A stored piece that cannot be read is missing: forgotten (no longer held nor served), fetched again from
          // peers, and this reader waits for it below like for any missing piece, rather than failing the request.
          // Unless the read was aborted or the torrent is gone (its store closed under the read).
          this.#live(signal)
          if (!pieceLost(err)) throw err
          await this.#c.lost(index, err)
        }
      }
      // Not here yet, or a piece the store refused that was dropped from memory before this reader came back to it
      // (the picker fetches it again). Nothing wakes a waiter after the torrent's end or its signal's abort (the
      // torrent may have ended, or the signal aborted, while the store was read or the piece forgotten).
      this.#live(signal)
      this.#c.stalled?.(index, last, signal)
      await this.#waitForPiece(index, signal)
    }
  }
}

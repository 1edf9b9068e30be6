/**
 * Serving blocks to peers: each peer's queue of `request` messages, answered from the store while the data
 * channel has room (SEND_HIGH_WATER_MARK), resumed on `drain`. Recently read pieces are kept whole so that the 16
 * KiB requests of one piece cost one store read, not one per block. A piece announced while the store is still
 * writing it (engine/download.ts) is served from its verified bytes in memory (UploaderContext.readable).
 */
import { BLOCK_LENGTH, MAX_QUEUED_UPLOAD_REQUESTS, SEND_COALESCE_BYTES, SEND_HIGH_WATER_MARK } from './constants.js'
import { ProtocolError, pieceLost } from './errors.js'
import { pieceLengthAt, type Metainfo } from './metainfo/index.js'
import type { Bitfield } from './bitfield.js'
import type { PieceStore } from './storage/index.js'
import type { Peer } from './wire/peer.js'
import type { Spread } from './spread.js'

interface UploadRequest { index: number, begin: number, length: number }
/** A queued request; `heldSince`: when the spread policy first held it back (engine/spread.ts). */
interface QueuedRequest extends UploadRequest { heldSince?: number }

/**
 * Whole pieces kept after a read: at least 8, else about 4 MiB of them (32 pieces of 128 KiB), so that the pieces
 * read ahead for every unchoked peer stay cached until they are sent.
 */
const PIECE_CACHE_MIN = 8
/** 4 MiB, as a literal: a product is kept by esbuild as a possible side effect, in bundles that leave upload.ts out. */
const PIECE_CACHE_BYTES = 4_194_304
/**
 * While one batch is read and sent, the store reads of the next few distinct pieces in the peer's queue start too:
 * the read is then off the critical path (the data channel never waits for the disk or IndexedDB).
 */
const PREFETCH_PIECES = 4
/** How far into the queue the read-ahead looks for those pieces. */
const PREFETCH_SCAN = 64
/** A piece message's framing: length prefix (4), id (1), index (4), begin (4). */
const PIECE_HEADER_LENGTH = 13

export interface UploaderContext {
  readonly metainfo: Metainfo
  readonly store: PieceStore
  readonly have: Bitfield
  /**
   * A verified piece held in memory (on its way into the store, or refused by it: Downloader.readable), served from
   * there; pieces neither `have` nor readable are not served.
   */
  readable?: (index: number) => Uint8Array | undefined
  onUploaded (peer: Peer, bytes: number): void
  warn (peer: Peer, err: Error): void
  /**
   * A piece held that the store could not read (engine/errors.ts pieceLost): the torrent forgets it and fetches it
   * again. Absent for a store that cannot delete (Node's files): such a failure is a warning.
   */
  lost?: (index: number) => void
  /** The publisher's seeder: hold back requests for pieces other peers can serve (engine/spread.ts). */
  readonly spread?: Spread<Peer>
  /** Default Date.now. */
  now?: () => number
}

export class Uploader {
  readonly #ctx: UploaderContext
  readonly #queues = new Map<Peer, QueuedRequest[]>()
  /** Per peer: a timer that serves its held requests when the first of them has waited long enough. */
  readonly #holdTimers = new Map<Peer, ReturnType<typeof setTimeout>>()
  readonly #serving = new Set<Peer>()
  readonly #cache = new Map<number, Promise<Uint8Array>>()
  readonly #cacheSize: number

  constructor (ctx: UploaderContext) {
    this.#ctx = ctx
    this.#cacheSize = Math.max(PIECE_CACHE_MIN, Math.ceil(PIECE_CACHE_BYTES / Math.max(1, ctx.metainfo.pieceLength)))
  }

  /**
   * A `request` message. Out-of-range requests break the protocol; requests for pieces we lack are ignored (BEP 3
   * has no refusal without the fast extension, which we do not implement: the requester times out and asks another).
   */
  onRequest (peer: Peer, req: UploadRequest): void {
    const { metainfo } = this.#ctx
    if (req.index >= metainfo.pieceCount || req.length <= 0 || req.length > BLOCK_LENGTH ||
        req.begin + req.length > pieceLengthAt(metainfo, req.index)) {
      this.#ctx.warn(peer, new ProtocolError(`invalid request ${req.index}:${req.begin}+${req.length}`))
      peer.destroy()
      return
    }
    if (peer.amChoking || !this.#holds(req.index)) return
    let queue = this.#queues.get(peer)
    if (queue === undefined) {
      queue = []
      this.#queues.set(peer, queue)
      peer.connection.on('drain', () => { void this.#serve(peer) })
    }
    if (queue.length >= MAX_QUEUED_UPLOAD_REQUESTS) return
    queue.push({ index: req.index, begin: req.begin, length: req.length })
    void this.#serve(peer)
  }

  onCancel (peer: Peer, req: UploadRequest): void {
    const queue = this.#queues.get(peer)
    if (queue === undefined) return
    const i = queue.findIndex((r) => r.index === req.index && r.begin === req.begin && r.length === req.length)
    if (i >= 0) queue.splice(i, 1)
    this.#ctx.spread?.cancelled(peer, req.index)
  }

  /** BEP 3: after choking a peer its pending requests are discarded. */
  onChoked (peer: Peer): void {
    this.#queues.get(peer)?.splice(0)
    this.#ctx.spread?.cancelled(peer)
  }

  removePeer (peer: Peer): void {
    this.#queues.delete(peer)
    this.#clearHoldTimer(peer)
    this.#ctx.spread?.remove(peer)
  }

  async #serve (peer: Peer): Promise<void> {
    if (this.#serving.has(peer)) return
    this.#serving.add(peer)
    try {
      const queue = this.#queues.get(peer)
      while (queue !== undefined && queue.length > 0 && !peer.destroyed) {
        if (peer.connection.bufferedAmount >= SEND_HIGH_WATER_MARK) return // resumed by 'drain'
        // Up to SEND_COALESCE_BYTES of blocks go out as one data-channel message: each send has a fixed cost.
        const batch = this.#take(peer, queue, Math.max(1, Math.floor(SEND_COALESCE_BYTES / (BLOCK_LENGTH + PIECE_HEADER_LENGTH))))
        if (batch.length === 0) {
          this.#scheduleHeld(peer, queue)
          return
        }
        // A piece announced on its way into the store that the store then refused, and dropped from memory since the
        // request came: ignored, as if we never had it.
        const held = batch.filter((req) => this.#holds(req.index))
        // Start every read of this batch, and of the pieces queued next, before waiting for any of them.
        const reads = held.map((req) => this.#readPiece(req.index))
        this.#prefetch(queue)
        const blocks: Array<{ index: number, begin: number, block: Uint8Array }> = []
        for (const [i, req] of held.entries()) {
          try {
            const piece = await reads[i]!
            blocks.push({ index: req.index, begin: req.begin, block: piece.subarray(req.begin, req.begin + req.length) })
          } catch (err) {
            if (this.#ctx.lost !== undefined && pieceLost(err) && this.#ctx.have.has(req.index)) this.#ctx.lost(req.index)
            else this.#ctx.warn(peer, err as Error)
          }
        }
        if (peer.destroyed || peer.amChoking || blocks.length === 0) continue
        peer.writePieces(blocks)
        for (const { block } of blocks) this.#ctx.onUploaded(peer, block.length)
      }
    } finally {
      this.#serving.delete(peer)
    }
  }

  /**
   * Takes up to `max` requests from the front of `queue` to answer now, leaving in it (in order) those the spread
   * policy holds back: another peer has the piece and may serve it instead.
   */
  #take (peer: Peer, queue: QueuedRequest[], max: number): QueuedRequest[] {
    const spread = this.#ctx.spread
    if (spread === undefined) return queue.splice(0, max)
    const now = (this.#ctx.now ?? Date.now)()
    const batch: QueuedRequest[] = []
    let kept = 0
    let i = 0
    for (; i < queue.length && batch.length < max; i++) {
      const req = queue[i]!
      const decision = spread.decide(peer, req.index, now, req.heldSince)
      if (decision === 'hold') {
        req.heldSince ??= now
        queue[kept++] = req
      } else {
        // Counted as sent now, not once written: the reads take a moment, and another peer's queue served
        // meanwhile must already see this copy (else five peers asking at once all got the same pieces).
        spread.sent(peer, req.index, decision)
        batch.push(req)
      }
    }
    // Close the gap left by the taken requests (the rest of the queue keeps its order).
    queue.splice(kept, i - kept)
    return batch
  }

  /** Every queued request is held: serve again when the first hold is over. */
  #scheduleHeld (peer: Peer, queue: readonly QueuedRequest[]): void {
    const spread = this.#ctx.spread
    if (spread === undefined || this.#holdTimers.has(peer)) return
    const now = (this.#ctx.now ?? Date.now)()
    let first = Infinity
    for (const req of queue) if (req.heldSince !== undefined) first = Math.min(first, spread.recheckAt(peer, req.index, req.heldSince, now))
    if (first === Infinity) return
    const delay = Math.max(0, first - now)
    this.#holdTimers.set(peer, setTimeout(() => {
      this.#holdTimers.delete(peer)
      void this.#serve(peer)
    }, delay + 1))
  }

  #clearHoldTimer (peer: Peer): void {
    const timer = this.#holdTimers.get(peer)
    if (timer !== undefined) clearTimeout(timer)
    this.#holdTimers.delete(peer)
  }

  /** Starts the store reads of the next PREFETCH_PIECES distinct pieces of `queue` that are not cached yet. */
  #prefetch (queue: readonly QueuedRequest[]): void {
    let started = 0
    let last = -1
    const end = Math.min(queue.length, PREFETCH_SCAN)
    for (let i = 0; i < end && started < PREFETCH_PIECES; i++) {
      const index = queue[i]!.index
      if (index === last) continue
      last = index
      if (this.#cache.has(index)) continue
      this.#readPiece(index).catch(() => {}) // a failure is reported when the request itself is served
      started++
    }
  }

  #holds (index: number): boolean {
    return this.#ctx.have.has(index) || this.#ctx.readable?.(index) !== undefined
  }

  #readPiece (index: number): Promise<Uint8Array> {
    // Not yet in the store, refused by it, or kept for a reader: its verified bytes in memory (not cached: they are
    // in memory already).
    const inMemory = this.#ctx.readable?.(index)
    if (inMemory !== undefined) return Promise.resolve(inMemory)
    let p = this.#cache.get(index)
    if (p !== undefined) {
      // Refresh its place in the LRU order.
      this.#cache.delete(index)
      this.#cache.set(index, p)
      return p
    }
    p = this.#ctx.store.get(index)
    p.catch(() => this.#cache.delete(index))
    this.#cache.set(index, p)
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!)
    return p
  }

  /** Drops a cached copy of piece `index` (the stored piece turned out altered: Torrent.forgetPiece). */
  forget (index: number): void {
    this.#cache.delete(index)
  }

  clear (): void {
    for (const peer of [...this.#holdTimers.keys()]) this.#clearHoldTimer(peer)
    this.#queues.clear()
    this.#cache.clear()
  }
}

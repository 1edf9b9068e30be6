/**
 * Serving blocks to peers: each peer's queue of `request` messages, answered from the store while the data
 * channel has room (SEND_HIGH_WATER_MARK), resumed on `drain`. Recently read pieces are kept whole so that the 16
 * KiB requests of one piece cost one store read, not one per block.
 */
import { BLOCK_LENGTH, MAX_QUEUED_UPLOAD_REQUESTS, SEND_COALESCE_BYTES, SEND_HIGH_WATER_MARK } from './constants.js'
import { ProtocolError } from './errors.js'
import { pieceLengthAt, type Metainfo } from './metainfo/index.js'
import type { Bitfield } from './bitfield.js'
import type { PieceStore } from './storage/index.js'
import type { Peer } from './wire/peer.js'

interface UploadRequest { index: number, begin: number, length: number }

const PIECE_CACHE_SIZE = 8
/** A piece message's framing: length prefix (4), id (1), index (4), begin (4). */
const PIECE_HEADER_LENGTH = 13

export interface UploaderContext {
  readonly metainfo: Metainfo
  readonly store: PieceStore
  readonly have: Bitfield
  onUploaded (peer: Peer, bytes: number): void
  warn (peer: Peer, err: Error): void
}

export class Uploader {
  readonly #ctx: UploaderContext
  readonly #queues = new Map<Peer, UploadRequest[]>()
  readonly #serving = new Set<Peer>()
  readonly #cache = new Map<number, Promise<Uint8Array>>()

  constructor (ctx: UploaderContext) {
    this.#ctx = ctx
  }

  /** A `request` message. Out-of-range requests break the protocol; requests for pieces we lack are ignored. */
  onRequest (peer: Peer, req: UploadRequest): void {
    const { metainfo, have } = this.#ctx
    if (req.index >= metainfo.pieceCount || req.length <= 0 || req.length > BLOCK_LENGTH ||
        req.begin + req.length > pieceLengthAt(metainfo, req.index)) {
      this.#ctx.warn(peer, new ProtocolError(`invalid request ${req.index}:${req.begin}+${req.length}`))
      peer.destroy()
      return
    }
    if (peer.amChoking || !have.has(req.index)) return
    let queue = this.#queues.get(peer)
    if (queue === undefined) {
      queue = []
      this.#queues.set(peer, queue)
      peer.connection.on('drain', () => { void this.#serve(peer) })
    }
    if (queue.length >= MAX_QUEUED_UPLOAD_REQUESTS) return
    queue.push(req)
    void this.#serve(peer)
  }

  onCancel (peer: Peer, req: UploadRequest): void {
    const queue = this.#queues.get(peer)
    if (queue === undefined) return
    const i = queue.findIndex((r) => r.index === req.index && r.begin === req.begin && r.length === req.length)
    if (i >= 0) queue.splice(i, 1)
  }

  /** BEP 3: after choking a peer its pending requests are discarded. */
  onChoked (peer: Peer): void {
    this.#queues.get(peer)?.splice(0)
  }

  removePeer (peer: Peer): void {
    this.#queues.delete(peer)
  }

  async #serve (peer: Peer): Promise<void> {
    if (this.#serving.has(peer)) return
    this.#serving.add(peer)
    try {
      const queue = this.#queues.get(peer)
      while (queue !== undefined && queue.length > 0 && !peer.destroyed) {
        if (peer.connection.bufferedAmount >= SEND_HIGH_WATER_MARK) return // resumed by 'drain'
        // Up to SEND_COALESCE_BYTES of blocks go out as one data-channel message: each send has a fixed cost.
        const batch = queue.splice(0, Math.max(1, Math.floor(SEND_COALESCE_BYTES / (BLOCK_LENGTH + PIECE_HEADER_LENGTH))))
        const blocks: Array<{ index: number, begin: number, block: Uint8Array }> = []
        for (const req of batch) {
          try {
            const piece = await this.#readPiece(req.index)
            blocks.push({ index: req.index, begin: req.begin, block: piece.subarray(req.begin, req.begin + req.length) })
          } catch (err) {
            this.#ctx.warn(peer, err as Error)
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


  #readPiece (index: number): Promise<Uint8Array> {
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
    if (this.#cache.size > PIECE_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!)
    return p
  }

  clear (): void {
    this.#queues.clear()
    this.#cache.clear()
  }
}

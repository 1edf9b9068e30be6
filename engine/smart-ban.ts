/**
 * Smart ban: an honest peer is never blamed for another's bytes. When a piece fails its hash with blocks from
 * several peers, nobody can tell whose block was wrong, so nobody is blamed yet: each contributor's blocks are
 * remembered by their SHA-1. When the piece finally verifies, every remembered block that differs from the good one
 * proves its sender sent bad data. A failed piece with one contributor is proof at once. (libtorrent's smart_ban
 * plugin does the same; the picker fetches a failed piece from one peer alone next time, see picker.setExclusive.)
 *
 * Pure apart from hashing: it holds no peers, only their keys; what a proof costs a peer is the policy's call.
 */
import { MAX_SMART_BAN_PIECES } from './constants.js'
import { equalBytes, sha1 } from './util/bytes.js'

export interface BlockSources {
  /** Peer key that sent each block of the piece, by block number (undefined: none, should not happen). */
  readonly sources: ReadonlyArray<string | undefined>
  readonly blockLength: number
}

export class SmartBan {
  /** Piece -> block -> sender -> SHA-1 of what that sender sent in a failed attempt. */
  readonly #suspects = new Map<number, Map<number, Map<string, Uint8Array>>>()
  readonly #maxPieces: number

  constructor (maxPieces = MAX_SMART_BAN_PIECES) {
    this.#maxPieces = maxPieces
  }

  /** Pieces with failed attempts on record (for tests and stats). */
  get pieces (): number {
    return this.#suspects.size
  }

  /**
   * Piece `index` failed with `data` assembled from `sources`. Returns the peers proven bad now: the sole
   * contributor, if there was only one. Otherwise remembers each contributor's block hashes for pieceVerified.
   */
  async pieceFailed (index: number, data: Uint8Array, { sources, blockLength }: BlockSources): Promise<string[]> {
    const contributors = new Set(sources.filter((s): s is string => s !== undefined))
    if (contributors.size === 1) return [...contributors]
    let blocks = this.#suspects.get(index)
    if (blocks === undefined) {
      blocks = new Map()
      this.#suspects.set(index, blocks)
      for (const old of this.#suspects.keys()) {
        if (this.#suspects.size <= this.#maxPieces) break
        this.#suspects.delete(old)
      }
    }
    for (let block = 0; block < sources.length; block++) {
      const from = sources[block]
      if (from === undefined) continue
      const hash = await sha1(data.subarray(block * blockLength, Math.min(data.length, (block + 1) * blockLength)))
      let senders = blocks.get(block)
      if (senders === undefined) {
        senders = new Map()
        blocks.set(block, senders)
      }
      senders.set(from, hash)
    }
    return []
  }

  /** Piece `index` verified with `data`: the peers whose remembered blocks differ from it (each once). */
  async pieceVerified (index: number, data: Uint8Array, blockLength: number): Promise<string[]> {
    const blocks = this.#suspects.get(index)
    if (blocks === undefined) return []
    this.#suspects.delete(index)
    const culprits = new Set<string>()
    for (const [block, senders] of blocks) {
      const good = await sha1(data.subarray(block * blockLength, Math.min(data.length, (block + 1) * blockLength)))
      for (const [from, hash] of senders) if (!equalBytes(hash, good)) culprits.add(from)
    }
    return [...culprits]
  }
}

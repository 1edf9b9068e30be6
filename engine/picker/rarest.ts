/**
 * Rarest first (BEP 3 "Rarest First") for the piece picker: how many connected peers have each piece, and every
 * piece in one array ordered by that count. It uses libtorrent's trick: the array is ordered bucket after bucket,
 * with each bucket's start offset remembered; a piece whose availability changes by one swaps with the edge of its
 * bucket and the edge moves, O(1) per `have` message, and `pick` walks the array from the rarest end, stopping as soon
 * as it has enough pieces. The array starts shuffled, so ties are broken randomly.
 */
import type { Bitfield } from '../bitfield.js'
import { mulberry32 } from '../util/random.js'

export class RarestOrder {
  /** Complete peers, counted here rather than per piece (keeps a seed's addPeer O(1)). */
  seedCount = 0
  /** All pieces, sorted by availability (bucket 0 first); random order within a bucket. */
  readonly pieceOrder: Uint32Array
  /** Per piece: how many non-seed peers have it. */
  readonly #availability: Uint32Array
  /** Per piece: its position in `pieceOrder`. */
  readonly #pos: Uint32Array
  /** `#bucketStart[a]`: where the pieces with availability `a` begin in `pieceOrder` (= how many have less). */
  readonly #bucketStart: number[]
  readonly #pieceCount: number

  constructor (pieceCount: number, seed: number) {
    this.#pieceCount = pieceCount
    this.#availability = new Uint32Array(pieceCount)
    const order = this.pieceOrder = new Uint32Array(pieceCount)
    this.#pos = new Uint32Array(pieceCount)
    this.#bucketStart = [0, pieceCount]
    const random = mulberry32(seed)
    for (let i = 0; i < pieceCount; i++) order[i] = i
    // Fisher-Yates: the random tie-break between equally rare pieces (swaps keep each bucket shuffled later on).
    for (let i = pieceCount - 1; i > 0; i--) {
      const j = random() % (i + 1)
      const t = order[i]!
      order[i] = order[j]!
      order[j] = t
    }
    for (let k = 0; k < pieceCount; k++) this.#pos[order[k]!] = k
  }

  /** How many connected peers have piece `index`. */
  availability (index: number): number {
    return this.#availability[index]! + this.seedCount
  }

  /** A peer's pieces come (delta 1) or go (-1). */
  addPieces (has: Bitfield, delta: 1 | -1): void {
    const bytes = has.bytes
    for (let b = 0; b < bytes.length; b++) {
      const byte = bytes[b]!
      if (byte === 0) continue
      for (let bit = 0; bit < 8; bit++) {
        if ((byte & (0x80 >> bit)) === 0) continue
        if (delta === 1) this.incrementPiece(b * 8 + bit)
        else this.#decrement(b * 8 + bit)
      }
    }
  }

  /** Availability of `index` goes up by one: it swaps to the end of its bucket, which then becomes the next bucket's start. */
  incrementPiece (index: number): void {
    const a = this.#availability[index]!
    while (this.#bucketStart.length <= a + 1) this.#bucketStart.push(this.#pieceCount)
    const last = this.#bucketStart[a + 1]! - 1
    this.#swap(this.#pos[index]!, last)
    this.#bucketStart[a + 1] = last
    this.#availability[index] = a + 1
  }

  /** Availability of `index` goes down by one: it swaps to the start of its bucket, which then moves past it. */
  #decrement (index: number): void {
    const a = this.#availability[index]!
    if (a === 0) return
    const first = this.#bucketStart[a]!
    this.#swap(this.#pos[index]!, first)
    this.#bucketStart[a] = first + 1
    this.#availability[index] = a - 1
  }

  #swap (p: number, q: number): void {
    if (p === q) return
    const x = this.pieceOrder[p]!
    const y = this.pieceOrder[q]!
    this.pieceOrder[p] = y
    this.pieceOrder[q] = x
    this.#pos[y] = p
    this.#pos[x] = q
  }
}

/** Readable fixtures for picker tests (the style of libtorrent's test_piece_picker). */
import { Bitfield, fullBitfield } from '../../../../engine/bitfield.js'
import { bitfieldOf } from '../../../fixtures/bitfield.js'
import { PiecePicker, type BlockRequest } from '../../../../engine/picker/index.js'

export const BLOCK = 16 * 1024

/**
 * `availability` has one digit per piece (how many peers have it), `have` marks our verified pieces with '*'.
 * Peers "p0", "p1", ... are built so that piece i is held by the first availability[i] of them. Pieces are two
 * blocks long unless `pieceLength` (or `blocksPerPiece`) says otherwise.
 */
export function setup (availability: string, have = '', opts: { pieceLength?: number, blocksPerPiece?: number, length?: number, seed?: number } = {}): PiecePicker {
  const pieceCount = availability.length
  const pieceLength = opts.pieceLength ?? (opts.blocksPerPiece ?? 2) * BLOCK
  const picker = new PiecePicker({ pieceCount, pieceLength, length: opts.length ?? pieceCount * pieceLength, seed: opts.seed ?? 1 })
  const peers = Math.max(0, ...[...availability].map(Number))
  for (let k = 0; k < peers; k++) {
    let bits = ''
    for (const c of availability) bits += Number(c) > k ? '*' : ' '
    picker.addPeer(`p${k}`, bitfieldOf(bits))
  }
  for (let i = 0; i < have.length; i++) if (have[i] === '*') picker.markHave(i)
  return picker
}

/** A peer with every piece (not registered: it does not change availability). */
export const all = (picker: PiecePicker): Bitfield => fullBitfield(picker.pieceCount)

/** The distinct piece indices of some requests, in order of first appearance. */
export const pieces = (reqs: readonly BlockRequest[]): number[] => [...new Set(reqs.map((r) => r.index))]

/** Picks one piece's worth at a time and returns the order pieces were chosen in. */
export function pickOrder (picker: PiecePicker, peerKey = 'x', has = all(picker)): number[] {
  const order: number[] = []
  for (;;) {
    const reqs = picker.pick(peerKey, has, picker.blocksPerPiece).filter((r) => r.duplicate !== true)
    if (reqs.length === 0) return order
    order.push(...pieces(reqs))
  }
}

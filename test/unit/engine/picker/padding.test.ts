/** BEP 47 padding: "clients ... should also avoid requesting byte-ranges covering their contents". */
import { describe, expect, it } from 'vitest'
import { fullBitfield } from '../../../../engine/bitfield.js'
import { PiecePicker } from '../../../../engine/picker/index.js'
import { BLOCK } from './fixtures.js'

describe('picker and BEP 47 padding', () => {
  it('never requests the zeros at the end of a padded piece, and a piece is complete without them', () => {
    // Three pieces of 4 blocks; piece 0 ends with 2.5 blocks of padding, piece 1 with one block, piece 2 is whole.
    const tailPadding = new Map([[0, 2 * BLOCK + BLOCK / 2], [1, BLOCK]])
    const p = new PiecePicker({ pieceCount: 3, pieceLength: 4 * BLOCK, length: 12 * BLOCK, seed: 1, tailPadding })
    const reqs = p.pick('a', fullBitfield(3), 100, 0)
    const ends = new Map<number, number>()
    for (const r of reqs) ends.set(r.index, Math.max(ends.get(r.index) ?? 0, r.begin + r.length))
    expect(Object.fromEntries(ends)).toEqual({ 0: BLOCK + BLOCK / 2, 1: 3 * BLOCK, 2: 4 * BLOCK })
    expect(reqs.find((r) => r.index === 0 && r.begin === BLOCK)?.length).toBe(BLOCK / 2)
    for (const r of reqs.filter((r) => r.index === 0)) expect(p.blockReceived('a', r.index, r.begin, r.length).status).toBe('new')
    expect(p.isPieceComplete(0)).toBe(true)
    // A block inside the padding is not a block of the piece.
    expect(p.blockReceived('a', 1, 3 * BLOCK, BLOCK).status).toBe('unexpected')
  })
})

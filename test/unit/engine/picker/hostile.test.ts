/** The picker's side of peer policy: timed-out blocks, snubbed and unproven peers, exclusive (single-source) pieces. */
import { describe, expect, it } from 'vitest'
import { Bitfield, fullBitfield } from '../../../../engine/bitfield.js'
import { PiecePicker } from '../../../../engine/picker/index.js'
import { BLOCK } from './fixtures.js'

const full = (n: number): Bitfield => fullBitfield(n)

/** Two pieces of two blocks, end game on at once (maxRequestsPerBlock 2, no delay) unless said otherwise. */
function picker (init: Partial<ConstructorParameters<typeof PiecePicker>[0]> = {}): PiecePicker {
  return new PiecePicker({ pieceCount: 2, pieceLength: 2 * BLOCK, length: 4 * BLOCK, seed: 1, ...init })
}

const ids = (reqs: ReadonlyArray<{ index: number, begin: number }>): string[] => reqs.map((r) => `${r.index}:${r.begin / BLOCK}`).sort()

describe('picker and hostile peers', () => {
  it('never asks a peer again for a block it let time out, not even as an end-game duplicate', () => {
    const p = picker()
    const first = p.pick('silent', full(2), 4, 0)
    expect(first).toHaveLength(4)
    for (const req of first) p.releaseRequest('silent', req, true)
    expect(p.pick('silent', full(2), 4, 10_000)).toEqual([])
    // Another peer gets them all, and the silent one is not offered them as duplicates either.
    expect(ids(p.pick('honest', full(2), 4, 10_000))).toEqual(['0:0', '0:1', '1:0', '1:1'])
    expect(p.pick('silent', full(2), 4, 20_000)).toEqual([])
  })

  it('forgets the exclusion once the piece is dropped (verified or failed)', () => {
    const p = picker()
    const [req] = p.pick('a', full(2), 1, 0)
    p.releaseRequest('a', req!, true)
    p.pieceFailed(req!.index)
    expect(ids(p.pick('a', full(2), 1, 0))).toHaveLength(1)
  })

  it('blocks out only at snubbed peers are open to others at once; a snubbed peer takes over nothing', () => {
    const p = picker({ maxRequestsPerBlock: 1 })
    expect(p.pick('slow', full(2), 4, 0)).toHaveLength(4)
    expect(p.pick('fast', full(2), 4, 0)).toEqual([]) // all out, no end game
    p.setSnubbed('slow', true)
    expect(ids(p.pick('fast', full(2), 4, 0))).toEqual(['0:0', '0:1', '1:0', '1:1'])
    p.setSnubbed('fast', true)
    expect(p.pick('other', full(2), 4, 0)).toHaveLength(4) // both owners snubbed: open again
  })

  it('blocks out only at peers that never delivered are open to others after the end-game delay', () => {
    const p = picker({ maxRequestsPerBlock: 1, endgameDelayMs: 1000 })
    p.setUnproven('new', true)
    expect(p.pick('new', full(2), 4, 0)).toHaveLength(4)
    expect(p.pick('proven', full(2), 4, 500)).toEqual([]) // too early
    expect(p.pick('proven', full(2), 4, 1000)).toHaveLength(4)
    // Now a peer that has delivered holds them too: nobody else takes them over.
    p.setUnproven('other', true)
    expect(p.pick('other', full(2), 4, 5000)).toEqual([])
    // The first copy wins; the other owner is told to cancel.
    expect(p.blockReceived('proven', 0, 0, BLOCK)).toEqual({ status: 'new', cancel: ['new'] })
  })

  it('a newcomer that never delivered may take over too (silent peers must not hold blocks from it)', () => {
    const p = picker({ maxRequestsPerBlock: 1, endgameDelayMs: 1000 })
    p.setUnproven('silent', true)
    p.setUnproven('newcomer', true)
    expect(p.pick('silent', full(2), 4, 0)).toHaveLength(4)
    expect(p.pick('newcomer', full(2), 4, 1000)).toHaveLength(4)
  })

  it('fetches a failed piece from one peer alone (parole), until that peer is snubbed or gone', () => {
    const p = picker({ maxRequestsPerBlock: 3 })
    p.setExclusive(0)
    expect(ids(p.pick('a', full(2), 1, 0))).toEqual(['0:0'])
    // b gets piece 1, never a block of piece 0, not even as a duplicate.
    expect(ids(p.pick('b', full(2), 4, 0))).toEqual(['1:0', '1:1'])
    // a finishes asking for piece 0 (and duplicates b's blocks of piece 1: end game).
    expect(ids(p.pick('a', full(2), 4, 0))).toEqual(['0:1', '1:0', '1:1'])
    p.setSnubbed('a', true)
    expect(ids(p.pick('c', full(2), 4, 0)).filter((id) => id.startsWith('0'))).toEqual(['0:0', '0:1'])
    // Now c's: d gets none of piece 0.
    expect(ids(p.pick('d', full(2), 4, 0)).filter((id) => id.startsWith('0'))).toEqual([])
  })

  it('a failed piece whose one source holds no request of it any more (it choked us) goes to another peer', () => {
    const p = picker({ maxRequestsPerBlock: 3 })
    p.setExclusive(0)
    const first = p.pick('a', full(2), 2, 0)
    expect(ids(first)).toEqual(['0:0', '0:1'])
    expect(ids(p.pick('b', full(2), 4, 0))).toEqual(['1:0', '1:1'])
    // a chokes us (BEP 3: our requests are discarded) and stays connected, silent: no request out, so never
    // snubbed. The piece must not wait for it (it was stuck until a unchoked us again, or forever).
    for (const req of first) p.releaseRequest('a', req)
    expect(ids(p.pick('b', full(2), 4, 0)).filter((id) => id.startsWith('0'))).toEqual(['0:0', '0:1'])
    // Now b's alone: a, unchoking us again, gets none of it.
    expect(ids(p.pick('a', full(2), 4, 0)).filter((id) => id.startsWith('0'))).toEqual([])
  })
})

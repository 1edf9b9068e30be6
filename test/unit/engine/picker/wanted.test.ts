/** The picker's "wanted" set: unwanted pieces are skipped by background (rarest-first) picking, fetched only for readers. */
import { describe, expect, it } from 'vitest'
import { fullBitfield } from '../../../../engine/bitfield.js'
import { PiecePicker } from '../../../../engine/picker/index.js'

const BLOCK = 16 * 1024

function picker (pieceCount: number): PiecePicker {
  return new PiecePicker({ pieceCount, pieceLength: BLOCK, length: pieceCount * BLOCK, seed: 7 })
}

/** Every piece picked from a peer with all of them, one pick of `max` blocks at a time (blocks are pieces here). */
function drain (p: PiecePicker, max = 100): number[] {
  const out: number[] = []
  for (;;) {
    const reqs = p.pick('x', fullBitfield(p.pieceCount), max).filter((r) => r.duplicate !== true)
    if (reqs.length === 0) return out.sort((a, b) => a - b)
    out.push(...reqs.map((r) => r.index))
  }
}

describe('PiecePicker wanted set', () => {
  it('wants every piece by default', () => {
    const p = picker(6)
    expect(drain(p)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('skips unwanted pieces in the background, clamps ranges, and wants them again on request', () => {
    const p = picker(6)
    p.setWanted(-5, 100, false)
    p.setWanted(1, 2, true)
    p.setWanted(4, 4, true)
    expect(drain(p)).toEqual([1, 2, 4])
    p.setWanted(5, 5, true)
    expect(drain(p)).toEqual([5])
  })

  it('still fetches an unwanted piece a reader asks for', () => {
    const p = picker(6)
    p.setWanted(0, 5, false)
    expect(drain(p)).toEqual([])
    const release = p.addPriority(3, 3)
    expect(drain(p)).toEqual([3])
    release()
  })

  it('does not request a held piece (verified, refused by the store, kept for a reader) until it is let go', () => {
    const p = picker(6)
    p.setWanted(0, 5, false)
    const release = p.addPriority(2, 4)
    p.setHeld(3, true)
    expect(drain(p)).toEqual([2, 4])
    // The pieces came and were refused too: the picker forgets their blocks (pieceFailed), and they are held.
    for (const i of [2, 4]) { p.pieceFailed(i); p.setHeld(i, true) }
    expect(drain(p)).toEqual([])
    expect(p.have.count).toBe(0)
    p.setHeld(3, false)
    expect(drain(p)).toEqual([3])
    release()
  })
})

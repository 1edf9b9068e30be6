/**
 * The picker as streaming readers use it (Torrent.read): the piece under the reader first, then its read-ahead
 * window in order, then the rest rarest first; readers with equal windows take turns.
 */
import { describe, expect, it } from 'vitest'
import { bitfieldOf } from '../../../fixtures/bitfield.js'
import { READ_PRIORITY_AHEAD as AHEAD, READ_PRIORITY_NOW as NOW } from '../../../../engine/constants.js'
import { PiecePicker, type BlockRequest } from '../../../../engine/picker/index.js'
import { all, BLOCK, pickOrder, pieces, setup } from './fixtures.js'

/** A reader at piece `at` with `ahead` pieces of read-ahead, the way Torrent.read raises them. */
function reader (p: PiecePicker, at: number, ahead: number): () => void {
  const releases = [p.addPriority(at, at, NOW), p.addPriority(at + 1, at + ahead, AHEAD)]
  return () => { for (const r of releases) r() }
}

describe('PiecePicker streaming window', () => {
  it('current piece, then the window in order, then the rest rarest first', () => {
    //                       0123456789
    const p = setup('3333333312')
    reader(p, 3, 3)
    const order = pickOrder(p)
    expect(order.slice(0, 4)).toEqual([3, 4, 5, 6])
    // Outside the window rarity rules again: 8 (one peer), 9 (two), then the common ones in random order.
    expect(order.slice(4, 6)).toEqual([8, 9])
    expect(new Set(order.slice(6))).toEqual(new Set([0, 1, 2, 7]))
  })

  it('the piece under the reader beats its own read-ahead and everything rarer', () => {
    const p = setup('11113333', '')
    p.addPriority(5, 7, AHEAD)
    p.addPriority(4, 4, NOW)
    expect(pickOrder(p).slice(0, 4)).toEqual([4, 5, 6, 7])
  })

  it('skips pieces already here and follows the window as it moves', () => {
    //                 0123456789
    const p = setup('1111111111', '****')
    let release = reader(p, 4, 2)
    expect(pieces(p.pick('x', all(p), 2))).toEqual([4])
    // The reader moves on (piece 4 verified): the window slides to 5..7.
    p.markHave(4)
    release()
    release = reader(p, 5, 2)
    expect(pieces(p.pick('x', all(p), 6))).toEqual([5, 6, 7])
    release()
  })

  it('a released window loses its priority at once', () => {
    const p = setup('1111111111')
    const release = reader(p, 2, 3)
    expect([1, 2, 3, 5, 6].map((i) => p.priorityOf(i))).toEqual([0, NOW, AHEAD, AHEAD, 0])
    release()
    expect([2, 3, 4, 5].map((i) => p.priorityOf(i))).toEqual([0, 0, 0, 0])
    // Only rarest first is left: a rare piece far from the old window comes first.
    p.addPeer('extra', bitfieldOf('********* '))
    expect(pieces(p.pick('x', all(p), 2))).toEqual([9])
  })

  describe('two readers', () => {
    //            0123456789abcdef
    const AVAIL = '1111111111111111'
    const A = new Set([2, 3, 4, 5])
    const B = new Set([10, 11, 12, 13])

    it('both current pieces first, then the windows take turns, each in order', () => {
      const p = setup(AVAIL)
      reader(p, 2, 3)
      reader(p, 10, 3)
      const order = pickOrder(p).slice(0, 8)
      expect(new Set(order.slice(0, 2))).toEqual(new Set([2, 10]))
      // Alternating between the readers...
      for (let k = 1; k < order.length; k++) expect(A.has(order[k]!)).not.toBe(A.has(order[k - 1]!))
      // ...and sequential within each.
      expect(order.filter((i) => A.has(i))).toEqual([2, 3, 4, 5])
      expect(order.filter((i) => B.has(i))).toEqual([10, 11, 12, 13])
    })

    it('one large pick interleaves them too', () => {
      const p = setup(AVAIL)
      reader(p, 2, 3)
      reader(p, 10, 3)
      const order = pieces(p.pick('x', all(p), 16))
      expect(order).toHaveLength(8)
      expect(new Set(order.slice(0, 2))).toEqual(new Set([2, 10]))
      for (let k = 1; k < order.length; k++) expect(A.has(order[k]!)).not.toBe(A.has(order[k - 1]!))
    })

    it('share block by block when each pick asks for less than a piece', () => {
      const p = setup(AVAIL, '', { blocksPerPiece: 4 })
      reader(p, 2, 3)
      reader(p, 10, 3)
      const picked: number[] = []
      for (let k = 0; k < 8; k++) picked.push(...p.pick('x', all(p), 1).map((r) => r.index))
      expect(picked.filter((i) => A.has(i))).toHaveLength(4)
      expect(picked.filter((i) => B.has(i))).toHaveLength(4)
      // Each reader's current piece is what they got.
      expect(new Set(picked)).toEqual(new Set([2, 10]))
    })

    it('a reader whose window is all requested does not hold the other back', () => {
      const p = setup(AVAIL)
      reader(p, 2, 3)
      // Another peer took all of A's window already.
      for (let k = 0; k < 4; k++) p.pick('y', bitfieldOf('  ****          '), 2)
      reader(p, 10, 3)
      expect(pieces(p.pick('x', all(p), 8))).toEqual([10, 11, 12, 13])
    })

    it('overlapping windows of one file read as one sequential range', () => {
      const p = setup(AVAIL)
      p.addPriority(3, 6, AHEAD)
      p.addPriority(5, 8, AHEAD)
      expect(pickOrder(p).slice(0, 6)).toEqual([3, 4, 5, 6, 7, 8])
    })
  })
})

import { describe, expect, it } from 'vitest'
import { Bitfield, fullBitfield } from '../../../../engine/bitfield.js'
import { bitfieldOf } from '../../../fixtures/bitfield.js'
import { PiecePicker, type BlockRequest } from '../../../../engine/picker/index.js'
import { all, BLOCK, pickOrder, pieces, setup } from './fixtures.js'

const KiB = 1024

describe('PiecePicker', () => {
  describe('rarest first', () => {
    it('picks the least available piece', () => {
      const p = setup('2223133')
      expect(p.availability(4)).toBe(1)
      expect(p.pick('x', all(p), 2)).toEqual([
        { index: 4, begin: 0, length: BLOCK },
        { index: 4, begin: BLOCK, length: BLOCK }
      ])
    })

    it('orders pieces by availability and skips pieces we have', () => {
      //                 availability 1 2 4 3 3 1 2, pieces 0 and 6 verified
      const order = pickOrder(setup('1243312', '*     *'))
      // 5 (one peer), 1 (two), then 3 and 4 (three each, in random order), 2 (four).
      expect(order[0]).toBe(5)
      expect(order[1]).toBe(1)
      expect(new Set(order.slice(2, 4))).toEqual(new Set([3, 4]))
      expect(order.slice(4)).toEqual([2])
    })

    it('never asks a peer for a piece it does not have', () => {
      const p = setup('1111111')
      const reqs = p.pick('x', bitfieldOf('  * *  '), 100)
      expect(pieces(reqs)).toEqual(expect.arrayContaining([2, 4]))
      expect(pieces(reqs)).toHaveLength(2)
      expect(p.pick('y', bitfieldOf('       '), 100)).toEqual([])
    })

    it('breaks ties randomly, reproducibly for a given seed', () => {
      const first = (seed: number): number => pieces(setup('11111111', '', { seed }).pick('x', fullBitfield(8), 1))[0]!
      expect(first(7)).toBe(first(7))
      const seen = new Set(Array.from({ length: 20 }, (_, seed) => first(seed)))
      expect(seen.size).toBeGreaterThan(3)
    })

    it('counts seeds and `have` messages', () => {
      const p = setup('0000')
      p.addPeer('seed', fullBitfield(4))
      p.peerHave('late', 2)
      p.peerHave('late', 2) // repeated have: counted once
      expect([0, 1, 2, 3].map((i) => p.availability(i))).toEqual([1, 1, 2, 1])
      p.removePeer('seed')
      expect([0, 1, 2, 3].map((i) => p.availability(i))).toEqual([0, 0, 1, 0])
    })
  })

  describe('priorities', () => {
    it('overrides rarity and is sequential within a priority', () => {
      const p = setup('1111333')
      p.addPriority(4, 6)
      expect(pickOrder(p).slice(0, 3)).toEqual([4, 5, 6])
    })

    it('serves higher priorities first; overlapping ranges of one priority stay in index order', () => {
      const p = setup('11111111')
      p.addPriority(5, 7, 1)
      p.addPriority(3, 6, 1)
      p.addPriority(1, 1, 5)
      expect(pickOrder(p).slice(0, 6)).toEqual([1, 3, 4, 5, 6, 7])
    })

    it('stops applying once released', () => {
      const p = setup('1113')
      const release = p.addPriority(3, 3)
      release()
      release() // idempotent
      expect(pieces(p.pick('x', all(p), 2))).not.toContain(3)
    })

    it('skips priority pieces we already have or the peer lacks', () => {
      const p = setup('1111', ' *  ')
      p.addPriority(0, 3)
      expect(pickOrder(p, 'x', bitfieldOf('  **'))).toEqual([2, 3])
    })
  })

  describe('partial pieces', () => {
    it('finishes pieces already started before starting rarer ones', () => {
      const p = setup('3331', '', { pieceLength: 4 * BLOCK })
      // p0 starts piece 1 (a priority only to make that choice deterministic).
      const release = p.addPriority(1, 1)
      expect(p.pick('p0', all(p), 1)).toEqual([{ index: 1, begin: 0, length: BLOCK }])
      release()
      // Piece 3 is rarer, but piece 1 is under way: its remaining blocks come first.
      const reqs = p.pick('p1', all(p), 4)
      expect(reqs.map((r) => `${r.index}:${r.begin / BLOCK}`)).toEqual(['1:1', '1:2', '1:3', '3:0'])
    })

    it('a piece with received blocks stays partial after its other requests are released', () => {
      const p = setup('2221', '', { pieceLength: 2 * BLOCK })
      const release = p.addPriority(0, 0)
      const [a, b] = p.pick('p0', all(p), 2)
      release()
      expect(p.blockReceived('p0', a!.index, a!.begin, a!.length).status).toBe('new')
      p.releaseRequest('p0', b!)
      expect(p.pick('p1', all(p), 1)).toEqual([b])
    })
  })

  describe('end game', () => {
    it('duplicates requests held by other peers, at most two per block, and cancels the spare copy', () => {
      const p = setup('22')
      const first = p.pick('p0', all(p), 10)
      expect(first).toHaveLength(4)
      const dup = p.pick('p1', all(p), 10)
      expect(dup).toEqual(first.map((r) => ({ ...r, duplicate: true })))
      expect(p.pick('p2', all(p), 10)).toEqual([]) // already two outstanding for each block
      expect(p.pick('p0', all(p), 10)).toEqual([]) // never twice from the same peer

      const block = first[0]!
      expect(p.blockReceived('p1', block.index, block.begin, block.length)).toEqual({ status: 'new', cancel: ['p0'] })
      // The cancel crossed the block on the wire.
      expect(p.blockReceived('p0', block.index, block.begin, block.length)).toEqual({ status: 'duplicate', cancel: [] })
      // Neither peer holds a request for it any more.
      expect(p.removePeer('p0')).not.toContainEqual(block)
      expect(p.removePeer('p1')).not.toContainEqual(block)
    })

    it('does not duplicate while fresh blocks remain', () => {
      const p = setup('22')
      p.pick('p0', all(p), 2)
      const reqs = p.pick('p1', all(p), 2)
      expect(reqs.every((r) => r.duplicate === undefined)).toBe(true)
      expect(reqs).toHaveLength(2)
    })

    it('can be disabled', () => {
      const p = new PiecePicker({ pieceCount: 1, pieceLength: BLOCK, length: BLOCK, maxRequestsPerBlock: 1 })
      p.pick('a', fullBitfield(1), 1)
      expect(p.pick('b', fullBitfield(1), 1)).toEqual([])
    })
  })

  describe('request bookkeeping', () => {
    it('removePeer releases its requests and availability', () => {
      const p = setup('1111')
      const taken = p.pick('p0', all(p), 3)
      expect(p.removePeer('p0')).toEqual(taken)
      expect(p.removePeer('p0')).toEqual([])
      expect(p.availability(0)).toBe(0)
      const again = p.pick('p1', all(p), 8)
      expect(again).toEqual(expect.arrayContaining(taken))
      expect(again.every((r) => r.duplicate === undefined)).toBe(true)
    })

    it('releaseRequest makes a block pickable again', () => {
      const p = setup('1')
      const [a] = p.pick('p0', all(p), 1)
      p.releaseRequest('p0', a!)
      expect(p.pick('p1', all(p), 1)).toEqual([a])
      expect(p.blockReceived('p0', a!.index, a!.begin, a!.length).status).toBe('unexpected')
    })

    it('pieceFailed makes every block of the piece missing again', () => {
      const p = setup('11')
      const reqs = p.pick('p0', all(p), 2)
      expect(pieces(reqs)).toHaveLength(1)
      const index = reqs[0]!.index
      for (const r of reqs) expect(p.blockReceived('p0', r.index, r.begin, r.length).status).toBe('new')
      expect(p.isPieceComplete(index)).toBe(true)
      p.pieceFailed(index)
      expect(p.isPieceComplete(index)).toBe(false)
      // Started pieces come first, and the failed one is no longer started: rarest first decides again.
      p.addPriority(index, index)
      expect(p.pick('p1', all(p), 2)).toEqual(reqs)
    })

    it('markHave completes the piece and forgets its requests', () => {
      const p = setup('11')
      const reqs = p.pick('p0', all(p), 4)
      p.markHave(0)
      p.markHave(1)
      expect(p.done).toBe(true)
      expect(p.pick('p0', all(p), 4)).toEqual([])
      expect(p.blockReceived('p0', reqs[0]!.index, reqs[0]!.begin, reqs[0]!.length).status).toBe('duplicate')
      expect(p.removePeer('p0')).toEqual([]) // no request left to give back
    })

    it('rejects blocks never requested or out of range', () => {
      const p = setup('11')
      expect(p.blockReceived('p0', 0, 0, BLOCK).status).toBe('unexpected')
      const [a] = p.pick('p0', all(p), 1)
      expect(p.blockReceived('p1', a!.index, a!.begin, a!.length).status).toBe('unexpected')
      expect(p.blockReceived('p0', 2, 0, BLOCK).status).toBe('unexpected')
      expect(p.blockReceived('p0', a!.index, 1, BLOCK).status).toBe('unexpected')
      expect(p.blockReceived('p0', a!.index, a!.begin, BLOCK - 1).status).toBe('unexpected')
      expect(p.blockReceived('p0', a!.index, a!.begin, a!.length).status).toBe('new')
    })
  })

  it('sizes the last piece and its short last block', () => {
    // Three pieces of 32 KiB; the last holds 16 KiB + 100 bytes: a full block and a 100-byte one.
    const length = 2 * 2 * BLOCK + BLOCK + 100
    const p = new PiecePicker({ pieceCount: 3, pieceLength: 2 * BLOCK, length, seed: 1 })
    expect(p.pieceSize(2)).toBe(BLOCK + 100)
    expect(p.blockCount(2)).toBe(2)
    p.addPriority(2, 2)
    expect(p.pick('x', fullBitfield(3), 2)).toEqual([
      { index: 2, begin: 0, length: BLOCK },
      { index: 2, begin: BLOCK, length: 100 }
    ])
    expect(p.blockReceived('x', 2, BLOCK, BLOCK).status).toBe('unexpected')
    expect(p.blockReceived('x', 2, BLOCK, 100).status).toBe('new')

    const tiny = new PiecePicker({ pieceCount: 1, pieceLength: 4 * BLOCK, length: 5 })
    expect(tiny.pick('x', fullBitfield(1), 10)).toEqual([{ index: 0, begin: 0, length: 5 }])
  })

  it('isInteresting: the peer has a piece we lack', () => {
    const p = setup('111111', '* * * ')
    expect(p.isInteresting(bitfieldOf('* *   '))).toBe(false)
    expect(p.isInteresting(bitfieldOf('      '))).toBe(false)
    expect(p.isInteresting(bitfieldOf(' *    '))).toBe(true)
    expect(p.isInteresting(bitfieldOf('     *'))).toBe(true)
  })

  it('keeps choosing a rarest piece as availability churns', () => {
    const pieceCount = 300
    const p = new PiecePicker({ pieceCount, pieceLength: BLOCK, length: pieceCount * BLOCK, seed: 9 })
    let state = 12345
    const rand = (n: number): number => { state = (state * 1103515245 + 12345) % 2147483648; return state % n }
    const live: string[] = []
    for (let step = 0; step < 400; step++) {
      const op = rand(3)
      if (op === 0 || live.length === 0) {
        const b = new Bitfield(pieceCount)
        for (let i = 0; i < pieceCount; i++) if (rand(3) === 0) b.set(i)
        const key = `peer${step}`
        p.addPeer(key, rand(10) === 0 ? fullBitfield(pieceCount) : b)
        live.push(key)
      } else if (op === 1) {
        p.removePeer(live.splice(rand(live.length), 1)[0]!)
      } else {
        for (let n = 0; n < 20; n++) p.peerHave(live[rand(live.length)]!, rand(pieceCount))
      }
      if (step % 50 === 49) p.markHave(rand(pieceCount))
      const [req] = p.pick('x', fullBitfield(pieceCount), 1)
      if (req === undefined) continue
      let min = Infinity
      for (let i = 0; i < pieceCount; i++) if (!p.have.has(i)) min = Math.min(min, p.availability(i))
      expect(p.availability(req.index)).toBe(min)
      p.releaseRequest('x', req)
    }
  })

  it('handles 100k pieces', () => {
    const pieceCount = 100_000
    const p = new PiecePicker({ pieceCount, pieceLength: BLOCK, length: pieceCount * BLOCK, seed: 3 })
    const has = fullBitfield(pieceCount)
    const half = new Bitfield(pieceCount)
    for (let i = 0; i < pieceCount; i += 2) half.set(i)
    p.addPeer('seed', has)
    p.addPeer('half', half)
    const start = performance.now()
    const seen = new Set<number>()
    for (let round = 0; round < 100; round++) {
      for (const r of p.pick('seed', has, 64)) {
        expect(seen.has(r.index)).toBe(false)
        seen.add(r.index)
        // Rarest first: only pieces the half peer lacks (availability 1) are chosen.
        expect(r.index % 2).toBe(1)
      }
    }
    expect(seen.size).toBe(6400)
    // Not a benchmark: a loose bound that still catches an accidental O(pieces^2).
    expect(performance.now() - start).toBeLessThan(5000)
  })
})

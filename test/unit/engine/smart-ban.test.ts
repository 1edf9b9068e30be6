/** Smart ban: whose blocks made a piece fail, proven once the piece verifies. */
import { describe, expect, it } from 'vitest'
import { SmartBan } from '../../../engine/smart-ban.js'
import { randomData } from '../../fixtures/make-torrent.js'

const B = 16

function corrupt (data: Uint8Array, blocks: number[]): Uint8Array {
  const out = data.slice()
  for (const b of blocks) out[b * B] = out[b * B]! ^ 0xff
  return out
}

describe('SmartBan', () => {
  it('blames nobody for a failed piece of several senders, then exactly the senders of bad blocks', async () => {
    const good = randomData(4 * B, 5)
    const s = new SmartBan()
    // Blocks 0 and 2 from honest, 1 and 3 from liar; the liar's block 3 is wrong.
    expect(await s.pieceFailed(7, corrupt(good, [3]), { sources: ['honest', 'liar', 'honest', 'liar'], blockLength: B })).toEqual([])
    expect(s.pieces).toBe(1)
    expect(await s.pieceVerified(7, good, B)).toEqual(['liar'])
    expect(s.pieces).toBe(0)
  })

  it('a failed piece from one sender alone is proof at once', async () => {
    const good = randomData(3 * B, 6)
    expect(await new SmartBan().pieceFailed(0, corrupt(good, [1]), { sources: ['x', 'x', 'x'], blockLength: B })).toEqual(['x'])
  })

  it('remembers several failed attempts and a short last block', async () => {
    const good = randomData(3 * B - 5, 7)
    const s = new SmartBan()
    await s.pieceFailed(1, corrupt(good, [0]), { sources: ['a', 'b', 'c'], blockLength: B })
    await s.pieceFailed(1, corrupt(good, [2]), { sources: ['b', 'a', 'd'], blockLength: B })
    expect((await s.pieceVerified(1, good, B)).sort()).toEqual(['a', 'd'])
    expect(await s.pieceVerified(2, good, B)).toEqual([])
  })

  it('keeps at most maxPieces pieces on record', async () => {
    const good = randomData(2 * B, 8)
    const s = new SmartBan(2)
    for (const i of [1, 2, 3]) await s.pieceFailed(i, corrupt(good, [0]), { sources: ['a', 'b'], blockLength: B })
    expect(s.pieces).toBe(2)
    expect(await s.pieceVerified(1, good, B)).toEqual([])
    expect(await s.pieceVerified(3, good, B)).toEqual(['a'])
  })
})

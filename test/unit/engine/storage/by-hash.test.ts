/** Pieces copied by hash between two torrents' stores (engine/storage/by-hash.ts), checked again on the way. */
import { describe, expect, it } from 'vitest'
import { copyPiecesByHash } from '../../../../engine/storage/by-hash.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { concatBytes, sha1 } from '../../../../engine/util/bytes.js'

const PIECE = 8
const fill = (b: number, n = PIECE): Uint8Array => new Uint8Array(n).fill(b)

async function layout (pieces: Uint8Array[]): Promise<{ pieceHashes: Uint8Array, pieceLength: number, pieceCount: number, length: number }> {
  return { pieceHashes: concatBytes(await Promise.all(pieces.map(async (p) => await sha1(p)))), pieceLength: PIECE, pieceCount: pieces.length, length: pieces.reduce((n, p) => n + p.length, 0) }
}

describe('copyPiecesByHash', () => {
  it('copies the shared pieces (same hash and length), skipping one altered in the source store', async () => {
    const old = [fill(1), fill(2), fill(3), fill(4, 3)]
    const next = [fill(3), fill(9), fill(2), fill(1), fill(4, 3)]
    const from = { meta: await layout(old), store: new MemoryStore({ pieceLength: PIECE, length: 27 }) }
    for (const [i, p] of old.entries()) await from.store.put(i, p)
    await from.store.put(0, fill(7)) // altered since it was verified: hashes wrong now
    const to = { meta: await layout(next), store: new MemoryStore({ pieceLength: PIECE, length: 35 }) }
    expect(await copyPiecesByHash(from, to)).toEqual([0, 2, 4])
    expect(await to.store.get(0)).toEqual(fill(3))
    await expect(to.store.get(3)).rejects.toThrow()
  })
})

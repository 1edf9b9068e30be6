/**
 * Pieces by hash (engine/storage/idb-hashes.ts) on fake-indexeddb: a version N+1 that shares pieces with version N
 * gets them copied from N's stored pieces, only where hash and length match; nothing else is adopted. Pieces stored
 * as runs (several in one record, idb.ts) are found inside them, and the copies are written as runs.
 */
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb'
import { describe, expect, it } from 'vitest'
import { adoptPieces, indexPieces, type HashedTorrent } from '../../../../engine/storage/idb-hashes.js'
import { IdbStore } from '../../../../engine/storage/idb.js'
import { concatBytes, sha1, toHex } from '../../../../engine/util/bytes.js'
import { rawKeys } from '../../../fixtures/idb-keys.js'
import { watchStoredSlices } from './stored-slices.js'

const PIECE = 16

async function torrent (infoHash: string, pieces: Uint8Array[], pieceLength = PIECE): Promise<HashedTorrent> {
  const hashes = await Promise.all(pieces.map(async (p) => await sha1(p)))
  return { infoHash, pieceLength, length: pieces.reduce((n, p) => n + p.length, 0), pieceHashes: concatBytes(hashes) }
}

const fill = (byte: number, length = PIECE): Uint8Array => new Uint8Array(length).fill(byte)

describe('pieces by hash in IndexedDB', () => {
  it('copies the stored pieces of version N that version N+1 lists by the same hash, and nothing else', async () => {
    const indexedDB = new IDBFactory()
    const init = { indexedDB, keyRange: IDBKeyRange, name: 'hashes-test' }
    const v1Pieces = [fill(1), fill(2), fill(3), fill(4, 5)]
    // Version 2: piece 0 changed, pieces 1 and 2 kept (2 moved to index 3), a new piece 2, and a last piece whose
    // bytes start like v1's short last piece but whose length differs (not the same piece).
    const v2Pieces = [fill(9), fill(2), fill(7), fill(3), fill(4, 6)]
    const v1 = await torrent('a'.repeat(40), v1Pieces)
    const v2 = await torrent('b'.repeat(40), v2Pieces)

    const store1 = new IdbStore({ ...init, infoHash: v1.infoHash, pieceLength: PIECE, length: v1.length })
    for (const [i, p] of v1Pieces.entries()) await store1.put(i, p)
    await store1.close()
    await indexPieces(v1, [0, 1, 2, 3], init)

    const adopted = await adoptPieces(v2, new Set(), init)
    expect(adopted).toEqual([1, 3])
    const store2 = new IdbStore({ ...init, infoHash: v2.infoHash, pieceLength: PIECE, length: v2.length })
    expect(await store2.storedPieces()).toEqual([1, 3])
    expect(toHex(await store2.get(3))).toBe(toHex(fill(3)))
    expect(toHex(await store2.get(1))).toBe(toHex(fill(2)))
    await store2.close()
    // Already held pieces are left alone; adopting again finds nothing new.
    expect(await adoptPieces(v2, new Set([1, 3]), init)).toEqual([])
  })

  it('skips an index entry whose piece is gone (its site was evicted)', async () => {
    const indexedDB = new IDBFactory()
    const init = { indexedDB, keyRange: IDBKeyRange, name: 'hashes-gone' }
    const v1 = await torrent('c'.repeat(40), [fill(5)])
    await indexPieces(v1, [0], init) // indexed, but never stored
    const v2 = await torrent('d'.repeat(40), [fill(5)])
    expect(await adoptPieces(v2, new Set(), init)).toEqual([])
  })

  it('copies pieces out of runs (several pieces in one record) and writes the copies as runs', async () => {
    const indexedDB = new IDBFactory()
    const init = { indexedDB, keyRange: IDBKeyRange, name: 'hashes-runs' }
    const v1Pieces = [fill(1), fill(2), fill(3), fill(4), fill(5, 7)]
    // v2 keeps v1's pieces 1-3 at 0-2, v1's short last piece as its own last, and a new piece 3.
    const v2Pieces = [fill(2), fill(3), fill(4), fill(8), fill(5, 7)]
    const v1 = await torrent('e'.repeat(40), v1Pieces)
    const v2 = await torrent('f'.repeat(40), v2Pieces)
    const store1 = new IdbStore({ ...init, infoHash: v1.infoHash, pieceLength: PIECE, length: v1.length })
    await store1.storedPieces()
    await Promise.all(v1Pieces.map(async (p, i) => await store1.put(i, p))) // one transaction: one run
    await store1.close()
    expect(await recordKeys(indexedDB, init.name, v1.infoHash)).toEqual([[v1.infoHash, 0.5, 5, PIECE]])
    await indexPieces(v1, [0, 1, 2, 3, 4], init)

    expect(await adoptPieces(v2, new Set(), init)).toEqual([0, 1, 2, 4])
    expect(await recordKeys(indexedDB, init.name, v2.infoHash)).toEqual([[v2.infoHash, 0.5, 3, PIECE], [v2.infoHash, 4]])
    const store2 = new IdbStore({ ...init, infoHash: v2.infoHash, pieceLength: PIECE, length: v2.length })
    expect(await store2.storedPieces()).toEqual([0, 1, 2, 4])
    for (const i of [0, 1, 2, 4]) expect(toHex(await store2.get(i))).toBe(toHex(v2Pieces[i]!))
    // A v3 adopts from v2's copies (runs and a lone piece alike).
    const v3 = await torrent('9'.repeat(40), [fill(4), fill(5, 7)])
    await indexPieces(v2, [0, 1, 2, 4], init)
    expect(await adoptPieces(v3, new Set(), init)).toEqual([0, 1])
    await store2.close()
  })

  it('copies pieces out of a run held as a Blob as bytes read from it, never as slices of the stored Blob', async () => {
    // WebKit stores a Blob made of slices of a Blob read from IndexedDB wrongly (README, "Browsers"); fake-indexeddb
    // stores it fine, so the test watches what is stored: no slice of a Blob, alone or as a part of a new Blob.
    const indexedDB = new IDBFactory()
    const init = { indexedDB, keyRange: IDBKeyRange, name: 'hashes-blobs' }
    const PL = 64 * 1024 // above INLINE_BYTES: runs are Blobs
    const big = (byte: number, length = PL): Uint8Array => new Uint8Array(length).fill(byte)
    const v1Pieces = [big(1), big(2), big(3), big(4), big(5, 700)]
    const v2Pieces = [big(2), big(3), big(4), big(8), big(5, 700)]
    const v1 = await torrent('e'.repeat(40), v1Pieces, PL)
    const v2 = await torrent('f'.repeat(40), v2Pieces, PL)
    const store1 = new IdbStore({ ...init, infoHash: v1.infoHash, pieceLength: PL, length: v1.length })
    await store1.storedPieces()
    await Promise.all(v1Pieces.map(async (p, i) => await store1.put(i, p)))
    await store1.close()
    await indexPieces(v1, [0, 1, 2, 3, 4], init)

    const { result: adopted, sliced, storedSlices } = await watchStoredSlices(async () => await adoptPieces(v2, new Set(), init))
    expect(adopted).toEqual([0, 1, 2, 4])
    expect(sliced).toBeGreaterThan(0) // the copies were read out of v1's Blob
    expect(storedSlices).toEqual([])
    const store2 = new IdbStore({ ...init, infoHash: v2.infoHash, pieceLength: PL, length: v2.length })
    for (const i of [0, 1, 2, 4]) expect(toHex(await store2.get(i))).toBe(toHex(v2Pieces[i]!))
    await store2.close()
  })
})

/** The keys of `infoHash`'s records in the 'pieces' store, ascending. */
async function recordKeys (factory: IDBFactory, name: string, infoHash: string): Promise<unknown[][]> {
  return (await rawKeys(factory, name)).filter((k) => k[0] === infoHash)
}

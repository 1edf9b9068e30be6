/**
 * Torrent.forgetPiece: a stored piece the service worker found altered (a script of the origin rewrote IndexedDB)
 * is deleted from the store, no longer held, and fetched again from peers, also when the visitor held every piece
 * (a seed, which had told its peers it wanted nothing from them).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, seederOf } from '../../fixtures/engine-peers.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

describe('Torrent.forgetPiece', () => {
  it('drops an altered stored piece and reads the real one again from a peer', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 7) }], 16384)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    // A visitor whose store holds every piece, piece 2 rewritten by someone else.
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    for (let i = 0; i < metainfo.pieceCount; i++) {
      const piece = data.slice(i * 16384, (i + 1) * 16384)
      if (i === 2) piece.fill(0x41)
      await store.put(i, piece)
    }
    const have = new Bitfield(metainfo.pieceCount)
    for (let i = 0; i < metainfo.pieceCount; i++) have.set(i)
    const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have })
    torrents.push(visitor)
    expect(visitor.done).toBe(true)
    connectTorrents(seed, visitor)

    await visitor.forgetPiece(2)
    expect(visitor.have?.has(2)).toBe(false)
    expect(visitor.done).toBe(false)
    expect(store.has(2)).toBe(false)
    // The reader waits for the piece, which comes from the seeder, verified, and is stored again.
    const chunks: Uint8Array[] = []
    for await (const chunk of visitor.read(2 * 16384, 16384)) chunks.push(chunk)
    expect(concatBytes(chunks)).toEqual(data.subarray(2 * 16384, 3 * 16384))
    await new Promise<void>((resolve) => { if (visitor.done) resolve(); else visitor.once('done', () => resolve()) })
    expect(await store.get(2)).toEqual(data.subarray(2 * 16384, 3 * 16384))
  })

  it('does nothing for a piece it does not hold', async () => {
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(40_000, 8) }], 16384)
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(visitor)
    await visitor.forgetPiece(1)
    expect(visitor.have?.has(1)).toBe(false)
    expect(visitor.stats().verified).toBe(0)
  })
})

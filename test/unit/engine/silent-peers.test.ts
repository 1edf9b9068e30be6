/**
 * Silent peers over the in-memory transport (claim every piece, unchoke, accept requests, never send a block),
 * connected before an honest seeder: a reader of the first piece still gets it, from the seeder.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { silentPeer } from '../../fixtures/silent-peer.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})


describe('silent peers first, then an honest seeder', () => {
  it('a reader of a few small pieces gets them from the seeder although silent peers fill the peer list', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(4 * 16384 + 500, 11) }])
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, maxPeers: 20 })
    torrents.push(visitor)
    visitor.on('warning', () => {})
    // As the loader does before the first paint: nothing in the background, only what a reader asks for.
    visitor.setWanted(0, metainfo.pieceCount - 1, false)
    const silent = Array.from({ length: 20 }, () => silentPeer(visitor, metainfo))
    const reading = (async () => {
      const chunks: Uint8Array[] = []
      for await (const c of visitor.read(0, metainfo.length)) chunks.push(c)
      return concatBytes(chunks)
    })()
    await new Promise((resolve) => setTimeout(resolve, 4000)) // long enough for some to be snubbed
    expect(silent.reduce((n, s) => n + s.requests(), 0)).toBeGreaterThan(0)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    connectTorrents(seed, visitor)
    expect(sameBytes(await reading, data)).toBe(true)
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(metainfo.length)
  }, 60_000)
})

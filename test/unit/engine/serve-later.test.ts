/**
 * TorrentInit.serveLater (a visitor's loader brings the serving side after its first site byte): until serve() is
 * called the torrent keeps every peer choked and does not offer `ut_metadata`; once it is, the peers already there
 * are served (an interested leecher is unchoked and completes, a peer without metadata fetches it over BEP 9).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import * as serving from '../../../engine/serving.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

const memoryStore = (m: { pieceLength: number, length: number }): MemoryStore => new MemoryStore({ pieceLength: m.pieceLength, length: m.length })
const once = async <T>(subscribe: (resolve: (value: T) => void) => void): Promise<T> => await new Promise<T>(subscribe)

describe('Torrent serveLater', () => {
  it('keeps peers choked and offers no metadata until serve(), then serves the peers already connected', async () => {
    const PIECE = 16 * 1024
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * PIECE, 3) }], PIECE)
    const store = memoryStore(metainfo)
    for (let i = 0; i < metainfo.pieceCount; i++) await store.put(i, data.slice(i * PIECE, (i + 1) * PIECE))
    const seed = new Torrent({ createStore: () => store }, {
      infoHash: metainfo.infoHash, metainfo, have: Bitfield.full(metainfo.pieceCount), serveLater: true
    })
    const leecher = new Torrent({ createStore: memoryStore }, { infoHash: metainfo.infoHash, metainfo })
    const fetcher = new Torrent({ createStore: memoryStore }, { infoHash: metainfo.infoHash })
    torrents.push(seed, leecher, fetcher)

    // The seed's side of the leecher's connection, once the leecher said it is interested: the torrent has handled
    // the message (its listener comes first), and a serving torrent would have unchoked it on the spot.
    const interested = once<Peer>((resolve) => {
      seed.on('peer', (peer) => {
        peer.on('message', (m) => { if (m.type === 'interested') resolve(peer) })
      })
    })
    // What the seed offered in its extended handshake, as the fetcher saw it.
    const offered = once<Peer>((resolve) => {
      fetcher.on('peer', (peer) => { peer.on('extended-handshake', () => resolve(peer)) })
    })
    for (const t of [leecher, fetcher]) {
      const [x, y] = memoryConnectionPair()
      seed.addConnection(x)
      t.addConnection(y)
    }
    const seedSide = await interested
    expect(seedSide.amChoking).toBe(true)
    const fromSeed = await offered
    expect(fromSeed.extended?.m.ut_metadata).toBeUndefined()
    expect(fromSeed.extended?.metadataSize).toBeUndefined()
    expect(leecher.stats().downloaded).toBe(0)
    expect(fetcher.metainfo).toBeUndefined()

    const fetched = once<void>((resolve) => { fetcher.once('metadata', () => resolve()) })
    const done = once<void>((resolve) => { leecher.once('done', () => resolve()) })
    seed.serve(serving)
    await done
    await fetched
    expect(leecher.stats().downloaded).toBe(data.length)
    expect(fetcher.metainfo?.infoHash).toBe(metainfo.infoHash)
    expect(fromSeed.extended?.metadataSize).toBe(metainfo.info.length)
  })
})

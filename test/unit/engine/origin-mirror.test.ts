/**
 * The publisher's seeder (TorrentInit.spread) and mirrors (`peersite mirror`, another full seed): two ordinary seeds
 * drop their connection ("nothing to give each other") once slots grow scarce (half the peer cap in use), but the publisher keeps a mirror connected, so it
 * knows the mirror holds every piece and holds back a visitor's requests that the mirror can serve
 * (engine/spread.ts): the mirror carries the visitor, the publisher's upload does not grow.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { fullBitfield } from '../../../engine/bitfield.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { Spread } from '../../../engine/spread.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { connectTorrents, storeWith } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const PIECE = 16 * 1024
const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

async function seed (metainfo: Metainfo, data: Uint8Array, kind: 'publisher' | 'mirror' | 'seed', maxPeers?: number): Promise<Torrent> {
  const store = await storeWith(metainfo, data)
  const t = new Torrent({ createStore: () => store }, {
    infoHash: metainfo.infoHash,
    metainfo,
    ...(maxPeers !== undefined ? { maxPeers } : {}),
    have: fullBitfield(metainfo.pieceCount),
    ...(kind === 'publisher' ? { spread: new Spread<Peer>() } : {}),
    ...(kind === 'mirror' ? { keepSeeds: true } : {})
  })
  torrents.push(t)
  return t
}

function visitor (metainfo: Metainfo): Torrent {
  const t = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, metainfo })
  torrents.push(t)
  return t
}

const done = async (t: Torrent): Promise<void> => await new Promise((resolve) => { if (t.done) resolve(); else t.once('done', () => resolve()) })

describe('the publisher and mirrors', () => {
  it('two ordinary seeds drop each other once slots are scarce; a publisher and a mirror stay connected', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * PIECE, 3) }], PIECE)
    // A cap of 2: their one link is half of it.
    const a = await seed(metainfo, data, 'seed', 2)
    const b = await seed(metainfo, data, 'seed', 2)
    connectTorrents(a, b)
    await expect.poll(() => a.peers.size).toBe(1)
    await expect.poll(() => a.peers.size).toBe(0)

    // With room to spare (the default cap), the link stays: it costs no leecher a slot.
    const c = await seed(metainfo, data, 'seed')
    const d = await seed(metainfo, data, 'seed')
    connectTorrents(c, d)
    await expect.poll(() => c.peers.size).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(c.peers.size).toBe(1)
    expect(d.peers.size).toBe(1)

    const publisher = await seed(metainfo, data, 'publisher')
    const mirror = await seed(metainfo, data, 'mirror')
    connectTorrents(publisher, mirror)
    await expect.poll(() => publisher.peers.size).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(publisher.peers.size).toBe(1)
  })

  it('a visitor connected to the publisher and a mirror gets most of the site from the mirror', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(32 * PIECE, 4) }], PIECE)
    const publisher = await seed(metainfo, data, 'publisher')
    const mirror = await seed(metainfo, data, 'mirror')
    connectTorrents(publisher, mirror)
    await expect.poll(() => publisher.peers.size).toBe(1)
    const v = visitor(metainfo)
    connectTorrents(publisher, v)
    connectTorrents(mirror, v)
    await done(v)
    expect(v.stats().downloaded).toBe(metainfo.length)
    expect(publisher.stats().uploaded).toBeLessThan(metainfo.length / 2)
    expect(mirror.stats().uploaded).toBeGreaterThan(metainfo.length / 2)
  })
})

/**
 * The publisher's seeder (`origin`) and mirrors: two seeds drop their connection at once, so the publisher remembers
 * meeting one (OTHER_SEED_MEMORY_MS) and lets a newcomer wait (SEED_DEFER_MS) for the other seeds to serve it,
 * instead of unchoking it at once as it does when it has met nobody.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, storeWith } from '../../fixtures/engine-peers.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

async function seed (metainfo: Metainfo, data: Uint8Array, origin: boolean): Promise<Torrent> {
  const store = await storeWith(metainfo, data)
  const t = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: Bitfield.full(metainfo.pieceCount), origin })
  torrents.push(t)
  return t
}

function leecher (metainfo: Metainfo): Torrent {
  const t = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, metainfo })
  torrents.push(t)
  return t
}

/** Whether the publisher still chokes the visitor right after handling its `interested` (our listener runs after the torrent's). */
async function chokedWhenInterested (publisher: Torrent, visitor: Torrent): Promise<boolean> {
  const id = Buffer.from(visitor.peerId).toString('hex')
  return await new Promise<boolean>((resolve) => {
    publisher.on('peer', (peer: Peer) => {
      if (peer.remotePeerIdHex !== id) return
      peer.on('message', (message) => { if (message.type === 'interested') resolve(peer.amChoking) })
    })
    connectTorrents(publisher, visitor)
  })
}

describe('the publisher and mirrors', () => {
  it('unchokes a newcomer at once when it has met no other seed', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 3) }])
    const publisher = await seed(metainfo, data, true)
    expect(await chokedWhenInterested(publisher, leecher(metainfo))).toBe(false)
  })

  it('lets a newcomer wait for the other seeds once it has met a mirror (whose connection it dropped)', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 3) }])
    const publisher = await seed(metainfo, data, true)
    const mirror = await seed(metainfo, data, false)
    connectTorrents(publisher, mirror)
    await expect.poll(() => publisher.peers.size).toBe(1)
    await expect.poll(() => publisher.peers.size).toBe(0) // both seeds: dropped
    expect(await chokedWhenInterested(publisher, leecher(metainfo))).toBe(true)
  })
})

/**
 * The choker wired into Torrent (engine/choker.ts decides, torrent.ts writes): a seeder with more interested
 * leechers than upload slots serves at most UPLOAD_SLOTS + OPTIMISTIC_UNCHOKE_SLOTS at once (newcomers aside: see
 * ChokerInit.newcomer), fills a freed slot at once, and every leecher finishes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield, fullBitfield } from '../../../engine/bitfield.js'
import { OPTIMISTIC_UNCHOKE_SLOTS, UPLOAD_SLOTS } from '../../../engine/constants.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

describe('Torrent upload slots', () => {
  it('a seeder unchokes at most its slots at once, and every leecher still gets the whole torrent', async () => {
    const PIECE = 16 * 1024
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(64 * PIECE, 5) }], PIECE)
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    for (let i = 0; i < metainfo.pieceCount; i++) await store.put(i, data.slice(i * PIECE, (i + 1) * PIECE))
    const seed = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
    torrents.push(seed)

    let unchoked = 0
    let most = 0
    const leechers: Torrent[] = []
    for (let i = 0; i < 8; i++) {
      // Each holds 4 pieces already (its first page, say): not a newcomer, which would get a slot of its own until it
      // has its first page (ChokerInit.newcomer; the newcomer tests are in choker.test.ts and offload.test.ts).
      const own = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
      const have = new Bitfield(metainfo.pieceCount)
      for (let k = i * 4; k < i * 4 + 4; k++) {
        await own.put(k, data.slice(k * PIECE, (k + 1) * PIECE))
        have.set(k)
      }
      const t = new Torrent({ createStore: () => own }, { infoHash: metainfo.infoHash, metainfo, have })
      torrents.push(t)
      leechers.push(t)
      // A leecher that completes tells the seeder (`have`), which then closes the connection (two seeds): its slot
      // is free again without a `choke`.
      t.on('peer', (peer) => {
        let mine = false
        peer.on('message', (m) => {
          if (m.type === 'unchoke' && !mine) { mine = true; most = Math.max(most, ++unchoked) }
          if (m.type === 'choke' && mine) { mine = false; unchoked-- }
        })
        peer.on('close', () => { if (mine) { mine = false; unchoked-- } })
      })
    }
    for (const t of leechers) {
      const [x, y] = memoryConnectionPair()
      seed.addConnection(x)
      t.addConnection(y)
    }
    await Promise.all(leechers.map(async (t) => await new Promise<void>((resolve) => {
      if (t.done) resolve()
      else t.once('done', () => resolve())
    })))
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(UPLOAD_SLOTS + OPTIMISTIC_UNCHOKE_SLOTS)
    for (const t of leechers) expect(t.stats().downloaded).toBe(data.length - 4 * PIECE)
  })
})

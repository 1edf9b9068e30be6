/**
 * TorrentComponents.sha1: a platform's own SHA-1 verifies each downloaded piece (Node's node:crypto in `get`:
 * cli/lib/swarm.ts nodeSha1), and its verdict is as binding as WebCrypto's: a piece whose hash does not match is not
 * kept. Over the in-memory transport.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { nodeSha1 } from '../../../cli/lib/swarm.js'
import { connectTorrents, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

describe('a piece hash of the platform (TorrentComponents.sha1)', () => {
  it('verifies every downloaded piece with it', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * 16384 + 5000, 7) }], 16384)
    const seed = await seederOf(metainfo, data)
    const hashed: number[] = []
    const visitor = new Torrent({
      createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }),
      sha1: (bytes) => { hashed.push(bytes.length); return nodeSha1(bytes) }
    }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(seed, visitor)
    connectTorrents(seed, visitor)
    await new Promise<void>((resolve) => { visitor.once('done', () => resolve()) })
    expect(hashed.length).toBe(metainfo.pieceCount)
    expect(hashed.reduce((a, b) => a + b, 0)).toBe(metainfo.length)
  })

  it('keeps no piece whose hash it finds wrong', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(4 * 16384, 8) }], 16384)
    const seed = await seederOf(metainfo, data)
    // A hash that is wrong for piece 2 (as if its bytes had been altered on the way).
    const piece2 = createHash('sha1').update(data.subarray(2 * 16384, 3 * 16384)).digest()
    const warnings: Error[] = []
    const visitor = new Torrent({
      createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }),
      sha1: (bytes) => { const h = nodeSha1(bytes); return piece2.equals(h) ? new Uint8Array(20) : h }
    }, { infoHash: metainfo.infoHash, metainfo })
    visitor.on('warning', (err) => warnings.push(err))
    torrents.push(seed, visitor)
    connectTorrents(seed, visitor)
    for (let tries = 0; tries < 200 && !(visitor.have?.has(0) === true && visitor.have.has(1) && visitor.have.has(3)); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect([0, 1, 3].map((i) => visitor.have?.has(i))).toEqual([true, true, true])
    expect(visitor.have?.has(2)).toBe(false)
    expect(visitor.done).toBe(false)
    expect(warnings.some((w) => /hash/i.test(w.message))).toBe(true)
  })
})

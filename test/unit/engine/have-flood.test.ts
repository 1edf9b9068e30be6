/**
 * A peer's `have` refills our request pipeline to it (Downloader.peerHave), and a refill may walk every piece
 * (picker.pick, when the peer has nothing we ask for now). A hostile peer has a `have` for every piece of the torrent:
 * one walk each was minutes of CPU on a 65,536-piece torrent. A `have` for a piece no pick would take now (one we
 * hold, or one not wanted in the background: above the prefetch limit) buys no refill from a peer we are interested
 * in already; the torrent's tick refills every pipeline each second anyway.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PiecePicker } from '../../../engine/picker/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { encodeHandshake, encodeMessage } from '../../../engine/wire/codec.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

describe('a flood of have messages', () => {
  it('costs no pick for pieces no pick would take, and still one for a piece we want', async () => {
    const pieces = 1024
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(pieces * 16_384, 8) }], 16_384)
    const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(torrent)
    torrent.on('warning', () => {})
    // Only the last piece is wanted in the background.
    torrent.setWanted(0, pieces - 2, false)
    const picks = vi.spyOn(PiecePicker.prototype, 'pick')
    const [ours, theirs] = memoryConnectionPair()
    torrent.addConnection(ours)
    theirs.send(concatBytes([
      encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(6) }),
      encodeMessage({ type: 'unchoke' }),
      ...Array.from({ length: pieces - 1 }, (_, i) => encodeMessage({ type: 'have', index: i }))
    ]))
    await vi.waitFor(() => { expect([...torrent.peers].some((p) => p.has?.has(pieces - 2) === true)).toBe(true) })
    await new Promise((resolve) => setTimeout(resolve, 20))
    // Was one pick per have: 1,023. The first `have` makes the peer interesting (a pick), the unchoke may fill once.
    expect(picks.mock.calls.length).toBeLessThanOrEqual(3)
    const before = picks.mock.calls.length
    // A piece we want: asked for at once, not at the next tick.
    theirs.send(encodeMessage({ type: 'have', index: pieces - 1 }))
    await vi.waitFor(() => { expect(picks.mock.calls.length).toBeGreaterThan(before) })
  })
})

/**
 * A peer's `unchoke` fills our request pipeline to it at once (Downloader.fill), and a fill may walk every piece
 * (picker.pick: rarest first looks at each piece when the peer has little we can ask for, e.g. while a reader's
 * read keeps the background prefetch paused). A hostile peer sending unchoke after unchoke (or choke, unchoke, ...)
 * must not buy such a walk with each 5 bytes: measured, 0.5-2 ms per walk with 65,536 pieces, 20 us with 1,024.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fullBitfield } from '../../../engine/bitfield.js'
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

describe('a flood of unchoke messages', () => {
  it('costs at most one pick per second, not one per message', async () => {
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(64 * 16_384, 6) }], 16_384)
    const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(torrent)
    torrent.on('warning', () => {})
    // Nothing wanted in the background: the peer has pieces we lack (we are interested), none we ask for.
    torrent.setWanted(0, metainfo.pieceCount - 1, false)
    const picks = vi.spyOn(PiecePicker.prototype, 'pick')
    const [ours, theirs] = memoryConnectionPair()
    torrent.addConnection(ours)
    const flood = 1000
    const unchokes = Array.from({ length: flood }, (_, i) => encodeMessage({ type: i % 2 === 0 ? 'unchoke' : 'choke' }))
    theirs.send(concatBytes([
      encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(5) }),
      encodeMessage({ type: 'bitfield', bitfield: fullBitfield(metainfo.pieceCount).bytes }),
      ...unchokes,
      ...Array.from({ length: flood }, () => encodeMessage({ type: 'unchoke' }))
    ]))
    await vi.waitFor(() => { expect([...torrent.peers].some((p) => p.has !== undefined && !p.peerChoking)).toBe(true) })
    await new Promise((resolve) => setTimeout(resolve, 20))
    // Was one pick per unchoke: 1,500.
    expect(picks.mock.calls.length).toBeLessThanOrEqual(3)
  })
})

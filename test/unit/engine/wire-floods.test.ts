/**
 * Floods of small wire messages that each refilled our request pipeline to the peer (Downloader.fill), where a
 * refill may walk every piece (picker.pick, when the peer has little we ask for now: measured 0.5-2 ms per walk with
 * 65,536 pieces, 20 us with 1,024). A hostile peer must not buy such a walk with each 5-byte `unchoke`, nor with a
 * `have` for each piece of the torrent; the torrent's tick refills every pipeline each second anyway.
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

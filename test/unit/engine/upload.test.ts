/**
 * The uploader serves a verified piece that is still in memory (on its way into the store, or refused by it), and
 * ignores a request for a piece it no longer holds by the time the request's turn comes, without a warning.
 */
import { describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { Uploader } from '../../../engine/upload.js'
import { Peer } from '../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { pieceOf, sameBytes } from '../../fixtures/engine-peers.js'

const PIECE = 16 * 1024

async function setup (): Promise<{ uploader: Uploader, peer: Peer, memory: Map<number, Uint8Array>, sent: Array<{ index: number, begin: number, block: Uint8Array }>, warnings: Error[], data: Uint8Array, metainfo: Awaited<ReturnType<typeof makeTorrent>>['metainfo'] }> {
  const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(4 * PIECE, 21) }], PIECE)
  // Nothing stored: a store read would fail (and be reported as a warning).
  const store = new MemoryStore({ pieceLength: PIECE, length: metainfo.length })
  const memory = new Map<number, Uint8Array>()
  const warnings: Error[] = []
  const [ours] = memoryConnectionPair()
  const peer = new Peer(ours, { infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(1), maxMessageLength: 1 << 20 }, 'b')
  const sent: Array<{ index: number, begin: number, block: Uint8Array }> = []
  peer.writePieces = (blocks) => { sent.push(...blocks) }
  peer.writeUnchoke()
  const uploader = new Uploader({
    metainfo,
    store,
    have: new Bitfield(metainfo.pieceCount),
    readable: (index) => memory.get(index),
    onUploaded: () => {},
    warn: (_peer, err) => warnings.push(err)
  })
  return { uploader, peer, memory, sent, warnings, data, metainfo }
}

const settle = async (): Promise<void> => await new Promise((resolve) => setTimeout(resolve, 20))

describe('Uploader and pieces in memory', () => {
  it('serves a piece that is verified but not stored yet from its bytes in memory', async () => {
    const { uploader, peer, memory, sent, warnings, data, metainfo } = await setup()
    memory.set(2, pieceOf(metainfo, data, 2))
    uploader.onRequest(peer, { index: 2, begin: 0, length: PIECE })
    await settle()
    expect(warnings).toEqual([])
    expect(sent.map((b) => b.index)).toEqual([2])
    expect(sameBytes(sent[0]!.block, pieceOf(metainfo, data, 2))).toBe(true)
    // A piece neither stored nor in memory is not ours to serve: ignored.
    uploader.onRequest(peer, { index: 3, begin: 0, length: PIECE })
    await settle()
    expect(sent.length).toBe(1)
    expect(warnings).toEqual([])
  })

  it('ignores a queued request whose piece left memory before its turn (the store refused it), and serves the next', async () => {
    const { uploader, peer, memory, sent, warnings, data, metainfo } = await setup()
    memory.set(1, pieceOf(metainfo, data, 1))
    // The data channel is full: the request waits in the queue for 'drain'.
    const channel = peer.connection as { bufferedAmount: number }
    channel.bufferedAmount = Number.MAX_SAFE_INTEGER
    uploader.onRequest(peer, { index: 1, begin: 0, length: PIECE })
    await settle()
    expect(sent).toEqual([])
    memory.delete(1)
    memory.set(0, pieceOf(metainfo, data, 0))
    uploader.onRequest(peer, { index: 0, begin: 0, length: PIECE })
    channel.bufferedAmount = 0
    peer.connection.emit('drain')
    await settle()
    expect(sent.map((b) => b.index)).toEqual([0])
    expect(warnings).toEqual([])
    expect(peer.destroyed).toBe(false)
  })
})

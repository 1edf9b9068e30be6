/**
 * `have` messages written in one turn go to each peer as one data-channel message (issue 14: a send costs both ends far
 * more than its 9 bytes). Since visitors announce a piece as soon as it is verified (early-have.test.ts), pieces are
 * mostly announced one turn each; pieces kept together (a store's batched commit after a refusal, several verified in
 * one turn) still share a message.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { Peer } from '../../../engine/wire/peer.js'
import { Torrent } from '../../../engine/torrent.js'
import { WireDecoder } from '../../../engine/wire/codec.js'
import { connectTorrents, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

/** A memory store whose puts settle `batch` at a time, like IndexedDB's batched commits (engine/storage/idb.ts). */
class BatchingStore extends MemoryStore {
  readonly #batch: number
  #waiting: Array<() => void> = []
  constructor (init: { pieceLength: number, length: number }, batch: number) {
    super(init)
    this.#batch = batch
  }

  override async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    await super.put(index, data, signal)
    await new Promise<void>((resolve) => {
      this.#waiting.push(resolve)
      if (this.#waiting.length >= this.#batch) for (const settle of this.#waiting.splice(0)) settle()
    })
  }
}

describe('Torrent haves', () => {
  it('announces every piece once to the seeder it downloads from', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * 16384, 3) }], 16384)
    const seed = await seederOf(metainfo, data)
    const store = new BatchingStore({ pieceLength: metainfo.pieceLength, length: metainfo.length }, 4)
    const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(seed, visitor)
    // What the seeder's side of the connection receives after the handshake, chunk by chunk (one chunk = one send
    // of the visitor).
    const haveChunks: number[][] = []
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20, expectHandshake: false })
    seed.on('peer', (peer) => {
      peer.connection.on('data', (chunk) => {
        const haves = decoder.push(chunk.slice()).flatMap((item) => item.kind === 'message' && item.message.type === 'have' ? [item.message.index] : [])
        if (haves.length > 0) haveChunks.push(haves)
      })
    })
    connectTorrents(seed, visitor)
    await new Promise<void>((resolve) => { visitor.once('done', () => resolve()) })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(haveChunks.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('sends the haves written in one turn as one message, in order, and a later turn\'s in its own', async () => {
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * 16384, 4) }], 16384)
    const [ours, theirs] = memoryConnectionPair()
    const peer = new Peer(ours, { infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(1), maxMessageLength: 1 << 20 }, 'p')
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20, expectHandshake: false })
    const chunks: number[][] = []
    theirs.on('data', (chunk) => {
      chunks.push(decoder.push(chunk.slice()).flatMap((item) => item.kind === 'message' && item.message.type === 'have' ? [item.message.index] : []))
    })
    for (const index of [5, 1, 7, 2]) peer.writeHave(index)
    await new Promise((resolve) => setTimeout(resolve, 10))
    peer.writeHave(3)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(chunks).toEqual([[5, 1, 7, 2], [3]])
  })
})

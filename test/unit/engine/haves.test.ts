/**
 * `have` messages wait up to HAVE_BATCH_MS and go to each peer together, with the next message written to it when one
 * comes first (issue 14: a send costs both ends far more than its 9 bytes). Visitors announce a piece as soon as it is
 * verified (early-have.test.ts), one piece at a time; the requests they write every few pieces carry those haves.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { HAVE_BATCH_MS } from '../../../engine/constants.js'
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

/** A Peer over an in-memory pair, and what it sends: each send's bytes decoded, as the send happens. */
async function barePeer (): Promise<{ peer: Peer, chunks: Array<{ types: string[], haves: number[] }> }> {
  const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * 16384, 4) }], 16384)
  const [ours] = memoryConnectionPair()
  const decoder = new WireDecoder({ maxMessageLength: 1 << 20, expectHandshake: false })
  const chunks: Array<{ types: string[], haves: number[] }> = []
  const send = ours.send.bind(ours)
  ours.send = (bytes) => {
    const messages = decoder.push(bytes.slice()).flatMap((item) => item.kind === 'message' ? [item.message] : [])
    chunks.push({ types: messages.map((m) => m.type), haves: messages.flatMap((m) => m.type === 'have' ? [m.index] : []) })
    send(bytes)
  }
  const peer = new Peer(ours, { infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(1), maxMessageLength: 1 << 20 }, 'p')
  return { peer, chunks }
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

  it('sends the haves written within HAVE_BATCH_MS as one message, in order, and a later one in its own', async () => {
    const { chunks, peer } = await barePeer()
    for (const index of [5, 1, 7, 2]) peer.writeHave(index)
    await new Promise((resolve) => setTimeout(resolve, HAVE_BATCH_MS + 20))
    peer.writeHave(3)
    await new Promise((resolve) => setTimeout(resolve, HAVE_BATCH_MS + 20))
    expect(chunks.map((c) => c.haves)).toEqual([[5, 1, 7, 2], [3]])
  })

  it('lets waiting haves ride after the next message written, in the same send', async () => {
    const { chunks, peer } = await barePeer()
    peer.writeHave(4)
    peer.writeHave(6)
    peer.writeRequests([{ index: 0, begin: 0, length: 16384 }])
    expect(chunks.map((c) => c.types)).toEqual([['request', 'have', 'have']])
    expect(chunks[0]!.haves).toEqual([4, 6])
    peer.writeHave(8)
    peer.writePieces([{ index: 0, begin: 0, block: new Uint8Array(8192) }])
    expect(chunks.slice(1).map((c) => c.types)).toEqual([['piece', 'have']])
    // Nothing is left to go out later.
    await new Promise((resolve) => setTimeout(resolve, HAVE_BATCH_MS + 20))
    expect(chunks.length).toBe(2)
  })
})

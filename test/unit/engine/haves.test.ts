/**
 * `have` messages written in one turn go to each peer as one data-channel message (issue 14: a send costs both ends far
 * more than its 9 bytes). Since visitors announce a piece as soon as it is verified (early-have.test.ts), pieces are
 * mostly announced one turn each; pieces kept together (a store's batched commit after a refusal, several verified in
 * one turn) still share a message. A have for a piece the remote has already (a seed, the peer that sent it) waits for our
 * next requests to that peer and rides in their message (or REDUNDANT_HAVE_DELAY_MS): from one seed, a download sent
 * one message per piece for them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { Peer } from '../../../engine/wire/peer.js'
import { Torrent } from '../../../engine/torrent.js'
import { WireDecoder } from '../../../engine/wire/codec.js'
import { REDUNDANT_HAVE_DELAY_MS } from '../../../engine/constants.js'
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
    // The last haves (no requests left to ride on) go out REDUNDANT_HAVE_DELAY_MS later.
    while (haveChunks.flat().length < 8) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(haveChunks.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  /** A bare Peer over the in-memory transport, and the `have` / `request` messages each of its sends carried. */
  async function wiredPeer (): Promise<{ peer: Peer, chunks: string[][] }> {
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * 16384, 4) }], 16384)
    const [ours, theirs] = memoryConnectionPair()
    const peer = new Peer(ours, { infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(1), maxMessageLength: 1 << 20 }, 'p')
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20, expectHandshake: false })
    const chunks: string[][] = []
    theirs.on('data', (chunk) => {
      chunks.push(decoder.push(chunk.slice()).flatMap((item) => item.kind === 'message' && (item.message.type === 'have' || item.message.type === 'request') ? [`${item.message.type} ${item.message.index}`] : []))
    })
    return { peer, chunks }
  }

  it('sends a have for a piece the remote has with our next requests to it, in the same message', async () => {
    const { peer, chunks } = await wiredPeer()
    peer.has = new Bitfield(8)
    for (const index of [2, 3]) peer.has.set(index)
    peer.writeHave(2)
    peer.writeHave(3)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(chunks).toEqual([])
    peer.writeRequests([{ index: 4, begin: 0, length: 16384 }, { index: 5, begin: 0, length: 16384 }])
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(chunks).toEqual([['have 2', 'have 3', 'request 4', 'request 5']])
    // Sent once: nothing follows when the delay runs out.
    await new Promise((resolve) => setTimeout(resolve, REDUNDANT_HAVE_DELAY_MS + 20))
    expect(chunks).toHaveLength(1)
  })

  it('sends waiting haves on their own after a while, or with a have the remote needs at once', async () => {
    const { peer, chunks } = await wiredPeer()
    peer.has = new Bitfield(8)
    for (const index of [0, 1]) peer.has.set(index)
    peer.writeHave(0)
    await new Promise((resolve) => setTimeout(resolve, 10))
    peer.writeHave(6) // the remote lacks 6: it goes at the end of this turn, and 0 with it
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(chunks).toEqual([['have 0', 'have 6']])
    peer.writeHave(1)
    while (chunks.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(chunks).toEqual([['have 0', 'have 6'], ['have 1']])
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

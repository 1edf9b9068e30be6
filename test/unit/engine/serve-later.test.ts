/**
 * TorrentInit.serveLater (a visitor's loader brings the serving side after its first site byte): until serve() is
 * called the torrent keeps every peer choked and does not offer `ut_metadata`; once it is, the peers already there
 * are served (an interested leecher is unchoked and completes, a peer without metadata fetches it over BEP 9).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fullBitfield } from '../../../engine/bitfield.js'
import { PEER_INACTIVITY_TIMEOUT_MS } from '../../../engine/constants.js'
import * as serving from '../../../engine/serving.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { encodeHandshake, encodeMessage, WireDecoder } from '../../../engine/wire/codec.js'
import { randomBytes, toHex } from '../../../engine/util/bytes.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

const memoryStore = (m: { pieceLength: number, length: number }): MemoryStore => new MemoryStore({ pieceLength: m.pieceLength, length: m.length })
const once = async <T>(subscribe: (resolve: (value: T) => void) => void): Promise<T> => await new Promise<T>(subscribe)

describe('Torrent serveLater', () => {
  it('keeps peers choked and offers no metadata until serve(), then serves the peers already connected', async () => {
    const PIECE = 16 * 1024
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8 * PIECE, 3) }], PIECE)
    const store = memoryStore(metainfo)
    for (let i = 0; i < metainfo.pieceCount; i++) await store.put(i, data.slice(i * PIECE, (i + 1) * PIECE))
    const seed = new Torrent({ createStore: () => store }, {
      infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount), serveLater: true
    })
    const leecher = new Torrent({ createStore: memoryStore }, { infoHash: metainfo.infoHash, metainfo })
    const fetcher = new Torrent({ createStore: memoryStore }, { infoHash: metainfo.infoHash })
    torrents.push(seed, leecher, fetcher)

    // The seed's side of the leecher's connection, once the leecher said it is interested: the torrent has handled
    // the message (its listener comes first), and a serving torrent would have unchoked it on the spot.
    const interested = once<Peer>((resolve) => {
      seed.on('peer', (peer) => {
        peer.on('message', (m) => { if (m.type === 'interested') resolve(peer) })
      })
    })
    // What the seed offered in its extended handshake, as the fetcher saw it.
    const offered = once<Peer>((resolve) => {
      fetcher.on('peer', (peer) => { peer.on('extended-handshake', () => resolve(peer)) })
    })
    for (const t of [leecher, fetcher]) {
      const [x, y] = memoryConnectionPair()
      seed.addConnection(x)
      t.addConnection(y)
    }
    const seedSide = await interested
    expect(seedSide.amChoking).toBe(true)
    const fromSeed = await offered
    expect(fromSeed.extended?.m.ut_metadata).toBeUndefined()
    expect(fromSeed.extended?.metadataSize).toBeUndefined()
    expect(leecher.stats().downloaded).toBe(0)
    expect(fetcher.metainfo).toBeUndefined()

    const fetched = once<void>((resolve) => { fetcher.once('metadata', () => resolve()) })
    const done = once<void>((resolve) => { leecher.once('done', () => resolve()) })
    seed.serve(serving)
    await done
    await fetched
    expect(leecher.stats().downloaded).toBe(data.length)
    expect(fetcher.metainfo?.infoHash).toBe(metainfo.infoHash)
    expect(fromSeed.extended?.metadataSize).toBe(metainfo.info.length)
  })

  /** A leecher that serves later, with the serving side's code from `servingCode` (counted), and its bans. */
  const lateLeecher = (metainfo: Awaited<ReturnType<typeof makeTorrent>>['metainfo'], servingCode: () => Promise<typeof serving>): { torrent: Torrent, bans: string[] } => {
    const torrent = new Torrent({ createStore: memoryStore }, { infoHash: metainfo.infoHash, metainfo, serveLater: true, servingCode })
    torrents.push(torrent)
    torrent.on('warning', () => {})
    const bans: string[] = []
    torrent.on('ban', (id) => bans.push(id))
    return { torrent, bans }
  }
  const until = async (test: () => boolean): Promise<void> => {
    for (const end = Date.now() + 20_000; !test() && Date.now() < end;) await new Promise((resolve) => setTimeout(resolve, 5))
  }

  it('brings smart ban\'s code at a failed piece with several senders (servingCode), and bans only the corrupt one', async () => {
    // One piece of two blocks. Until a piece has failed, the corrupt seeder gets only the leecher's requests for the
    // first block and the honest one only those for the second (the others wait, and the picker asks the other peer
    // after a second): the first attempt is made of both, and fails.
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(32 * 1024, 9) }], 32 * 1024)
    const bad = await seederOf(metainfo, data, { corrupt: true })
    const good = await seederOf(metainfo, data)
    torrents.push(bad, good)
    let loads = 0
    const { torrent, bans } = lateLeecher(metainfo, async () => { loads++; return serving })
    let failed = false
    torrent.on('warning', (err) => { if (err.name === 'HashMismatchError') failed = true })
    for (const [seed, firstBlock] of [[bad, true], [good, false]] as const) {
      const [ours, theirs] = memoryConnectionPair()
      const decoder = new WireDecoder({ maxMessageLength: 1 << 20, expectHandshake: true })
      const send = theirs.send.bind(theirs)
      theirs.send = (bytes) => {
        const items = decoder.push(bytes.slice())
        if (failed || !items.some((item) => item.kind === 'message' && item.message.type === 'request')) return send(bytes)
        for (const item of items) {
          if (item.kind !== 'message') send(encodeHandshake(item.handshake))
          else if (item.message.type !== 'request' || (item.message.begin === 0) === firstBlock) send(encodeMessage(item.message))
        }
      }
      seed.addConnection(ours)
      torrent.addConnection(theirs)
    }
    await until(() => torrent.done && bans.length > 0)
    expect(failed).toBe(true)
    expect(sameBytes(await store(torrent), data)).toBe(true)
    expect(bans).toEqual([Buffer.from(bad.peerId).toString('hex')])
    expect(loads).toBe(1)
  })

  it('while seeding, turns an idle peer over only once serve() brought the seeding turnover, its minute counted from then', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(20_000, 5) }])
    const page = await seederOf(metainfo, data)
    await page.destroy()
    const full = new Torrent({ createStore: () => page.store! }, {
      infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount), serveLater: true, maxPeers: 1
    })
    torrents.push(full)
    // A peer that says nothing after its handshake: interested in nothing, and nothing we want (we have it all).
    const [ours, theirs] = memoryConnectionPair()
    full.addConnection(ours)
    theirs.send(encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: randomBytes(20) }))
    await until(() => full.stats().peers === 1)
    const newcomer = toHex(randomBytes(20))
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + PEER_INACTIVITY_TIMEOUT_MS + 1000)
      expect(full.wantsPeer(newcomer)).toBe(false) // seeding, the list full, no turnover before serve()
      full.serve(serving)
      vi.setSystemTime(Date.now() + PEER_INACTIVITY_TIMEOUT_MS - 1000)
      expect(full.wantsPeer(newcomer)).toBe(false)
      vi.setSystemTime(Date.now() + 1000)
      expect(full.wantsPeer(newcomer)).toBe(true)
    } finally {
      vi.useRealTimers()
    }
  })

  it('bans the sole sender of a bad piece with no code to load, even when the serving side\'s code cannot load', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(200_000, 4) }])
    const bad = await seederOf(metainfo, data, { corrupt: true })
    torrents.push(bad)
    let loads = 0
    const { torrent, bans } = lateLeecher(metainfo, async () => { loads++; throw new Error('offline') })
    connectTorrents(bad, torrent)
    await until(() => bans.length > 0)
    expect(bans).toEqual([Buffer.from(bad.peerId).toString('hex')])
    expect(torrent.stats().verified).toBe(0)
    expect(loads).toBe(0)
  })
})

/** Every byte of a torrent, read back through the torrent. */
async function store (t: Torrent): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of t.read(0, t.metainfo!.length)) chunks.push(chunk)
  return Buffer.concat(chunks)
}

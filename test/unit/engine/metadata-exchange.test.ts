/**
 * BEP 9 from liars, over the in-memory transport: a peer that announces a wrong metadata_size, or the right size
 * with garbage, connected before an honest seeder, must neither block the metadata nor be asked forever.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { EARLY_HAVES_MAX, METADATA_CANDIDATE_BUDGET, METADATA_REQUEST_TIMEOUT_MS, MAX_METADATA_SIZE, SEND_HIGH_WATER_MARK } from '../../../engine/constants.js'
import { decodeMetadataMessage, encodeMetadataData, encodeMetadataRequest } from '../../../engine/extensions/ut_metadata.js'
import { encodeHandshake, encodeMessage } from '../../../engine/wire/codec.js'
import { encodeExtendedHandshake } from '../../../engine/wire/extended.js'
import { MetadataExchange } from '../../../engine/metadata-exchange.js'
import { Downloader } from '../../../engine/download.js'
import type { Peer } from '../../../engine/wire/peer.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { concatBytes, toHex } from '../../../engine/util/bytes.js'
import { connectTorrents, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { MetadataLiar, type MetadataLie } from '../../helpers/metadata-liar.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

function leecher (infoHash: string): Torrent {
  const t = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash })
  torrents.push(t)
  return t
}

function connectLiar (liar: MetadataLiar, t: Torrent): void {
  const [ours, theirs] = memoryConnectionPair()
  t.addConnection(ours)
  liar.attach(theirs)
}

async function banOf (t: Torrent): Promise<string> {
  return await new Promise<string>((resolve) => t.once('ban', (id) => resolve(id)))
}

/** One 16 KiB metadata piece, or several (3000 piece hashes: about 60 KB of info dictionary). */
const sizes: Array<[string, () => Promise<{ metainfo: Metainfo, data: Uint8Array }>]> = [
  ['one metadata piece', async () => await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 1) }], 16 * 1024)],
  ['several metadata pieces', async () => await makeTorrent([{ path: 'big.bin', data: randomData(3000 * 1024, 2) }], 1024)]
]

describe('metadata exchange with liars', () => {
  for (const [label, make] of sizes) {
    for (const lie of ['wrong-size', 'garbage'] as MetadataLie[]) {
      it(`${lie}, ${label}: the liar connected first is banned, the metadata comes from the honest seeder`, async () => {
        const { metainfo, data } = await make()
        const torrent = leecher(metainfo.infoHash)
        const liar = new MetadataLiar({ infoHash: metainfo.infoHashBytes, realSize: metainfo.info.length, lie })
        const banned = banOf(torrent)
        connectLiar(liar, torrent)
        // The liar has answered at least once before the honest seeder arrives.
        await new Promise<void>((resolve) => { const check = (): void => { if (liar.answered > 0) resolve(); else setTimeout(check, 5) }; check() })
        const seed = await seederOf(metainfo, data)
        torrents.push(seed)
        connectTorrents(seed, torrent)
        const got = await torrent.ready()
        expect(got.infoHash).toBe(metainfo.infoHash)
        expect(await banned).toBe(toHex(liar.peerId))
        // Asked about one metadata's worth of pieces (twice at most), never in a loop.
        expect(liar.answered).toBeLessThanOrEqual(2 * Math.ceil(liar.size / 16384))
        await new Promise<void>((resolve) => torrent.done ? resolve() : torrent.once('done', () => resolve()))
      })
    }
  }

  it('a liar alone is banned after one round and not asked again', async () => {
    const { metainfo } = await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 3) }], 16 * 1024)
    const torrent = leecher(metainfo.infoHash)
    const liar = new MetadataLiar({ infoHash: metainfo.infoHashBytes, realSize: metainfo.info.length, lie: 'garbage' })
    const banned = banOf(torrent)
    connectLiar(liar, torrent)
    expect(await banned).toBe(toHex(liar.peerId))
    expect(liar.answered).toBe(1)
    expect(torrent.metainfo).toBeUndefined()
    // It comes back with the same peer id: refused.
    connectLiar(liar, torrent)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(liar.answered).toBe(1)
  })

  it('two liars and an honest seeder offering the same size: only the liars are banned', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'big.bin', data: randomData(3000 * 1024, 4) }], 1024)
    const torrent = leecher(metainfo.infoHash)
    const bans: string[] = []
    torrent.on('ban', (id) => bans.push(id))
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const liars = [1, 2].map(() => new MetadataLiar({ infoHash: metainfo.infoHashBytes, realSize: metainfo.info.length, lie: 'garbage' }))
    // The honest seeder shares the work with the liars from the start.
    connectLiar(liars[0]!, torrent)
    connectTorrents(seed, torrent)
    connectLiar(liars[1]!, torrent)
    const got = await torrent.ready()
    expect(got.infoHash).toBe(metainfo.infoHash)
    expect(bans).not.toContain(toHex(seed.peerId))
  })
})

/** A stand-in for a Peer: records the metadata requests sent to it and never answers. */
function silentPeer (metadataSize: number): Peer & { asked: number[] } {
  const asked: number[] = []
  const peer = {
    asked,
    destroyed: false,
    extended: { m: { ut_metadata: 2 }, metadataSize },
    writeExtension: (_name: string, payload: Uint8Array) => {
      asked.push(decodeMetadataMessage(payload).piece)
      return true
    },
    destroy () { peer.destroyed = true }
  }
  return peer as unknown as Peer & { asked: number[] }
}

describe('MetadataExchange with peers that never answer', () => {
  afterEach(() => { vi.useRealTimers() })

  function exchange (): { ex: MetadataExchange, warnings: string[] } {
    const warnings: string[] = []
    const ex = new MetadataExchange({
      infoHash: new Uint8Array(20),
      info: () => undefined,
      onMetadata: () => {},
      warn: (_peer, err) => warnings.push(err.message),
      ban: () => { throw new Error('a silent peer sent nothing to blame it for') }
    })
    return { ex, warnings }
  }

  it('asks a silent peer no more after its second unanswered request, and moves its piece to another peer', () => {
    vi.useFakeTimers()
    const { ex, warnings } = exchange()
    const silent = silentPeer(20_000)
    const other = silentPeer(20_000)
    ex.onExtendedHandshake(silent)
    ex.onExtendedHandshake(other)
    expect([silent.asked, other.asked]).toEqual([[0], [1]])
    vi.advanceTimersByTime(METADATA_REQUEST_TIMEOUT_MS)
    vi.advanceTimersByTime(METADATA_REQUEST_TIMEOUT_MS)
    expect(warnings.filter((w) => /unanswered/.test(w))).toHaveLength(2)
    const asked = [silent.asked.length, other.asked.length]
    // Neither is asked again, whatever the time.
    vi.advanceTimersByTime(10 * METADATA_REQUEST_TIMEOUT_MS)
    expect([silent.asked.length, other.asked.length]).toEqual(asked)
    ex.destroy()
  })

  it('a size that does not fit beside the liars\' waits, and is asked once a liar has gone', () => {
    vi.useFakeTimers()
    const { ex } = exchange()
    // Liars announcing the largest size fill the budget; the honest size waits instead of being dropped.
    const liars = Array.from({ length: METADATA_CANDIDATE_BUDGET / MAX_METADATA_SIZE }, (_, i) => silentPeer(MAX_METADATA_SIZE - i))
    for (const l of liars) ex.onExtendedHandshake(l)
    const honest = silentPeer(20_000)
    ex.onExtendedHandshake(honest)
    expect(honest.asked).toEqual([])
    ex.removePeer(liars[0]!)
    expect(honest.asked).toEqual([0])
    ex.destroy()
  })
})

describe('serving metadata to a peer that floods requests', () => {
  it('rejects requests past the send high-water mark instead of queueing a piece each, warns, then bans', async () => {
    // ~10 KB of info dictionary (512 pieces): each request, 30 bytes, would queue a 10 KB answer.
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8_000_000, 3) }])
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const warnings: string[] = []
    seed.on('warning', (e) => warnings.push(e.message))
    const bans: string[] = []
    seed.on('ban', (id) => bans.push(id))
    const [ours, theirs] = memoryConnectionPair()
    seed.addConnection(ours)
    const request = encodeMessage({ type: 'extended', id: 1, payload: encodeMetadataRequest(0) })
    const count = 2000
    const flooderId = new Uint8Array(20).fill(9)
    let received = 0
    theirs.on('data', (chunk) => { received += chunk.length })
    // All in one chunk: the seed reads every request before any answer leaves its buffer.
    theirs.send(concatBytes([
      encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: flooderId }),
      encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_metadata: 3 } }) }),
      ...Array.from({ length: count }, () => request)
    ]))
    await vi.waitFor(() => { expect(bans).toEqual([toHex(flooderId)]) })
    // Unbounded, this was count x 10 KB (19.8 MB); now the answers stop at the high-water mark plus one answer.
    expect(received).toBeLessThan(SEND_HIGH_WATER_MARK + 2 * metainfo.info.length + count * 64)
    expect(warnings.some((w) => w.includes('asks for metadata faster than it reads it'))).toBe(true)
  })
})

describe('rejecting metadata requests to a peer that does not read', () => {
  it('counts requests for pieces we cannot serve too: the rejects would pile up in its full connection', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(8_000_000, 3) }])
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    seed.on('warning', () => {})
    const bans: string[] = []
    seed.on('ban', (id) => bans.push(id))
    const [ours, theirs] = memoryConnectionPair()
    seed.addConnection(ours)
    const request = (piece: number): Uint8Array => encodeMessage({ type: 'extended', id: 1, payload: encodeMetadataRequest(piece) })
    const flooderId = new Uint8Array(20).fill(8)
    // Enough answers to fill its connection past the high-water mark, then requests for a piece the metadata does
    // not have: each is answered with a reject, which its full connection would hold without end.
    const answers = Math.ceil(SEND_HIGH_WATER_MARK / metainfo.info.length) + 1
    theirs.send(concatBytes([
      encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: flooderId }),
      encodeMessage({ type: 'extended', id: 0, payload: encodeExtendedHandshake({ m: { ut_metadata: 3 } }) }),
      ...Array.from({ length: answers }, () => request(0)),
      ...Array.from({ length: 2000 }, () => request(1_000_000))
    ]))
    // Was: no ban, 2,000 rejects queued behind the full buffer.
    await vi.waitFor(() => { expect(bans).toEqual([toHex(flooderId)]) })
  })
})

describe('haves that arrive before the metadata', () => {
  /** A leecher without the metadata, a raw peer that sends `before` first, then a seeder that has the metadata. */
  async function haveFirst (before: Uint8Array[]): Promise<{ torrent: Torrent, hostileId: string, added: string[] }> {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(100_000, 4) }], 16_384)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const torrent = leecher(metainfo.infoHash)
    torrent.on('warning', () => {})
    const added: string[] = []
    const addPeer = Downloader.prototype.addPeer
    vi.spyOn(Downloader.prototype, 'addPeer').mockImplementation(function (this: Downloader, peer: Peer) {
      added.push(peer.key)
      addPeer.call(this, peer)
    })
    const hostile = new Uint8Array(20).fill(7)
    const [ours, theirs] = memoryConnectionPair()
    torrent.addConnection(ours)
    theirs.send(concatBytes([encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: hostile, reserved: new Uint8Array(8) }), ...before]))
    await new Promise((resolve) => setTimeout(resolve, 10))
    const metadata = new Promise((resolve) => torrent.once('metadata', resolve))
    connectTorrents(seed, torrent)
    await metadata
    return { torrent, hostileId: toHex(hostile), added }
  }

  it('a peer destroyed for a have out of range when the metadata comes is not handed to the downloader', async () => {
    const { torrent, hostileId, added } = await haveFirst([encodeMessage({ type: 'have', index: 3 }), encodeMessage({ type: 'have', index: 1_000_000 })])
    vi.restoreAllMocks()
    expect(added).not.toContain(hostileId)
    expect([...torrent.peers].some((p) => p.key === hostileId)).toBe(false)
  })

  it('keeps at most EARLY_HAVES_MAX haves per peer', async () => {
    const { torrent, hostileId } = await haveFirst([
      ...Array.from({ length: EARLY_HAVES_MAX }, () => encodeMessage({ type: 'have', index: 0 })),
      encodeMessage({ type: 'have', index: 1 })
    ])
    vi.restoreAllMocks()
    const peer = [...torrent.peers].find((p) => p.key === hostileId)!
    expect(peer.has?.has(0)).toBe(true)
    expect(peer.has?.has(1)).toBe(false) // past the bound: dropped
  })
})

/** A stand-in for a Peer offering metadata of `size` bytes: records what it is asked; the test answers for it. */
function answeringPeer (size: number): Peer & { asked: number[] } {
  const asked: number[] = []
  const peer = {
    asked,
    destroyed: false,
    extended: { m: { ut_metadata: 2 }, metadataSize: size },
    connection: { bufferedAmount: 0 },
    writeExtension: (_name: string, payload: Uint8Array) => {
      asked.push(decodeMetadataMessage(payload).piece)
      return true
    },
    destroy () { peer.destroyed = true }
  }
  return peer as unknown as Peer & { asked: number[] }
}

describe('MetadataExchange after a failed check with several senders', () => {
  it('a new solo peer that finishes what the previous one started is not proof against the previous one', async () => {
    // Two metadata pieces (1500 piece hashes: about 30 KB of info dictionary).
    const { metainfo } = await makeTorrent([{ path: 'big.bin', data: randomData(1500 * 1024, 5) }], 1024)
    const info = metainfo.info
    expect(Math.ceil(info.length / 16384)).toBe(2)
    const banned: Peer[] = []
    const ex = new MetadataExchange({
      infoHash: metainfo.infoHashBytes,
      info: () => undefined,
      onMetadata: () => {},
      warn: () => {},
      ban: (peer) => { banned.push(peer) }
    })
    const honest = answeringPeer(info.length)
    const liar = answeringPeer(info.length)
    const piece = (i: number, garbage = false): Uint8Array => {
      const bytes = info.slice(i * 16384, Math.min(info.length, (i + 1) * 16384))
      if (garbage) bytes.fill(0x55)
      return encodeMetadataData(i, info.length, bytes)
    }
    ex.onExtendedHandshake(honest)
    ex.onExtendedHandshake(liar)
    expect([honest.asked, liar.asked]).toEqual([[0], [1]])
    ex.onMessage(honest, piece(0))
    ex.onMessage(liar, piece(1, true))
    // The check fails with two senders: from now on one peer at a time, the first to offer (the honest one).
    await vi.waitFor(() => { expect(honest.asked).toEqual([0, 0]) })
    ex.onMessage(honest, piece(0))
    expect(honest.asked).toEqual([0, 0, 1])
    // The honest peer leaves before its second piece; the liar is asked for it and lies again.
    ex.removePeer(honest)
    expect(liar.asked).toEqual([1, 1])
    ex.onMessage(liar, piece(1, true))
    // Nobody is proven bad by that failure (either piece may be the wrong one); the liar, alone now, is asked for
    // the whole metadata, and its failure names it.
    await vi.waitFor(() => { expect(liar.asked.length + banned.length).toBeGreaterThan(2) })
    expect(banned.map((p) => p === honest ? 'honest' : 'liar')).toEqual([]) // was ['honest', 'liar']
    expect(liar.asked).toEqual([1, 1, 0])
    ex.onMessage(liar, piece(0, true))
    ex.onMessage(liar, piece(1, true))
    await vi.waitFor(() => { expect(banned).toEqual([liar]) })
    ex.destroy()
  })
})

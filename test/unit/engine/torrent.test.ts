import { afterEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { encodeHandshake, WireDecoder } from '../../../engine/wire/codec.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

async function seeder (metainfo: Metainfo, data: Uint8Array, corrupt = false): Promise<Torrent> {
  const t = await seederOf(metainfo, data, { corrupt })
  torrents.push(t)
  return t
}

function leecher (infoHash: string, metainfo?: Metainfo): { torrent: Torrent, store: () => MemoryStore } {
  let store: MemoryStore | undefined
  const torrent = new Torrent({
    createStore: (m) => (store = new MemoryStore({ pieceLength: m.pieceLength, length: m.length }))
  }, { infoHash, ...(metainfo !== undefined ? { metainfo } : {}) })
  torrents.push(torrent)
  return { torrent, store: () => store! }
}

const connect = connectTorrents

async function readAll (t: Torrent): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of t.read(0, t.metainfo!.length)) chunks.push(chunk)
  return concatBytes(chunks)
}


async function waitFor (t: Torrent, event: 'done' | 'metadata'): Promise<void> {
  if (event === 'done' && t.done) return
  await new Promise<void>((resolve) => t.once(event, () => resolve()))
}

describe('Torrent over an in-memory transport', () => {
  it('downloads every piece from a seeder, verified, when it has the metainfo', async () => {
    const { metainfo, data } = await makeTorrent([
      { path: 'index.html', data: randomData(50_000, 1) },
      { path: 'docs/a.bin', data: randomData(70_001, 2) }
    ])
    const seed = await seeder(metainfo, data)
    const { torrent } = leecher(metainfo.infoHash, metainfo)
    connect(seed, torrent)
    await waitFor(torrent, 'done')
    expect(sameBytes(await readAll(torrent), data)).toBe(true)
    expect(torrent.stats().downloaded).toBe(data.length)
    expect(seed.stats().uploaded).toBe(data.length)
  })

  it('fetches the metadata from the peer when started from the infohash alone (BEP 9)', async () => {
    // More than one 16 KiB metadata piece: 3000 pieces of hashes = 60 KB of info dictionary.
    const { metainfo, data } = await makeTorrent([{ path: 'big.bin', data: randomData(3000 * 1024, 3) }], 1024)
    expect(metainfo.info.length).toBeGreaterThan(3 * 16384)
    const seed = await seeder(metainfo, data)
    const { torrent } = leecher(metainfo.infoHash)
    connect(seed, torrent)
    await waitFor(torrent, 'metadata')
    expect(torrent.metainfo!.infoHash).toBe(metainfo.infoHash)
    await waitFor(torrent, 'done')
    expect(sameBytes(await readAll(torrent), data)).toBe(true)
  })

  it('never stores a corrupt piece, bans the peer that sent it, and finishes from an honest one', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(200_000, 4) }])
    const bad = await seeder(metainfo, data, true)
    const { torrent, store } = leecher(metainfo.infoHash, metainfo)
    const bans: string[] = []
    torrent.on('ban', (id) => bans.push(id))
    connect(bad, torrent)
    await new Promise<void>((resolve) => torrent.once('ban', () => resolve()))
    expect(bans).toEqual([bad.peerId.reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')])
    expect(torrent.have!.count).toBe(0)
    // The banned peer cannot come back.
    connect(bad, torrent)
    const good = await seeder(metainfo, data)
    connect(good, torrent)
    await waitFor(torrent, 'done')
    expect(sameBytes(await readAll(torrent), data)).toBe(true)
    for (let i = 0; i < metainfo.pieceCount; i++) {
      const piece = await store().get(i)
      expect(piece).toEqual(data.subarray(i * metainfo.pieceLength, Math.min(data.length, (i + 1) * metainfo.pieceLength)))
    }
  })

  it('smart ban: beside an honest seeder, only the corrupt peer is banned, with large pieces of both their blocks', async () => {
    // Pieces of 4 MiB (256 blocks, more than one peer's request pipeline): both seeders send blocks of each piece.
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(2 * 4096 * 1024 + 1000, 9) }], 4096 * 1024)
    const bad = await seeder(metainfo, data, true)
    const good = await seeder(metainfo, data)
    const { torrent } = leecher(metainfo.infoHash, metainfo)
    torrent.on('warning', () => {})
    const bans: string[] = []
    torrent.on('ban', (id) => bans.push(id))
    connect(bad, torrent)
    // The corrupt peer's blocks first (else an honest seeder that unchokes sooner may deliver every block, and there
    // is nothing to ban), then the honest one's: pieces made of both.
    for (const until = Date.now() + 20_000; torrent.stats().downloaded === 0 && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 5))
    connect(good, torrent)
    await waitFor(torrent, 'done')
    expect(sameBytes(await readAll(torrent), data)).toBe(true)
    // The verdict on a piece's senders comes once the piece verifies, asynchronously (smart-ban.ts compares block
    // hashes): it may follow 'done' by a moment on a loaded machine.
    for (const until = Date.now() + 20_000; bans.length === 0 && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(bans).toEqual([Buffer.from(bad.peerId).toString('hex')])
  })

  it('closes a peer that announces a message longer than the protocol allows, without allocating it', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(40_000, 5) }])
    const seed = await seeder(metainfo, data)
    const [ours, theirs] = memoryConnectionPair()
    const peer = seed.addConnection(ours)!
    const warnings: string[] = []
    seed.on('warning', (err) => warnings.push(err.message))
    theirs.send(encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(7) }))
    // Length prefix of 1 GiB followed by a few bytes: the peer must be dropped at once.
    theirs.send(new Uint8Array([0x40, 0, 0, 0, 7, 0, 0, 0]))
    await new Promise<void>((resolve) => { if (peer.destroyed) resolve(); else peer.connection.on('close', () => resolve()) })
    expect(peer.destroyed).toBe(true)
    expect(warnings.join('\n')).toMatch(/length|long|large/i)
  })

  it('drops a peer whose handshake names another torrent', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'a.bin', data: randomData(1000, 6) }])
    const seed = await seeder(metainfo, data)
    const [ours, theirs] = memoryConnectionPair()
    const peer = seed.addConnection(ours)!
    theirs.send(encodeHandshake({ infoHash: new Uint8Array(20).fill(1), peerId: new Uint8Array(20).fill(2) }))
    await new Promise<void>((resolve) => peer.connection.on('close', () => resolve()))
    expect(peer.destroyed).toBe(true)
  })

  it('reads a byte range as soon as its pieces arrive, prioritised over the rest', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'v.bin', data: randomData(64 * 16384, 7) }])
    const seed = await seeder(metainfo, data)
    const { torrent } = leecher(metainfo.infoHash, metainfo)
    const reading = (async () => {
      const chunks: Uint8Array[] = []
      for await (const c of torrent.read(40 * 16384 + 100, 3 * 16384)) chunks.push(c)
      return concatBytes(chunks)
    })()
    // The order of the leecher's requests on the wire, not the order pieces verify: hashes run in Node's thread pool
    // and may complete out of order on a loaded machine.
    const [ours, theirs] = memoryConnectionPair()
    const requested: number[] = []
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
    const send = theirs.send.bind(theirs)
    theirs.send = (bytes) => {
      for (const item of decoder.push(bytes.slice())) if (item.kind === 'message' && item.message.type === 'request') requested.push(item.message.index)
      send(bytes)
    }
    seed.addConnection(ours)
    torrent.addConnection(theirs)
    const bytes = await reading
    expect(bytes).toEqual(data.subarray(40 * 16384 + 100, 43 * 16384 + 100))
    // The four pieces under the reader are asked for before any other.
    expect(requested.slice(0, 4).sort((a, b) => a - b)).toEqual([40, 41, 42, 43])
  })
})

/**
 * A visitor announces a piece (`have`, or its bitfield to a peer that arrives later) as soon as the piece is
 * verified, not once its store has taken it (IndexedDB commits lag by hundreds of ms to seconds), and serves it from
 * memory meanwhile. A piece the store then refuses stays in memory for the peers that were told of it; once the store
 * refuses, pieces are announced only when stored. Over the in-memory transport.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { StorageError } from '../../../engine/errors.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { WireDecoder, type DecodedItem } from '../../../engine/wire/codec.js'
import { connectTorrents, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const PIECE = 16 * 1024
const PIECES = 16

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

/** A store whose writes wait until released, then succeed (or fail with `refuse`). */
function gatedStore (metainfo: Metainfo): { store: MemoryStore, release: (refuse?: boolean) => void, puts: () => number } {
  const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
  let open!: (refuse: boolean) => void
  const gate = new Promise<boolean>((resolve) => { open = resolve })
  let puts = 0
  const put = store.put.bind(store)
  store.put = async (index, piece, signal) => {
    if (await gate) throw new StorageError('quota exceeded', 'ERR_QUOTA')
    await put(index, piece, signal)
    puts++
  }
  return { store, release: (refuse = false) => open(refuse), puts: () => puts }
}

function visitor (metainfo: Metainfo, store?: MemoryStore): Torrent {
  const t = new Torrent({ createStore: (m) => store ?? new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash, metainfo })
  t.on('warning', () => {})
  torrents.push(t)
  return t
}

const done = async (t: Torrent): Promise<void> => await new Promise((resolve) => { if (t.done) resolve(); else t.once('done', () => resolve()) })

async function holdsAll (t: Torrent, pieces: number): Promise<void> {
  for (;;) {
    let all = true
    for (let i = 0; i < pieces; i++) if (!t.holds(i)) all = false
    if (all) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

async function readAll (t: Torrent): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of t.read(0, t.metainfo!.length)) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe('a visitor announces a piece once it is verified', () => {
  it('passes on pieces its store is still writing: `have` to a peer connected already, the bitfield to a later one', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'site.bin', data: randomData(PIECES * PIECE, 31) }], PIECE)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const { store, release, puts } = gatedStore(metainfo)
    const a = visitor(metainfo, store)
    const b = visitor(metainfo)
    // b reaches only a, before a has anything: it learns of a's pieces by `have`.
    connectTorrents(a, b)
    connectTorrents(seed, a)
    await holdsAll(a, PIECES)
    // c arrives once a holds every piece in memory: a's bitfield names them.
    const c = visitor(metainfo)
    connectTorrents(a, c)
    await Promise.all([done(b), done(c)])
    // Every piece came from a while its store had taken none of them.
    expect(puts()).toBe(0)
    expect(a.have!.count).toBe(0)
    expect(sameBytes(await readAll(b), data)).toBe(true)
    expect(sameBytes(await readAll(c), data)).toBe(true)
    release()
    await done(a)
    expect(puts()).toBe(PIECES)
  })

  it('keeps serving the pieces it announced after its store refused them, and announces no more before they are stored', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'site.bin', data: randomData(PIECES * PIECE, 32) }], PIECE)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const { store, release } = gatedStore(metainfo)
    const a = visitor(metainfo, store)
    const warnings: Error[] = []
    a.on('warning', (err) => warnings.push(err))
    // b reaches only a, and wants nothing yet: it learns of a's pieces by `have` and asks for none of them.
    const b = visitor(metainfo)
    b.setWanted(0, PIECES - 1, false)
    connectTorrents(a, b)
    connectTorrents(seed, a)
    await holdsAll(a, PIECES)
    // Every piece was announced while the store was writing it; now the store refuses them all (its quota is full).
    release(true)
    for (let tries = 0; warnings.filter((w) => w instanceof StorageError).length < PIECES && tries < 1000; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(a.have!.count).toBe(0)
    // b, told of every piece, now asks a for them: they stayed in memory for the peers that were told.
    b.setWanted(0, PIECES - 1, true)
    await done(b)
    expect(sameBytes(await readAll(b), data)).toBe(true)
    expect(warnings.some((w) => /peer/.test(w.message))).toBe(false)
  })

  it('once its store refuses pieces, it announces a new piece only after the store took it', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'site.bin', data: randomData(PIECES * PIECE, 33) }], PIECE)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    // Room for 4 pieces: the fifth is refused, and after it every piece is refused at once.
    const store = new MemoryStore({ pieceLength: PIECE, length: metainfo.length, maxBytes: 4 * PIECE })
    const a = visitor(metainfo, store)
    a.setWanted(0, PIECES - 1, false)
    // A bare peer that records the `have`s a sends it.
    const [ours, theirs] = memoryConnectionPair()
    a.addConnection(ours)
    const haves: number[] = []
    const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
    theirs.on('data', (bytes) => {
      for (const item of decoder.push(bytes.slice()) as DecodedItem[]) {
        if (item.kind === 'message' && item.message.type === 'have') haves.push(item.message.index)
      }
    })
    const { encodeHandshake } = await import('../../../engine/wire/codec.js')
    theirs.send(encodeHandshake({ infoHash: metainfo.infoHashBytes, peerId: new Uint8Array(20).fill(9) }))
    connectTorrents(seed, a)
    // One piece at a time, each read to the end before the next, so each is kept before the next one is verified.
    for (let i = 0; i < 8; i++) {
      const chunks: Uint8Array[] = []
      for await (const chunk of a.read(i * PIECE, PIECE)) chunks.push(chunk)
      expect(sameBytes(Buffer.concat(chunks), data.subarray(i * PIECE, (i + 1) * PIECE))).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(a.have!.count).toBe(4)
    // Pieces 0-3 stored and announced; piece 4 announced before the store refused it; none after.
    expect(haves.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4])
  })
})

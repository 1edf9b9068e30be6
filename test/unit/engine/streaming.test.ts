/**
 * Torrent.read as a streaming reader over the in-memory transport: only a sliding window around the reader is
 * raised, the window goes away the moment the read is aborted (the worker aborts on every seek), two readers
 * share the peers, and a file larger than the store still streams.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield, fullBitfield } from '../../../engine/bitfield.js'
import { MAX_OUTSTANDING_REQUESTS, readAheadPieces, RUSH_KEEP_REQUESTS, UNPROVEN_PEER_REQUESTS } from '../../../engine/constants.js'
import { AbortError } from '../../../engine/errors.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import type { Connection } from '../../../engine/transport/index.js'
import { WireDecoder, type DecodedItem } from '../../../engine/wire/codec.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { connectTorrents, sameBytes, seederOf, storeWith } from '../../fixtures/engine-peers.js'

const PIECE = 64 * 1024
const PIECES = 256
/** 16 MiB in 256 pieces of 64 KiB: the read-ahead window (4 MiB) is a quarter of it. */
const fixture = makeTorrent([{ path: 'video.bin', data: randomData(PIECES * PIECE, 11) }], PIECE)
const AHEAD = readAheadPieces(PIECE)

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

async function seeder (metainfo: Metainfo, data: Uint8Array): Promise<Torrent> {
  const t = await seederOf(metainfo, data)
  torrents.push(t)
  return t
}

/** A leecher that already holds `held` pieces. Records the order pieces are verified in. */
async function leecher (metainfo: Metainfo, data: Uint8Array, held: number[] = []): Promise<{ torrent: Torrent, order: number[] }> {
  const store = await storeWith(metainfo, data, held)
  const have = new Bitfield(metainfo.pieceCount)
  for (const i of held) have.set(i)
  const torrent = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have })
  torrents.push(torrent)
  const order: number[] = []
  torrent.on('verified', (i) => order.push(i))
  return { torrent, order }
}

const connect = connectTorrents

async function verifiedCount (t: Torrent, n: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (t.have!.count < n) return
      off()
      resolve()
    }
    const off = t.on('verified', check)
    check()
  })
}

const inRange = (first: number, last: number) => (i: number): boolean => i >= first && i <= last

/**
 * How many of `pieces` lie in [first, last]. Pieces are requested in the picker's order, but hashing is
 * asynchronous and may finish a few places out of order, so the checks below allow a little slack.
 */
const countIn = (pieces: number[], first: number, last: number): number => pieces.filter(inRange(first, last)).length
const SLACK = 3


describe('Torrent.read streaming', () => {
  it('reading from the middle gets the middle first, and only a window of it ahead of the rest', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    const { torrent, order } = await leecher(metainfo, data)
    const mid = PIECES / 2
    const offset = mid * PIECE + 1234
    // A player that reads the first chunk and then pauses (the read stays open at the tail of a 16 MiB file).
    const it = torrent.read(offset, metainfo.length - offset)
    const first = it.next()
    connect(seed, torrent)
    const chunk = await first
    expect(chunk.done).toBe(false)
    expect(sameBytes(chunk.value!, data.subarray(offset, (mid + 1) * PIECE))).toBe(true)
    await verifiedCount(torrent, PIECES)

    // The piece under the reader and its read-ahead window came first...
    expect(countIn(order.slice(0, AHEAD + 1), mid, mid + AHEAD)).toBeGreaterThanOrEqual(AHEAD + 1 - SLACK)
    expect(order.slice(0, SLACK + 1)).toContain(mid)
    // ...then rarest first (random among equals) over the whole torrent, not the rest of the tail in order, as
    // raising the whole requested range would do: the next 30 pieces are not all from the tail.
    const next = order.slice(AHEAD + 1, AHEAD + 31)
    expect(next.every(inRange(mid + AHEAD + 1, PIECES - 1))).toBe(false)
    await it.return(undefined)
  })

  it('reads the middle of a large torrent byte-exactly while the window slides', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    const { torrent, order } = await leecher(metainfo, data)
    const offset = 100 * PIECE + 77
    const length = 40 * PIECE
    const reading = (async () => {
      const chunks: Uint8Array[] = []
      for await (const c of torrent.read(offset, length)) chunks.push(c)
      return concatBytes(chunks)
    })()
    connect(seed, torrent)
    expect(sameBytes(await reading, data.subarray(offset, offset + length))).toBe(true)
    expect(countIn(order.slice(0, 41), 100, 140)).toBeGreaterThanOrEqual(41 - SLACK)
  })

  it('an aborted read waiting for a piece releases its priority', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    const { torrent, order } = await leecher(metainfo, data)
    const controller = new AbortController()
    const old = torrent.read(200 * PIECE, 50 * PIECE, controller.signal)
    const pending = old.next()
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(AbortError)

    const reader = torrent.read(20 * PIECE, 30 * PIECE)
    const first = reader.next()
    connect(seed, torrent)
    await first
    await verifiedCount(torrent, 40)
    expect(countIn(order.slice(0, 30), 20, 49)).toBeGreaterThanOrEqual(30 - SLACK)
    // With the old window still raised, the two would take turns: about half from 201-249.
    expect(countIn(order.slice(0, 30), 201, 249)).toBeLessThanOrEqual(SLACK)
    await reader.return(undefined)
  })

  it('an aborted read holding a chunk releases its window at once, without being pulled again', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    // Piece 200 is here already: the old read yields it at once and then sits on it, its window (201...) raised.
    const { torrent, order } = await leecher(metainfo, data, [200])
    const controller = new AbortController()
    const old = torrent.read(200 * PIECE, 50 * PIECE, controller.signal)
    expect((await old.next()).done).toBe(false)
    controller.abort() // a seek: the worker aborts the request; nobody calls next() on the old read again

    const reader = torrent.read(20 * PIECE, 30 * PIECE)
    const first = reader.next()
    connect(seed, torrent)
    await first
    await verifiedCount(torrent, 41)
    // Only the new reader's pieces; with the old window still raised, the two would take turns.
    expect(countIn(order.slice(0, 30), 20, 49)).toBeGreaterThanOrEqual(30 - SLACK)
    expect(countIn(order.slice(0, 30), 201, 249)).toBeLessThanOrEqual(SLACK)
    await reader.return(undefined)
    await expect(old.next()).rejects.toBeInstanceOf(AbortError)
  })

  it('two readers at once both get their pieces early', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    const { torrent, order } = await leecher(metainfo, data)
    const a = torrent.read(10 * PIECE, 20 * PIECE)
    const b = torrent.read(150 * PIECE, 20 * PIECE)
    const firstA = a.next()
    const firstB = b.next()
    connect(seed, torrent)
    await Promise.all([firstA, firstB])
    await verifiedCount(torrent, 40)
    const early = order.slice(0, 20)
    // Turns, not one reader's whole window before the other's.
    expect(countIn(early, 10, 29)).toBeGreaterThanOrEqual(10 - SLACK)
    expect(countIn(early, 150, 169)).toBeGreaterThanOrEqual(10 - SLACK)
    await a.return(undefined)
    await b.return(undefined)
  })

  it('hands a verified piece to its reader while the store is still writing it', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    // A store whose writes wait until released: IndexedDB commits lag like this while a download runs at full speed.
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const put = store.put.bind(store)
    store.put = async (index, piece, signal) => {
      await gate
      await put(index, piece, signal)
    }
    const torrent = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(torrent)
    const offset = 30 * PIECE + 5
    const reader = torrent.read(offset, PIECE)
    const first = reader.next()
    connect(seed, torrent)
    const chunk = await first
    expect(chunk.done).toBe(false)
    expect(sameBytes(chunk.value as Uint8Array, data.subarray(offset, 31 * PIECE))).toBe(true)
    // Not stored yet (`have` is what the store holds; peers were told already: early-have.test.ts).
    expect(torrent.have!.has(30)).toBe(false)
    release()
    await verifiedCount(torrent, 1)
    await new Promise<void>((resolve) => { if (torrent.have!.has(30)) resolve(); else torrent.on('verified', (i) => { if (i === 30) resolve() }) })
    const rest = await reader.next()
    expect(sameBytes(rest.value as Uint8Array, data.subarray(31 * PIECE, offset + PIECE))).toBe(true)
    await reader.return(undefined)
  })

  it('a reader takes the pieces of its window from memory, not back from the store', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
    let reads = 0
    const get = store.get.bind(store)
    store.get = async (index, range, signal) => {
      reads++
      return await get(index, range, signal)
    }
    const torrent = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(torrent)
    connect(seed, torrent)
    const offset = 40 * PIECE + 3
    const length = 30 * PIECE
    const chunks: Uint8Array[] = []
    for await (const chunk of torrent.read(offset, length)) {
      chunks.push(chunk)
      await new Promise((resolve) => setTimeout(resolve, 1)) // a consumer slower than the download
    }
    expect(sameBytes(concatBytes(chunks), data.subarray(offset, offset + length))).toBe(true)
    expect(reads).toBe(0)
  })

  it('a seek cancels the requests queued for background pieces and asks for the new position at once', async () => {
    const { metainfo, data } = await fixture
    // A seeder that answers one block, then cannot answer (its store reads wait): our requests pile up in its queue,
    // as they do behind a slow link. (The first block proves it: a peer that never delivered gets only a few
    // requests, UNPROVEN_PEER_REQUESTS.)
    const seedStore = await storeWith(metainfo, data)
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const get = seedStore.get.bind(seedStore)
    let reads = 0
    seedStore.get = async (index, range, signal) => {
      if (reads++ > 0) await gate
      return await get(index, range, signal)
    }
    const seed = new Torrent({ createStore: () => seedStore }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
    torrents.push(seed)
    const { torrent, order } = await leecher(metainfo, data)
    const [ours, theirs] = memoryConnectionPair()
    const sent = tapSent(ours)
    const received = tapReceived(theirs)
    const arrived = tapReceived(ours)
    torrent.addConnection(ours)
    seed.addConnection(theirs)
    await until(() => count(sent, 'request') >= MAX_OUTSTANDING_REQUESTS)
    const background = sent.filter((m) => m.type === 'request').map((m) => m.index)
    const target = Array.from({ length: PIECES }, (_, i) => i).find((i) => !background.includes(i))!

    const before = sent.length
    const reader = torrent.read(target * PIECE, PIECE)
    const first = reader.next()
    await until(() => sent.slice(before).some((m) => m.type === 'request' && m.index === target))
    const rush = sent.slice(before)
    // All but the oldest requests are withdrawn, and the target's blocks are asked for at once (no block has
    // arrived meanwhile: the seeder is still waiting for its store).
    // (The pipeline holds MAX_OUTSTANDING_REQUESTS less the few first blocks it answered.)
    expect(count(rush, 'cancel')).toBeLessThanOrEqual(MAX_OUTSTANDING_REQUESTS - RUSH_KEEP_REQUESTS)
    expect(count(rush, 'cancel')).toBeGreaterThanOrEqual(MAX_OUTSTANDING_REQUESTS - RUSH_KEEP_REQUESTS - UNPROVEN_PEER_REQUESTS)
    expect(rush.filter((m) => m.type === 'request' && m.index === target)).toHaveLength(PIECE / 16384)

    await until(() => count(received, 'cancel') === count(rush, 'cancel'))
    release()
    const chunk = await first
    expect(sameBytes(chunk.value as Uint8Array, data.subarray(target * PIECE, (target + 1) * PIECE))).toBe(true)
    // Served right after the few requests that were kept: without the cancels it would come after all 128 blocks
    // (32 pieces) queued before it. Counted in the order the blocks arrived, not the order their pieces were
    // verified: hashing is asynchronous, and on a loaded machine finished a few more places out of order.
    const arrivalOrder = [...new Set(arrived.filter((m) => m.type === 'piece').map((m) => m.index))]
    expect(arrivalOrder.indexOf(target)).toBeGreaterThanOrEqual(0)
    expect(arrivalOrder.indexOf(target)).toBeLessThanOrEqual(RUSH_KEEP_REQUESTS / (PIECE / 16384) + 1)
    await reader.return(undefined)
  })

  it('a file larger than the store still streams: refused pieces go to the reader, each fetched once', async () => {
    const { metainfo, data } = await fixture
    const seed = await seeder(metainfo, data)
    // Room for 8 pieces (a full quota, or the loader's budget for the visit), and the file on demand only (as the
    // loader leaves big media).
    const store = new MemoryStore({ pieceLength: PIECE, length: metainfo.length, maxBytes: 8 * PIECE })
    const torrent = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(torrent)
    torrent.on('warning', () => {})
    torrent.setWanted(0, PIECES - 1, false)
    connect(seed, torrent)
    const chunks: Uint8Array[] = []
    for await (const chunk of torrent.read(0, metainfo.length)) chunks.push(chunk)
    expect(sameBytes(concatBytes(chunks), data)).toBe(true)
    expect(torrent.have!.count).toBe(8) // what the store took; after its first refusal nothing is announced unstored
    expect(torrent.stats().downloaded).toBe(metainfo.length) // read-ahead pieces were held for the reader, not fetched again
    // Going back to a piece the store refused gets its bytes: fetched again once dropped from memory (the picker had
    // stopped wanting it), or still from memory. Which one depends on the run: a refused piece is kept in memory
    // (unstoredPieces of them, the oldest dropped first) only while a reader still wants it, and whether the reader
    // had moved past it when the store's refusal came depends on how the blocks and the reads interleaved (a loaded
    // CI run kept piece 100; most runs drop it, and then a piece the picker no longer wanted must be fetched again, or
    // this read never ends). Never fetched twice, never in part.
    const again: Uint8Array[] = []
    for await (const chunk of torrent.read(100 * PIECE + 5, 10)) again.push(chunk)
    expect(sameBytes(concatBytes(again), data.subarray(100 * PIECE + 5, 100 * PIECE + 15))).toBe(true)
    expect([metainfo.length, metainfo.length + PIECE]).toContain(torrent.stats().downloaded)
  })
})

type Sent = { type: string, index?: number }

/** A decoder that records the messages it is fed, in order. */
function recorder (): { messages: Sent[], feed: (bytes: Uint8Array) => void } {
  const messages: Sent[] = []
  const decoder = new WireDecoder({ maxMessageLength: 1 << 20 })
  const feed = (bytes: Uint8Array): void => {
    for (const item of decoder.push(bytes.slice()) as DecodedItem[]) {
      if (item.kind === 'message') messages.push({ type: item.message.type, index: (item.message as { index?: number }).index })
    }
  }
  return { messages, feed }
}

/** Records the messages `conn` sends. */
function tapSent (conn: Connection): Sent[] {
  const { messages, feed } = recorder()
  const send = conn.send.bind(conn)
  conn.send = (bytes: Uint8Array) => {
    feed(bytes)
    send(bytes)
  }
  return messages
}

/** Records the messages `conn` receives. */
function tapReceived (conn: Connection): Sent[] {
  const { messages, feed } = recorder()
  conn.on('data', feed)
  return messages
}

const count = (messages: Sent[], type: string): number => messages.filter((m) => m.type === type).length

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1))
}

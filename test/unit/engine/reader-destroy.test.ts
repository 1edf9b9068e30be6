/**
 * Reads after Torrent.destroy fail at once with the destroy's error, whichever way they come into the reader: one
 * waiting for a piece then, one whose consumer takes its next chunk afterwards, one waiting for the metainfo, and a
 * new one (of a piece held in the store, which is closed now, or of a missing piece). A read that waited instead held
 * its caller (the loader's engine host, serve's gateway) for ever when it had no signal. Torrent.ready (the wait for the
 * metainfo itself) ends with the same error.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { AbortError } from '../../../engine/errors.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { storeWith } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const PIECE = 16384
const fixture = makeTorrent([{ path: 'a.bin', data: randomData(4 * PIECE, 7) }], PIECE)

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

/** A torrent holding `held` pieces and no peers: a read of any other piece waits. */
async function holding (metainfo: Metainfo, data: Uint8Array, held: number[]): Promise<Torrent> {
  const store = await storeWith(metainfo, data, held)
  const have = new Bitfield(metainfo.pieceCount)
  for (const i of held) have.set(i)
  const torrent = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have })
  torrents.push(torrent)
  return torrent
}

/**
 * How `promise` ends: the error it rejects with, or 'still waiting' if it has not settled a while after the destroy
 * (it should have settled at once; the while only keeps a broken reader from holding the test until its timeout).
 */
async function outcome (promise: Promise<unknown>): Promise<unknown> {
  const waiting = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 2000))
  return await Promise.race([promise.then(() => 'resolved', (err: unknown) => err), waiting])
}

function expectDestroyed (result: unknown): void {
  expect(result).toBeInstanceOf(AbortError)
  expect((result as Error).message).toBe('torrent destroyed')
}

describe('reads after Torrent.destroy', () => {
  it('a reader waiting for a missing piece then fails with the destroy\'s error', async () => {
    const { metainfo, data } = await fixture
    const torrent = await holding(metainfo, data, [0])
    // The web seeds' cue comes just before the reader waits for the piece (engine/reader.ts).
    const stalled = new Promise<void>((resolve) => { torrent.webSeeds = { stalled: () => resolve(), destroy: () => {} } })
    const next = torrent.read(PIECE, PIECE).next()
    await stalled
    await torrent.destroy()
    expectDestroyed(await outcome(next))
  })

  it('so does a read that started just before the destroy and had not come to its piece yet', async () => {
    const { metainfo, data } = await fixture
    const torrent = await holding(metainfo, data, [0])
    const next = torrent.read(PIECE, PIECE).next()
    await torrent.destroy()
    expectDestroyed(await outcome(next))
  })

  it('a reader whose consumer takes its next chunk afterwards fails too, its next piece held or not', async () => {
    const { metainfo, data } = await fixture
    const torrent = await holding(metainfo, data, [0, 1])
    const toMissing = torrent.read(PIECE, 2 * PIECE) // pieces 1 (held) and 2 (missing)
    const toHeld = torrent.read(0, 2 * PIECE) // pieces 0 and 1, both held
    expect((await toMissing.next()).value).toHaveLength(PIECE)
    expect((await toHeld.next()).value).toHaveLength(PIECE)
    await torrent.destroy()
    // Before: the first waited for piece 2 with nothing left to wake it, the second read piece 1 from the closed
    // store (StorageError ERR_CLOSED).
    expectDestroyed(await outcome(toMissing.next()))
    expectDestroyed(await outcome(toHeld.next()))
  })

  it('a new read fails at once: of a held piece (the store is closed), of a missing one, of nothing', async () => {
    const { metainfo, data } = await fixture
    const torrent = await holding(metainfo, data, [0])
    await torrent.destroy()
    expectDestroyed(await outcome(torrent.read(0, PIECE).next()))
    expectDestroyed(await outcome(torrent.read(PIECE, PIECE).next()))
    expectDestroyed(await outcome(torrent.read(0, 0).next()))
  })

  it('a read waiting for the metainfo (a torrent known by its infohash alone) fails too', async () => {
    const { metainfo } = await fixture
    const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash })
    torrents.push(torrent)
    const next = torrent.read(0, PIECE).next()
    await torrent.destroy()
    expectDestroyed(await outcome(next))
    expectDestroyed(await outcome(torrent.read(0, PIECE).next()))
  })
})

describe('reads of a live torrent', () => {
  // Each read once raced a promise that settled only at the torrent's end, leaving a reaction on it (about 300 B) for
  // as long as the torrent lived; a gateway reads once per request. The heap after many reads must not grow with them.
  it('leave nothing behind once done (many reads of a held piece, the heap measured after a collection)', async () => {
    const { setFlagsFromString } = await import('node:v8')
    const { runInNewContext } = await import('node:vm')
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const { metainfo, data } = await fixture
    const torrent = await holding(metainfo, data, [0, 1, 2, 3])
    const readMany = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) for await (const chunk of torrent.read(0, 10)) expect(chunk.length).toBe(10)
    }
    await readMany(2000) // warm: the code optimized, the store's caches filled
    gc()
    const before = process.memoryUsage().heapUsed
    const reads = 50_000
    await readMany(reads)
    gc()
    const perRead = (process.memoryUsage().heapUsed - before) / reads
    // Before the fix: 300-310 B per read (15 MB here). Allocation noise is a few hundred KB at most, under 10 B a read.
    expect(perRead).toBeLessThan(50)
  }, 60_000)
})

describe('Torrent.ready and destroy', () => {
  // serve (cli/run/serve.ts) and the gateway wait on ready() for a torrent whose metadata has not come: a destroy
  // dropped the wait's listener and left the promise pending for ever.
  it('a wait for the metainfo then fails with the destroy\'s error, and so does one that starts later', async () => {
    const { metainfo } = await fixture
    const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash })
    torrents.push(torrent)
    const waiting = torrent.ready()
    const withSignal = torrent.ready(new AbortController().signal)
    await torrent.destroy()
    expectDestroyed(await outcome(waiting))
    expectDestroyed(await outcome(withSignal))
    expectDestroyed(await outcome(torrent.ready()))
  })

  it('an aborted wait still fails with its own AbortError, and one that got the metainfo is not ended by a destroy', async () => {
    const { metainfo } = await fixture
    const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, { infoHash: metainfo.infoHash })
    torrents.push(torrent)
    const controller = new AbortController()
    const aborted = torrent.ready(controller.signal)
    controller.abort()
    const result = await outcome(aborted)
    expect(result).toBeInstanceOf(AbortError)
    expect((result as Error).message).not.toBe('torrent destroyed')
    const got = torrent.ready()
    torrent.emit('metadata', metainfo)
    await expect(got).resolves.toBe(metainfo)
    await torrent.destroy()
  })
})

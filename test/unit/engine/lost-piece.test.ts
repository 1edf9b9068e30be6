/**
 * A stored piece that cannot be read, or reads wrong, never stalls a visitor: the engine's store (a visitor who holds
 * every piece) fails on one piece, the worker's verified read (worker/verified-read.ts) reads the file through the
 * engine as the loader's engine host does, and the request completes with the right bytes, the piece fetched again
 * from a seeder. WebKit's IndexedDB does both: a read of a lost Blob throws NotFoundError, and a rewritten run can
 * hold another piece's bytes (README, "Browsers").
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Bitfield, fullBitfield } from '../../../engine/bitfield.js'
import { StorageError } from '../../../engine/errors.js'
import { FsStore } from '../../../engine/storage/fs.js'
import { IdbStore } from '../../../engine/storage/idb.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import type { EnginePiece, PieceRun } from '../../../worker/engine-client.js'
import { verifiedOpen, type PieceEngine } from '../../../worker/verified-read.js'
import { parsePieceTable } from '../../../worker/verify.js'
import { connectTorrents, pieceOf, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'

const PIECE = 16384
const BAD = 2

/** A memory store whose reads of piece BAD fail as `fault` says until the piece is put again (fetched anew). */
class FaultyStore extends MemoryStore {
  healed = false
  constructor (pieceLength: number, length: number, readonly fault: 'throws' | 'wrong') { super({ pieceLength, length }) }

  override async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    if (index !== BAD || this.healed) return await super.get(index, range, signal)
    if (this.fault === 'throws') {
      throw new StorageError(`reading piece ${index} failed: The object can not be found here.`, 'ERR_STORAGE', { cause: new DOMException('The object can not be found here.', 'NotFoundError') })
    }
    return await super.get(index - 1, range, signal) // another piece's bytes
  }

  override async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    await super.put(index, data, signal)
    if (index === BAD) this.healed = true
  }
}

/** The engine side of the worker's port, as loader/engine-host.ts answers it: whole pieces from torrent.read. */
function engineOf (torrent: Torrent): PieceEngine & { readonly rejected: number[] } {
  const rejected: number[] = []
  return {
    rejected,
    async open (_infoHash: string, run: PieceRun, signal?: AbortSignal): Promise<ReadableStream<EnginePiece>> {
      const { pieceLength, length } = torrent.metainfo!
      const start = run.first * pieceLength
      const iterator = torrent.read(start, Math.min(length, (run.last + 1) * pieceLength) - start, signal)
      let index = run.first
      return new ReadableStream<EnginePiece>({
        pull: async (controller) => {
          const next = await iterator.next()
          if (next.done === true) controller.close()
          else controller.enqueue({ index: index++, bytes: next.value })
        },
        cancel: async () => { await iterator.return(undefined) }
      }, { highWaterMark: 0 })
    },
    reject (_infoHash: string, index: number): void {
      rejected.push(index)
      void torrent.forgetPiece(index)
    }
  }
}

/** A file read through the worker's verified read from `visitor`: its bytes, and the pieces the worker refused. */
async function workerRead (visitor: Torrent): Promise<{ bytes: Uint8Array, rejected: number[] }> {
  const metainfo = visitor.metainfo!
  const torrentFile = concatBytes([new TextEncoder().encode('d4:info'), metainfo.info, new TextEncoder().encode('e')])
  const table = await parsePieceTable(torrentFile, metainfo.infoHash, [{ path: 'index.html', length: metainfo.length }])
  const engine = engineOf(visitor)
  const body = await verifiedOpen({ table, engine })('index.html', 0, metainfo.length, new AbortController().signal)
  const chunks: Uint8Array[] = []
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return { bytes: concatBytes(chunks), rejected: engine.rejected }
}

const torrents: Torrent[] = []
afterEach(async () => {
  await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
})

describe('a stored piece that cannot be read, or reads wrong', () => {
  for (const fault of ['throws', 'wrong'] as const) {
    it(`a read through it completes with the right bytes, the piece fetched again (its store read ${fault === 'throws' ? 'throws NotFoundError' : 'returns another piece\'s bytes'})`, async () => {
      const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(5 * PIECE + 1000, 11) }], PIECE)
      const seed = await seederOf(metainfo, data)
      torrents.push(seed)
      // A returning visitor: every piece stored and announced, piece BAD broken in its store.
      const store = new FaultyStore(metainfo.pieceLength, metainfo.length, fault)
      for (let i = 0; i < metainfo.pieceCount; i++) await store.put(i, pieceOf(metainfo, data, i))
      store.healed = false
      const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
      torrents.push(visitor)
      connectTorrents(seed, visitor)

      const { bytes, rejected } = await workerRead(visitor)

      expect(sameBytes(bytes, data)).toBe(true)
      // The engine forgot the piece and fetched it again (stored anew); a store that throws never reaches the worker.
      expect(store.healed).toBe(true)
      expect(rejected).toEqual(fault === 'wrong' ? [BAD] : [])
      expect(visitor.have?.has(BAD)).toBe(true)
      expect(sameBytes(await store.get(BAD), pieceOf(metainfo, data, BAD))).toBe(true)
    })
  }

  it('a peer asking the visitor for it: the visitor forgets it and fetches it again (the peer\'s request goes unanswered)', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(5 * PIECE + 1000, 12) }], PIECE)
    const seed = await seederOf(metainfo, data)
    const store = new FaultyStore(metainfo.pieceLength, metainfo.length, 'throws')
    for (let i = 0; i < metainfo.pieceCount; i++) await store.put(i, pieceOf(metainfo, data, i))
    store.healed = false
    const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
    const other = new Torrent({ createStore: () => new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length }) }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(seed, visitor, other)
    connectTorrents(seed, visitor)
    // The other visitor asks this one alone, for every piece: the read of BAD fails in the uploader.
    const done = new Promise<void>((resolve) => { visitor.once('done', () => resolve()) })
    const reading = (async () => {
      const chunks: Uint8Array[] = []
      for await (const chunk of other.read(0, metainfo.length)) chunks.push(chunk)
      return concatBytes(chunks)
    })()
    reading.catch(() => {})
    connectTorrents(visitor, other)
    await done // no longer done when it forgot BAD, done again once it has it back
    expect(store.healed).toBe(true)
    expect(visitor.have?.has(BAD)).toBe(true)
    expect(sameBytes(await store.get(BAD), pieceOf(metainfo, data, BAD))).toBe(true)
    // Its request for BAD went unanswered (a request is not made again to a peer that left it so): from the seed.
    connectTorrents(seed, other)
    expect(sameBytes(await reading, data)).toBe(true)
  })
})

describe('a bad piece of an IndexedDB run whose delete fails (engine/storage/idb.ts)', () => {

  it('the copy fetched again is the one read on the next visit, and the run\'s other pieces are fetched again', async () => {
    const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(5 * PIECE + 1000, 15) }], PIECE)
    const seed = await seederOf(metainfo, data)
    torrents.push(seed)
    const factory = new IDBFactory()
    const open = (): IdbStore => new IdbStore({
      pieceLength: metainfo.pieceLength, length: metainfo.length, infoHash: metainfo.infoHash,
      indexedDB: factory as unknown as globalThis.IDBFactory, keyRange: IDBKeyRange as unknown as typeof globalThis.IDBKeyRange
    })
    // A returning visitor's store: every piece, in runs of three (pieces of 16 KiB), the first piece of the first
    // run altered (a script of the origin rewrote it).
    const first = open()
    await first.storedPieces()
    await Promise.all(Array.from({ length: metainfo.pieceCount }, async (_, i) => {
      const piece = pieceOf(metainfo, data, i)
      if (i === 0) piece[5] = piece[5]! ^ 0xff
      await first.put(i, piece)
    }))
    await first.close()
    const visit = async (): Promise<{ visitor: Torrent, read: { bytes: Uint8Array, rejected: number[] } }> => {
      const store = open()
      const have = new Bitfield(metainfo.pieceCount)
      for (const i of await store.storedPieces()) have.set(i)
      const visitor = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have })
      torrents.push(visitor)
      connectTorrents(seed, visitor)
      const read = await workerRead(visitor)
      // Until what it fetched again is stored.
      if (visitor.have?.complete !== true) await new Promise<void>((resolve) => { visitor.once('done', () => resolve()) })
      await visitor.destroy()
      return { visitor, read }
    }

    // The delete's rewrite of the run's other pieces fails (a quota error): its transaction is the only one that puts
    // into the pieces store alone (a write of pieces touches the sites store too).
    const realPut = IDBObjectStore.prototype.put // eslint-disable-line @typescript-eslint/unbound-method
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.transaction.objectStoreNames.length === 1) throw new DOMException('simulated quota', 'QuotaExceededError')
      return realPut.apply(this, args)
    })
    let one
    try {
      one = await visit()
    } finally {
      put.mockRestore()
    }
    expect(sameBytes(one.read.bytes, data)).toBe(true)
    expect(one.read.rejected).toEqual([0])
    // The next visit reads the new copy (before: the altered one again, found in the run before the new record).
    const two = await visit()
    expect(sameBytes(two.read.bytes, data)).toBe(true)
    expect(two.read.rejected).toEqual([])
    const again = open()
    expect(await again.storedPieces()).toEqual(Array.from({ length: metainfo.pieceCount }, (_, i) => i))
    await again.close()
  })
})

describe('a piece a store that deletes nothing cannot read (Node: a seeder\'s folder, FsStore)', () => {
  const folders: string[] = []
  afterEach(async () => {
    await Promise.all(torrents.splice(0).map(async (t) => await t.destroy()))
    await Promise.all(folders.splice(0).map(async (f) => await rm(f, { recursive: true, force: true })))
  })

  /** A seeder of the files in a folder, as cli/lib/swarm.ts startSeeder makes one, whose file the user then cut short. */
  async function cutSeeder (seedByte: number): Promise<{ seeder: Torrent, metainfo: Awaited<ReturnType<typeof makeTorrent>>['metainfo'], data: Uint8Array, path: string, cut: number }> {
    const { metainfo, data } = await makeTorrent([{ path: 'index.html', data: randomData(5 * PIECE + 1000, seedByte) }], PIECE)
    const root = await mkdtemp(join(tmpdir(), 'peersite-lost-'))
    folders.push(root)
    const path = join(root, 'index.html')
    await writeFile(path, data)
    const seeder = new Torrent({
      createStore: (m) => new FsStore({ pieceLength: m.pieceLength, length: m.length, root, files: m.files, names: 'checked' })
    }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
    torrents.push(seeder)
    const cut = BAD * PIECE
    await truncate(path, cut)
    return { seeder, metainfo, data, path, cut }
  }

  it('a peer asking for it: warned, still held, and the folder is not written (no copy fetched into it)', async () => {
    const { seeder, metainfo, data, path, cut } = await cutSeeder(13)
    // Another copy in the swarm, from which the seeder could fetch the piece again.
    const other = await seederOf(metainfo, data)
    const asker = new Torrent({ createStore: () => new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length }) }, { infoHash: metainfo.infoHash, metainfo })
    torrents.push(other, asker)
    connectTorrents(other, seeder)
    const warned = new Promise<Error>((resolve) => { seeder.once('warning', resolve) })
    const reading = (async () => { for await (const _ of asker.read(BAD * PIECE, PIECE)) { /* drained */ } })()
    reading.catch(() => {})
    connectTorrents(seeder, asker)
    const outcome = await Promise.race([warned, new Promise<'done'>((resolve) => { seeder.once('done', () => resolve('done')) })])
    expect(outcome).not.toBe('done') // (before: done again, the piece fetched and written into the folder)
    expect((outcome as Error).message).toContain('index.html is shorter than expected')
    expect(seeder.have?.has(BAD)).toBe(true)
    expect(seeder.done).toBe(true)
    expect((await readFile(path)).length).toBe(cut)
  })

  it('a read through the torrent fails with the store\'s error, as before (it neither waits nor writes)', async () => {
    const { seeder, path, cut } = await cutSeeder(14)
    const read = async (): Promise<void> => { for await (const _ of seeder.read(BAD * PIECE, PIECE)) { /* drained */ } }
    await expect(read()).rejects.toBeInstanceOf(StorageError)
    expect(seeder.have?.has(BAD)).toBe(true)
    expect((await readFile(path)).length).toBe(cut)
  }, 20_000) // (before: it waited for ever for a copy from peers, of which there are none)
})

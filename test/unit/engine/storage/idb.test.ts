/**
 * IdbStore in Node, on fake-indexeddb: the shared store suite, persistence across instances, storedPieces, and
 * quota handling (QuotaExceededError simulated by a wrapper around object-store writes: LRU eviction of other
 * sites, then ERR_QUOTA), runs of pieces in one record next to the one-piece records of the release before. Also
 * OverflowStore, which keeps refused pieces in memory.
 */
import { IDBDatabase, IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { StorageError } from '../../../../engine/errors.js'
import { INLINE_BYTES, IdbStore, RUN_BYTES, indexedDBWorks, pieceInRecord, recordSpan, type IdbStoreInit } from '../../../../engine/storage/idb.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { rawKeys } from '../../../fixtures/idb-keys.js'
import { OverflowStore } from '../../../../engine/storage/overflow.js'
import { LAYOUT, content, describeStore, pieceOf } from './store-suite.js'
import { watchStoredSlices } from './stored-slices.js'

const HASH_A = 'a'.repeat(40)
const HASH_B = 'b'.repeat(40)
const HASH_C = 'c'.repeat(40)

// ---- a simulated quota ------------------------------------------------------------------------------------------
// Browsers fail a write that exceeds the origin's quota with a QuotaExceededError; fake-indexeddb has no quota. This
// wrapper counts the bytes in the 'pieces' store of registered databases and throws that error from put() when a
// write would exceed the limit (deletes free the bytes again).

interface Ledger { readonly maxBytes: number, readonly entries: Map<string, { key: unknown, bytes: number }> }
const ledgers = new Map<string, Ledger>()
let dbSerial = 0
const realTransaction = IDBDatabase.prototype.transaction

beforeAll(() => {
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    const tx = realTransaction.apply(this, args)
    const ledger = ledgers.get(this.name)
    if (ledger === undefined) return tx
    const objectStore = tx.objectStore.bind(tx)
    tx.objectStore = (name: string) => {
      const store = objectStore(name)
      if (name !== 'pieces') return store
      const put = store.put.bind(store)
      const del = store.delete.bind(store)
      store.put = (value: unknown, key?: IDBValidKey) => {
        const id = JSON.stringify(key)
        const bytes = value instanceof Uint8Array ? value.length : value instanceof Blob ? value.size : 0
        let total = bytes
        for (const [k, e] of ledger.entries) if (k !== id) total += e.bytes
        if (total > ledger.maxBytes) throw new DOMException('simulated quota', 'QuotaExceededError')
        ledger.entries.set(id, { key, bytes })
        return put(value, key)
      }
      store.delete = (query: IDBValidKey | IDBKeyRange) => {
        for (const [k, e] of ledger.entries) {
          if (query instanceof IDBKeyRange ? query.includes(e.key) : JSON.stringify(query) === k) ledger.entries.delete(k)
        }
        return del(query)
      }
      return store
    }
    return tx
  }
})
afterAll(() => { IDBDatabase.prototype.transaction = realTransaction })

function quotaDatabase (maxBytes: number): string {
  const name = `peersite-quota-${++dbSerial}`
  ledgers.set(name, { maxBytes, entries: new Map() })
  return name
}

const idbInit = (factory: IDBFactory, extra: Partial<IdbStoreInit> = {}): IdbStoreInit => ({
  ...LAYOUT, infoHash: HASH_A, indexedDB: factory as unknown as globalThis.IDBFactory, keyRange: IDBKeyRange as unknown as typeof globalThis.IDBKeyRange, ...extra
})

describeStore('IdbStore (fake-indexeddb)', async () => ({ store: new IdbStore(idbInit(new IDBFactory())) }), {
  quota: async (_layout, maxBytes) => ({ store: new IdbStore(idbInit(new IDBFactory(), { name: quotaDatabase(maxBytes) })) })
})

describeStore('OverflowStore over a full IdbStore', async () => ({
  store: new OverflowStore(new IdbStore(idbInit(new IDBFactory(), { name: quotaDatabase(1500) })))
}), {
  quota: async (_layout, maxBytes) => ({
    store: new OverflowStore(new IdbStore(idbInit(new IDBFactory(), { name: quotaDatabase(0) })), { maxMemoryBytes: maxBytes })
  })
})

async function code (promise: Promise<unknown>): Promise<string | undefined> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(StorageError)
  return (err as StorageError).code
}

describe('IdbStore', () => {
  const data = content(LAYOUT.length)

  it('keeps pieces across instances (a reload) and lists them with storedPieces', async () => {
    const factory = new IDBFactory()
    const first = new IdbStore(idbInit(factory))
    expect(await first.storedPieces()).toEqual([])
    for (const i of [4, 1, 3]) await first.put(i, pieceOf(data, LAYOUT, i))
    await first.close()
    const again = new IdbStore(idbInit(factory))
    expect(await again.storedPieces()).toEqual([1, 3, 4])
    expect(await again.get(3)).toEqual(pieceOf(data, LAYOUT, 3))
    expect(await code(again.get(0))).toBe('ERR_NOT_FOUND')
    // Another infohash in the same database sees nothing of it.
    const other = new IdbStore(idbInit(factory, { infoHash: HASH_B }))
    expect(await other.storedPieces()).toEqual([])
    expect(await code(other.get(3))).toBe('ERR_NOT_FOUND')
    await again.clear()
    expect(await again.storedPieces()).toEqual([])
    await again.close()
    await other.close()
  })

  it('on QuotaExceededError evicts the least recently used other sites, then retries', async () => {
    const factory = new IDBFactory()
    const name = quotaDatabase(3000)
    let now = 1_000_000_000
    const clock = (): number => now
    const open = (infoHash: string): IdbStore => new IdbStore(idbInit(factory, { name, infoHash, now: clock, activeMs: 60_000 }))
    const older = open(HASH_B)
    await older.put(0, pieceOf(data, LAYOUT, 0))
    await older.put(1, pieceOf(data, LAYOUT, 1))
    now += 10 * 60_000
    const newer = open(HASH_C)
    await newer.put(0, pieceOf(data, LAYOUT, 0))
    now += 10 * 60_000
    const current = open(HASH_A)
    await current.put(0, pieceOf(data, LAYOUT, 0)) // 3000 bytes used: full, so this evicts B (least recently used)
    await current.put(1, pieceOf(data, LAYOUT, 1)) // fits in what B freed
    expect(await older.storedPieces()).toEqual([])
    expect(await newer.storedPieces()).toEqual([0]) // storedPieces marks C as used now
    expect(await current.storedPieces()).toEqual([0, 1])
    // C was just used: active, not evicted; nothing else to evict -> ERR_QUOTA, and the store is intact.
    expect(await code(current.put(2, pieceOf(data, LAYOUT, 2)))).toBe('ERR_QUOTA')
    expect(await current.storedPieces()).toEqual([0, 1])
    expect(await current.get(1)).toEqual(pieceOf(data, LAYOUT, 1))
    // Once C has not been used for a while, it goes too.
    now += 2 * 60_000
    await current.put(2, pieceOf(data, LAYOUT, 2))
    expect(await newer.storedPieces()).toEqual([])
    for (const s of [older, newer, current]) await s.close()
  })

  it('writes puts made together in shared transactions; a batch that does not fit is retried piece by piece', async () => {
    const factory = new IDBFactory()
    const pieces = [0, 1, 2, 3, 4]
    const store = new IdbStore(idbInit(factory))
    await store.storedPieces() // opens the database
    const transactions = vi.spyOn(IDBDatabase.prototype, 'transaction')
    await Promise.all(pieces.map(async (i) => await store.put(i, pieceOf(data, LAYOUT, i))))
    const writes = transactions.mock.calls.filter((args) => args[1] === 'readwrite').length
    transactions.mockRestore()
    expect(writes).toBeLessThan(pieces.length)
    expect(await store.storedPieces()).toEqual(pieces)
    for (const i of pieces) expect(await store.get(i)).toEqual(pieceOf(data, LAYOUT, i))
    await store.close()

    // Room for two pieces: the batch of three fails as a whole, then each piece is tried alone.
    const tight = new IdbStore(idbInit(new IDBFactory(), { name: quotaDatabase(2 * LAYOUT.pieceLength) }))
    const results = await Promise.allSettled([0, 1, 2].map(async (i) => await tight.put(i, pieceOf(data, LAYOUT, i))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect(((results[2] as PromiseRejectedResult).reason as StorageError).code).toBe('ERR_QUOTA')
    expect(await tight.storedPieces()).toEqual([0, 1])
    await tight.close()
  })

  it('is unavailable without IndexedDB', async () => {
    expect(await indexedDBWorks(undefined)).toBe(false)
    expect(await indexedDBWorks(new IDBFactory() as unknown as globalThis.IDBFactory)).toBe(true)
    expect(() => new IdbStore({ ...LAYOUT, infoHash: HASH_A, indexedDB: undefined })).toThrow(StorageError)
  })
})

/** Byte equality without vitest's element-by-element diff (slow for pieces of 256 KiB). */
function expectBytes (got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length)
  expect(Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length))).toBe(true)
}


/** Writes records straight into the 'pieces' store (as the release before runs did: one piece per record). */
async function rawPut (factory: IDBFactory, records: Array<[unknown[], unknown]>, name = 'peersite'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const open = factory.open(name)
    open.onerror = () => { reject(open.error) }
    open.onsuccess = () => {
      const db = open.result
      const tx = db.transaction('pieces', 'readwrite')
      for (const [key, value] of records) tx.objectStore('pieces').put(value, key as IDBValidKey)
      tx.oncomplete = () => { db.close(); resolve() }
      tx.onabort = () => { db.close(); reject(tx.error) }
    }
  })
}

/** What the release before runs listed as stored (integer second elements only). */
const oldListing = (keys: unknown[][], infoHash: string): number[] =>
  keys.filter((k) => k[0] === infoHash && typeof k[1] === 'number' && Number.isInteger(k[1])).map((k) => k[1] as number)

describe('IdbStore runs (consecutive pieces in one record)', () => {
  // Pieces of 256 KiB: four to a run's record (RUN_BYTES), eleven of them, the last 1000 bytes.
  const PL = 256 * 1024
  const RUN = RUN_BYTES / PL
  const layout = { pieceLength: PL, length: 10 * PL + 1000 }
  const data = content(layout.length, 3)
  const piece = (i: number): Uint8Array => data.subarray(i * PL, Math.min(layout.length, (i + 1) * PL))
  const init = (factory: IDBFactory, extra: Partial<IdbStoreInit> = {}): IdbStoreInit => idbInit(factory, { ...layout, ...extra })
  const all = Array.from({ length: 11 }, (_, i) => i)

  it('stores the pieces of one batch, arriving out of order, as runs of consecutive pieces, and reads each back', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([5, 3, 4, 2, 7, 6].map(async (i) => await store.put(i, piece(i))))
    const keys = await rawKeys(factory)
    // 2..7: one run of four (the most a record takes), then one of two.
    expect(keys).toEqual([[HASH_A, 2.5, RUN, PL], [HASH_A, 6.5, 2, PL]])
    expect(await store.storedPieces()).toEqual([2, 3, 4, 5, 6, 7])
    await store.close()
    const again = new IdbStore(init(factory))
    for (const i of [7, 2, 5, 3, 6, 4]) expectBytes(await again.get(i), piece(i))
    expectBytes(await again.get(4, { offset: 100, length: 50 }), piece(4).subarray(100, 150))
    expect(await code(again.get(1))).toBe('ERR_NOT_FOUND')
    expect(await code(again.get(8))).toBe('ERR_NOT_FOUND')
    // A release before runs that shares the database lists none of them (it could not read them).
    expect(oldListing(keys, HASH_A)).toEqual([])
    await again.clear()
    expect(await rawKeys(factory)).toEqual([])
    await again.close()
  })

  it('writes pieces arriving one at a time as they come (as durable as before), each its own record', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    for (const i of [9, 1, 0, 10, 2]) await store.put(i, piece(i))
    expect(await rawKeys(factory)).toEqual([0, 1, 2, 9, 10].map((i) => [HASH_A, i]))
    expect(await store.storedPieces()).toEqual([0, 1, 2, 9, 10])
    for (const i of [0, 1, 2, 9, 10]) expectBytes(await store.get(i), piece(i))
    await store.close()
  })

  it('ends a run with the torrent\'s short last piece, and reads it and its neighbours', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([10, 8, 9].map(async (i) => await store.put(i, piece(i))))
    expect(await rawKeys(factory)).toEqual([[HASH_A, 8.5, 3, PL]])
    await store.close()
    const again = new IdbStore(init(factory))
    expectBytes(await again.get(10), piece(10))
    expect((await again.get(10)).length).toBe(1000)
    expectBytes(await again.get(9), piece(9))
    expectBytes(await again.get(10, { offset: 990, length: 10 }), piece(10).subarray(990))
    expect(await again.storedPieces()).toEqual([8, 9, 10])
    await again.close()
  })

  it('reads the one-piece records of the release before, next to runs, and lists both', async () => {
    const factory = new IDBFactory()
    const first = new IdbStore(init(factory))
    await first.storedPieces() // creates the database
    await first.close()
    await rawPut(factory, [0, 1, 2, 3, 10].map((i) => [[HASH_A, i], piece(i).slice()]))
    const store = new IdbStore(init(factory))
    expect(await store.storedPieces()).toEqual([0, 1, 2, 3, 10])
    await Promise.all([4, 5, 6].map(async (i) => await store.put(i, piece(i))))
    expect(await store.storedPieces()).toEqual([0, 1, 2, 3, 4, 5, 6, 10])
    for (const i of [0, 3, 4, 6, 10]) expectBytes(await store.get(i), piece(i))
    expect(await code(store.get(7))).toBe('ERR_NOT_FOUND')
    // Deleting an old record leaves the run alone.
    await store.delete(3)
    expect(await store.storedPieces()).toEqual([0, 1, 2, 4, 5, 6, 10])
    await store.close()
  })

  it('deletes one piece of a run: the others stay stored and readable, even one read just before', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all(all.map(async (i) => await store.put(i, piece(i))))
    expect(await store.storedPieces()).toEqual(all)
    const records = (await rawKeys(factory)).length
    expect(records).toBeLessThan(all.length)
    expectBytes(await store.get(5), piece(5)) // its run is now kept in memory by the store
    await store.delete(5)
    expect(await code(store.get(5))).toBe('ERR_NOT_FOUND')
    expect(await store.storedPieces()).toEqual(all.filter((i) => i !== 5))
    for (const i of all.filter((i) => i !== 5)) expectBytes(await store.get(i), piece(i))
    // Gone for another instance too (a reload).
    const again = new IdbStore(init(factory))
    expect(await code(again.get(5))).toBe('ERR_NOT_FOUND')
    expect(await again.storedPieces()).toEqual(all.filter((i) => i !== 5))
    // Stored again, it is readable again; deleting every piece leaves no record behind.
    await again.put(5, piece(5))
    expectBytes(await again.get(5), piece(5))
    for (const i of all) await again.delete(i)
    expect(await again.storedPieces()).toEqual([])
    expect(await rawKeys(factory)).toEqual([])
    await again.close()
    await store.close()
  })

  it('finds a piece stored twice (a one-piece record inside a run) and deletes both copies', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([0, 1, 2, 3].map(async (i) => await store.put(i, piece(i))))
    await rawPut(factory, [[[HASH_A, 2], piece(2).slice()]])
    expect(await store.storedPieces()).toEqual([0, 1, 2, 3])
    expectBytes(await store.get(2), piece(2))
    expectBytes(await store.get(1), piece(1)) // behind the copy of 2 in key order
    await store.delete(2)
    expect(await code(store.get(2))).toBe('ERR_NOT_FOUND')
    expect(await store.storedPieces()).toEqual([0, 1, 3])
    await store.close()
  })

  it('a run read while one of its pieces is deleted is not kept for later gets', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([0, 1, 2, 3].map(async (i) => await store.put(i, piece(i))))
    // The read of the run starts first; the delete (the worker caught an altered copy of 1) commits after it.
    const reading = store.get(0)
    await store.delete(1)
    expectBytes(await reading, piece(0))
    expect(await code(store.get(1))).toBe('ERR_NOT_FOUND')
    expectBytes(await store.get(2), piece(2))
    await store.close()
  })

  // Torrent.forgetPiece deletes a piece that failed the worker's hash check (or could not be read), goes on if the
  // delete fails, and puts the copy it fetches again. A run left holding the old copy shadowed the new one: found
  // before the new record when the piece starts the run (its key sorts after [infoHash, index]), or kept in memory
  // by a get of a neighbour. Either failure of the delete: its rewrite of the run's other pieces (a quota error), or
  // its read of the run (a record WebKit lost).
  for (const [failing, name] of [['put', 'QuotaExceededError'], ['get', 'NotFoundError']] as const) {
    for (const bad of [0, 1]) {
      it(`a delete of piece ${bad} whose ${failing} fails leaves no copy of it that shadows the one stored again (${bad === 0 ? 'the run\'s first piece' : 'a neighbour read meanwhile'})`, async () => {
        const factory = new IDBFactory()
        const store = new IdbStore(init(factory))
        await store.storedPieces()
        const altered = piece(bad).slice()
        altered[7] = altered[7]! ^ 0xff
        await Promise.all([0, 1, 2, 3].map(async (i) => await store.put(i, i === bad ? altered : piece(i))))
        expect(await rawKeys(factory)).toEqual([[HASH_A, 0.5, RUN, PL]])
        const fail = vi.spyOn(IDBObjectStore.prototype, failing).mockImplementation(() => { throw new DOMException('simulated', name) })
        let calls: number
        try {
          await store.delete(bad).catch(() => {})
        } finally {
          calls = fail.mock.calls.length
          fail.mockRestore()
        }
        expect(calls).toBeGreaterThan(0)
        if (bad !== 0) await store.get(0).catch(() => {}) // a get of a neighbour (the reader, the uploader)
        await store.put(bad, piece(bad)) // fetched again
        expectBytes(await store.get(bad), piece(bad))
        const again = new IdbStore(init(factory)) // a reload
        expectBytes(await again.get(bad), piece(bad))
        // The run went whole: its other pieces are fetched again when read (test/unit/engine/lost-piece.test.ts).
        expect(await again.storedPieces()).toEqual([bad])
        await again.close()
        await store.close()
      })
    }
  }

  it('reads a run once for its pieces read in order', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([0, 1, 2, 3].map(async (i) => await store.put(i, piece(i))))
    const transactions = vi.spyOn(IDBDatabase.prototype, 'transaction')
    const got: Uint8Array[] = []
    for (const i of [0, 1, 2, 3]) got[i] = await store.get(i)
    const reads = transactions.mock.calls.length
    transactions.mockRestore()
    expect(reads).toBe(1)
    // Each get is a copy of its own: changing one changes nothing else.
    got[1]!.fill(0)
    expectBytes(await store.get(1), piece(1))
    expectBytes(got[2]!, piece(2))
    await store.close()
    // Asked for all at once (the uploader prefetches), a fresh instance reads the run's value once too.
    const again = new IdbStore(init(factory))
    await again.storedPieces()
    const values = vi.spyOn(IDBObjectStore.prototype, 'get')
    const all4 = await Promise.all([3, 1, 0, 2].map(async (i) => await again.get(i)))
    const valueReads = values.mock.calls.length
    values.mockRestore()
    expect(valueReads).toBe(1)
    for (const [n, i] of [3, 1, 0, 2].entries()) expectBytes(all4[n]!, piece(i))
    await again.close()
  })

  /** The value of record `key` as it is in the database. */
  const rawValue = async (factory: IDBFactory, key: unknown[]): Promise<unknown> => await new Promise((resolve, reject) => {
    const open = factory.open('peersite')
    open.onsuccess = () => {
      const req = open.result.transaction('pieces').objectStore('pieces').get(key as IDBValidKey)
      req.onsuccess = () => { open.result.close(); resolve(req.result) }
      req.onerror = () => { reject(req.error) }
    }
  })
  const joined = (indexes: number[]): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.concat(indexes.map((i) => piece(i))))

  it('stores a run as a Blob and reads a piece out of order by reading that piece only', async () => {
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (i) => await store.put(i, piece(i))))
    const value = await rawValue(factory, [HASH_A, 0.5, RUN, PL])
    expect(value).toBeInstanceOf(Blob)
    expect((value as Blob).size).toBe(RUN_BYTES)
    await store.close()
    const again = new IdbStore(init(factory))
    const arrayBuffer = vi.spyOn(Blob.prototype, 'arrayBuffer')
    // Scattered (an uploader serving what others ask for): each get reads its piece's bytes, no more.
    for (const i of [6, 1, 3, 0, 5]) expectBytes(await again.get(i), piece(i))
    expectBytes(await again.get(2, { offset: 10, length: 20 }), piece(2).subarray(10, 30))
    const sizes = arrayBuffer.mock.contexts.map((blob) => (blob as Blob).size)
    expect(sizes).toEqual([PL, PL, PL, PL, PL, 20])
    // In order (a return visit): the second piece in a row reads the rest of its run at once.
    arrayBuffer.mockClear()
    for (const i of [4, 5, 6, 7]) expectBytes(await again.get(i), piece(i))
    expect(arrayBuffer.mock.contexts.map((blob) => (blob as Blob).size)).toEqual([PL, RUN_BYTES])
    arrayBuffer.mockRestore()
    // A delete inside a Blob run keeps the others, readable.
    await again.delete(5)
    expect(await code(again.get(5))).toBe('ERR_NOT_FOUND')
    for (const i of [0, 1, 2, 3, 4, 6, 7]) expectBytes(await again.get(i), piece(i))
    await again.close()
  })

  it('rewrites a Blob run without a deleted piece from bytes read out of it, never from slices of the stored Blob', async () => {
    // WebKit stores a Blob made of slices of a Blob read from IndexedDB wrongly (README, "Browsers"): read back, it
    // throws NotFoundError or holds another piece's bytes. fake-indexeddb stores it fine, so the test watches what
    // is stored: no slice of a Blob, alone or as a part of a new Blob.
    const factory = new IDBFactory()
    const store = new IdbStore(init(factory))
    await store.storedPieces()
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (i) => await store.put(i, piece(i))))
    await store.close()
    const again = new IdbStore(init(factory))
    expectBytes(await again.get(6), piece(6)) // a run's Blob held by the store
    const { puts, sliced, storedSlices } = await watchStoredSlices(async () => { await again.delete(5) })
    expect(puts.length).toBe(2) // pieces 6 and 7 as a run, 4 alone
    expect(sliced).toBeGreaterThan(0) // the pieces kept were read out of the run's Blob
    expect(storedSlices).toEqual([])
    expect(await code(again.get(5))).toBe('ERR_NOT_FOUND')
    for (const i of [0, 1, 2, 3, 4, 6, 7]) expectBytes(await again.get(i), piece(i))
    await again.close()
  })

  it('reads the runs of bytes of the release before Blobs, and deletes inside them', async () => {
    const factory = new IDBFactory()
    const first = new IdbStore(init(factory))
    await first.storedPieces()
    await first.close()
    await rawPut(factory, [[[HASH_A, 0.5, RUN, PL], joined([0, 1, 2, 3])], [[HASH_A, 8.5, 3, PL], joined([8, 9, 10])]])
    const store = new IdbStore(init(factory))
    expect(await store.storedPieces()).toEqual([0, 1, 2, 3, 8, 9, 10])
    for (const i of [10, 2, 0, 9, 3, 1, 8]) expectBytes(await store.get(i), piece(i))
    await store.delete(1)
    expect(await code(store.get(1))).toBe('ERR_NOT_FOUND')
    for (const i of [0, 2, 3]) expectBytes(await store.get(i), piece(i))
    await store.close()
  })

  it('rejects a crafted record: a Blob or bytes of the wrong size, a key that does not fit the torrent', async () => {
    const factory = new IDBFactory()
    const first = new IdbStore(init(factory))
    await first.storedPieces()
    await first.close()
    await rawPut(factory, [
      [[HASH_A, 0.5, 2, PL], new Blob([joined([0, 1]), new Uint8Array(1)])], // one byte too long
      [[HASH_A, 2.5, 2, PL], new Blob([joined([2, 3]).subarray(0, 2 * PL - 1)])], // one byte short: its last piece is cut
      [[HASH_A, 4.5, 2, PL], new Blob([joined([4])])], // half of it
      [[HASH_A, 6], new Blob([piece(6).slice(1)])], // one piece, short
      [[HASH_A, 7.5, 2, PL], Buffer.concat([joined([7, 8]), new Uint8Array(1)])], // bytes, too long
      [[HASH_A, 9.5, 2, PL / 2], new Blob([joined([9, 10])])], // another piece length
      [[HASH_A, 10], 'not bytes']
    ])
    const store = new IdbStore(init(factory))
    for (const i of [0, 1, 3, 5, 6, 7, 8, 9, 10]) expect(await code(store.get(i))).toBe('ERR_NOT_FOUND')
    // The whole pieces of a short run are what they were; a piece is never served cut or padded.
    expectBytes(await store.get(2), piece(2))
    expectBytes(await store.get(4), piece(4))
    await store.close()
    // The same checks, on their own.
    const span = recordSpan([HASH_A, 0.5, 2, PL], HASH_A)!
    expect(pieceInRecord(span, new Blob([joined([0, 1]), new Uint8Array(1)]), 0, PL)).toBeUndefined()
    expect((pieceInRecord(span, new Blob([joined([0, 1])]), 1, PL) as Blob).size).toBe(PL)
    expect(pieceInRecord(span, new Blob([joined([0])]), 1, PL)).toBeUndefined()
    expect(pieceInRecord(span, new Blob([joined([0, 1])]), 2, PL)).toBeUndefined()
    for (const key of [[HASH_A, 0.5, 0, PL], [HASH_A, 0.5, 2, 0], [HASH_A, -0.5, 2, PL], [HASH_A, 0.25, 2, PL], [HASH_B, 0.5, 2, PL], [HASH_A, 1.5, 2]]) {
      expect(recordSpan(key, HASH_A)).toBeUndefined()
    }
  })

  it('evicts another site\'s runs on QuotaExceededError', async () => {
    const factory = new IDBFactory()
    const name = quotaDatabase(9 * PL)
    let now = 1_000_000_000
    const clock = (): number => now
    const older = new IdbStore(init(factory, { name, infoHash: HASH_B, now: clock, activeMs: 60_000 }))
    await older.storedPieces()
    await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => await older.put(i, piece(i))))
    expect((await rawKeys(factory, name)).length).toBeLessThan(6)
    now += 10 * 60_000
    const current = new IdbStore(init(factory, { name, now: clock, activeMs: 60_000 }))
    await current.storedPieces()
    await Promise.all([0, 1, 2, 3, 4].map(async (i) => await current.put(i, piece(i))))
    expect(await older.storedPieces()).toEqual([])
    expect(await current.storedPieces()).toEqual([0, 1, 2, 3, 4])
    for (const s of [older, current]) await s.close()
  })
})

describe('IdbStore small pieces (records small enough to stay inline in Chromium\'s database)', () => {
  const pieces = (pl: number, count: number): { layout: { pieceLength: number, length: number }, piece: (i: number) => Uint8Array } => {
    const layout = { pieceLength: pl, length: (count - 1) * pl + 100 }
    const data = content(layout.length, 5)
    return { layout, piece: (i) => data.subarray(i * pl, Math.min(layout.length, (i + 1) * pl)) }
  }
  const valueOf = async (factory: IDBFactory, key: unknown[]): Promise<unknown> => await new Promise((resolve, reject) => {
    const open = factory.open('peersite')
    open.onsuccess = () => {
      const req = open.result.transaction('pieces').objectStore('pieces').get(key as IDBValidKey)
      req.onsuccess = () => { open.result.close(); resolve(req.result) }
      req.onerror = () => { reject(req.error) }
    }
  })

  it('stores runs of bytes of up to INLINE_BYTES (16 KiB pieces: three to a record; 32 KiB: one), never Blobs', async () => {
    const small = pieces(16 * 1024, 11)
    const factory = new IDBFactory()
    const store = new IdbStore(idbInit(factory, small.layout))
    await store.storedPieces()
    await Promise.all(Array.from({ length: 11 }, async (_, i) => await store.put(i, small.piece(i))))
    const PL = 16 * 1024
    expect(Math.floor(INLINE_BYTES / PL)).toBe(3)
    expect(await rawKeys(factory)).toEqual([[HASH_A, 0.5, 3, PL], [HASH_A, 3.5, 3, PL], [HASH_A, 6.5, 3, PL], [HASH_A, 9.5, 2, PL]])
    const value = await valueOf(factory, [HASH_A, 0.5, 3, PL])
    expect(value).toBeInstanceOf(Uint8Array)
    expect((value as Uint8Array).length).toBe(3 * PL)
    for (const i of [10, 4, 0, 7, 1, 2, 3, 5, 6, 8, 9]) expectBytes(await store.get(i), small.piece(i))
    await store.delete(4)
    expect(await code(store.get(4))).toBe('ERR_NOT_FOUND')
    for (const i of [3, 5, 6]) expectBytes(await store.get(i), small.piece(i))
    await store.close()

    const mid = pieces(32 * 1024, 4)
    const factory2 = new IDBFactory()
    const other = new IdbStore(idbInit(factory2, mid.layout))
    await other.storedPieces()
    await Promise.all([0, 1, 2, 3].map(async (i) => await other.put(i, mid.piece(i))))
    expect(await rawKeys(factory2)).toEqual([0, 1, 2, 3].map((i) => [HASH_A, i]))
    expect(await valueOf(factory2, [HASH_A, 1])).toBeInstanceOf(Uint8Array)
    await other.close()
  })

  it('reads the Blob runs of small pieces the release before wrote, and deletes inside them', async () => {
    const PL = 32 * 1024
    const { layout, piece } = pieces(PL, 4)
    const factory = new IDBFactory()
    const first = new IdbStore(idbInit(factory, layout))
    await first.storedPieces()
    await first.close()
    await rawPut(factory, [[[HASH_A, 0.5, 4, PL], new Blob([0, 1, 2, 3].map((i) => piece(i) as Uint8Array<ArrayBuffer>))]])
    const store = new IdbStore(idbInit(factory, layout))
    expect(await store.storedPieces()).toEqual([0, 1, 2, 3])
    for (const i of [2, 0, 1, 3]) expectBytes(await store.get(i), piece(i))
    await store.delete(1)
    expect(await code(store.get(1))).toBe('ERR_NOT_FOUND')
    for (const i of [0, 2, 3]) expectBytes(await store.get(i), piece(i))
    await store.close()
  })

  it('reads ahead for a reader in order, in one transaction, and forgets what it read ahead of a delete', async () => {
    const PL = 32 * 1024
    const { layout, piece } = pieces(PL, 24)
    const factory = new IDBFactory()
    const store = new IdbStore(idbInit(factory, layout))
    await store.storedPieces()
    for (let i = 0; i < 24; i += 4) await Promise.all([i, i + 1, i + 2, i + 3].map(async (j) => await store.put(j, piece(j))))
    await store.close()
    const again = new IdbStore(idbInit(factory, layout))
    await again.storedPieces()
    const transactions = vi.spyOn(IDBDatabase.prototype, 'transaction')
    // 0, then 1 (in order: reads 2..17 too), then 2..17 from what was read ahead.
    for (let i = 0; i < 18; i++) expectBytes(await again.get(i), piece(i))
    expect(transactions.mock.calls.length).toBe(2)
    // Each piece read ahead is handed out once: a second get reads it again, whole and right.
    expectBytes(await again.get(5, { offset: 7, length: 9 }), piece(5).subarray(7, 16))
    transactions.mockRestore()
    // Read ahead (18 reads 19..), then 20 deleted: not served from what was read ahead.
    expectBytes(await again.get(17), piece(17))
    expectBytes(await again.get(18), piece(18))
    await again.delete(20)
    expectBytes(await again.get(19), piece(19))
    expect(await code(again.get(20))).toBe('ERR_NOT_FOUND')
    expectBytes(await again.get(21), piece(21))
    // A delete while a read ahead is under way: nothing of it is kept.
    const reading = [again.get(0), again.get(1)]
    await again.delete(2)
    for (const [n, got] of (await Promise.all(reading)).entries()) expectBytes(got, piece(n))
    expect(await code(again.get(2))).toBe('ERR_NOT_FOUND')
    await again.close()
    // Four gets in flight in order (the uploader's prefetch, a return visit): one read ahead serves the others.
    const third = new IdbStore(idbInit(factory, layout))
    await third.storedPieces()
    expectBytes(await third.get(3), piece(3))
    const counted = vi.spyOn(IDBDatabase.prototype, 'transaction')
    for (let i = 4; i < 20; i += 4) {
      const got = await Promise.all([i, i + 1, i + 2, i + 3].map(async (j) => await third.get(j)))
      for (const [n, bytes] of got.entries()) expectBytes(bytes, piece(i + n))
    }
    expect(counted.mock.calls.length).toBe(1) // 4, which reads 5..20 too
    counted.mockRestore()
    await third.close()
  })
})

describe('OverflowStore', () => {
  const data = content(LAYOUT.length)

  it('keeps pieces the primary refuses in memory and serves them', async () => {
    const refusals: Error[] = []
    const primary = new MemoryStore({ ...LAYOUT, maxBytes: 1000 })
    const store = new OverflowStore(primary, { onOverflow: (err) => refusals.push(err) })
    await store.put(0, pieceOf(data, LAYOUT, 0))
    await store.put(1, pieceOf(data, LAYOUT, 1)) // refused by the primary: memory
    await store.put(2, pieceOf(data, LAYOUT, 2)) // straight to memory (within retryMs)
    expect(primary.has(0) && !primary.has(1) && !primary.has(2)).toBe(true)
    expect(store.memory.has(1) && store.memory.has(2)).toBe(true)
    expect(refusals).toHaveLength(1)
    for (const i of [0, 1, 2]) expect(await store.get(i)).toEqual(pieceOf(data, LAYOUT, i))
    expect(await store.get(1, { offset: 10, length: 5 })).toEqual(data.subarray(1010, 1015))
    // Caller errors are not overflow.
    expect(await code(store.put(3, new Uint8Array(3)))).toBe('ERR_INVALID_LENGTH')
    await store.close()
  })

  it('takes at most maxBytes in all, primary and memory together, then refuses with ERR_QUOTA', async () => {
    const primary = new MemoryStore({ ...LAYOUT, maxBytes: 1000 })
    const store = new OverflowStore(primary, { maxBytes: 2000 })
    await store.put(0, pieceOf(data, LAYOUT, 0)) // primary
    await store.put(1, pieceOf(data, LAYOUT, 1)) // memory
    expect(store.bytes).toBe(2000)
    expect(await code(store.put(2, pieceOf(data, LAYOUT, 2)))).toBe('ERR_QUOTA')
    expect(store.memory.has(2)).toBe(false)
    for (const i of [0, 1]) expect(await store.get(i)).toEqual(pieceOf(data, LAYOUT, i))
    await store.close()
  })

  it('counts concurrent puts against maxBytes before they finish', async () => {
    const store = new OverflowStore(new MemoryStore(LAYOUT), { maxBytes: 2000 })
    const results = await Promise.allSettled([0, 1, 2, 3].map(async (i) => await store.put(i, pieceOf(data, LAYOUT, i))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected'])
    expect(store.bytes).toBe(2000)
    await store.close()
  })
})

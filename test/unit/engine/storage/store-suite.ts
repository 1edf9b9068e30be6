/**
 * One compliance suite for every PieceStore implementation (memory, fs, and the browser stores when they come):
 * each store must behave the same for the engine, so each runs exactly these tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AbortError, StorageError } from '../../../../engine/errors.js'
import type { TorrentFile } from '../../../../engine/metainfo/index.js'
import type { PieceStore } from '../../../../engine/storage/index.js'

export interface StoreLayout {
  readonly pieceLength: number
  readonly length: number
  readonly files: readonly TorrentFile[]
}

export interface StoreFixture {
  readonly store: PieceStore
  /** For stores that keep real files: the bytes of one file as stored (checks that pieces land in the right files). */
  readonly readFile?: (path: string) => Promise<Uint8Array>
  /** Removes whatever the store left behind (temp folders). */
  readonly cleanup?: () => Promise<void>
}

export type StoreFactory = (layout: StoreLayout) => Promise<StoreFixture>

/** Builds a file table from [path, length] pairs, offsets filled in. */
export function fileTable (entries: ReadonlyArray<readonly [string, number]>): TorrentFile[] {
  let offset = 0
  return entries.map(([path, length], index) => {
    const file = { index, path, length, offset }
    offset += length
    return file
  })
}

/**
 * The layout every store is tested with: pieces of 1000 bytes over four files (one empty), so piece 1 spans
 * a.txt and dir/sub/c.bin, piece 3 spans dir/sub/c.bin and d, and the last piece (4) is 50 bytes.
 */
export const LAYOUT: StoreLayout = (() => {
  const files = fileTable([['a.txt', 1500], ['dir/empty', 0], ['dir/sub/c.bin', 2300], ['d', 250]])
  return { pieceLength: 1000, length: 4050, files }
})()

/** Deterministic, position-dependent content so misplaced bytes are caught. */
export function content (length: number, salt = 0): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >> 8) * 7 + salt) & 0xff
  return out
}

export function pieceOf (data: Uint8Array, layout: StoreLayout, index: number): Uint8Array {
  return data.subarray(index * layout.pieceLength, Math.min(layout.length, (index + 1) * layout.pieceLength))
}

async function rejectsWith (promise: Promise<unknown>, code: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(StorageError)
  expect((err as StorageError).code).toBe(code)
}

/** A store of the same layout that holds at most `maxBytes` piece bytes (its own limit, or a simulated quota). */
export type QuotaStoreFactory = (layout: StoreLayout, maxBytes: number) => Promise<StoreFixture>

export function describeStore (name: string, factory: StoreFactory, options: { quota?: QuotaStoreFactory } = {}): void {
  describe(`PieceStore compliance: ${name}`, () => {
    let fixture: StoreFixture
    let store: PieceStore
    const data = content(LAYOUT.length)
    const pieceCount = Math.ceil(LAYOUT.length / LAYOUT.pieceLength)

    beforeEach(async () => {
      fixture = await factory(LAYOUT)
      store = fixture.store
    })
    afterEach(async () => {
      await store.close()
      await fixture.cleanup?.()
    })

    const putAll = async (): Promise<void> => {
      for (let i = 0; i < pieceCount; i++) await store.put(i, pieceOf(data, LAYOUT, i))
    }

    it('reports its geometry', () => {
      expect(store.pieceLength).toBe(LAYOUT.pieceLength)
      expect(store.length).toBe(LAYOUT.length)
    })

    it('round-trips every piece, in any order', async () => {
      for (const i of [3, 0, 4, 2, 1]) await store.put(i, pieceOf(data, LAYOUT, i))
      for (let i = 0; i < pieceCount; i++) expect(await store.get(i)).toEqual(pieceOf(data, LAYOUT, i))
    })

    it('serves ranges inside a piece', async () => {
      await putAll()
      expect(await store.get(1, { offset: 400, length: 200 })).toEqual(data.subarray(1400, 1600))
      expect(await store.get(2, { offset: 0, length: 1000 })).toEqual(pieceOf(data, LAYOUT, 2))
      expect(await store.get(2, { offset: 999, length: 1 })).toEqual(data.subarray(2999, 3000))
      expect(await store.get(2, { offset: 10, length: 0 })).toEqual(new Uint8Array(0))
    })

    it('handles the short last piece', async () => {
      await store.put(4, pieceOf(data, LAYOUT, 4))
      const last = await store.get(4)
      expect(last.length).toBe(50)
      expect(last).toEqual(data.subarray(4000))
      expect(await store.get(4, { offset: 40, length: 10 })).toEqual(data.subarray(4040))
      await rejectsWith(store.get(4, { offset: 40, length: 11 }), 'ERR_OUT_OF_RANGE')
    })

    it('places pieces that span file boundaries', async () => {
      await putAll()
      expect(await store.get(1)).toEqual(data.subarray(1000, 2000))
      expect(await store.get(3)).toEqual(data.subarray(3000, 4000))
      if (fixture.readFile !== undefined) {
        // Zero-length files hold no piece bytes; creating them is a store-specific step (FsStore.createEmptyFiles).
        for (const file of LAYOUT.files.filter((f) => f.length > 0)) {
          expect(await fixture.readFile(file.path), file.path).toEqual(data.subarray(file.offset, file.offset + file.length))
        }
      }
    })

    it('keeps what was verified even if the caller reuses its buffer', async () => {
      const buf = pieceOf(data, LAYOUT, 0).slice()
      await store.put(0, buf)
      buf.fill(0)
      const got = await store.get(0)
      expect(got).toEqual(pieceOf(data, LAYOUT, 0))
      got.fill(1)
      expect(await store.get(0)).toEqual(pieceOf(data, LAYOUT, 0))
    })

    it('overwrites a piece put twice', async () => {
      await store.put(2, content(1000, 5))
      await store.put(2, pieceOf(data, LAYOUT, 2))
      expect(await store.get(2)).toEqual(pieceOf(data, LAYOUT, 2))
    })

    it('deletes a piece, when it can (a copy the service worker found altered); the others stay', async () => {
      if (store.delete === undefined) return
      await putAll()
      await store.delete(2)
      await expect(store.get(2)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' })
      expect(await store.get(3)).toEqual(pieceOf(data, LAYOUT, 3))
      await store.put(2, pieceOf(data, LAYOUT, 2))
      expect(await store.get(2)).toEqual(pieceOf(data, LAYOUT, 2))
    })

    it('rejects a put of the wrong length', async () => {
      await rejectsWith(store.put(0, new Uint8Array(999)), 'ERR_INVALID_LENGTH')
      await rejectsWith(store.put(0, new Uint8Array(1001)), 'ERR_INVALID_LENGTH')
      // The last piece is short: a full-length buffer is wrong for it.
      await rejectsWith(store.put(4, new Uint8Array(1000)), 'ERR_INVALID_LENGTH')
    })

    it('rejects indices and ranges out of range', async () => {
      await putAll()
      for (const index of [-1, pieceCount, 1.5, Number.NaN]) {
        await rejectsWith(store.put(index, new Uint8Array(1000)), 'ERR_OUT_OF_RANGE')
        await rejectsWith(store.get(index), 'ERR_OUT_OF_RANGE')
      }
      await rejectsWith(store.get(0, { offset: -1, length: 10 }), 'ERR_OUT_OF_RANGE')
      await rejectsWith(store.get(0, { offset: 990, length: 11 }), 'ERR_OUT_OF_RANGE')
    })

    it('honours an aborted signal', async () => {
      const signal = AbortSignal.abort()
      await expect(store.put(0, pieceOf(data, LAYOUT, 0), signal)).rejects.toBeInstanceOf(AbortError)
      await expect(store.get(0, undefined, signal)).rejects.toBeInstanceOf(AbortError)
    })

    it('refuses work after close, and close twice is harmless', async () => {
      await store.put(0, pieceOf(data, LAYOUT, 0))
      await store.close()
      await store.close()
      await rejectsWith(store.get(0), 'ERR_CLOSED')
      await rejectsWith(store.put(0, pieceOf(data, LAYOUT, 0)), 'ERR_CLOSED')
    })

    // Only stores that can run out of room (memory limit, browser quota) get this case; the fs store cannot.
    const quota = options.quota
    if (quota !== undefined) it('rejects a put beyond its quota with ERR_QUOTA and keeps what it holds', async () => {
      const limited = await quota(LAYOUT, 2050)
      try {
        await limited.store.put(0, pieceOf(data, LAYOUT, 0))
        await limited.store.put(1, pieceOf(data, LAYOUT, 1))
        await rejectsWith(limited.store.put(2, pieceOf(data, LAYOUT, 2)), 'ERR_QUOTA')
        // Nothing torn, nothing lost: the refused piece is absent, the others intact, and a small one still fits.
        await rejectsWith(limited.store.get(2), 'ERR_NOT_FOUND')
        expect(await limited.store.get(0)).toEqual(pieceOf(data, LAYOUT, 0))
        expect(await limited.store.get(1)).toEqual(pieceOf(data, LAYOUT, 1))
        await limited.store.put(4, pieceOf(data, LAYOUT, 4))
        expect(await limited.store.get(4)).toEqual(pieceOf(data, LAYOUT, 4))
      } finally {
        await limited.store.close()
        await limited.cleanup?.()
      }
    })

    it('takes concurrent puts and gets', async () => {
      await Promise.all(Array.from({ length: pieceCount }, async (_, i) => { await store.put(i, pieceOf(data, LAYOUT, i)) }))
      const all = await Promise.all(Array.from({ length: pieceCount }, async (_, i) => await store.get(i)))
      all.forEach((piece, i) => { expect(piece).toEqual(pieceOf(data, LAYOUT, i)) })
    })
  })
}

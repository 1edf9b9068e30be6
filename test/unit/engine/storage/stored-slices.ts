/**
 * Watches what an IndexedDB store writes while `run` runs, for the tests of WebKit's Blob-slice bug (README,
 * "Browsers"): WebKit stores a Blob made of slices of a Blob read from IndexedDB wrongly, and fake-indexeddb stores
 * it fine, so the tests look at what is stored instead of reading it back.
 */
import { IDBObjectStore } from 'fake-indexeddb'
import { vi } from 'vitest'

export interface StoredSlices<T> {
  /** What `run` returned. */
  result: T
  /** How many times Blob.prototype.slice was called. */
  sliced: number
  /** The values put into an object store, with their keys. */
  puts: Array<[value: unknown, key: unknown]>
  /** The stored values and the parts of the Blobs built while `run` ran that are slices of a Blob: none is wanted. */
  storedSlices: unknown[]
}

export async function watchStoredSlices<T> (run: () => Promise<T>): Promise<StoredSlices<T>> {
  const slices = new WeakSet<object>()
  const realSlice = Blob.prototype.slice // eslint-disable-line @typescript-eslint/unbound-method
  const slice = vi.spyOn(Blob.prototype, 'slice').mockImplementation(function (this: Blob, ...args: Parameters<Blob['slice']>) {
    const part = realSlice.apply(this, args)
    slices.add(part)
    return part
  })
  const parts: unknown[] = []
  vi.stubGlobal('Blob', new Proxy(Blob, {
    construct: (target, args: [BlobPart[]?, BlobPropertyBag?]) => {
      parts.push(...(args[0] ?? []))
      return Reflect.construct(target, args) as Blob
    }
  }))
  const put = vi.spyOn(IDBObjectStore.prototype, 'put')
  try {
    const result = await run()
    const puts = put.mock.calls.map(([value, key]) => [value, key] as [unknown, unknown])
    const isSlice = (value: unknown): boolean => typeof value === 'object' && value !== null && slices.has(value)
    return { result, sliced: slice.mock.calls.length, puts, storedSlices: [...parts, ...puts.map(([value]) => value)].filter(isSlice) }
  } finally {
    put.mockRestore()
    vi.unstubAllGlobals()
    slice.mockRestore()
  }
}

/**
 * The worker's piece cache (worker/file-cache.ts) over a stand-in for Cache Storage whose writes take a while, as
 * they do in a browser under load: keys kept in memory, a miss costs no lookup, and a read right after a write
 * waits for it rather than missing (and forgetting the key for the worker's life).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { cacheNameFor, MEMORY_BYTES, openPieceCache, VerifiedRuns } from '../../../worker/file-cache.js'

class SlowCache {
  readonly entries = new Map<string, Uint8Array>()
  matches = 0
  async keys (): Promise<Array<{ url: string }>> { return [...this.entries.keys()].map((url) => ({ url })) }
  async match (key: string): Promise<Response | undefined> {
    this.matches++
    const bytes = this.entries.get(key)
    return bytes === undefined ? undefined : new Response(bytes.slice())
  }

  async put (key: string, res: Response): Promise<void> {
    const bytes = new Uint8Array(await res.arrayBuffer())
    await new Promise((resolve) => setTimeout(resolve, 30))
    this.entries.set(key, bytes)
  }

  async delete (key: string): Promise<boolean> { return this.entries.delete(key) }
}

const g = globalThis as { caches?: unknown }
afterEach(() => { delete g.caches })

describe('piece cache', () => {
  it('answers a miss without a lookup, and a read right after a write with what was written', async () => {
    const cache = new SlowCache()
    g.caches = { open: async () => cache }
    const pieces = (await openPieceCache(cacheNameFor('https://host/', 'ab'.repeat(20))))!
    expect(await pieces.getRun(0, 3)).toBeUndefined()
    expect(await pieces.get(7)).toBeUndefined()
    expect(cache.matches).toBe(0)
    pieces.putRun(0, 3, Uint8Array.of(1, 2, 3))
    expect(await pieces.getRun(0, 3)).toEqual(Uint8Array.of(1, 2, 3))
    // and later too: the key was not forgotten
    expect(await pieces.getRun(0, 3)).toEqual(Uint8Array.of(1, 2, 3))
  })

  it('knows the entries a worker before it wrote', async () => {
    const cache = new SlowCache()
    cache.entries.set('https://peersite.invalid/piece/5', Uint8Array.of(9))
    g.caches = { open: async () => cache }
    const pieces = (await openPieceCache('x'))!
    expect(await pieces.get(5)).toEqual(Uint8Array.of(9))
    pieces.delete(5)
    expect(await pieces.get(5)).toBeUndefined()
  })
})

describe('verified runs in memory', () => {
  it('keeps what a load verified, forgets what it did not, and starts again empty beyond its budget', async () => {
    const runs = new VerifiedRuns()
    let loads = 0
    const load = (bytes: Uint8Array | undefined) => async () => { loads++; return bytes }
    expect(await runs.get(0, 1, load(undefined))).toBeUndefined()
    expect(await runs.get(0, 1, load(Uint8Array.of(1)))).toEqual(Uint8Array.of(1))
    expect(await runs.get(0, 1, load(Uint8Array.of(2)))).toEqual(Uint8Array.of(1))
    expect(loads).toBe(2)
    // One load for requests that come while it runs.
    const [a, b] = await Promise.all([runs.get(4, 4, load(Uint8Array.of(4))), runs.get(4, 4, load(Uint8Array.of(8)))])
    expect([a, b]).toEqual([Uint8Array.of(4), Uint8Array.of(4)])
    expect(loads).toBe(3)
    // A failed load keeps nothing.
    await expect(runs.get(5, 5, async () => { throw new Error('gone') })).rejects.toThrow('gone')
    expect(await runs.get(5, 5, load(Uint8Array.of(5)))).toEqual(Uint8Array.of(5))
    // Over the budget: everything is read again.
    runs.set(2, 2, new Uint8Array(MEMORY_BYTES / 2))
    expect(await runs.get(2, 2, load(Uint8Array.of(9)))).toHaveLength(MEMORY_BYTES / 2)
    runs.set(3, 3, new Uint8Array(MEMORY_BYTES / 2))
    expect(await runs.get(0, 1, load(Uint8Array.of(7)))).toEqual(Uint8Array.of(7))
  })
})

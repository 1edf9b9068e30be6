/**
 * The background prefetch waits for the first page to load and the browser to be idle, pauses while the worker has
 * a read open, and resumes after the reads have ended (loader/prefetch.ts BackgroundPrefetch).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Torrent } from '../../../engine/torrent.js'
import { BackgroundPrefetch, PREFETCH_QUIET_MS } from '../../../loader/prefetch.js'

/** A torrent that records setWanted calls: 4 files of 1000 bytes in pieces of 1000. */
function fakeTorrent (): { torrent: Torrent, wanted: Set<number> } {
  const wanted = new Set<number>()
  const files = [0, 1, 2, 3].map((i) => ({ index: i, path: `f${i}`, length: 1000, offset: i * 1000 }))
  const torrent = {
    destroyed: false,
    metainfo: { pieceLength: 1000, pieceCount: 4, length: 4000, files },
    setWanted (first: number, last: number, on: boolean) {
      for (let i = first; i <= last; i++) { if (on) wanted.add(i); else wanted.delete(i) }
    }
  } as unknown as Torrent
  return { torrent, wanted }
}

describe('background prefetch', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('starts only after the first page has loaded and a quiet moment', () => {
    const { torrent, wanted } = fakeTorrent()
    let starts = 0
    const prefetch = new BackgroundPrefetch(torrent, 2500, () => starts++)
    expect(prefetch.bytes).toBe(2000)
    vi.advanceTimersByTime(10_000)
    expect(wanted.size).toBe(0)
    prefetch.pageLoaded()
    vi.advanceTimersByTime(PREFETCH_QUIET_MS - 1)
    expect(wanted.size).toBe(0)
    vi.advanceTimersByTime(100)
    expect([...wanted]).toEqual([0, 1])
    expect(prefetch.running).toBe(true)
    expect(starts).toBe(1)
  })

  it('yields to every read: paused while one is open, resumed after the reads end', () => {
    const { torrent, wanted } = fakeTorrent()
    const prefetch = new BackgroundPrefetch(torrent, 10_000)
    prefetch.pageLoaded()
    prefetch.onActivity(1) // the page still loads things
    vi.advanceTimersByTime(5_000)
    expect(wanted.size).toBe(0)
    prefetch.onActivity(0)
    vi.advanceTimersByTime(PREFETCH_QUIET_MS + 100)
    expect(wanted.size).toBe(4)
    prefetch.onActivity(2) // the visitor clicked a link: no new background request meanwhile
    expect(wanted.size).toBe(0)
    expect(prefetch.running).toBe(false)
    prefetch.onActivity(0)
    prefetch.onActivity(1) // a late request within the quiet time keeps it paused
    vi.advanceTimersByTime(PREFETCH_QUIET_MS + 100)
    expect(wanted.size).toBe(0)
    prefetch.onActivity(0)
    vi.advanceTimersByTime(PREFETCH_QUIET_MS + 100)
    expect(wanted.size).toBe(4)
  })

  it('a zero limit fetches nothing in the background', () => {
    const { torrent, wanted } = fakeTorrent()
    const prefetch = new BackgroundPrefetch(torrent, 0)
    prefetch.pageLoaded()
    vi.advanceTimersByTime(10_000)
    expect(wanted.size).toBe(0)
  })
})

/**
 * A page's subresources are raised in the picker as soon as the page is read (loader/preload.ts): in document
 * order, above a reader's read-ahead and below the piece a reader waits for; dropped when the next page is read.
 */
import { describe, expect, it } from 'vitest'
import { LIKELY_MAX_BYTES, LIKELY_PRIORITY_TOP, PRELOAD_PRIORITY_TOP, READ_PRIORITY_AHEAD, READ_PRIORITY_NOW } from '../../../engine/constants.js'
import type { Torrent } from '../../../engine/torrent.js'
import { PageHints, pageCandidates, preloadTable } from '../../../loader/preload.js'

const files = [
  { path: 'index.html', length: 100, type: 'text/html' },
  { path: 'app.js', length: 2500, type: 'text/javascript' },
  { path: 'style.css', length: 500, type: 'text/css' },
  { path: 'docs/index.html', length: 100, type: 'text/html' },
  { path: 'font.woff2', length: 1000, type: 'font/woff2' }
]
const manifest = { files, preload: { groups: [[1, 2, 4], [2]], pages: [0, 0, 3, 1] } }

function fakeTorrent (list = files): { torrent: Torrent, raised: Array<{ first: number, last: number, priority: number, released: boolean }> } {
  const raised: Array<{ first: number, last: number, priority: number, released: boolean }> = []
  let offset = 0
  const metaFiles = list.map((f, index) => { const e = { index, path: f.path, length: f.length, offset }; offset += f.length; return e })
  const torrent = {
    destroyed: false,
    metainfo: { pieceLength: 1000, pieceCount: Math.ceil(offset / 1000), length: offset, files: metaFiles },
    prioritize (first: number, last: number, priority: number) {
      const entry = { first, last, priority, released: false }
      raised.push(entry)
      return () => { entry.released = true }
    }
  } as unknown as Torrent
  return { torrent, raised }
}

describe('page hints', () => {
  it('reads the manifest table, skipping malformed entries', () => {
    const table = preloadTable(manifest)
    expect(table.get('index.html')).toEqual([1, 2, 4])
    expect(table.get('docs/index.html')).toEqual([2])
    expect(preloadTable({ files, preload: { groups: [[1, 99, -1, 'x' as unknown as number]], pages: [0, 0, 42, 0, 3, 7] } }).get('index.html')).toEqual([1])
    expect(preloadTable({ files }).size).toBe(0)
  })

  it('guesses the page of an address the way static hosts map them', () => {
    expect(pageCandidates('/site/', 'http://h/site/')).toEqual(['index.html'])
    expect(pageCandidates('/site/docs/', 'http://h/site/')).toEqual(['docs/index.html'])
    expect(pageCandidates('/site/about', 'http://h/site/')).toEqual(['about', 'about.html', 'about/index.html'])
    expect(pageCandidates('/other/', 'http://h/site/')).toEqual([])
  })

  it('raises a page\'s files in document order between read-ahead and a waiting reader, and drops them for the next page', () => {
    const { torrent, raised } = fakeTorrent()
    const hints = new PageHints(torrent, manifest)
    expect(hints.onPage('app.js')).toBe(false)
    expect(raised).toEqual([])
    expect(hints.onPage('index.html')).toBe(true)
    // app.js: bytes 100-2599 -> pieces 0-2; style.css 2600-3099 -> pieces 2-3; font.woff2 3200-4199 -> pieces 3-4
    expect(raised.map(({ first, last }) => [first, last])).toEqual([[0, 2], [2, 3], [3, 4]])
    const priorities = raised.map((r) => r.priority)
    expect(priorities[0]).toBe(PRELOAD_PRIORITY_TOP)
    for (let i = 1; i < priorities.length; i++) expect(priorities[i]!).toBeLessThan(priorities[i - 1]!)
    for (const p of priorities) {
      expect(p).toBeGreaterThan(READ_PRIORITY_AHEAD)
      expect(p).toBeLessThan(READ_PRIORITY_NOW)
    }
    expect(hints.onPage('index.html')).toBe(true)
    expect(raised).toHaveLength(3)
    hints.onPage('docs/index.html')
    expect(raised.slice(0, 3).every((r) => r.released)).toBe(true)
    expect(raised.slice(3).map(({ first, last, released }) => [first, last, released])).toEqual([[2, 3, false]])
  })

  it('at boot, the page itself comes first', () => {
    const { torrent, raised } = fakeTorrent()
    new PageHints(torrent, manifest).onPage('docs/index.html', true)
    // docs/index.html: bytes 3100-3199 -> piece 3
    expect(raised.map(({ first, last }) => [first, last])).toEqual([[3, 3], [2, 3]])
  })

  it('raises the second tier (what the page\'s scripts may load on demand) below read-ahead, above the background', () => {
    const { torrent, raised } = fakeTorrent()
    // index.html needs app.js; its script may load font.woff2 then style.css. docs/index.html has only a second tier.
    const hints = new PageHints(torrent, { files, preload: { groups: [[1], [4, 2]], pages: [0, 0], likely: [0, 1, 3, 1] } })
    expect(hints.onPage('index.html')).toBe(true)
    expect(raised.map(({ first, last }) => [first, last])).toEqual([[0, 2], [3, 4], [2, 3]])
    const [need, ...likely] = raised.map((r) => r.priority)
    expect(need!).toBeGreaterThan(READ_PRIORITY_AHEAD)
    expect(likely[0]).toBe(LIKELY_PRIORITY_TOP)
    expect(likely[1]!).toBeLessThan(likely[0]!)
    for (const p of likely) {
      expect(p).toBeLessThan(READ_PRIORITY_AHEAD)
      expect(p).toBeGreaterThan(0)
    }
    expect(hints.onPage('docs/index.html')).toBe(true)
    expect(raised.slice(0, 3).every((r) => r.released)).toBe(true)
    expect(raised.slice(3).map(({ first, last }) => [first, last])).toEqual([[3, 4], [2, 3]])
    // Save-Data on: no guesses, only what the page needs.
    const metered = fakeTorrent()
    const quiet = new PageHints(metered.torrent, { files, preload: { groups: [[1], [4, 2]], pages: [0, 0], likely: [0, 1, 3, 1] } }, false)
    expect(quiet.onPage('index.html')).toBe(true)
    expect(quiet.onPage('docs/index.html')).toBe(false)
    expect(metered.raised.map(({ first, last }) => [first, last])).toEqual([[0, 2]])
  })

  it('a crafted table reaches only files of the torrent, and at most LIKELY_MAX_BYTES of them per page', () => {
    const MiB = 1024 * 1024
    const big = [
      { path: 'index.html', length: 100, type: 'text/html' },
      ...Array.from({ length: 10 }, (_, i) => ({ path: `big${i}.js`, length: 2 * MiB, type: 'text/javascript' }))
    ]
    const crafted = {
      files: big,
      // Out-of-range, negative, fractional and non-numeric indexes, a missing group, the whole site ten times over.
      preload: {
        groups: [[99, -1, 1.5, 'x' as unknown as number, 1e9], [...Array.from({ length: 100 }, (_, i) => 1 + (i % 10))]],
        pages: [],
        likely: [0, 1, 0, 7, 42, 1]
      }
    }
    const table = preloadTable(crafted, 'likely')
    expect([...table.keys()]).toEqual(['index.html'])
    const chosen = table.get('index.html')!
    expect(chosen.reduce((n, i) => n + big[i]!.length, 0)).toBeLessThanOrEqual(LIKELY_MAX_BYTES)
    expect(chosen).toEqual([1, 2, 3])
    const { torrent, raised } = fakeTorrent(big)
    expect(new PageHints(torrent, crafted).onPage('index.html')).toBe(true)
    const pieceCount = torrent.metainfo!.pieceCount
    expect(raised).toHaveLength(3)
    for (const { first, last } of raised) {
      expect(first).toBeGreaterThanOrEqual(0)
      expect(last).toBeLessThan(pieceCount)
    }
  })
})

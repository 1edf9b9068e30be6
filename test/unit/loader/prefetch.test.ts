import { describe, expect, it } from 'vitest'
import type { TorrentFile } from '../../../engine/metainfo/index.js'
import { DEFAULT_PREFETCH_LIMIT, prefetchFiles, prefetchLimitOf, prefetchRanges } from '../../../loader/prefetch.js'

function table (entries: ReadonlyArray<readonly [string, number]>): TorrentFile[] {
  let offset = 0
  return entries.map(([path, length], index) => {
    const f = { index, path, length, offset }
    offset += length
    return f
  })
}

describe('prefetch selection', () => {
  const files = table([['index.html', 3000], ['video.mp4', 50_000], ['style.css', 1000], ['empty', 0], ['photo.jpg', 9000]])

  it('takes the whole site when it fits', () => {
    expect(prefetchFiles(files, 63_000).map((f) => f.path)).toEqual(['index.html', 'video.mp4', 'style.css', 'empty', 'photo.jpg'])
  })

  it('else takes the smallest files that fit together, leaving big media on demand', () => {
    expect(prefetchFiles(files, 13_000).map((f) => f.path)).toEqual(['index.html', 'style.css', 'empty', 'photo.jpg'])
    expect(prefetchFiles(files, 4000).map((f) => f.path)).toEqual(['index.html', 'style.css', 'empty'])
    expect(prefetchFiles(files, 0).map((f) => f.path)).toEqual(['empty'])
  })

  it('maps files to merged piece ranges', () => {
    // pieces of 4096: index.html 0-2999 (p0), video 3000-52999 (p0-12), style 53000-53999 (p12-13), photo 54000-62999 (p13-15)
    expect(prefetchRanges({ pieceLength: 4096, files }, 13_000)).toEqual([{ first: 0, last: 0 }, { first: 12, last: 15 }])
    expect(prefetchRanges({ pieceLength: 4096, files }, 100_000)).toEqual([{ first: 0, last: 15 }])
  })

  it('reads the limit from the manifest, with a default', () => {
    expect(prefetchLimitOf({ prefetchLimit: 1234 })).toBe(1234)
    expect(prefetchLimitOf({ prefetchLimit: 0 })).toBe(0)
    for (const bad of [undefined, -1, 1.5, '10', null]) expect(prefetchLimitOf({ prefetchLimit: bad })).toBe(DEFAULT_PREFETCH_LIMIT)
  })
})

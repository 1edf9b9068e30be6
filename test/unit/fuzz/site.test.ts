/**
 * Property tests: the service worker's Range parsing and URL -> file mapping (worker/site.ts), shared by `serve`.
 * Range parsing is checked against a reference model (the regular expression it used before, correct but
 * quadratic on padded headers, so only fed short ones) and for its invariants; the mapping for "only ever a file
 * of the table, and every file reachable".
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSite, parseRangeHeader, relativePath, resolveFile, type RangeResult } from '../../../worker/site.js'
import { FUZZ_TIMEOUT_MS, fuzzParams } from './runs.js'

/** The previous parser: the meaning of a Range header, without the concern for time. */
function reference (header: string, size: number): RangeResult {
  if (size === 0) return { kind: 'full' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return { kind: 'full' }
  const [, first = '', last = ''] = m
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    const n = Number(last)
    return n === 0 ? { kind: 'unsatisfiable' } : { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  if (end < start || start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}

const token = fc.constantFrom('bytes', 'BYTES', 'Bytes', 'items', '=', '-', ',', ' ', '\t', '0', '1', '7', '42', '999999999999', 'x', '+', '.', '')
const header = fc.oneof(
  fc.array(token, { maxLength: 10 }).map((t) => t.join('')),
  fc.tuple(fc.constantFrom('', ' '), fc.option(fc.nat({ max: 2000 })), fc.option(fc.nat({ max: 2000 })), fc.constantFrom('', ' ', '\t'))
    .map(([pad, a, b, pad2]) => `${pad}bytes${pad2}=${pad}${a ?? ''}${pad2}-${pad}${b ?? ''}${pad2}`),
  fc.string({ maxLength: 20 })
)

describe('Range header (property tests)', () => {
  it('means what the reference parser says, and a partial range lies inside the file', () => {
    fc.assert(fc.property(header, fc.nat({ max: 3000 }), (h, size) => {
      const got = parseRangeHeader(h, size)
      expect(got).toEqual(reference(h, size))
      if (got.kind === 'partial') {
        expect(0 <= got.start && got.start <= got.end && got.end < size).toBe(true)
      }
    }), fuzzParams(1000))
  }, FUZZ_TIMEOUT_MS)

  it('an If-Range that is not the ETag always gives the full file', () => {
    fc.assert(fc.property(header, fc.nat({ max: 3000 }), fc.string({ maxLength: 10 }), (h, size, ifRange) => {
      fc.pre(ifRange.trim() !== '"e"')
      expect(parseRangeHeader(h, size, ifRange, '"e"')).toEqual({ kind: 'full' })
    }), fuzzParams(500))
  }, FUZZ_TIMEOUT_MS)
})

const FILES = ['index.html', '404.html', 'docs/index.html', 'docs/guide/a b.html', 'media/clip.mp4', 'ünï/çødé.txt', '%41.txt', 'a#b?.html']
  .map((path) => ({ path, length: 10, type: 'text/html' }))
const site = createSite({ infoHash: 'aa'.repeat(20), files: FILES })
const SCOPE = new URL('https://host.example/site/')

/** Request paths below the scope: pieces of real paths, traversal, encodings of them, and anything. */
const segment = fc.oneof(
  fc.constantFrom('', '.', '..', '%2e%2e', '%2E.', '.%2e', '%2f', '%5c', '%00', '\\', 'docs', 'guide', 'index.html', 'a%20b.html', 'media', '%ZZ', '%', '%c3%bc', '?', '#'),
  fc.string({ maxLength: 5 })
)
const rel = fc.array(segment, { maxLength: 5 }).map((s) => s.join('/'))

describe('URL -> file (property tests)', () => {
  it('resolves only to files of the table, and redirects only to the same origin, under the scope', () => {
    fc.assert(fc.property(rel, (r) => {
      let url: URL
      try {
        url = new URL(r, SCOPE)
      } catch {
        return
      }
      const below = relativePath(url, SCOPE)
      if (below === null) return
      const res = resolveFile(site, below, url)
      if (res.kind === 'file') expect(site.files.get(res.file.path)).toBe(res.file)
      if (res.kind === 'redirect') {
        const to = new URL(res.location)
        expect(to.origin).toBe(SCOPE.origin)
        expect(relativePath(to, SCOPE)).not.toBeNull()
      }
      // The raw string, without the URL parser's normalisation, must hold too.
      const raw = resolveFile(site, r.split(/[?#]/)[0] ?? '', url)
      if (raw.kind === 'file') expect(site.files.get(raw.file.path)).toBe(raw.file)
    }), fuzzParams(1000))
  }, FUZZ_TIMEOUT_MS)

  it('every file is reached by its percent-encoded path', () => {
    for (const f of FILES) {
      const encoded = f.path.split('/').map(encodeURIComponent).join('/')
      const url = new URL(encoded, SCOPE)
      const res = resolveFile(site, relativePath(url, SCOPE)!, url)
      expect(res.kind === 'file' ? res.file.path : res.kind).toBe(f.path)
    }
  })
})

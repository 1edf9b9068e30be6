import { describe, expect, it } from 'vitest'
import {
  contentDisposition, contentType, createSite, downloadName, etagOf, fnv1a32, parseManifest, parseRangeHeader, relativePath, resolveFile,
  siteResponse, type OpenBody, type Site
} from '../../../worker/site.js'
import { DOWNLOAD_PARAM } from '../../../worker/protocol.js'
import { EngineReadError } from '../../../worker/engine-client.js'

const INFOHASH = 'aa'.repeat(20)
const SCOPE = new URL('https://host.example/sub/')

/** The bytes of a fake file: byte i of `path` is a function of i and the path, so a wrong offset shows. */
function contentOf (path: string, length: number): Uint8Array {
  const seed = [...path].reduce((s, c) => s + c.charCodeAt(0), 0)
  return Uint8Array.from({ length }, (_, i) => (i * 7 + seed) % 251)
}

const FILES = [
  { path: 'index.html', length: 120, type: 'text/html' },
  { path: 'about.html', length: 50, type: 'text/html' },
  { path: 'docs/guide/index.html', length: 80, type: 'text/html' },
  { path: 'docs/readme.txt', length: 30, type: 'text/plain' },
  { path: 'media/clip.mp4', length: 1000, type: 'video/mp4' },
  { path: 'style/a b.css', length: 40, type: 'text/css' },
  { path: 'café/menu.html', length: 60, type: 'text/html; charset=iso-8859-1' },
  { path: 'empty.txt', length: 0, type: 'text/plain' },
  { path: '404.html', length: 25, type: 'text/html' },
  { path: '../evil.html', length: 10, type: 'text/html' }
]

function makeSite (files = FILES): Site {
  return createSite({ infoHash: INFOHASH, files })
}

interface Opened { path: string, offset: number, length: number, signal: AbortSignal }

/** A fake engine: streams the file's bytes in chunks of 16 and records every read it was asked for. */
function fakeOpen (site: Site, fail = false): { open: OpenBody, calls: Opened[] } {
  const calls: Opened[] = []
  const open: OpenBody = async (path, offset, length, signal) => {
    calls.push({ path, offset, length, signal })
    if (fail) throw new EngineReadError('stall', 'no peer delivered it within 60 s')
    const file = site.files.get(path)
    if (file === undefined) throw new Error(`no such file ${path}`)
    const bytes = contentOf(path, file.length).subarray(offset, offset + length)
    let pos = 0
    return new ReadableStream<Uint8Array>({
      pull (c) {
        if (pos >= bytes.length) return c.close()
        c.enqueue(bytes.slice(pos, pos + 16))
        pos += 16
      }
    })
  }
  return { open, calls }
}

function req (rel: string, init: RequestInit = {}): [Request, URL, string] {
  const url = new URL(rel, SCOPE)
  const r = relativePath(url, SCOPE)
  if (r === null) throw new Error(`${url.href} is outside the scope`)
  return [new Request(url, init), url, r]
}

async function serve (rel: string, init: RequestInit = {}, site = makeSite(), fail = false): Promise<{ res: Response, calls: Opened[] }> {
  const { open, calls } = fakeOpen(site, fail)
  const [request, url, r] = req(rel, init)
  return { res: await siteResponse(request, url, r, site, open), calls }
}

async function bytesOf (res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer())
}

describe('URL -> file', () => {
  const site = makeSite()
  // The raw path below the scope, as the function gets it: without the URL parser's normalisation, which
  // would already turn "docs/%2e%2e/x" into "x" (the function must hold without it).
  const resolve = (rel: string): ReturnType<typeof resolveFile> => resolveFile(site, rel.split('?')[0] ?? '', new URL(rel, SCOPE))
  const pathOf = (rel: string): string | undefined => {
    const found = resolve(rel)
    return found.kind === 'file' ? found.file.path : found.kind
  }

  it('strips the scope and maps folders to their index.html', () => {
    expect(relativePath(new URL('https://host.example/sub/a/b.html?x=1'), SCOPE)).toBe('a/b.html')
    expect(relativePath(new URL('https://host.example/sub/'), SCOPE)).toBe('')
    expect(relativePath(new URL('https://host.example/other/a.html'), SCOPE)).toBeNull()
    expect(relativePath(new URL('https://host.example/sub'), SCOPE)).toBeNull()
    expect(relativePath(new URL('https://elsewhere.example/sub/a.html'), SCOPE)).toBeNull()
    expect(pathOf('')).toBe('index.html')
    expect(pathOf('index.html')).toBe('index.html')
    expect(pathOf('docs/guide/')).toBe('docs/guide/index.html')
    expect(pathOf('about.html')).toBe('about.html')
    expect(pathOf('about.html?utm=1#top')).toBe('about.html')
  })

  it('percent-decodes each segment', () => {
    expect(pathOf('style/a%20b.css')).toBe('style/a b.css')
    expect(pathOf('caf%C3%A9/menu.html')).toBe('café/menu.html')
    expect(pathOf('café/menu.html')).toBe('café/menu.html') // the URL parser encodes it first
    expect(pathOf('%E0%A4%A')).toBe('bad-request')
    expect(pathOf('docs/%ZZ.txt')).toBe('bad-request')
  })

  it('redirects a folder without its slash, keeping the query string', () => {
    expect(resolve('docs/guide?x=1&y=2')).toEqual({ kind: 'redirect', location: 'https://host.example/sub/docs/guide/?x=1&y=2' })
    expect(resolve('docs')).toEqual({ kind: 'redirect', location: 'https://host.example/sub/docs/' })
    // a folder with no index.html: the redirect, then a 404
    expect(pathOf('docs/')).toBe('not-found')
    expect(pathOf('about.html/')).toBe('not-found')
  })

  it('never leaves the file table: traversal, encoded slashes, backslashes, NUL', () => {
    for (const rel of [
      'docs/%2e%2e/index.html', 'docs/%2E%2E/%2e%2e/etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e', 'docs/%2e/readme.txt',
      'docs%2fguide%2findex.html', 'docs%2Freadme.txt', 'docs%5creadme.txt', 'docs%5C..%5Cindex.html', 'index.html%00',
      '%00', 'docs//readme.txt', '%2e%2e%2fevil.html', '..%5cevil.html', 'nope.html', '../evil.html', 'docs/../index.html',
      './index.html', 'docs/guide/./index.html', 'docs\\readme.txt', '/index.html', 'docs/guide//'
    ]) {
      expect([rel, pathOf(rel)]).toEqual([rel, 'not-found'])
    }
    // The URL parser resolves dot segments (also %2e%2e) before the worker sees them: those leave the scope.
    expect(relativePath(new URL('https://host.example/sub/%2e%2e/secret'), SCOPE)).toBeNull()
    expect(relativePath(new URL('https://host.example/sub/../secret'), SCOPE)).toBeNull()
    // and a raw backslash is a slash to the URL parser
    expect(new URL('https://host.example/sub/docs\\readme.txt').pathname).toBe('/sub/docs/readme.txt')
  })

  it('leaves unsafe paths of a hostile manifest out of the table', () => {
    expect(site.files.has('../evil.html')).toBe(false)
    expect([...site.files.keys()].every((p) => !p.split('/').includes('..'))).toBe(true)
    expect(site.dirs).toEqual(new Set(['docs', 'docs/guide', 'media', 'style', 'café']))
  })
})

describe('responses', () => {
  it('serves a file with its headers and exact bytes, streamed from the engine', async () => {
    const { res, calls } = await serve('docs/readme.txt')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('text/plain; charset=utf-8')
    expect(res.headers.get('Content-Length')).toBe('30')
    expect(res.headers.get('Accept-Ranges')).toBe('bytes')
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(res.headers.get('Cache-Control')).toBe('no-cache')
    expect(res.headers.get('ETag')).toBe(`"${INFOHASH}-docs%2Freadme.txt"`)
    expect(await bytesOf(res)).toEqual(contentOf('docs/readme.txt', 30))
    expect(calls.map(({ path, offset, length }) => ({ path, offset, length }))).toEqual([{ path: 'docs/readme.txt', offset: 0, length: 30 }])
  })

  it('serves / and /dir/ as their index.html', async () => {
    const root = await serve('')
    expect(root.res.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(await bytesOf(root.res)).toEqual(contentOf('index.html', 120))
    const guide = await serve('docs/guide/')
    expect(await bytesOf(guide.res)).toEqual(contentOf('docs/guide/index.html', 80))
  })

  it('sets the charset of text types only, and keeps one the manifest gives', () => {
    expect(contentType('text/html')).toBe('text/html; charset=utf-8')
    expect(contentType('text/css')).toBe('text/css; charset=utf-8')
    expect(contentType('text/javascript')).toBe('text/javascript; charset=utf-8')
    expect(contentType('application/javascript')).toBe('application/javascript; charset=utf-8')
    expect(contentType('application/json')).toBe('application/json; charset=utf-8')
    expect(contentType('text/plain')).toBe('text/plain; charset=utf-8')
    expect(contentType('text/html; charset=iso-8859-1')).toBe('text/html; charset=iso-8859-1')
    expect(contentType('video/mp4')).toBe('video/mp4')
    expect(contentType('image/png')).toBe('image/png')
    expect(contentType('')).toBe('application/octet-stream')
  })

  it('answers a folder without its slash with a 301 that keeps the query', async () => {
    const { res, calls } = await serve('docs/guide?a=1')
    expect(res.status).toBe(301)
    expect(res.headers.get('Location')).toBe('https://host.example/sub/docs/guide/?a=1')
    expect(calls).toEqual([])
  })

  it('answers malformed percent-encoding with 400', async () => {
    const { res, calls } = await serve('bad%E0%A4%A.html')
    expect(res.status).toBe(400)
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(calls).toEqual([])
  })

  it('answers a missing file with the site\'s 404.html and status 404', async () => {
    const { res, calls } = await serve('no/such/page.html')
    expect(res.status).toBe(404)
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('Content-Length')).toBe('25')
    expect(res.headers.get('ETag')).toBeNull()
    expect(await bytesOf(res)).toEqual(contentOf('404.html', 25))
    expect(calls.map((c) => c.path)).toEqual(['404.html'])
    // Range and If-None-Match describe the URL's representation: the 404 page ignores them
    const ranged = await serve('missing', { headers: { Range: 'bytes=0-1', 'If-None-Match': '*' } })
    expect(ranged.res.status).toBe(404)
    expect((await bytesOf(ranged.res)).length).toBe(25)
  })

  it('answers a missing file with a small plain 404 page when the site has no 404.html', async () => {
    const site = makeSite(FILES.filter((f) => f.path !== '404.html'))
    const { res, calls } = await serve('missing.html', {}, site)
    expect(res.status).toBe(404)
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(await res.text()).toContain('Not found')
    expect(calls).toEqual([])
    // a traversal attempt gets the same answer, never a file
    const evil = await serve('..%2fevil.html', {}, site)
    expect(evil.res.status).toBe(404)
    expect(evil.calls).toEqual([])
  })

  it('gives each file of each publish its own strong ETag', () => {
    const a = makeSite()
    const b = createSite({ infoHash: 'bb'.repeat(20), files: FILES })
    expect(etagOf(a, 'index.html')).not.toBe(etagOf(a, 'about.html'))
    expect(etagOf(a, 'index.html')).not.toBe(etagOf(b, 'index.html'))
    expect(etagOf(a, 'café/menu.html')).toMatch(/^"[\x21\x23-\x7e]+"$/)
    expect(etagOf(a, 'a"b, c.html')).toMatch(/^"[\x21\x23-\x2b\x2d-\x7e]+"$/)
    // A crafted manifest's path with a lone surrogate (JSON allows one) still gets a header-safe ETag, no exception.
    expect(etagOf(a, 'x\ud800y.html')).toBe(`"${INFOHASH}-x%EF%BF%BDy.html"`)
  })

  it('hashes a path as FNV-1a of its UTF-8 bytes, ASCII or not (the index bucket)', () => {
    const reference = (s: string): number => {
      let h = 0x811c9dc5
      for (const byte of new TextEncoder().encode(s)) h = Math.imul(h ^ byte, 0x01000193)
      return h >>> 0
    }
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c) // the published FNV-1a 32 test vector
    for (const s of ['index.html', 'posts/2009/02/page-1234.html', 'café/menu.html', 'docs/é', 'emoji-😀.txt', '\u007f', 'x\u0080y']) {
      expect(fnv1a32(s), s).toBe(reference(s))
    }
  })

  it('answers a matching If-None-Match with 304 and no engine read', async () => {
    const etag = etagOf(makeSite(), 'media/clip.mp4')
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
      const { res, calls } = await serve('media/clip.mp4', { headers: { 'If-None-Match': inm } })
      expect([inm, res.status]).toEqual([inm, 304])
      expect(res.headers.get('ETag')).toBe(etag)
      expect(res.body).toBeNull()
      expect(calls).toEqual([])
    }
    const other = await serve('media/clip.mp4', { headers: { 'If-None-Match': '"other"' } })
    expect(other.res.status).toBe(200)
  })

  it('answers HEAD with the same headers and no body, without waking the engine', async () => {
    const { res, calls } = await serve('media/clip.mp4', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Length')).toBe('1000')
    expect(res.headers.get('Content-Type')).toBe('video/mp4')
    expect(res.headers.get('Accept-Ranges')).toBe('bytes')
    expect(res.body).toBeNull()
    expect(calls).toEqual([])
    // Range is defined for GET only (RFC 9110 §14.2)
    const ranged = await serve('media/clip.mp4', { method: 'HEAD', headers: { Range: 'bytes=0-9' } })
    expect(ranged.res.status).toBe(200)
    expect(ranged.calls).toEqual([])
    const missing = await serve('missing', { method: 'HEAD' })
    expect(missing.res.status).toBe(404)
    expect(missing.res.body).toBeNull()
    expect(missing.calls).toEqual([])
  })

  it('answers an empty file with an empty 200 and no engine read, Range or not', async () => {
    for (const headers of [{}, { Range: 'bytes=0-' }] as Array<Record<string, string>>) {
      const { res, calls } = await serve('empty.txt', { headers })
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Length')).toBe('0')
      expect((await bytesOf(res)).length).toBe(0)
      expect(calls).toEqual([])
    }
  })

  it('answers 504 with a page saying no peer could deliver when the engine fails before the first byte', async () => {
    const { res } = await serve('about.html', {}, makeSite(), true)
    expect(res.status).toBe(504)
    expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(await res.text()).toContain('No peer could deliver')
  })

  it('answers ?peersite-download=NAME as an attachment of that name (the shell\'s route for download links)', async () => {
    const { res } = await serve(`docs/readme.txt?${DOWNLOAD_PARAM}=notes.txt`)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Disposition')).toBe('attachment; filename="notes.txt"; filename*=UTF-8\'\'notes.txt')
    expect(res.headers.get('Content-Length')).toBe('30')
    expect(await bytesOf(res)).toEqual(contentOf('docs/readme.txt', 30))
    // An empty name (a bare `download` attribute): the file's own name.
    const bare = await serve(`café/menu.html?${DOWNLOAD_PARAM}=`)
    expect(bare.res.headers.get('Content-Disposition')).toBe('attachment; filename="menu.html"; filename*=UTF-8\'\'menu.html')
    // A range of it keeps the header (a resumed download), and an ordinary request has none.
    const ranged = await serve(`media/clip.mp4?${DOWNLOAD_PARAM}=clip.mp4`, { headers: { Range: 'bytes=10-19' } })
    expect(ranged.res.status).toBe(206)
    expect(ranged.res.headers.get('Content-Disposition')).toContain('attachment')
    expect((await serve('docs/readme.txt')).res.headers.get('Content-Disposition')).toBeNull()
  })

  it('encodes download names for the header: RFC 8187 filename*, an ASCII fallback, no separators or control characters', () => {
    const file = { path: 'a/b.bin', length: 1, type: '' }
    const url = (name: string): URL => new URL(`https://host.example/a/b.bin?${DOWNLOAD_PARAM}=${encodeURIComponent(name)}`)
    expect(downloadName(new URL('https://host.example/a/b.bin'), file)).toBeNull()
    expect(downloadName(url(''), file)).toBe('b.bin')
    expect(downloadName(url('../../etc/passwd'), file)).toBe('.._.._etc_passwd')
    expect(downloadName(url('a\\b\r\nSet-Cookie: x'), file)).toBe('a_b__Set-Cookie: x')
    expect(contentDisposition('résumé (final)*.pdf')).toBe(
      'attachment; filename="r_sum_ (final)*.pdf"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9%20%28final%29%2A.pdf')
    expect(contentDisposition('say "hi".txt')).toBe('attachment; filename="say _hi_.txt"; filename*=UTF-8\'\'say%20%22hi%22.txt')
  })

  it('passes the request\'s abort signal to the engine', async () => {
    const ac = new AbortController()
    const { calls } = await serve('about.html', { signal: ac.signal })
    ac.abort()
    expect(calls[0]?.signal.aborted).toBe(true)
  })
})

describe('Range', () => {
  const clip = contentOf('media/clip.mp4', 1000)
  const cases: Array<[string, number, number]> = [
    ['bytes=0-9', 0, 9],
    ['bytes=100-199', 100, 199],
    ['bytes=990-', 990, 999],
    ['bytes=0-', 0, 999],
    ['bytes=-10', 990, 999],
    ['bytes=-1', 999, 999],
    ['bytes=-5000', 0, 999], // a suffix longer than the file: all of it
    ['bytes=900-5000', 900, 999], // clamped to the file
    ['bytes=999-999', 999, 999],
    ['bytes= 10-19', 10, 19]
  ]
  for (const [header, start, end] of cases) {
    it(`${header} -> 206 ${start}-${end}`, async () => {
      const { res, calls } = await serve('media/clip.mp4', { headers: { Range: header } })
      expect(res.status).toBe(206)
      expect(res.headers.get('Content-Range')).toBe(`bytes ${start}-${end}/1000`)
      expect(res.headers.get('Content-Length')).toBe(String(end - start + 1))
      expect(res.headers.get('Content-Type')).toBe('video/mp4')
      expect(res.headers.get('ETag')).not.toBeNull()
      expect(await bytesOf(res)).toEqual(clip.subarray(start, end + 1))
      expect(calls.map(({ offset, length }) => [offset, length])).toEqual([[start, end - start + 1]])
    })
  }

  for (const header of ['bytes=1000-', 'bytes=1000-1010', 'bytes=5000-', 'bytes=-0', 'bytes=5-2']) {
    it(`${header} -> 416`, async () => {
      const { res, calls } = await serve('media/clip.mp4', { headers: { Range: header } })
      expect(res.status).toBe(416)
      expect(res.headers.get('Content-Range')).toBe('bytes */1000')
      expect(calls).toEqual([])
    })
  }

  for (const header of ['bytes=0-1,5-6', 'bytes=0-1, 2000-3000', 'bytes=abc', 'bytes=-', 'items=0-9', 'bytes', '0-9', 'bytes=1.5-2']) {
    it(`${header} is ignored -> 200`, async () => {
      const { res } = await serve('media/clip.mp4', { headers: { Range: header } })
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Range')).toBeNull()
      expect(res.headers.get('Content-Length')).toBe('1000')
      expect(await bytesOf(res)).toEqual(clip)
    })
  }

  it('honours If-Range only when it matches the ETag', async () => {
    const etag = etagOf(makeSite(), 'media/clip.mp4')
    const match = await serve('media/clip.mp4', { headers: { Range: 'bytes=0-9', 'If-Range': etag } })
    expect(match.res.status).toBe(206)
    for (const ifRange of ['"old"', `W/${etag}`, 'Tue, 15 Nov 1994 08:12:31 GMT']) {
      const other = await serve('media/clip.mp4', { headers: { Range: 'bytes=0-9', 'If-Range': ifRange } })
      expect([ifRange, other.res.status]).toEqual([ifRange, 200])
    }
  })

  it('parses edge cases without a request', () => {
    expect(parseRangeHeader('bytes=-20', 10)).toEqual({ kind: 'partial', start: 0, end: 9 })
    expect(parseRangeHeader('bytes=3-3', 10)).toEqual({ kind: 'partial', start: 3, end: 3 })
    expect(parseRangeHeader('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRangeHeader('bytes=4-3', 10)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRangeHeader('bytes=0-1,3-4', 10)).toEqual({ kind: 'full' })
    expect(parseRangeHeader('bytes=--1', 10)).toEqual({ kind: 'full' })
    expect(parseRangeHeader('bytes=+1-2', 10)).toEqual({ kind: 'full' })
    expect(parseRangeHeader(null, 10)).toEqual({ kind: 'full' })
    expect(parseRangeHeader('bytes=0-0', 1)).toEqual({ kind: 'partial', start: 0, end: 0 })
    expect(parseRangeHeader('BYTES=0-0', 1)).toEqual({ kind: 'partial', start: 0, end: 0 })
    expect(parseRangeHeader('bytes=1-', 1)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRangeHeader('bytes=0-', 0)).toEqual({ kind: 'full' })
    expect(parseRangeHeader('bytes=0-99999999999999999999', 5)).toEqual({ kind: 'partial', start: 0, end: 4 })
  })

  it('parses headers of 300,000 spaces in linear time (a backtracking pattern took about a minute each)', () => {
    const pad = ' '.repeat(300_000)
    for (const header of [`bytes=${pad}x`, `bytes=0-${pad}x`, `bytes=${pad}-x`, `${pad}bytes${pad}=${pad}-${pad}x`]) {
      expect(parseRangeHeader(header, 10)).toEqual({ kind: 'full' })
    }
    expect(parseRangeHeader(`${pad}bytes${pad}=${pad}2${pad}-${pad}3${pad}`, 10)).toEqual({ kind: 'partial', start: 2, end: 3 })
  })
})

describe('manifest', () => {
  it('accepts a version 1 manifest and refuses anything else', () => {
    const good = { version: 1, infoHash: INFOHASH, name: 'x', trackers: [], pieceLength: 16384, length: 1, files: [{ path: 'a', length: 1, type: 'text/plain' }] }
    expect(parseManifest(good)).toBe(good)
    for (const bad of [null, 1, {}, { ...good, version: 2 }, { ...good, infoHash: 5 }, { ...good, files: [{ path: 'a', length: -1, type: '' }] },
      { ...good, files: [{ path: 'a', length: 1.5, type: '' }] }, { ...good, files: [{ length: 1, type: '' }] }, { ...good, files: 'a' }]) {
      expect(() => parseManifest(bad)).toThrow(TypeError)
    }
  })
})

/**
 * `peersite serve`'s gateway over HTTP, with the swarm replaced by an in-memory seeder (no WebRTC: the WebRTC path
 * is test/integration/serve.test.ts): Range requests give exactly those bytes, a full GET is byte-identical, HEAD,
 * 416, folders, 404, 304; a client that disconnects aborts its read. And the command's refusals.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { formatRequestLog, startGateway, type Gateway, type GatewayInit, type RequestLogEntry } from '../../../cli/lib/gateway.js'
import { Bitfield, fullBitfield } from '../../../engine/bitfield.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { NoDiscovery, storeWith } from '../../fixtures/engine-peers.js'
import { makeTorrent, randomData } from '../../fixtures/make-torrent.js'
import { removeBundle, runCli } from './helpers.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const FILES = [
  { path: 'index.html', data: utf8('<h1>home</h1>') },
  { path: 'docs/index.html', data: utf8('<h1>docs</h1>') },
  { path: '404.html', data: utf8('<h1>no such page</h1>') },
  { path: 'media/clip.mp4', data: randomData(3_000_000, 21) },
  { path: 'empty.txt', data: new Uint8Array(0) }
]
const clip = FILES[3]!.data
const SIZE = clip.length

let metainfo: Metainfo
let data: Uint8Array
beforeAll(async () => {
  ({ metainfo, data } = await makeTorrent(FILES, 64 * 1024))
})

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
afterAll(async () => { await removeBundle() })

async function seeder (m: Metainfo = metainfo, d: Uint8Array = data): Promise<Torrent> {
  const store = new MemoryStore({ pieceLength: m.pieceLength, length: m.length })
  for (let i = 0; i < m.pieceCount; i++) {
    await store.put(i, d.slice(i * m.pieceLength, Math.min(d.length, (i + 1) * m.pieceLength)))
  }
  const t = new Torrent({ createStore: () => store }, { infoHash: m.infoHash, metainfo: m, have: fullBitfield(m.pieceCount) })
  cleanups.push(async () => await t.destroy())
  return t
}

/** Connects `torrent` to a seeder of `m` (its bytes `d`) over an in-memory pair. */
async function seedInto (torrent: Torrent, m: Metainfo, d: Uint8Array): Promise<void> {
  const seed = await seeder(m, d)
  const [a, b] = memoryConnectionPair()
  seed.addConnection(a)
  torrent.addConnection(b)
}

async function gateway (init: Partial<GatewayInit> = {}): Promise<Gateway> {
  const g = await startGateway({ infoHash: metainfo.infoHash, trackers: [], createDiscovery: () => new NoDiscovery(), ...init })
  cleanups.push(async () => await g.close())
  return g
}

/** A gateway that knows only the infohash, connected to a seeder: the metadata comes over BEP 9. */
async function served (): Promise<Gateway> {
  const g = await gateway()
  await seedInto(g.torrent, metainfo, data)
  return g
}

async function bytesOf (res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer())
}

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

describe('serve gateway', () => {
  it('answers Range requests with exactly those bytes (206, Content-Range)', async () => {
    const g = await served()
    const url = `${g.url}media/clip.mp4`
    const cases: Array<[string, number, number]> = [
      ['bytes=1000-2999', 1000, 2999],
      ['bytes=0-0', 0, 0],
      [`bytes=-500`, SIZE - 500, SIZE - 1],
      [`bytes=1500000-`, 1_500_000, SIZE - 1],
      // A range that spans pieces, and one past the end (clamped).
      [`bytes=65000-200000`, 65_000, 200_000],
      [`bytes=${SIZE - 10}-${SIZE + 1000}`, SIZE - 10, SIZE - 1]
    ]
    for (const [range, start, end] of cases) {
      const res = await fetch(url, { headers: { Range: range } })
      expect(res.status, range).toBe(206)
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${SIZE}`)
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1))
      expect(res.headers.get('accept-ranges')).toBe('bytes')
      expect(res.headers.get('content-type')).toBe('video/mp4')
      const body = await bytesOf(res)
      expect(sha1(body), range).toBe(sha1(clip.subarray(start, end + 1)))
    }
  })

  it('a full GET is byte-identical to the file; HEAD gives its headers only', async () => {
    const g = await served()
    const res = await fetch(`${g.url}media/clip.mp4`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(SIZE))
    expect(res.headers.get('etag')).toBe(`"${metainfo.infoHash}-media%2Fclip.mp4"`)
    expect(sha1(await bytesOf(res))).toBe(sha1(clip))

    const head = await fetch(`${g.url}media/clip.mp4`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(SIZE))
    expect(head.headers.get('accept-ranges')).toBe('bytes')
    expect((await bytesOf(head)).length).toBe(0)

    const empty = await fetch(`${g.url}empty.txt`)
    expect(empty.status).toBe(200)
    expect(empty.headers.get('content-length')).toBe('0')
    expect(await empty.text()).toBe('')
  })

  it('416 for an unsatisfiable range, 304 for a matching ETag, 405 for other methods', async () => {
    const g = await served()
    const url = `${g.url}media/clip.mp4`
    const res = await fetch(url, { headers: { Range: `bytes=${SIZE}-` } })
    expect(res.status).toBe(416)
    expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`)
    await res.arrayBuffer()

    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!
    const cached = await fetch(url, { headers: { 'If-None-Match': etag } })
    expect(cached.status).toBe(304)

    const post = await fetch(url, { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
    await post.arrayBuffer()
  })

  it('maps paths like the worker: folders give index.html, a folder without its slash redirects, 404 page', async () => {
    const g = await served()
    const home = await fetch(g.url)
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await home.text()).toBe('<h1>home</h1>')

    const docs = await fetch(`${g.url}docs/`)
    expect(await docs.text()).toBe('<h1>docs</h1>')

    const redirect = await fetch(`${g.url}docs?x=1`, { redirect: 'manual' })
    expect(redirect.status).toBe(301)
    expect(redirect.headers.get('location')).toBe('/docs/?x=1')

    const missing = await fetch(`${g.url}nope/`)
    expect(missing.status).toBe(404)
    expect(await missing.text()).toBe('<h1>no such page</h1>')

    const traversal = await fetch(`${g.url}docs/%2e%2e/%2e%2e/etc/passwd`)
    expect(traversal.status).toBe(404)
    await traversal.arrayBuffer()
  })

  it('never reflects the Host header or the request target into a redirect', async () => {
    const g = await served()
    for (const [path, host] of [['/docs', 'evil.example'], ['/docs?x=1', 'evil.example:666'], ['//evil.example/docs', undefined], ['/\\evil.example/docs', undefined], ['http://evil.example/docs', 'evil.example']] as const) {
      const res = await rawGet(g.url, path, host === undefined ? {} : { Host: host })
      expect(res.body).not.toMatch(/evil/)
      if (res.status === 301) expect(res.headers.location, path).toMatch(/^\/docs\/(\?x=1)?$/)
      else expect(res.status, path).toBe(404)
      expect(JSON.stringify(res.headers)).not.toMatch(/evil/)
    }
  })

  it('refuses to serve any file as a service worker script (the gateway has none)', async () => {
    const g = await served()
    for (const path of ['/index.html', '/media/clip.mp4', '/sw.js', '/']) {
      const res = await rawGet(g.url, path, { 'Service-Worker': 'script' })
      expect(res.status, path).toBe(403)
      expect(res.body).not.toContain('<h1>home</h1>')
    }
    // The same file without the header is served.
    expect((await rawGet(g.url, '/index.html', {})).status).toBe(200)
  })

  it('answers a Range header padded with 15,000 spaces (parsed in linear time: test/unit/worker/site.test.ts)', async () => {
    const g = await served()
    const res = await rawGet(g.url, '/media/clip.mp4', { Range: `bytes=0-${' '.repeat(15_000)}x` }, true)
    expect(res.status).toBe(200)
    const ok = await rawGet(g.url, '/media/clip.mp4', { Range: `bytes= 5 - 9 ` }, true)
    expect(ok.status).toBe(206)
    expect(ok.headers['content-range']).toBe(`bytes 5-9/${SIZE}`)
  })

  it('aborts the read when the client disconnects', async () => {
    // Knows the metainfo, has no peer: the read waits.
    const g = await gateway({ metainfo })
    const signals: AbortSignal[] = []
    const read = g.torrent.read.bind(g.torrent)
    g.torrent.read = (offset, length, signal) => {
      if (signal !== undefined) signals.push(signal)
      return read(offset, length, signal)
    }
    const client = new AbortController()
    const pending = fetch(`${g.url}media/clip.mp4`, { headers: { Range: 'bytes=1000000-' }, signal: client.signal })
    await expect.poll(() => signals.length).toBe(1)
    expect(signals[0]!.aborted).toBe(false)
    client.abort()
    await expect(pending).rejects.toThrow()
    await expect.poll(() => signals[0]!.aborted).toBe(true)
  })

  it('a client that leaves while its request waits ends that wait: for the metadata, for _redirects (read on for others)', async () => {
    // No peer: each request waits for the metadata until its client leaves, and leaves no listener on the torrent.
    const g = await gateway()
    for (let i = 0; i < 3; i++) {
      const client = new AbortController()
      const pending = fetch(`${g.url}index.html`, { signal: client.signal })
      await expect.poll(() => g.torrent.listenerCount('metadata')).toBe(1)
      client.abort()
      await expect(pending).rejects.toThrow()
      await expect.poll(() => g.torrent.listenerCount('metadata')).toBe(0)
    }
    // The metadata known, `_redirects` not there yet: a client leaving does not end the read that later requests share.
    const { metainfo: m, data: d } = await makeTorrent([...FILES, { path: '_redirects', data: utf8('/old /docs/ 301\n') }], 64 * 1024)
    const rules = await gateway({ infoHash: m.infoHash, metainfo: m })
    const reads: AbortSignal[] = []
    const read = rules.torrent.read.bind(rules.torrent)
    rules.torrent.read = (offset, length, signal) => {
      if (signal !== undefined) reads.push(signal)
      return read(offset, length, signal)
    }
    const client = new AbortController()
    const pending = fetch(`${rules.url}old`, { redirect: 'manual', signal: client.signal })
    await expect.poll(() => reads.length).toBe(1)
    client.abort()
    await expect(pending).rejects.toThrow()
    expect(reads[0]!.aborted).toBe(false)
    await seedInto(rules.torrent, m, d)
    const res = await fetch(`${rules.url}old`, { redirect: 'manual' })
    expect(res.status).toBe(301)
    expect(res.headers.get('location')).toBe('/docs/')
    expect(reads).toHaveLength(1)
  })

  it('many requests waiting at once make no listener warning (each listens for the site\'s refusal until it ends)', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    try {
      const g = await gateway()
      const clients = Array.from({ length: 16 }, () => new AbortController())
      const pending = clients.map(async (c) => await fetch(`${g.url}index.html`, { signal: c.signal }).catch(() => undefined))
      await expect.poll(() => g.torrent.listenerCount('metadata')).toBe(16)
      for (const c of clients) c.abort()
      await Promise.all(pending)
      // Node emits process warnings on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).not.toContain('MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('logs each request: its Range, the answer, the bytes sent, and whether the client left early', async () => {
    const entries: RequestLogEntry[] = []
    const g = await gateway({ onRequest: (e) => entries.push(e) })
    // A peer with only some pieces, so that an open-ended read can never complete (whatever the socket buffers).
    const clipStart = metainfo.files.find((f) => f.path === 'media/clip.mp4')!.offset
    const pieceAt = (byte: number): number => Math.floor((clipStart + byte) / metainfo.pieceLength)
    const pieces = [pieceAt(0), pieceAt(0) + 1, pieceAt(1_000_000), pieceAt(1_099_999)]
    const have = new Bitfield(metainfo.pieceCount)
    for (const i of pieces) have.set(i)
    const store = await storeWith(metainfo, data, pieces)
    const partial = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have })
    cleanups.push(async () => await partial.destroy())
    const [a, b] = memoryConnectionPair()
    partial.addConnection(a)
    g.torrent.addConnection(b)
    const url = `${g.url}media/clip.mp4`

    await bytesOf(await fetch(url, { headers: { Range: 'bytes=1000000-1099999' } }))
    await bytesOf(await fetch(url, { method: 'HEAD' }))
    await bytesOf(await fetch(url, { headers: { Range: `bytes=${SIZE}-` } }))
    // A player seeking away: reads a little of an open-ended range, then drops the connection.
    const client = new AbortController()
    const res = await fetch(url, { headers: { Range: 'bytes=0-' }, signal: client.signal })
    await res.body!.getReader().read()
    client.abort()
    await expect.poll(() => entries.length).toBe(4)

    const [range, head, unsatisfiable, left] = entries
    expect(range).toMatchObject({ method: 'GET', path: '/media/clip.mp4', range: 'bytes=1000000-1099999', status: 206, contentRange: `bytes 1000000-1099999/${SIZE}`, sent: 100_000, complete: true })
    expect(range!.headersMs).toBeGreaterThanOrEqual(0)
    expect(range!.ms).toBeGreaterThanOrEqual(range!.headersMs!)
    expect(head).toMatchObject({ method: 'HEAD', range: null, status: 200, contentRange: null, sent: 0, complete: true })
    expect(unsatisfiable).toMatchObject({ status: 416, contentRange: `bytes */${SIZE}`, complete: true })
    expect(left).toMatchObject({ range: 'bytes=0-', status: 206, contentRange: `bytes 0-${SIZE - 1}/${SIZE}`, complete: false })
    expect(left!.sent).toBeLessThan(SIZE)
  })

  it('formats a log entry as one line', () => {
    const entry: RequestLogEntry = {
      method: 'GET', path: '/media/clip.mp4', range: 'bytes=12582912-', status: 206, contentRange: 'bytes 12582912-25159214/25159215',
      headersMs: 310, sent: 1_200_000, ms: 850, complete: false
    }
    expect(formatRequestLog(entry)).toBe('GET /media/clip.mp4 Range: bytes=12582912- -> 206 bytes 12582912-25159214/25159215 after 310 ms, 1.20 MB in 850 ms (closed early)')
    expect(formatRequestLog({ ...entry, method: 'HEAD', range: null, contentRange: null, status: 200, headersMs: 0.4, sent: 0, ms: 1, complete: true }))
      .toBe('HEAD /media/clip.mp4 -> 200 after 0 ms, 0 B in 1 ms')
    expect(formatRequestLog({ ...entry, headersMs: null, sent: 0, ms: 4000 })).toBe('GET /media/clip.mp4 Range: bytes=12582912- -> no answer, 0 B in 4.0 s (closed early)')
  })

  it('504 when no peer sends the metadata or the bytes in time', async () => {
    const noMeta = await gateway({ stallTimeoutMs: 200 })
    const res = await fetch(`${noMeta.url}index.html`)
    expect(res.status).toBe(504)
    await res.arrayBuffer()

    const noBytes = await gateway({ metainfo, stallTimeoutMs: 200 })
    const res2 = await fetch(`${noBytes.url}media/clip.mp4`)
    expect(res2.status).toBe(504)
    expect(await res2.text()).toMatch(/No peer could deliver/)
  })

  it('on macOS, will not store a site whose names differ only in case: refused up front, or warned about once from peers', async () => {
    const files = [{ path: 'A.html', data: utf8('upper') }, { path: 'a.html', data: utf8('lower') }]
    const { metainfo: cased, data: casedData } = await makeTorrent(files, 16 * 1024)
    const tmpDir = await mkdtemp(join(tmpdir(), 'peersite-serve-names-'))
    cleanups.push(async () => { await rm(tmpDir, { recursive: true, force: true }) })
    const known = await gateway({ infoHash: cased.infoHash, metainfo: cased, platform: 'darwin', tmpDir }).catch((e: unknown) => e)
    expect((known as Error).message).toBe(`cannot store site (${cased.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form)`)
    expect(await readdir(tmpDir)).toEqual([]) // its piece folder removed

    const warnings: string[] = []
    const g = await gateway({ infoHash: cased.infoHash, platform: 'darwin', tmpDir, onWarning: (w) => warnings.push(w) })
    // A request waiting for the metadata is answered as soon as the site is refused, not after the stall timeout.
    const waiting = fetch(`${g.url}A.html`)
    await seedInto(g.torrent, cased, casedData)
    await expect.poll(() => g.torrent.destroyed).toBe(true)
    expect(warnings).toContain(`cannot store site (${cased.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form): not served`)
    expect(await readdir(g.storeDir)).toEqual([])
    expect((await waiting).status).toBe(502)
  })

  it('answers every request for a site refused from peers with 502 naming the reason, at once; onRefused is told once', async () => {
    const files = [{ path: 'A.html', data: utf8('upper') }, { path: 'a.html', data: utf8('lower') }, { path: '_redirects', data: utf8('/x /A.html 302\n') }]
    const { metainfo: cased, data: casedData } = await makeTorrent(files, 16 * 1024)
    const tmpDir = await mkdtemp(join(tmpdir(), 'peersite-serve-names-'))
    cleanups.push(async () => { await rm(tmpDir, { recursive: true, force: true }) })
    const refusals: string[] = []
    const warnings: string[] = []
    const g = await gateway({ infoHash: cased.infoHash, platform: 'darwin', tmpDir, onWarning: (w) => warnings.push(w), onRefused: (e) => refusals.push(e.message) })
    const waiting = fetch(`${g.url}A.html`)
    await seedInto(g.torrent, cased, casedData)
    const first = await waiting
    expect(first.status).toBe(502)
    expect(await first.text()).toMatch(/cannot be served here: .*A\.html and a\.html are the same file on macOS/)
    const later = await fetch(`${g.url}a.html`)
    expect(later.status).toBe(502)
    expect(await later.text()).toMatch(/A\.html and a\.html are the same file on macOS/)
    expect(refusals).toHaveLength(1)
    expect(refusals[0]).toMatch(/A\.html and a\.html are the same file on macOS/)
    expect(warnings.filter((w) => w.includes('same file'))).toEqual([])
  })

  it('removes its piece folder on close', async () => {
    const g = await served()
    await (await fetch(`${g.url}media/clip.mp4`, { headers: { Range: 'bytes=0-99' } })).arrayBuffer()
    const { stat } = await import('node:fs/promises')
    expect((await stat(g.storeDir)).isDirectory()).toBe(true)
    await g.close()
    await expect(stat(g.storeDir)).rejects.toThrow()
  })
})

describe('peersite serve (command line)', () => {
  // Each of these is a wrong command line: exit status 2.
  const expectOneError = (r: { code: number | null, stdout: string, stderr: string }, pattern: RegExp): void => {
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^peersite: error: /)
    expect(r.stderr).toMatch(pattern)
  }

  it('refuses bad input with one line', async () => {
    expectOneError(await runCli(['serve', 'get']), /not an infohash, magnet URI or \.torrent file: get/)
    const hash = 'a'.repeat(40)
    expectOneError(await runCli(['serve', hash, '--tracker', 'udp://example.com/announce']), /invalid tracker URL/)
    expectOneError(await runCli(['serve', hash, '--port', '70000']), /invalid --port/)
    expectOneError(await runCli(['serve', 'magnet:?xt=urn:btih:zz']), /invalid magnet URI/)
  }, 60_000)
})

/** A GET with the request target and Host exactly as given (fetch normalises both). */
async function rawGet (base: string, path: string, headers: Record<string, string>, headOnly = false): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  const { hostname, port } = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET', headers, setHost: headers.Host === undefined }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { if (!headOnly) body += d; else res.destroy() })
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      res.on('end', done)
      res.on('close', done)
    })
    req.on('error', reject)
    req.end()
  })
}

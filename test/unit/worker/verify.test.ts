/**
 * The worker as the trust boundary: the piece table of site.torrent (checked against the infohash), reads that serve
 * only verified pieces from the cache and the engine port, and which page may hand the worker a port.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { parseInfoDictionary } from '../../../engine/metainfo/index.js'
import { sha1, toHex } from '../../../engine/util/bytes.js'
import { EngineReadError, type EnginePiece, type PieceRun } from '../../../worker/engine-client.js'
import type { PieceCache } from '../../../worker/file-cache.js'
import { acceptsLeader } from '../../../worker/leader-check.js'
import { createSite, failurePage } from '../../../worker/site.js'
import { MAX_PIECE_ATTEMPTS, verifiedOpen, verifiedRun, type PieceEngine } from '../../../worker/verified-read.js'
import { cacheNameFor, VerifiedRuns } from '../../../worker/file-cache.js'
import { WorkerState } from '../../../worker/handlers/state.js'
import type { EngineClient } from '../../../worker/engine-client.js'
import { parsePieceTable, pinOf, readPins, verifyPiece, type PieceTable } from '../../../worker/verify.js'

const PIECE = 16
/** Three files whose pieces straddle them: a.html [0, 25), b.css [25, 55), c.js [55, 60). */
const FILES = [['a.html', 25], ['b.css', 30], ['c.js', 5]] as const
const LIST = FILES.map(([path, length]) => ({ path, length }))
const DATA = Uint8Array.from({ length: 60 }, (_, i) => (i * 7 + 1) % 251)

async function torrentOf (data: Uint8Array, pieceLength = PIECE, files: ReadonlyArray<readonly [string, number]> = FILES): Promise<{ torrent: Uint8Array, infoHash: string }> {
  const hashes: Uint8Array[] = []
  for (let at = 0; at < data.length; at += pieceLength) hashes.push(await sha1(data.subarray(at, at + pieceLength)))
  const pieces = new Uint8Array(hashes.length * 20)
  hashes.forEach((h, i) => pieces.set(h, i * 20))
  const info = {
    files: files.map(([path, length]) => ({ length, path: [new TextEncoder().encode(path)] })),
    name: new TextEncoder().encode('site'),
    'piece length': pieceLength,
    pieces
  }
  const infoBytes = bencode(info)
  return { torrent: bencode({ announce: new TextEncoder().encode('ws://x'), info }), infoHash: toHex(await sha1(infoBytes)) }
}

async function table (): Promise<PieceTable> {
  const { torrent, infoHash } = await torrentOf(DATA)
  return await parsePieceTable(torrent, infoHash, LIST)
}

type B = number | Uint8Array | B[] | { [key: string]: B }
const enc = new TextEncoder()
/** BEP 3 bencoding (keys sorted), written here: the bencode package has no types in the worker's test project. */
function bencode (v: B): Uint8Array {
  const parts: Uint8Array[] = []
  const walk = (x: B): void => {
    if (typeof x === 'number') parts.push(enc.encode(`i${x}e`))
    else if (x instanceof Uint8Array) parts.push(enc.encode(`${x.length}:`), x)
    else if (Array.isArray(x)) { parts.push(enc.encode('l')); x.forEach(walk); parts.push(enc.encode('e')) } else {
      parts.push(enc.encode('d'))
      for (const k of Object.keys(x).sort()) { walk(enc.encode(k)); walk(x[k]!) }
      parts.push(enc.encode('e'))
    }
  }
  walk(v)
  return new Uint8Array(parts.flatMap((p) => [...p]))
}

const piece = (index: number, data = DATA): Uint8Array => data.slice(index * PIECE, (index + 1) * PIECE)

/**
 * A fake engine port: `bytesFor(index, attempt)` says what it sends for a piece on its nth request (a forged port,
 * a store with altered pieces). Records reads, pulls and the bad pieces the worker reported.
 */
class FakeEngine implements PieceEngine {
  readonly runs: PieceRun[] = []
  readonly rejected: Array<[number, boolean]> = []
  readonly attempts = new Map<number, number>()
  pulls = 0
  constructor (readonly bytesFor: (index: number, attempt: number) => Uint8Array = (i) => piece(i)) {}

  async open (_infoHash: string, run: PieceRun): Promise<ReadableStream<EnginePiece>> {
    this.runs.push(run)
    let next = run.first
    return new ReadableStream<EnginePiece>({
      pull: (c) => {
        this.pulls++
        if (next > run.last) return c.close()
        const attempt = (this.attempts.get(next) ?? 0) + 1
        this.attempts.set(next, attempt)
        c.enqueue({ index: next, bytes: this.bytesFor(next, attempt) })
        next++
      }
    }, { highWaterMark: 0 })
  }

  reject (_infoHash: string, index: number, distrust = false): void { this.rejected.push([index, distrust]) }
}

class MapCache implements PieceCache {
  readonly map = new Map<number, Uint8Array>()
  /** "first-last" -> the pieces stored together */
  readonly runs = new Map<string, Uint8Array>()
  async get (index: number): Promise<Uint8Array | undefined> { return this.map.get(index)?.slice() }
  put (index: number, bytes: Uint8Array): void { this.map.set(index, bytes.slice()) }
  delete (index: number): void { this.map.delete(index) }
  async getRun (first: number, last: number): Promise<Uint8Array | undefined> { return this.runs.get(`${first}-${last}`)?.slice() }
  putRun (first: number, last: number, bytes: Uint8Array): void { this.runs.set(`${first}-${last}`, bytes.slice()) }
  deleteRun (first: number, last: number): void { this.runs.delete(`${first}-${last}`) }
}

async function bytesOf (stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const signal = new AbortController().signal
const evil = (): Uint8Array => new Uint8Array(PIECE).fill(0x41)

describe('piece table', () => {
  it('maps files to torrent offsets and verifies pieces by SHA-1 and length', async () => {
    const t = await table()
    expect([t.pieceCount, t.length, t.pieceLength]).toEqual([4, 60, PIECE])
    expect(t.files.get('b.css')).toEqual({ offset: 25, length: 30 })
    expect(await verifyPiece(t, 1, piece(1))).toBe(true)
    expect(await verifyPiece(t, 3, piece(3))).toBe(true) // the short last piece
    const altered = piece(1)
    altered[3] = altered[3]! ^ 1
    expect(await verifyPiece(t, 1, altered)).toBe(false)
    expect(await verifyPiece(t, 1, piece(1).subarray(0, 15))).toBe(false)
    expect(await verifyPiece(t, 9, piece(1))).toBe(false)
  })

  it('places files after those the site does not serve (`_redirects`, unsafe paths) at their real offsets', async () => {
    // The worker serves neither `_redirects` (publish consumed it) nor a path with `..`; both still hold torrent bytes.
    const files = [['_redirects', 25], ['b.css', 30], ['c.js', 5]] as const
    const { torrent, infoHash } = await torrentOf(DATA, PIECE, files)
    const site = createSite({ infoHash, files: files.map(([path, length]) => ({ path, length, type: 'text/plain' })) })
    expect(site.files.has('_redirects')).toBe(false)
    const t = await parsePieceTable(torrent, infoHash, site.layout)
    expect(t.files.get('b.css')).toEqual({ offset: 25, length: 30 })
    expect(t.files.get('c.js')).toEqual({ offset: 55, length: 5 })
  })

  it('places files after BEP 47 pad files at their real offsets, and refuses a manifest that is not the torrent\'s files', async () => {
    // a.html [0, 10), a pad of 6 zeros, b.css [16, 36): the pad is in the torrent, not in the manifest.
    const data = new Uint8Array(36)
    data.set(DATA.subarray(0, 10), 0)
    data.set(DATA.subarray(10, 30), 16)
    const hashes: Uint8Array[] = []
    for (let at = 0; at < data.length; at += PIECE) hashes.push(await sha1(data.subarray(at, at + PIECE)))
    const pieces = new Uint8Array(hashes.length * 20)
    hashes.forEach((h, i) => pieces.set(h, i * 20))
    const info = {
      files: [
        { length: 10, path: [enc.encode('a.html')] } as { attr?: Uint8Array, length: number, path: Uint8Array[] },
        { attr: enc.encode('p'), length: 6, path: [enc.encode('.pad'), enc.encode('6')] },
        { length: 20, path: [enc.encode('b.css')] }
      ],
      name: enc.encode('site'),
      'piece length': PIECE,
      pieces
    }
    const torrent = bencode({ info })
    const infoHash = toHex(await sha1(bencode(info)))
    const t = await parsePieceTable(torrent, infoHash, [{ path: 'a.html', length: 10 }, { path: 'b.css', length: 20 }])
    expect([...t.files]).toEqual([['a.html', { offset: 0, length: 10 }], ['b.css', { offset: 16, length: 20 }]])
    expect(t.length).toBe(36)
    expect(await verifyPiece(t, 0, data.subarray(0, 16))).toBe(true)
    await expect(parsePieceTable(torrent, infoHash, [{ path: 'a.html', length: 10 }, { path: 'b.css', length: 21 }])).rejects.toThrow(/do not match the manifest/)
    await expect(parsePieceTable(torrent, infoHash, [{ path: 'a.html', length: 10 }])).rejects.toThrow(/do not match the manifest/)
  })

  it('refuses a torrent that is not the one of the infohash (forged piece hashes)', async () => {
    const real = await torrentOf(DATA)
    const forged = await torrentOf(Uint8Array.from(DATA, (b) => b ^ 0xff))
    await expect(parsePieceTable(forged.torrent, real.infoHash, LIST)).rejects.toThrow(/not the torrent of/)
    await expect(parsePieceTable(new TextEncoder().encode('garbage'), real.infoHash, LIST)).rejects.toThrow(/site\.torrent/)
    // a manifest whose files do not add up to the torrent's pieces
    await expect(parsePieceTable(real.torrent, real.infoHash, [{ path: 'a.html', length: 25 }])).rejects.toThrow(/do not match the manifest/)
  })

  it('refuses a manifest that names the torrent\'s files by other paths (two of one length swapped, another name)', async () => {
    const same = [['a.html', 20], ['b.css', 20], ['c.js', 20]] as const
    const { torrent, infoHash } = await torrentOf(DATA, PIECE, same)
    const list = same.map(([path, length]) => ({ path, length }))
    expect((await parsePieceTable(torrent, infoHash, list)).files.get('b.css')?.offset).toBe(20)
    const swapped = [{ path: 'b.css', length: 20 }, { path: 'a.html', length: 20 }, { path: 'c.js', length: 20 }]
    await expect(parsePieceTable(torrent, infoHash, swapped)).rejects.toThrow(/do not match the manifest/)
    await expect(parsePieceTable(torrent, infoHash, [...list.slice(0, 2), { path: 'evil.html', length: 20 }])).rejects.toThrow(/do not match the manifest/)
    // A single-file torrent's file is its `name`.
    const info = bencode({ length: 5, name: enc.encode('index.html'), 'piece length': PIECE, pieces: await sha1(DATA.subarray(0, 5)) })
    const single = new Uint8Array([...enc.encode('d4:info'), ...info, ...enc.encode('e')])
    const ih = toHex(await sha1(info))
    expect((await parsePieceTable(single, ih, [{ path: 'index.html', length: 5 }])).files.get('index.html')).toEqual({ offset: 0, length: 5 })
    await expect(parsePieceTable(single, ih, [{ path: 'page.html', length: 5 }])).rejects.toThrow(/do not match the manifest/)
  })

  it('reads an info dictionary nested as deep as the engine reads (64), and refuses a deeper one', async () => {
    const data = DATA.subarray(0, 5)
    const torrentNested = async (levels: number): Promise<[Uint8Array, string]> => {
      // An extra key the worker does not use, nested `levels` lists deep (a BEP 52 file tree nests one per folder).
      const info = new Uint8Array([...enc.encode(`d5:extra${'l'.repeat(levels)}i1e${'e'.repeat(levels)}6:lengthi5e4:name10:index.html12:piece lengthi${PIECE}e6:pieces20:`), ...await sha1(data), 0x65])
      return [new Uint8Array([...enc.encode('d4:info'), ...info, 0x65]), toHex(await sha1(info))]
    }
    for (const levels of [10, 63]) {
      const [torrent, infoHash] = await torrentNested(levels)
      expect((await parseInfoDictionary(torrent.subarray(7, -1))).infoHash).toBe(infoHash)
      expect((await parsePieceTable(torrent, infoHash, [{ path: 'index.html', length: 5 }])).pieceCount).toBe(1)
    }
    const [deep, deepHash] = await torrentNested(100)
    await expect(parsePieceTable(deep, deepHash, [{ path: 'index.html', length: 5 }])).rejects.toThrow(/malformed/)
  })

  it('reads the pins publish wrote into sw.js', () => {
    expect(readPins({})).toBeUndefined()
    expect(readPins({ PEERSITE_PINS: { 'index.html': '00' } })?.['index.html']).toBe('00')
  })
})

describe('verified reads', () => {
  it('serves exactly the range, from whole pieces holding neighbour bytes, one piece per pull', async () => {
    const engine = new FakeEngine()
    const open = verifiedOpen({ table: await table(), engine })
    const stream = await open('b.css', 3, 27, signal)
    // the first piece is fetched and checked before the response exists, the next one meanwhile (ready when the
    // consumer pulls); nothing more until the body is read
    expect(engine.runs).toEqual([{ path: 'b.css', offset: 3, length: 27, first: 1, last: 3 }])
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(engine.pulls).toBe(2)
    expect(await bytesOf(stream)).toEqual(DATA.subarray(28, 55))
    expect(engine.rejected).toEqual([])
  })

  it('keeps the verified pieces of a small file read whole in the cache, together, and serves them from there next time', async () => {
    const cache = new MapCache()
    const t = await table()
    expect(await bytesOf(await verifiedOpen({ table: t, engine: new FakeEngine(), cache })('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    expect([...cache.runs.keys()]).toEqual(['0-1'])
    expect(cache.map.size).toBe(0)
    const engine = new FakeEngine()
    expect(await bytesOf(await verifiedOpen({ table: t, engine, cache })('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    // a range of it too, from the same entry
    expect(await bytesOf(await verifiedOpen({ table: t, engine, cache })('a.html', 3, 20, signal))).toEqual(DATA.subarray(3, 23))
    expect(engine.runs).toEqual([])
  })

  it('serves a run it verified once from memory: no second cache read or check, even if the cache is rewritten meanwhile', async () => {
    const cache = new MapCache()
    const t = await table()
    const memory = new VerifiedRuns()
    expect(await bytesOf(await verifiedOpen({ table: t, engine: new FakeEngine(), cache, memory })('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    // Another script of the origin rewrites Cache Storage: the bytes verified in the worker's memory are served.
    cache.runs.get('0-1')!.fill(0x41)
    let reads = 0
    const getRun = cache.getRun.bind(cache)
    cache.getRun = async (first, last) => { reads++; return await getRun(first, last) }
    const engine = new FakeEngine()
    expect(await bytesOf(await verifiedOpen({ table: t, engine, cache, memory })('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    expect(await bytesOf(await verifiedOpen({ table: t, engine, cache, memory })('a.html', 3, 20, signal))).toEqual(DATA.subarray(3, 23))
    expect(reads).toBe(0)
    expect(engine.runs).toEqual([])
    // A new memory (a restarted worker) reads the cache again and checks it: the rewritten run is dropped, never served.
    const bad: Array<[number, string]> = []
    expect(await verifiedRun({ table: t, engine, cache, memory: new VerifiedRuns(), onBadPiece: (i, s) => bad.push([i, s]) }, 'a.html')).toBeUndefined()
    expect(bad).toEqual([[0, 'cache']])
    expect(cache.runs.has('0-1')).toBe(false)
  })

  it('reads a cached run ahead into memory without the engine, shared with a request that comes meanwhile', async () => {
    const cache = new MapCache()
    const t = await table()
    cache.runs.set('0-1', DATA.slice(0, 2 * PIECE))
    let reads = 0
    const getRun = cache.getRun.bind(cache)
    cache.getRun = async (first, last) => { reads++; await new Promise((resolve) => setTimeout(resolve, 10)); return await getRun(first, last) }
    const engine = new FakeEngine()
    const memory = new VerifiedRuns()
    const ahead = verifiedRun({ table: t, engine, cache, memory }, 'a.html')
    const served = await bytesOf(await verifiedOpen({ table: t, engine, cache, memory })('a.html', 0, 25, signal))
    expect(served).toEqual(DATA.subarray(0, 25))
    expect(await ahead).toEqual(DATA.subarray(0, 2 * PIECE))
    expect(reads).toBe(1)
    // Not cached: nothing read ahead, and the engine is never asked.
    expect(await verifiedRun({ table: t, engine, cache, memory }, 'c.js')).toBeUndefined()
    expect(engine.runs).toEqual([])
  })

  it('a body cancelled while the next piece is looked up in the cache opens no engine read for it', async () => {
    // Piece 1 in the cache; the lookup of piece 2 (started ahead) answers "not there" only after the cancel.
    let missTwo: (value: undefined) => void = () => {}
    const cache = new MapCache()
    cache.put(1, piece(1))
    const get = cache.get.bind(cache)
    cache.get = async (index) => index === 2 ? await new Promise<undefined>((resolve) => { missTwo = resolve }) : await get(index)
    const engine = new FakeEngine()
    const stream = await verifiedOpen({ table: await table(), engine, cache })('b.css', 3, 27, signal)
    await stream.cancel()
    missTwo(undefined)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(engine.runs).toEqual([])
  })

  it('keeps the pieces of a partial read one by one', async () => {
    const cache = new MapCache()
    const t = await table()
    expect(await bytesOf(await verifiedOpen({ table: t, engine: new FakeEngine(), cache })('b.css', 20, 10, signal))).toEqual(DATA.subarray(45, 55))
    expect([...cache.map.keys()]).toEqual([2, 3])
    expect(cache.runs.size).toBe(0)
  })

  it('drops a rewritten whole-file entry and serves the real pieces from the engine', async () => {
    const cache = new MapCache()
    const t = await table()
    await bytesOf(await verifiedOpen({ table: t, engine: new FakeEngine(), cache })('a.html', 0, 25, signal))
    const run = cache.runs.get('0-1')!
    run[30] = run[30]! ^ 1
    const bad: Array<[number, string]> = []
    const engine = new FakeEngine()
    expect(await bytesOf(await verifiedOpen({ table: t, engine, cache, onBadPiece: (i, s) => bad.push([i, s]) })('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    expect(bad).toEqual([[0, 'cache']])
    expect(engine.runs).toHaveLength(1)
    // stored again from the engine's verified pieces
    expect(cache.runs.get('0-1')).toEqual(DATA.subarray(0, 2 * PIECE))
  })

  it('drops a rewritten cache entry and serves the real piece from the engine', async () => {
    const cache = new MapCache()
    cache.map.set(0, evil())
    cache.map.set(1, piece(1))
    const bad: Array<[number, string]> = []
    const engine = new FakeEngine()
    const stream = await verifiedOpen({ table: await table(), engine, cache, onBadPiece: (i, s) => bad.push([i, s]) })('a.html', 0, 25, signal)
    expect(await bytesOf(stream)).toEqual(DATA.subarray(0, 25))
    expect(bad).toEqual([[0, 'cache']])
    expect(engine.runs[0]?.first).toBe(0)
    // the engine's verified copy replaced the altered one (the file read whole: its pieces kept together)
    expect(cache.runs.get('0-1')).toEqual(DATA.subarray(0, 2 * PIECE))
  })

  it('reports a piece the engine sent altered (a rewritten store), and serves it once fetched again', async () => {
    const engine = new FakeEngine((i, attempt) => i === 2 && attempt === 1 ? evil() : piece(i))
    const stream = await verifiedOpen({ table: await table(), engine })('b.css', 0, 30, signal)
    expect(await bytesOf(stream)).toEqual(DATA.subarray(25, 55))
    // told once, the port kept; the read asked again from that piece
    expect(engine.rejected).toEqual([[2, false]])
    expect(engine.runs.map((r) => r.first)).toEqual([1, 2])
  })

  it('never serves a forged port\'s bytes: a clear verification error, the port distrusted', async () => {
    const engine = new FakeEngine(() => evil())
    const err = await verifiedOpen({ table: await table(), engine })('c.js', 0, 5, signal).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(EngineReadError)
    expect((err as EngineReadError).kind).toBe('verification')
    expect(engine.runs).toHaveLength(MAX_PIECE_ATTEMPTS)
    expect(engine.rejected).toEqual([[3, false], [3, true], [3, true]])
    const page = failurePage(err, 'c.js', 5)
    expect(page.status).toBe(502)
    expect(await page.text()).toContain('failed verification')
  })

  it('a piece that fails after the response started errors the body, never passes the bytes on', async () => {
    const engine = new FakeEngine((i) => i === 2 ? evil() : piece(i))
    const stream = await verifiedOpen({ table: await table(), engine })('b.css', 0, 30, signal)
    const reader = stream.getReader()
    expect((await reader.read()).value).toEqual(DATA.subarray(25, 32))
    await expect(reader.read()).rejects.toBeInstanceOf(EngineReadError)
  })

  it('a path outside the torrent is `not-found`, a range outside the file `range`', async () => {
    const open = verifiedOpen({ table: await table(), engine: new FakeEngine() })
    const missing = await open('nope.html', 0, 1, signal).catch((e: unknown) => e)
    expect((missing as EngineReadError).kind).toBe('not-found')
    const range = await open('c.js', 3, 5, signal).catch((e: unknown) => e)
    expect((range as EngineReadError).kind).toBe('range')
  })
})

describe('failure pages across the bridge', () => {
  it('maps each kind to its status, with the reason', async () => {
    const cases: Array<[EngineReadError | Error, number, RegExp]> = [
      [new EngineReadError('not-found', 'no file x in the torrent'), 404, /no file x/],
      [new EngineReadError('range', 'bytes 9+9 outside x'), 416, /outside x/],
      [new EngineReadError('stall', 'no peer delivered x within 60 s'), 504, /within 60 s/],
      [new EngineReadError('unavailable', 'no page of this site runs an engine'), 504, /runs an engine/],
      [new EngineReadError('verification', 'piece 3 failed'), 502, /piece 3 failed/],
      [new Error('site.torrent answered 500'), 504, /answered 500/]
    ]
    for (const [err, status, text] of cases) {
      const res = failurePage(err, 'x', 10)
      expect([err.message, res.status]).toEqual([err.message, status])
      expect(await res.text()).toMatch(text)
    }
    expect(failurePage(new EngineReadError('range', 'r'), 'x', 10).headers.get('Content-Range')).toBe('bytes */10')
  })
})

describe('who may hand the worker an engine port', () => {
  const scope = new URL('https://host.example/b/')
  const shell = { id: 'shell-b', url: 'https://host.example/b/docs/', frameType: 'top-level' }

  it('a loader shell of this site that the worker controls', () => {
    expect(acceptsLeader(shell, [shell], scope)).toBe(true)
  })

  it('not another site\'s shell on the origin (window.parent from its page), even with a URL pushed into our scope', () => {
    const otherShell = { id: 'shell-a', url: 'https://host.example/b/pushed', frameType: 'top-level' }
    expect(acceptsLeader(otherShell, [shell], scope)).toBe(false)
  })

  it('not a site page (nested), not a worker, not a client outside the scope', () => {
    const page = { id: 'page', url: 'https://host.example/b/x.html', frameType: 'nested' }
    expect(acceptsLeader(page, [shell, page], scope)).toBe(false)
    expect(acceptsLeader({ id: 'w', url: 'https://host.example/b/sw.js' }, [shell], scope)).toBe(false)
    expect(acceptsLeader(null, [shell], scope)).toBe(false)
    expect(acceptsLeader(undefined, [shell], scope)).toBe(false)
    expect(acceptsLeader('top-level', [shell], scope)).toBe(false)
    // A top-level frameType without an id of a controlled window is not enough.
    expect(acceptsLeader({ frameType: 'top-level' }, [shell], scope)).toBe(false)
    const outside = { id: 'o', url: 'https://host.example/a/', frameType: 'top-level' }
    expect(acceptsLeader(outside, [outside], scope)).toBe(false)
  })
})

/** Cache Storage as the worker sees it, in memory: counts the reads (match) of every cache. */
class MemoryCaches {
  readonly caches = new Map<string, Map<string, Uint8Array>>()
  matches = 0
  cache (name: string): Map<string, Uint8Array> {
    let c = this.caches.get(name)
    if (c === undefined) this.caches.set(name, c = new Map())
    return c
  }

  async open (name: string): Promise<Cache> {
    const c = this.cache(name)
    return {
      match: async (url: string) => {
        this.matches++
        const bytes = c.get(String(url))
        return bytes === undefined ? undefined : new Response(bytes.slice())
      },
      put: async (url: string, res: Response) => { c.set(String(url), new Uint8Array(await res.arrayBuffer())) },
      keys: async () => [...c.keys()].map((url) => ({ url })),
      delete: async (url: string) => c.delete(String(url))
    } as unknown as Cache
  }

  async keys (): Promise<string[]> { return [...this.caches.keys()] }
}

describe('a top-level navigation reads its page ahead (WorkerState.warm)', () => {
  const g = globalThis as { caches?: unknown }
  afterEach(() => { delete g.caches })

  it('checks the page and its preload needs from the piece cache into memory, never asking the engine; the frame\'s reads then touch no cache', async () => {
    const scope = 'https://host.example/site/'
    const { torrent, infoHash } = await torrentOf(DATA)
    // a.html needs b.css and c.js; only a.html and b.css are in the piece cache (whole runs: 0-1 and 1-3).
    const manifest = enc.encode(JSON.stringify({
      version: 1,
      infoHash,
      files: FILES.map(([path, length]) => ({ path, length, type: path.endsWith('.html') ? 'text/html' : 'text/css' })),
      preload: { groups: [[1, 2]], pages: [0, 0] }
    }))
    const storage = new MemoryCaches()
    storage.cache(`peersite:${scope}`).set(`${scope}peersite.json`, manifest)
    storage.cache(`peersite:${scope}`).set(`${scope}site.torrent`, torrent)
    const pieces = storage.cache(cacheNameFor(scope, infoHash))
    pieces.set('https://peersite.invalid/run/0-1', DATA.slice(0, 2 * PIECE))
    pieces.set('https://peersite.invalid/run/1-3', DATA.slice(PIECE, 60))
    g.caches = storage
    const engine = new FakeEngine()
    const state = new WorkerState(scope, { engine: engine as unknown as EngineClient, pins: { 'peersite.json': await pinOf(manifest), 'site.torrent': await pinOf(torrent) } })

    await state.warm(new URL('a.html', scope))
    expect(engine.runs).toEqual([])
    const reads = storage.matches
    const open = await state.opener(await state.loadSite())
    expect(await bytesOf(await open('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    expect(await bytesOf(await open('b.css', 0, 30, signal))).toEqual(DATA.subarray(25, 55))
    expect(storage.matches).toBe(reads)
    expect(engine.runs).toEqual([])
    // c.js was not in the cache: read ahead it was not, and its read goes to the engine as before.
    expect(await bytesOf(await open('c.js', 0, 5, signal))).toEqual(DATA.subarray(55, 60))
    expect(engine.runs.map((r) => r.path)).toEqual(['c.js'])
  })

  it('a rewritten cache entry is not read ahead, and never served', async () => {
    const scope = 'https://host.example/site/'
    const { torrent, infoHash } = await torrentOf(DATA)
    const manifest = enc.encode(JSON.stringify({ version: 1, infoHash, files: FILES.map(([path, length]) => ({ path, length, type: 'text/html' })) }))
    const storage = new MemoryCaches()
    storage.cache(`peersite:${scope}`).set(`${scope}peersite.json`, manifest)
    storage.cache(`peersite:${scope}`).set(`${scope}site.torrent`, torrent)
    const evilRun = DATA.slice(0, 2 * PIECE)
    evilRun[3] = evilRun[3]! ^ 1
    storage.cache(cacheNameFor(scope, infoHash)).set('https://peersite.invalid/run/0-1', evilRun)
    g.caches = storage
    const engine = new FakeEngine()
    const state = new WorkerState(scope, { engine: engine as unknown as EngineClient, pins: { 'peersite.json': await pinOf(manifest), 'site.torrent': await pinOf(torrent) } })
    await state.warm(new URL('a.html', scope))
    expect(storage.cache(cacheNameFor(scope, infoHash)).has('https://peersite.invalid/run/0-1')).toBe(false)
    const open = await state.opener(await state.loadSite())
    expect(await bytesOf(await open('a.html', 0, 25, signal))).toEqual(DATA.subarray(0, 25))
    expect(engine.runs.map((r) => r.path)).toEqual(['a.html'])
  })
})

describe('cached loader files: only their bytes are pinned', () => {
  const g = globalThis as { caches?: unknown, fetch: typeof fetch }
  const realFetch = g.fetch
  afterEach(() => { delete g.caches; g.fetch = realFetch })

  it('serves a pinned copy a script of the origin stored with its own headers and status with the worker\'s headers instead', async () => {
    const scope = 'https://host.example/site/'
    const shell = enc.encode('<!doctype html><p>the shell</p>')
    const script = enc.encode('console.log("loader")')
    const manifest = enc.encode('{"version":1}')
    const planted = { Refresh: '0;url=https://evil.example/', 'Content-Security-Policy': 'sandbox', 'Content-Type': 'text/plain', 'Set-Cookie': 'a=b', 'X-Evil': '1' }
    const stored = new Map<string, Response>([
      [`${scope}index.html`, new Response(shell, { status: 203, headers: planted })],
      [`${scope}peersite.js`, new Response(script, { status: 203, headers: planted })],
      [`${scope}peersite.json`, new Response(manifest, { status: 203, headers: planted })]
    ])
    g.caches = { open: async () => ({ match: async (url: string) => stored.get(String(url))?.clone(), delete: async () => true, put: async () => {} }) }
    // Offline (the background refresh of peersite.js never answers): every answer below comes from the cache.
    g.fetch = (async (input: RequestInfo | URL) => String(input instanceof Request ? input.url : input).endsWith('.js') ? await new Promise(() => {}) : await Promise.reject(new TypeError('offline'))) as typeof fetch
    const state = new WorkerState(scope, { engine: {} as unknown as EngineClient, pins: { 'index.html': await pinOf(shell), 'peersite.js': await pinOf(script), 'peersite.json': await pinOf(manifest) } })
    const answers = [
      [await state.shell(), shell, 'text/html; charset=utf-8'],
      [await state.staleWhileRevalidate(new Request(`${scope}peersite.js`)), script, 'text/javascript; charset=utf-8'],
      [await state.networkFirst(new Request(`${scope}peersite.json`)), manifest, 'application/octet-stream']
    ] as const
    for (const [res, bytes, type] of answers) {
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes)
      expect(res.status).toBe(200)
      const headers: Record<string, string> = {}
      res.headers.forEach((value, name) => { headers[name] = value })
      expect(headers).toEqual({ 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' })
    }
  })

  it('a loader file asked for with a query string (peersite.js?v=2) is never answered from the cache under a wrong type', async () => {
    const scope = 'https://host.example/site/'
    const script = enc.encode('console.log("loader")')
    const stored = new Map<string, Response>([[`${scope}peersite.js?v=2`, new Response(script)], [`${scope}peersite.js`, new Response(script)]])
    g.caches = { open: async () => ({ match: async (url: string) => stored.get(String(url))?.clone(), delete: async (url: string) => stored.delete(String(url)), put: async () => {} }) }
    const fetched: string[] = []
    g.fetch = (async (input: RequestInfo | URL) => {
      fetched.push(String(input))
      return new Response(script, { headers: { 'Content-Type': 'text/javascript' } })
    }) as typeof fetch
    const state = new WorkerState(scope, { engine: {} as unknown as EngineClient, pins: { 'peersite.js': await pinOf(script) } })
    // Pins are by file name, the query string included: the cached copy under that key is not trusted (and dropped);
    // the script comes from the network, with its type.
    const res = await state.staleWhileRevalidate(new Request(`${scope}peersite.js?v=2`))
    expect(res.headers.get('content-type')).toBe('text/javascript')
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(script)
    expect(fetched).toEqual([`${scope}peersite.js?v=2`])
    expect(stored.has(`${scope}peersite.js?v=2`)).toBe(false)
  })
})

describe('who may name a leader\'s infohash', () => {
  const g = globalThis as { fetch: typeof fetch }
  const realFetch = g.fetch
  afterEach(() => { g.fetch = realFetch })

  it('a port under anything but an infohash is closed, never kept, and costs no fetch', async () => {
    const leaders: string[] = []
    let fetches = 0
    g.fetch = (async () => { fetches++; throw new TypeError('offline') }) as typeof fetch
    const state = new WorkerState('https://host.example/site/', { engine: { setLeader: (h: string) => { leaders.push(h) } } as unknown as EngineClient })
    const { port1, port2 } = new MessageChannel()
    let closed = false
    port2.close = () => { closed = true; port1.close() }
    await state.onLeader('x'.repeat(5000), port2)
    expect(closed).toBe(true)
    expect(leaders).toEqual([])
    expect(fetches).toBe(0)
  })
})

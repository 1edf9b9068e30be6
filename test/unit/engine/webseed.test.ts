/**
 * Web seeds (BEP 19) against a real HTTP server on 127.0.0.1: a reader with no peer gets its bytes from the web
 * seed in Range requests, verified; a web seed that sends wrong bytes is dropped with a warning and the peers
 * serve the piece; peers that deliver keep the web seed unused; Node's background mode completes a download
 * from the web seed alone.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Bitfield } from '../../../engine/bitfield.js'
import { WebSeedError } from '../../../engine/errors.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import type { Peer } from '../../../engine/wire/peer.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { WEB_SEED_DEADLINE_MS, WEB_SEED_MAX_RUN_BYTES } from '../../../engine/constants.js'
import { concatBytes } from '../../../engine/util/bytes.js'
import { WebSeeds, webSeedFileUrl } from '../../../engine/webseed.js'
import { makeTorrent, randomData, type FixtureFile } from '../../fixtures/make-torrent.js'
import { connectTorrents, sameBytes, seederOf } from '../../fixtures/engine-peers.js'
import { silentPeer } from '../../fixtures/silent-peer.js'
import { startWebSeedServer, type WebSeedServer } from '../../helpers/web-seed-server.js'

const PIECE = 16 * 1024
const FILES: FixtureFile[] = [
  { path: 'index.html', data: randomData(5000, 1) },
  { path: 'css/a b.css', data: randomData(30_000, 2) },
  { path: 'big.bin', data: randomData(200_000, 3) }
]

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function setup (): Promise<{ metainfo: Metainfo, data: Uint8Array, server: WebSeedServer }> {
  const { metainfo, data } = await makeTorrent(FILES, PIECE, 'site')
  // BEP 19 multi-file layout: <url>/<name>/<path>.
  const server = await startWebSeedServer(new Map(FILES.map((f) => [`/pub/site/${f.path}`, f.data])))
  cleanup.push(async () => await server.close())
  return { metainfo, data, server }
}

function visitor (metainfo: Metainfo, urls: string[], background = false): { torrent: Torrent, warnings: Error[], seeds: WebSeeds } {
  const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, {
    infoHash: metainfo.infoHash, metainfo, have: new Bitfield(metainfo.pieceCount)
  })
  const warnings: Error[] = []
  torrent.on('warning', (err) => warnings.push(err))
  const seeds = new WebSeeds(torrent, { urls, background })
  cleanup.push(async () => await torrent.destroy())
  return { torrent, warnings, seeds }
}


async function readAll (torrent: Torrent, offset: number, length: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of torrent.read(offset, length)) chunks.push(chunk)
  return concatBytes(chunks)
}

describe('web seeds (BEP 19)', () => {
  it('builds the multi-file URL from the root folder, the name and the path, each segment encoded', () => {
    const m = { name: 'my site', multiFile: true }
    expect(webSeedFileUrl('https://h/pub/', m, { path: 'css/a b.css' })).toBe('https://h/pub/my%20site/css/a%20b.css')
    expect(webSeedFileUrl('https://h/pub', m, { path: 'x' })).toBe('https://h/pub/my%20site/x')
    expect(webSeedFileUrl('https://h/f.bin', { name: 'f.bin', multiFile: false }, { path: 'f.bin' })).toBe('https://h/f.bin')
    expect(webSeedFileUrl('https://h/', { name: 'f.bin', multiFile: false }, { path: 'f.bin' })).toBe('https://h/f.bin')
  })

  it('serves a reader from the web seed when there is no peer at all, with Range requests, verified', async () => {
    const { metainfo, data, server } = await setup()
    const { torrent, warnings } = visitor(metainfo, [`${server.url}pub/`])
    const file = metainfo.files[1]!
    const bytes = await readAll(torrent, file.offset, file.length)
    expect(sameBytes(bytes, data.subarray(file.offset, file.offset + file.length))).toBe(true)
    expect(server.requests.length).toBeGreaterThan(0)
    expect(server.requests.every((p) => p.startsWith('/pub/site/'))).toBe(true)
    // Whole pieces only, and not the whole torrent: the reader's pieces (and its read-ahead window inside the read).
    expect(server.bytesSent).toBeLessThan(metainfo.length)
    expect(torrent.stats().webSeed).toBeGreaterThan(0)
    expect(torrent.stats().downloaded).toBe(0)
    expect(warnings).toEqual([])
  })

  it('takes the whole file from a server that ignores Range', async () => {
    const { metainfo, data, server } = await setup()
    server.ignoreRange = true
    const { torrent } = visitor(metainfo, [`${server.url}pub/`])
    const file = metainfo.files[2]!
    const bytes = await readAll(torrent, file.offset + 70_000, 1000)
    expect(sameBytes(bytes, data.subarray(file.offset + 70_000, file.offset + 71_000))).toBe(true)
    expect(server.bytesSent).toBeGreaterThanOrEqual(file.length)
  })

  it('reads no more of an answer than it asked for: a web seed that sends more is dropped (warning)', async () => {
    const { metainfo } = await makeTorrent(FILES, PIECE, 'site')
    for (const contentLength of [false, true]) {
      // An answer of 64 MiB in 64 KiB chunks, made as they are read: count how much was read.
      let pulled = 0
      const total = 64 * 1024 * 1024
      const fakeFetch = async (): Promise<Response> => new Response(new ReadableStream<Uint8Array>({
        pull (controller) {
          if (pulled >= total) return controller.close()
          pulled += 65_536
          controller.enqueue(new Uint8Array(65_536))
        }
      }, { highWaterMark: 0 }), { status: 206, headers: contentLength ? { 'Content-Length': String(total) } : {} })
      const torrent = new Torrent({ createStore: (m) => new MemoryStore({ pieceLength: m.pieceLength, length: m.length }) }, {
        infoHash: metainfo.infoHash, metainfo, have: new Bitfield(metainfo.pieceCount)
      })
      cleanup.push(async () => await torrent.destroy())
      const warnings: Error[] = []
      torrent.on('warning', (err) => warnings.push(err))
      const seeds = new WebSeeds(torrent, { urls: ['http://127.0.0.1:1/pub/'], fetch: fakeFetch as typeof fetch })
      void readAll(torrent, 0, 1000).catch(() => {})
      await expect.poll(() => seeds.urls.length, { timeout: 5000 }).toBe(0)
      expect(warnings.some((w) => w instanceof WebSeedError && /longer than/.test(w.message))).toBe(true)
      // At most the run asked for (WEB_SEED_MAX_RUN_BYTES at most) and one chunk: not the 64 MiB.
      expect(pulled).toBeLessThanOrEqual(WEB_SEED_MAX_RUN_BYTES + 65_536)
      seeds.destroy()
    }
  })

  it('drops a web seed that sends wrong bytes (warning) and gets the piece from a peer', async () => {
    const { metainfo, data, server } = await setup()
    server.corrupt.add('/pub/site/css/a b.css')
    const { torrent, warnings, seeds } = visitor(metainfo, [`${server.url}pub/`])
    const file = metainfo.files[1]!
    // No peer yet: the web seed is asked at once, and fails.
    const reading = readAll(torrent, file.offset, file.length)
    await expect.poll(() => seeds.urls.length, { timeout: 5000 }).toBe(0)
    expect(warnings.some((w) => w instanceof WebSeedError && /hash check/.test(w.message))).toBe(true)
    const seeder = await seederOf(metainfo, data)
    cleanup.push(async () => await seeder.destroy())
    connectTorrents(seeder, torrent)
    expect(sameBytes(await reading, data.subarray(file.offset, file.offset + file.length))).toBe(true)
  })

  it('leaves the web seed alone while a peer delivers', async () => {
    const { metainfo, data, server } = await setup()
    const seeder = await seederOf(metainfo, data)
    cleanup.push(async () => await seeder.destroy())
    const { torrent } = visitor(metainfo, [`${server.url}pub/`])
    connectTorrents(seeder, torrent)
    // The peer is kept: once the visitor has everything, the seeder learns it (visitors announce pieces to seeds
    // too) and may drop the link between two seeds (once slots are scarce), so the torrent's peer set may be empty again by now.
    const peer = await new Promise<Peer>((resolve) => { torrent.once('peer', resolve) })
    await expect.poll(() => peer.has?.complete === true).toBe(true)
    const bytes = await readAll(torrent, 0, metainfo.length)
    expect(sameBytes(bytes, data)).toBe(true)
    expect(server.requests).toEqual([])
    expect(torrent.stats().webSeed).toBe(0)
  })

  it('asks the web seed for a piece a connected peer has but does not deliver, once the deadline passed', async () => {
    const { metainfo, data, server } = await setup()
    const { torrent } = visitor(metainfo, [`${server.url}pub/`])
    const silent = silentPeer(torrent, metainfo)
    await expect.poll(() => [...torrent.peers].some((p) => p.has?.complete === true)).toBe(true)
    const t0 = performance.now()
    const bytes = await readAll(torrent, 0, 4000)
    const ms = performance.now() - t0
    expect(sameBytes(bytes, data.subarray(0, 4000))).toBe(true)
    // The peer was asked first; the web seed only after WEB_SEED_DEADLINE_MS (logged, not asserted: timing).
    expect(silent.requests()).toBeGreaterThan(0)
    expect(server.requests.length).toBeGreaterThan(0)
    console.log(`web seed after a silent peer: ${Math.round(ms)} ms (deadline ${WEB_SEED_DEADLINE_MS} ms)`)
  })

  it('completes a Node download from the web seed alone (background mode) while no peer delivers', async () => {
    const { metainfo, server } = await setup()
    const { torrent } = visitor(metainfo, [`${server.url}pub/`], true)
    await new Promise<void>((resolve) => { if (torrent.done) resolve(); else torrent.once('done', () => resolve()) })
    expect(torrent.stats().webSeed).toBe(metainfo.length)
    // One run of Range requests, one per file: BEP 19 asks for few, large requests.
    expect(server.requests.length).toBe(FILES.length)
  })

  it('a file the web seed lacks (404) comes from peers; the web seed still serves the others', async () => {
    const { metainfo, data } = await makeTorrent(FILES, PIECE, 'site')
    const partial = await startWebSeedServer(new Map(FILES.slice(1).map((f) => [`/site/${f.path}`, f.data])))
    cleanup.push(async () => await partial.close())
    const { torrent, warnings, seeds } = visitor(metainfo, [partial.url])
    const big = metainfo.files[2]!
    const reading = readAll(torrent, 0, 100)
    await expect.poll(() => warnings.some((w) => /no index\.html there \(HTTP 404\)/.test(w.message)), { timeout: 5000 }).toBe(true)
    expect(seeds.urls).toEqual([partial.url])
    // A file it has is still served by it.
    const tail = await readAll(torrent, big.offset + big.length - 100, 100)
    expect(sameBytes(tail, data.subarray(big.offset + big.length - 100, big.offset + big.length))).toBe(true)
    const seeder = await seederOf(metainfo, data)
    cleanup.push(async () => await seeder.destroy())
    connectTorrents(seeder, torrent)
    expect(sameBytes(await reading, data.subarray(0, 100))).toBe(true)
  })
})

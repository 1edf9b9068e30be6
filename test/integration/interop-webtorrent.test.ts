/**
 * Wire compatibility with stock WebTorrent (2.6.10, in this Node process, over node-datachannel WebRTC):
 * - WebTorrent downloads, from a magnet link alone (metadata over BEP 9 ut_metadata), a site that a peersite
 *   seeder serves, built the way `peersite publish` builds it;
 * - `peersite get` (download()) fetches, by infohash alone, a folder that WebTorrent created and seeds;
 * - both directions again with a 20 MB file (pipelining, backpressure); throughput is printed, not asserted.
 * Everything goes through an in-process tracker on 127.0.0.1, inside the private network namespace.
 */
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { executePublish, planPublish, type PublishResult } from '../../cli/lib/publish.js'
import { LOADER_FILES } from '../../cli/lib/package.js'
import { download, startSeeder } from '../../cli/lib/swarm.js'
import { randomData } from '../fixtures/make-torrent.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { webtorrentDownload, webtorrentSeed } from '../helpers/webtorrent-peer.js'

// Expected: a few seconds each. Generous for a loaded 2-core machine (see webtorrent-interop-harness.test.ts:
// a failed first WebRTC attempt can cost WebTorrent its 25 s connect timeout before it retries).
const TEST_TIMEOUT = 120_000
const TRANSFER_TIMEOUT = 100_000

const HELLO = new URL('../../examples/hello/', import.meta.url).pathname

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  // Reverse order: downloaders, then seeders, then the tracker and temp dirs.
  while (cleanups.length > 0) await cleanups.pop()!()
})

beforeAll(() => assertInNetns())

async function setup (): Promise<{ tracker: TrackerServer, dir: TempDir }> {
  const dir = await makeTempDir('peersite-interop-')
  cleanups.push(() => dir.cleanup())
  // Clients re-announce every intervalMs / 5 on WebSocket trackers: a failed first connection is retried soon.
  const tracker = await startTrackerServer({ intervalMs: 5_000 })
  cleanups.push(() => tracker.close())
  return { tracker, dir }
}

/** `peersite publish <site> --no-seed` as a library call; the loader files are stand-ins (not under test). */
async function publish (site: string, dir: TempDir, trackers: string[]): Promise<PublishResult> {
  const loaderDir = join(dir.path, 'loader')
  await mkdir(loaderDir, { recursive: true })
  for (const file of LOADER_FILES) await writeFile(join(loaderDir, file), `/* stand-in ${file} */\n`)
  const plan = await planPublish({ dir: site, out: join(dir.path, 'published'), trackers, loaderDir })
  return await executePublish(plan)
}

/** Every regular file under root, as '/'-separated relative path -> bytes. */
async function readTree (root: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) for (const [k, v] of await readTree(root, rel)) out.set(k, v)
    else out.set(rel, await readFile(join(root, rel)))
  }
  return out
}

function expectSameFiles (got: Map<string, Uint8Array>, want: Map<string, Uint8Array>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
  for (const [path, bytes] of want) {
    const other = got.get(path)
    expect(other !== undefined && Buffer.from(other).equals(Buffer.from(bytes)), `${path} byte-identical`).toBe(true)
  }
}

const sizeOf = (files: Map<string, Uint8Array>): number => [...files.values()].reduce((n, b) => n + b.length, 0)
const mbps = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(1)

/** A peersite seeder of `site` (published as `peersite publish` does); stock WebTorrent fetches it by magnet. */
async function peersiteToWebtorrent (env: { tracker: TrackerServer, dir: TempDir }, site: string, label: string): Promise<PublishResult> {
  const { tracker, dir } = env
  const published = await publish(site, dir, [tracker.url])
  const want = await readTree(site)
  const length = published.metainfo.length
  // BEP 47 pad files (publish pins files that would cross a piece boundary to the next one) are the difference.
  const padding = [...(published.metainfo.tailPadding?.values() ?? [])].reduce((n, b) => n + b, 0)
  expect(length).toBe(sizeOf(want) + padding)

  const seeder = await startSeeder({
    metainfo: published.metainfo, root: site, trackers: [trackerUrlFor(tracker, 'peersite-seeder')], rtcConfig
  })
  cleanups.push(() => seeder.close())

  // The magnet: infohash and the local tracker, nothing else. No .torrent: WebTorrent must fetch the info
  // dictionary from the peersite seeder over ut_metadata.
  const wtTracker = trackerUrlFor(tracker, 'webtorrent-leecher')
  const magnetURI = `magnet:?xt=urn:btih:${published.infoHash}&tr=${encodeURIComponent(wtTracker)}`
  expect(published.magnetURI).toContain(`urn:btih:${published.infoHash}`)
  const got = await webtorrentDownload({ magnetURI, trackerUrl: wtTracker, timeoutMs: TRANSFER_TIMEOUT })
  cleanups.push(() => got.close())

  expect(got.torrent.infoHash).toBe(published.infoHash)
  expect(got.torrent.name).toBe(published.metainfo.name)
  expect(got.torrent.pieceLength).toBe(published.metainfo.pieceLength)
  // WebTorrent 2.6 does not read BEP 47: it takes the pad files for files under .pad/ and asks the seeder for their
  // bytes, which the seeder answers with zeros ("for backwards-compatibility they must service such requests").
  const pads = [...got.files].filter(([path]) => path.startsWith('.pad/'))
  expect(pads.length).toBe(published.metainfo.tailPadding?.size ?? 0)
  for (const [path, bytes] of pads) {
    expect(bytes.length, path).toBe(Number(path.slice('.pad/'.length)))
    expect(bytes.every((b) => b === 0), `${path} is zeros`).toBe(true)
  }
  expectSameFiles(new Map([...got.files].filter(([path]) => !path.startsWith('.pad/'))), want)
  expect(seeder.stats().uploaded).toBeGreaterThanOrEqual(length)

  const { metadataMs, doneMs } = got.timings
  console.log(`[interop] ${label} peersite -> WebTorrent: ${(length / 1e6).toFixed(2)} MB in ` +
    `${published.metainfo.pieceCount} pieces of ${published.metainfo.pieceLength / 1024} KiB; metadata after ` +
    `${metadataMs.toFixed(0)} ms, done after ${doneMs.toFixed(0)} ms; ${mbps(length, doneMs - metadataMs)} MB/s ` +
    `after metadata (${mbps(length, doneMs)} MB/s overall); seeder uploaded ${seeder.stats().uploaded} B`)
  return published
}

/** Stock WebTorrent creates and seeds `files`; download() fetches them by infohash alone. */
async function webtorrentToPeersite (files: Map<string, Uint8Array>, label: string): Promise<void> {
  const { tracker, dir } = await setup()
  const seed = await webtorrentSeed({ files, name: 'site', trackerUrl: trackerUrlFor(tracker, 'webtorrent-seeder') })
  cleanups.push(() => seed.close())
  const length = sizeOf(files)
  expect(seed.torrent.length).toBe(length)

  const out = join(dir.path, 'copy')
  const warnings: string[] = []
  const started = performance.now()
  let metadataMs = -1
  const result = await download({
    infoHash: seed.infoHash,
    out,
    trackers: [trackerUrlFor(tracker, 'peersite-leecher')],
    rtcConfig,
    onMetadata: () => { metadataMs = performance.now() - started },
    onWarning: (w) => warnings.push(w)
  })
  const doneMs = performance.now() - started

  expect(result.metainfo.infoHash).toBe(seed.infoHash)
  expect(result.metainfo.name).toBe('site')
  expect(result.stats.verified).toBe(length)
  expectSameFiles(await readTree(out), files)
  expect(seed.torrent.uploaded).toBeGreaterThanOrEqual(length)

  console.log(`[interop] ${label} WebTorrent -> peersite: ${(length / 1e6).toFixed(2)} MB in pieces of ` +
    `${seed.torrent.pieceLength / 1024} KiB; metadata after ${metadataMs.toFixed(0)} ms, done after ` +
    `${doneMs.toFixed(0)} ms; ${mbps(length, doneMs - metadataMs)} MB/s after metadata ` +
    `(${mbps(length, doneMs)} MB/s overall)${warnings.length > 0 ? `; warnings: ${warnings.join(' | ')}` : ''}`)
}

describe('interop with stock WebTorrent 2.6.10', () => {
  it('WebTorrent downloads examples/hello from a peersite seeder, from the magnet alone (ut_metadata)', async () => {
    const env = await setup()
    const site = join(env.dir.path, 'hello')
    await cp(HELLO, site, { recursive: true })
    await peersiteToWebtorrent(env, site, 'examples/hello')
  }, TEST_TIMEOUT)

  it('stock WebTorrent downloads a padded site by its infohash', async () => {
    // Files that cross piece boundaries (16 KiB pieces), so publish pads several of them (BEP 47).
    const env = await setup()
    const site = join(env.dir.path, 'padded')
    await mkdir(join(site, 'img'), { recursive: true })
    await writeFile(join(site, 'index.html'), '<!doctype html><title>padded</title><script src="app.js"></script>\n'.repeat(80))
    await writeFile(join(site, 'app.js'), randomData(30_000, 21))
    await writeFile(join(site, 'style.css'), randomData(12_000, 22))
    await writeFile(join(site, 'img/photo.bin'), randomData(100_000, 23))
    await writeFile(join(site, 'zz.html'), randomData(9_000, 24))
    const published = await peersiteToWebtorrent(env, site, 'padded site')
    expect(published.metainfo.tailPadding?.size).toBeGreaterThanOrEqual(3)
    expect(published.manifest.files.map((f) => f.path)).toEqual(['app.js', 'img/photo.bin', 'index.html', 'style.css', 'zz.html'])
  }, TEST_TIMEOUT)

  it('peersite get downloads, by infohash alone, a multi-file folder that WebTorrent seeds', async () => {
    const enc = new TextEncoder()
    const files = new Map<string, Uint8Array>([
      ['index.html', enc.encode('<!doctype html><title>from WebTorrent</title><p>hello</p>\n')],
      ['css/site.css', enc.encode('body { font-family: sans-serif }\n')],
      ['media/clip.bin', randomData(3 * 1024 * 1024 + 12_345, 7)],
      ['docs/notes/readme.txt', randomData(40_000, 8)],
      ['empty.txt', new Uint8Array(0)]
    ])
    await webtorrentToPeersite(files, 'multi-file 3 MB')
  }, TEST_TIMEOUT)

  describe('20 MB file', () => {
    it('peersite seeds, WebTorrent downloads', async () => {
      const env = await setup()
      const site = join(env.dir.path, 'big-site')
      await mkdir(site, { recursive: true })
      await writeFile(join(site, 'index.html'), '<!doctype html><a href="big.bin">big</a>\n')
      await writeFile(join(site, 'big.bin'), randomData(20 * 1024 * 1024, 11))
      await peersiteToWebtorrent(env, site, '20 MB')
    }, TEST_TIMEOUT)

    it('WebTorrent seeds, peersite downloads', async () => {
      const files = new Map<string, Uint8Array>([
        ['index.html', new TextEncoder().encode('<!doctype html><a href="big.bin">big</a>\n')],
        ['big.bin', randomData(20 * 1024 * 1024, 12)]
      ])
      await webtorrentToPeersite(files, '20 MB')
    }, TEST_TIMEOUT)
  })
})

/**
 * The engine end to end over real WebRTC (node-datachannel) through a real WebSocket tracker in this process:
 * a seeder on a folder, `download` by infohash alone (metadata over BEP 9), byte-identical output; and a seeder
 * that sends corrupt data is survived and banned; a site whose names the downloader's file system would merge is
 * refused once its metadata arrives.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { download, startSeeder } from '../../cli/lib/swarm.js'
import { buildTorrent } from '../../cli/lib/torrent.js'
import { walkSite } from '../../cli/lib/walk.js'
import { fullBitfield } from '../../engine/bitfield.js'
import { TrackerDiscovery } from '../../engine/discovery/tracker.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { FsStore } from '../../engine/storage/fs.js'
import { UsageError } from '../../engine/errors.js'
import { Torrent } from '../../engine/torrent.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { nodeWrtc } from '../../engine/transport/node-wrtc.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function setup (): Promise<{ tracker: TrackerServer, dir: TempDir }> {
  const tracker = await startTrackerServer()
  cleanups.push(async () => await tracker.close())
  const dir = await makeTempDir()
  cleanups.push(async () => await dir.cleanup())
  return { tracker, dir }
}

async function writeSite (root: string, files: Array<{ path: string, data: Uint8Array }>): Promise<void> {
  for (const f of files) {
    await mkdir(join(root, f.path, '..'), { recursive: true })
    await writeFile(join(root, f.path), f.data)
  }
}

async function listFiles (root: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`
    if (entry.isDirectory()) out.push(...await listFiles(root, rel))
    else out.push(rel)
  }
  return out.sort()
}

const digest = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

beforeAll(() => assertInNetns())

describe('seed and get over WebRTC', () => {
  it('downloads a site by infohash alone, byte-identical, verifying every piece', async () => {
    const { tracker, dir } = await setup()
    const files = [
      { path: 'index.html', data: new TextEncoder().encode('<h1>hello</h1>') },
      { path: 'docs/guide/index.html', data: randomData(30_000, 1) },
      { path: 'media/big.bin', data: randomData(900_000, 2) },
      { path: 'empty.txt', data: new Uint8Array(0) }
    ]
    const site = join(dir.path, 'site')
    await writeSite(site, files)
    const { metainfo } = await makeTorrent(files, 32 * 1024)
    const seeder = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'seeder')], rtcConfig })
    cleanups.push(async () => await seeder.close())

    const out = join(dir.path, 'copy')
    let gotMetadata: Metainfo | undefined
    const result = await download({
      infoHash: metainfo.infoHash, out, trackers: [trackerUrlFor(tracker, 'leecher')], rtcConfig, onMetadata: (m) => { gotMetadata = m }
    })
    expect(gotMetadata?.infoHash).toBe(metainfo.infoHash)
    expect(result.stats.verified).toBe(metainfo.length)
    expect(await listFiles(out)).toEqual(files.map((f) => f.path).sort())
    for (const f of files) expect(digest(await readFile(join(out, f.path)))).toBe(digest(f.data))
    expect(seeder.stats().uploaded).toBeGreaterThanOrEqual(metainfo.length)
  })

  /** A seeder, here (Linux: two files), of a site holding A.html and a.html, which macOS would write into one file. */
  const seedCollidingSite = async (): Promise<{ tracker: TrackerServer, dir: TempDir, metainfo: Metainfo }> => {
    const { tracker, dir } = await setup()
    const files = [
      { path: 'index.html', data: new TextEncoder().encode('<h1>hello</h1>') },
      { path: 'A.html', data: randomData(20_000, 21) },
      { path: 'a.html', data: randomData(20_000, 22) }
    ]
    const site = join(dir.path, 'site')
    await writeSite(site, files)
    const { metainfo } = await makeTorrent(files, 16 * 1024)
    const seeder = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'seeder')], rtcConfig })
    cleanups.push(async () => await seeder.close())
    return { tracker, dir, metainfo }
  }

  it('refuses, once the metadata comes from peers, a site whose names macOS would write into one file; nothing written', async () => {
    // The seeder runs here (Linux: two files); the downloader follows macOS's rules.
    const { tracker, dir, metainfo } = await seedCollidingSite()
    const out = join(dir.path, 'copy')
    const err = await download({ infoHash: metainfo.infoHash, out, trackers: [trackerUrlFor(tracker, 'leecher')], rtcConfig, platform: 'darwin' }).catch((e: unknown) => e)
    expect((err as Error).message).toBe(`cannot store site (${metainfo.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form)`)
    expect(await readdir(dir.path)).toEqual(['site'])
  })

  it('serve of one site refused from peers (names macOS would merge) ends with that one reason, not a gateway that waits', async () => {
    const { tracker, dir, metainfo } = await seedCollidingSite()
    const { run } = await import('../../cli/run/serve.js')
    const argv = { source: metainfo.infoHash, tracker: [trackerUrlFor(tracker, 'leecher')], port: 0, host: '127.0.0.1', spa: false, logRequests: false, tcp: false, iceServers: undefined, _: [], $0: 'peersite' }
    const err = await run(argv as unknown as Parameters<typeof run>[0], { platform: 'darwin' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toMatch(/A\.html and a\.html are the same file on macOS/)
  })

  it('downloads a padded site (BEP 47) without asking for or writing a byte of padding', async () => {
    const { tracker, dir } = await setup()
    const files = [
      { path: 'a.html', data: randomData(5_000, 11) },
      { path: 'b.js', data: randomData(30_000, 12) }, // crosses a boundary: starts on the next piece
      { path: 'c.css', data: randomData(20_000, 13) }, // so does this
      { path: 'd/e.bin', data: randomData(70_000, 14) }
    ]
    const site = join(dir.path, 'site')
    await writeSite(site, files)
    const built = await buildTorrent(await walkSite(site), { name: 'site', pieceLength: 16 * 1024, trackers: [] })
    const { metainfo } = built
    const padding = [...(metainfo.tailPadding?.values() ?? [])].reduce((n, b) => n + b, 0)
    expect(padding).toBeGreaterThan(0)
    const seeder = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'seeder')], rtcConfig })
    cleanups.push(async () => await seeder.close())

    const out = join(dir.path, 'copy')
    const result = await download({ infoHash: metainfo.infoHash, out, trackers: [trackerUrlFor(tracker, 'leecher')], rtcConfig })
    expect(result.stats.verified).toBe(metainfo.length)
    expect(await listFiles(out)).toEqual(files.map((f) => f.path).sort()) // no .pad/ folder
    for (const f of files) expect(digest(await readFile(join(out, f.path)))).toBe(digest(f.data))
    // The one seeder sent every byte of the files and not one of padding (a peer aware of BEP 47 never asks).
    expect(seeder.stats().uploaded).toBe(metainfo.length - padding)
  })

  it('survives a seeder that sends corrupt pieces: never writes them, bans it, finishes from an honest seeder', async () => {
    const { tracker, dir } = await setup()
    const files = [{ path: 'a.bin', data: randomData(600_000, 3) }]
    const site = join(dir.path, 'site')
    const bad = join(dir.path, 'bad')
    await writeSite(site, files)
    await writeSite(bad, [{ path: 'a.bin', data: randomData(600_000, 99) }]) // same size, wrong bytes
    const { metainfo } = await makeTorrent(files, 16 * 1024)

    // The hostile seeder claims every piece but serves garbage from its folder.
    const hostile = new Torrent({
      createStore: (m) => new FsStore({ pieceLength: m.pieceLength, length: m.length, root: bad, files: m.files, names: 'checked' }),
      createDiscovery: (init) => new TrackerDiscovery({ ...init, announce: [trackerUrlFor(tracker, 'hostile')], wrtc: nodeWrtc, rtcConfig })
    }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
    cleanups.push(async () => await hostile.destroy())

    const warnings: string[] = []
    const out = join(dir.path, 'copy')
    let honestStarted = false
    const result = await download({
      infoHash: metainfo.infoHash,
      metainfo,
      out,
      trackers: [trackerUrlFor(tracker, 'leecher')],
      rtcConfig,
      onWarning: (w) => {
        warnings.push(w)
        // Only once the hostile peer has been caught does an honest seeder appear.
        if (/banned/.test(w) && !honestStarted) {
          honestStarted = true
          void startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'honest')], rtcConfig }).then((s) => {
            cleanups.push(async () => await s.close())
          })
        }
      }
    })
    expect(warnings.some((w) => /failed its hash check/.test(w))).toBe(true)
    expect(warnings.some((w) => /banned/.test(w))).toBe(true)
    expect(result.stats.verified).toBe(metainfo.length)
    expect(digest(await readFile(join(out, 'a.bin')))).toBe(digest(files[0]!.data))
  })
})

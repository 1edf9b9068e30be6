/**
 * `peersite mirror` over real WebRTC through a real tracker in this process: a mirror fetches a site by infohash
 * alone and seeds it; restarted on the same folder it downloads nothing (bytes counted) and serves visitors from
 * disk at once; two mirrors serve visitors after the publisher is gone, both uploading (nobody is special); a
 * mirror of a site key follows it to a new version, keeps the old one, and reopens both from its folder; a mirror
 * on macOS does not keep a site whose names differ only in case.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startMirror, type Mirror } from '../../cli/lib/mirror.js'
import { startPointerSeeders } from '../../cli/lib/pointer-swarm.js'
import { publishSite, type PublishResult } from '../../cli/lib/publish.js'
import { download, startSeeder, type Seeder } from '../../cli/lib/swarm.js'
import { toHex } from '../../engine/util/bytes.js'
import { copyHello, makeLoaderDir } from '../unit/cli/helpers.js'
import type { Metainfo } from '../../engine/metainfo/index.js'
import { makeTorrent, randomData } from '../fixtures/make-torrent.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { startTrackerServer, trackerUrlFor, type TrackerServer } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

beforeAll(() => assertInNetns())

const FILES = [
  { path: 'index.html', data: new TextEncoder().encode('<h1>mirrored</h1>') },
  { path: 'media/a.bin', data: randomData(700_000, 5) },
  { path: 'media/b.bin', data: randomData(500_000, 6) }
]

async function setup (): Promise<{ tracker: TrackerServer, dir: TempDir, metainfo: Metainfo, publisher: Seeder }> {
  const tracker = await startTrackerServer({ intervalMs: 2_000 })
  cleanups.push(async () => await tracker.close())
  const dir = await makeTempDir('peersite-mirror-')
  cleanups.push(async () => await dir.cleanup())
  const site = join(dir.path, 'site')
  for (const f of FILES) {
    await mkdir(join(site, f.path, '..'), { recursive: true })
    await writeFile(join(site, f.path), f.data)
  }
  const { metainfo } = await makeTorrent(FILES, 32 * 1024)
  const publisher = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'publisher')], rtcConfig, announceIntervalMs: 2_000 })
  cleanups.push(async () => await publisher.close())
  return { tracker, dir, metainfo, publisher }
}

async function mirror (tracker: TrackerServer, dir: string, name: string, sources: string[]): Promise<Mirror> {
  const m = await startMirror({ dir, sources, trackers: [trackerUrlFor(tracker, name)], rtcConfig, announceIntervalMs: 2_000 })
  cleanups.push(async () => await m.close())
  return m
}

async function seeding (m: Mirror): Promise<void> {
  await expect.poll(() => m.sites().every((s) => s.state() === 'seeding'), { timeout: 60_000, interval: 200 }).toBe(true)
}

describe('peersite mirror', () => {
  it('fetches a site by infohash and seeds it; after a restart it resumes from its folder without downloading again', async () => {
    const { tracker, dir, metainfo, publisher } = await setup()
    const store = join(dir.path, 'mirror')
    const first = await mirror(tracker, store, 'mirror-1', [metainfo.infoHash])
    await seeding(first)
    expect(first.sites()[0]!.stats()!.downloaded).toBeGreaterThanOrEqual(metainfo.length)
    await first.close()

    // The publisher is still there: a mirror that re-downloaded could; this one must not need to.
    const second = await mirror(tracker, store, 'mirror-2', [metainfo.infoHash])
    const site = second.sites()[0]!
    expect(site.resumed).toBe(metainfo.length)
    expect(site.state()).toBe('seeding')
    // It serves a visitor from disk once the publisher is gone.
    await publisher.close()
    const out = join(dir.path, 'visitor')
    const result = await download({ infoHash: metainfo.infoHash, out, trackers: [trackerUrlFor(tracker, 'visitor')], rtcConfig })
    expect(result.stats.verified).toBe(metainfo.length)
    expect(site.stats()!.uploaded).toBeGreaterThanOrEqual(metainfo.length)
    expect(site.stats()!.downloaded).toBe(0)
  })

  it('on macOS, does not mirror a site from peers whose names differ only in case: one warning, nothing kept', async () => {
    const tracker = await startTrackerServer({ intervalMs: 2_000 })
    cleanups.push(async () => await tracker.close())
    const dir = await makeTempDir('peersite-mirror-')
    cleanups.push(async () => await dir.cleanup())
    const files = [{ path: 'A.html', data: randomData(20_000, 7) }, { path: 'a.html', data: randomData(20_000, 8) }]
    const site = join(dir.path, 'site')
    await mkdir(site)
    for (const f of files) await writeFile(join(site, f.path), f.data)
    const { metainfo } = await makeTorrent(files, 16 * 1024)
    const publisher = await startSeeder({ metainfo, root: site, trackers: [trackerUrlFor(tracker, 'publisher')], rtcConfig, announceIntervalMs: 2_000 })
    cleanups.push(async () => await publisher.close())
    const warnings: string[] = []
    const store = join(dir.path, 'mirror')
    const m = await startMirror({
      dir: store, sources: [metainfo.infoHash], trackers: [trackerUrlFor(tracker, 'mirror')], rtcConfig, announceIntervalMs: 2_000,
      platform: 'darwin', onWarning: (w) => warnings.push(w)
    })
    cleanups.push(async () => await m.close())
    const first = m.sites()[0]!
    // Dropped: not listed, its (empty) folder removed.
    await expect.poll(() => m.sites(), { timeout: 30_000, interval: 100 }).toEqual([])
    expect(first.torrent!.destroyed).toBe(true)
    expect(warnings).toContain(`${metainfo.infoHash.slice(0, 8)}: cannot store site (${metainfo.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS ` +
      '(names that differ only in case or Unicode form): not mirrored')
    expect(await readdir(store)).not.toContain(metainfo.infoHash)
  })

  it('on macOS, an info dictionary saved by an earlier run whose names collide skips that site only: the others are mirrored', async () => {
    const { tracker, dir, metainfo } = await setup()
    const { metainfo: cased } = await makeTorrent([{ path: 'A.html', data: randomData(20_000, 7) }, { path: 'a.html', data: randomData(20_000, 8) }], 16 * 1024)
    const store = join(dir.path, 'mirror')
    // As an earlier version of peersite left it: the info dictionary saved, no files yet.
    await mkdir(join(store, cased.infoHash), { recursive: true })
    await writeFile(join(store, cased.infoHash, 'info'), cased.info)
    const warnings: string[] = []
    const m = await startMirror({
      dir: store, sources: [cased.infoHash, metainfo.infoHash], trackers: [trackerUrlFor(tracker, 'mirror')], rtcConfig, announceIntervalMs: 2_000,
      platform: 'darwin', onWarning: (w) => warnings.push(w)
    })
    cleanups.push(async () => await m.close())
    await expect.poll(() => m.sites().map((s) => `${s.infoHash}:${s.state()}`), { timeout: 60_000, interval: 200 }).toEqual([`${metainfo.infoHash}:seeding`])
    expect(warnings).toContain(`${cased.infoHash.slice(0, 8)}: cannot store site (${cased.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS ` +
      '(names that differ only in case or Unicode form): not mirrored')
    expect(await readdir(store)).not.toContain(cased.infoHash)
  })

  it('two mirrors share the visitors once the publisher is gone', async () => {
    const { tracker, dir, metainfo, publisher } = await setup()
    const a = await mirror(tracker, join(dir.path, 'a'), 'mirror-a', [metainfo.infoHash])
    const b = await mirror(tracker, join(dir.path, 'b'), 'mirror-b', [metainfo.infoHash])
    await Promise.all([seeding(a), seeding(b)])
    await publisher.close()
    const before = [a, b].map((m) => m.sites()[0]!.stats()!.uploaded)
    const visitors = await Promise.all([1, 2, 3].map(async (i) => await download({
      infoHash: metainfo.infoHash, out: join(dir.path, `visitor-${i}`), trackers: [trackerUrlFor(tracker, `visitor-${i}`)], rtcConfig
    })))
    for (const v of visitors) expect(v.stats.verified).toBe(metainfo.length)
    const served = [a, b].map((m, i) => m.sites()[0]!.stats()!.uploaded - before[i]!)
    expect(served[0]).toBeGreaterThan(0)
    expect(served[1]).toBeGreaterThan(0)
    expect(served[0]! + served[1]!).toBeGreaterThanOrEqual(metainfo.length)
  })
})

describe('peersite mirror <site key>', () => {
  /**
   * A tracker, a folder and a site key: publish(name, files) publishes examples/hello plus `files` under that key as
   * its next version, and online(version, name) seeds the version and its pointer record, as its publisher would.
   */
  async function keyedSite () {
    const tracker = await startTrackerServer({ intervalMs: 2_000 })
    cleanups.push(async () => await tracker.close())
    const tmp = await makeTempDir('peersite-mirror-key-')
    cleanups.push(async () => await tmp.cleanup())
    const loaderDir = await makeLoaderDir(tmp.path)
    const keyFile = join(tmp.path, 'keys', 'site.key')
    const publish = async (name: string, files: Record<string, string>): Promise<PublishResult> => {
      const site = await copyHello(tmp.path, name)
      for (const [path, text] of Object.entries(files)) await writeFile(join(site, path), text)
      return await publishSite({ dir: site, out: join(tmp.path, `${name}-out`), trackers: [tracker.url], loaderDir, keyFile, stateDir: join(tmp.path, 'publisher-state') })
    }
    const online = async (version: PublishResult, name: string): Promise<void> => {
      const ptr = await startPointerSeeders({ record: version.pointer!, trackers: [trackerUrlFor(tracker, `${name}-pointer`)], rtcConfig, announceIntervalMs: 2_000 })
      cleanups.push(async () => await ptr.close())
      const seeder = await startSeeder({ metainfo: version.metainfo, root: version.plan.site.root, trackers: [trackerUrlFor(tracker, `${name}-site`)], rtcConfig, pointer: ptr.siteExchange, announceIntervalMs: 2_000 })
      cleanups.push(async () => await seeder.close())
    }
    return { tracker, tmp, publish, online }
  }

  it('follows the key to its newest version, keeps the previous one, and reopens both after a restart', async () => {
    const { tracker, tmp, publish, online } = await keyedSite()
    const v1 = await publish('v1', { 'about.html': '<h1>About, version 1</h1>\n' })
    await online(v1, 'v1')
    const key = toHex(v1.pointer!.publicKey)
    const store = join(tmp.path, 'mirror')
    const first = await mirror(tracker, store, 'mirror-1', [key])
    await expect.poll(() => first.sites().map((s) => `${s.infoHash}:${s.state()}`), { timeout: 60_000, interval: 200 }).toEqual([`${v1.infoHash}:seeding`])

    const v2 = await publish('v2', { 'about.html': '<h1>About, version 2</h1>\n' })
    expect(v2.pointer!.seq).toBeGreaterThan(v1.pointer!.seq)
    await online(v2, 'v2')
    await expect.poll(() => first.sites().map((s) => `${s.infoHash}:${s.state()}`), { timeout: 60_000, interval: 200 })
      .toEqual([`${v1.infoHash}:seeding`, `${v2.infoHash}:seeding`])
    await first.close()

    // Everything comes back from the folder alone (trackers still up, but nothing downloaded).
    const second = await mirror(tracker, store, 'mirror-2', [key])
    const sites = second.sites()
    expect(sites.map((s) => s.infoHash)).toEqual([v1.infoHash, v2.infoHash])
    for (const s of sites) {
      expect(s.state()).toBe('seeding')
      expect(s.resumed).toBe(s.torrent!.metainfo!.length)
    }
  })

  it('on macOS, a new version whose names collide is not mirrored and evicts nothing (--keep 1)', async () => {
    const { tracker, tmp, publish, online } = await keyedSite()
    const v1 = await publish('v1', {})
    await online(v1, 'v1')
    const store = join(tmp.path, 'mirror')
    const warnings: string[] = []
    const m = await startMirror({
      dir: store, sources: [toHex(v1.pointer!.publicKey)], keep: 1, trackers: [trackerUrlFor(tracker, 'mirror')], rtcConfig, announceIntervalMs: 2_000,
      platform: 'darwin', onWarning: (w) => warnings.push(w)
    })
    cleanups.push(async () => await m.close())
    await expect.poll(() => m.sites().map((s) => `${s.infoHash}:${s.state()}`), { timeout: 60_000, interval: 200 }).toEqual([`${v1.infoHash}:seeding`])

    const v2 = await publish('v2', { 'A.html': 'upper', 'a.html': 'lower' })
    await online(v2, 'v2')
    await expect.poll(() => warnings.some((w) => w.startsWith(`${v2.infoHash.slice(0, 8)}: `) && w.endsWith(': not mirrored')), { timeout: 60_000, interval: 200 }).toBe(true)
    await expect.poll(() => m.sites().map((s) => `${s.infoHash}:${s.state()}`), { timeout: 10_000, interval: 100 }).toEqual([`${v1.infoHash}:seeding`])
    expect(await readdir(store)).toContain(v1.infoHash)
    expect(await readdir(store)).not.toContain(v2.infoHash)
  })
})

/**
 * A site whose file names Windows or macOS would write into one file (or that Windows refuses) is refused by `get`
 * with one line naming the paths, before anything is written; the platform is passed in, so this runs on Linux.
 * `publish` of such a folder works (browsers do not mind) and warns, naming the files, on every platform.
 */
import { link, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { FsStore } from '../../../engine/storage/fs.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { download, fsStoreOrRefusal, startSeeder } from '../../../cli/lib/swarm.js'
import { parseTorrentBytes } from '../../../cli/lib/torrent.js'
import { makeTorrent } from '../../fixtures/make-torrent.js'
import { cliSandbox, copyHello, helloDir, runCli } from './helpers.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

let dir: TempDir | undefined
afterEach(async () => { await dir?.cleanup() })

describe('get and file names', () => {
  it('refuses a .torrent whose names differ only in case on macOS, before making any folder', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'A.html', data: bytes('upper') }, { path: 'a.html', data: bytes('lower') }])
    const out = join(dir.path, 'copy')
    const err = await download({ infoHash: metainfo.infoHash, metainfo, out, trackers: [], platform: 'darwin' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toBe(`cannot store site (${metainfo.infoHash.slice(0, 8)}) here: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form)`)
    expect(await readdir(dir.path)).toEqual([]) // no output, no staging folder
  })

  it('refuses a Windows device name on Windows', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'index.html', data: bytes('x') }, { path: 'docs/nul.tar.gz', data: bytes('y') }])
    const out = join(dir.path, 'copy')
    const err = await download({ infoHash: metainfo.infoHash, metainfo, out, trackers: [], platform: 'win32' }).catch((e: unknown) => e)
    expect((err as Error).message).toBe(`cannot store site (${metainfo.infoHash.slice(0, 8)}) here: docs/nul.tar.gz: "nul.tar.gz" is a reserved device name on Windows`)
    expect(await readdir(dir.path)).toEqual([])
  })

  it('fsStoreOrRefusal: metadata from peers with merging names gets a stand-in store and the reason, never a throw', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'caf\u00e9.html', data: bytes('nfc') }, { path: 'cafe\u0301.html', data: bytes('nfd') }])
    const reasons: string[] = []
    const standIn = fsStoreOrRefusal(metainfo, dir.path, 'darwin', (err) => reasons.push(err.message))
    expect(standIn).toBeInstanceOf(MemoryStore)
    expect(reasons).toEqual([expect.stringMatching(/^cannot store site \([0-9a-f]{8}\) here: caf\u00e9\.html and cafe\u0301\.html are the same file on macOS/)])
    const store = fsStoreOrRefusal(metainfo, dir.path, 'linux', (err) => reasons.push(err.message))
    expect(store).toBeInstanceOf(FsStore)
    await store.close()
    expect(reasons).toHaveLength(1)
    expect(await readdir(dir.path)).toEqual([])
  })
})

const sandbox = cliSandbox('peersite-names-')

describe('seeding and file names', () => {
  it('refuses to seed two of the torrent\'s paths that are one file in the folder (not by platform: by the files)', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'A.html', data: bytes('upper') }, { path: 'a.html', data: bytes('lower') }])
    // A hard link stands in for a case-insensitive disk, where a.html is A.html.
    const linked = join(dir.path, 'linked')
    await mkdir(linked)
    await writeFile(join(linked, 'A.html'), 'upper')
    await link(join(linked, 'A.html'), join(linked, 'a.html'))
    const err = await startSeeder({ metainfo, root: linked, trackers: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as Error).message).toBe(`cannot store site (${metainfo.infoHash.slice(0, 8)}) here: A.html and a.html are the same file in ${linked} (names that differ only in case or Unicode form)`)
  })

  it('writes nothing into the site folder: `seed --check` and the seeder only read the files there (no name probe)', async () => {
    const site = await copyHello(await sandbox.fresh())
    const published = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env: sandbox.env })
    expect(published.code).toBe(0)
    // A folder's mtime changes when a file is made or removed in it: set to a day long past, it shows any such file,
    // however briefly it was there.
    const past = new Date('2001-02-03T04:05:06Z')
    const untouched = async (): Promise<void> => {
      expect((await stat(site)).mtime).toEqual(past)
      expect((await readdir(site)).sort()).toEqual(listing)
    }
    const listing = (await readdir(site)).sort()
    // A changed file: the check reads every piece and refuses the folder, before anything connects.
    await writeFile(join(site, 'app.js'), '// shorter')
    await utimes(site, past, past)
    const checked = await runCli(['seed', `${site}-peersite`, '--check', '--tracker', 'ws://127.0.0.1:9'], { env: sandbox.env })
    expect(checked.stderr).toMatch(/does not match the torrent: app\.js \(wrong size\)/)
    expect(checked.code).toBe(1)
    await untouched()
    // The seeder's store over the same folder (as `seed` and `publish` make it), the files put back.
    await writeFile(join(site, 'app.js'), await readFile(join(helloDir, 'app.js')))
    await utimes(site, past, past)
    const { metainfo } = await parseTorrentBytes(new Uint8Array(await readFile(join(`${site}-peersite`, 'site.torrent'))), 'site.torrent')
    const seeder = await startSeeder({ metainfo, root: site, trackers: [] })
    await seeder.close()
    await untouched()
  }, 30_000)
})


describe('publish and file names', () => {
  it('publishes a folder holding A.html and a.html, with one warning line naming both', async () => {
    const site = await copyHello(await sandbox.fresh())
    await writeFile(join(site, 'A.html'), 'upper')
    await writeFile(join(site, 'a.html'), 'lower')
    const result = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env: sandbox.env })
    expect(result.code).toBe(0)
    expect(result.stderr.trim().split('\n')).toEqual([
      'peersite: warning: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form); ' +
      '`peersite get` and mirrors refuse to store this site on such a disk (browsers serve it as it is)'
    ])
    const { metainfo } = await parseTorrentBytes(new Uint8Array(await readFile(join(`${site}-peersite`, 'site.torrent'))), 'site.torrent')
    expect(metainfo.files.map((f) => f.path)).toEqual(expect.arrayContaining(['A.html', 'a.html']))
  })

  it('warns about a Windows device name too, and says nothing about an ordinary site', async () => {
    const site = await copyHello(await sandbox.fresh())
    await writeFile(join(site, 'aux.html'), 'x')
    const warned = await runCli(['publish', site, '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env: sandbox.env })
    expect(warned.code).toBe(0)
    expect(warned.stderr.trim()).toMatch(/^peersite: warning: aux\.html: "aux\.html" is a reserved device name on Windows; `peersite get` and mirrors refuse to store this site on such a disk/)
    const plain = await runCli(['publish', await copyHello(await sandbox.fresh()), '--no-seed', '--json', '--tracker', 'ws://127.0.0.1:9'], { env: sandbox.env })
    expect(plain.code).toBe(0)
    expect(plain.stderr).toBe('')
  })
})

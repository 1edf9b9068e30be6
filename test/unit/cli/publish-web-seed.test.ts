/**
 * publish --web-seed and --with-files: the BEP 19 `url-list` in site.torrent (outside the info dictionary: the
 * infohash stays), `ws=` in the magnet, peersite.json's `webSeeds`/`withFiles`, the files copied under <name>/, and
 * bad URLs refused before anything is written.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { publishSite, type Manifest } from '../../../cli/lib/publish.js'
import { parseGetSource } from '../../../cli/lib/get-source.js'
import { readTorrentFile } from '../../../cli/lib/torrent.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})
/** The stand-in loader, with the web-seed bundle that sites with web seeds also get. */
async function loaderWithWebSeed (dir: string): Promise<string> {
  const loader = await makeLoaderDir(dir)
  await writeFile(join(loader, 'peersite-webseed.js'), '/* fake peersite-webseed.js */\n')
  return loader
}
async function temp (): Promise<string> {
  const t = await makeTempDir('peersite-webseed-')
  temps.push(t)
  return t.path
}

describe('publish with web seeds', () => {
  it('--web-seed writes url-list, ws= and peersite.json webSeeds; the infohash does not change', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await loaderWithWebSeed(dir)
    const plain = await publishSite({ dir: site, out: join(dir, 'a'), trackers: [], loaderDir })
    const seeds = ['https://files.example.org/pub/', 'http://mirror.example.net/x/']
    const seeded = await publishSite({ dir: site, out: join(dir, 'b'), trackers: [], loaderDir, webSeeds: seeds })
    expect(seeded.infoHash).toBe(plain.infoHash)
    const torrent = await readTorrentFile(join(seeded.out, 'site.torrent'))
    expect(torrent.webSeeds).toEqual(seeds)
    expect((await readTorrentFile(join(plain.out, 'site.torrent'))).webSeeds).toEqual([])
    const manifest = JSON.parse(await readFile(join(seeded.out, 'peersite.json'), 'utf8')) as Manifest
    expect(manifest.webSeeds).toEqual(seeds)
    expect(manifest.withFiles).toBeUndefined()
    const fromMagnet = await parseGetSource(seeded.magnetURI)
    expect(fromMagnet.webSeeds).toEqual(seeds)
    // The files are not copied without --with-files; the web-seed code is, and only for sites with web seeds.
    await expect(stat(join(seeded.out, 'hello'))).rejects.toThrow()
    expect((await stat(join(seeded.out, 'peersite-webseed.js'))).isFile()).toBe(true)
    await expect(stat(join(plain.out, 'peersite-webseed.js'))).rejects.toThrow()
  })

  it('--with-files copies every site file under <name>/ beside the loader', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await loaderWithWebSeed(dir)
    const result = await publishSite({ dir: site, out: join(dir, 'out'), trackers: [], loaderDir, withFiles: true })
    const manifest = JSON.parse(await readFile(join(result.out, 'peersite.json'), 'utf8')) as Manifest
    expect(manifest.withFiles).toBe(true)
    for (const file of result.metainfo.files) {
      expect(await readFile(join(result.out, 'hello', ...file.path.split('/')))).toEqual(await readFile(join(site, ...file.path.split('/'))))
    }
    // The loader's files are still the loader's.
    expect(await readFile(join(result.out, 'peersite.js'), 'utf8')).toMatch(/stand-in|peersite/)
  })

  it('refuses a web seed that is not an absolute http(s) URL, before writing anything', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await loaderWithWebSeed(dir)
    for (const bad of ['ftp://x/', 'files/', 'https://x/?a=1']) {
      const out = join(dir, 'out')
      await expect(publishSite({ dir: site, out, trackers: [], loaderDir, webSeeds: [bad] })).rejects.toThrow(UsageError)
      await expect(stat(out)).rejects.toThrow()
    }
  })

  it('refuses --with-files for a folder named like a loader file', async () => {
    const dir = await temp()
    const site = await copyHello(dir, 'sw.js')
    const loaderDir = await loaderWithWebSeed(dir)
    await expect(publishSite({ dir: site, out: join(dir, 'out'), trackers: [], loaderDir, withFiles: true })).rejects.toThrow(/sw\.js\/ in the output/)
  })
})

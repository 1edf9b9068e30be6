import { createHash } from 'node:crypto'
/** publish as a library: the output folder, the torrent, reproducibility, the file-walking rules. */
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import parseTorrent from 'parse-torrent'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { checkSiteFolder } from '../../../cli/lib/check.js'
import { publishSite, type Manifest } from '../../../cli/lib/publish.js'
import { readTorrentFile } from '../../../cli/lib/torrent.js'
import { DEFAULT_PAD_POLICY, planLayout } from '../../../cli/lib/layout.js'
import { walkSite } from '../../../cli/lib/walk.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})
async function temp (): Promise<string> {
  const t = await makeTempDir('peersite-cli-')
  temps.push(t)
  return t.path
}

const HELLO_FILES = [
  '.well-known/security.txt',
  '404.html',
  'about.html',
  'app.js',
  'docs/guide/index.html',
  'fonts/OPEN-SANS-LICENSE.txt',
  'fonts/README.txt',
  'fonts/open-sans-regular.woff2',
  'index.html',
  'logo.png',
  'style.css'
]

describe('publishSite', () => {
  it('writes site.torrent, peersite.json and the loader for examples/hello', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await makeLoaderDir(dir)
    const result = await publishSite({ dir: site, trackers: ['ws://127.0.0.1:9/'], loaderDir })

    expect(result.out).toBe(`${site}-peersite`)
    expect((await readdir(result.out)).sort()).toEqual(['404.html', 'index.html', 'peersite-later.js', 'peersite.js', 'peersite.json', 'site.torrent', 'sw.js'])
    // sw.js: the loader's, with the SHA-256 of the files the worker caches built in (worker/verify.ts readPins)
    const sw = await readFile(join(result.out, 'sw.js'), 'utf8')
    const [pinsLine, rest] = [sw.slice(0, sw.indexOf('\n') + 1), sw.slice(sw.indexOf('\n') + 1)]
    expect(rest).toBe('/* fake sw.js */\n')
    const pins = JSON.parse(/^self\.PEERSITE_PINS=(.*);\n$/.exec(pinsLine)?.[1] ?? 'null') as Record<string, string>
    expect(Object.keys(pins).sort()).toEqual(['index.html', 'peersite-later.js', 'peersite.js', 'peersite.json', 'site.torrent'])
    for (const name of Object.keys(pins)) {
      expect(pins[name], name).toBe(createHash('sha256').update(await readFile(join(result.out, name))).digest('hex').slice(0, 32))
    }

    const manifest = JSON.parse(await readFile(join(result.out, 'peersite.json'), 'utf8')) as Manifest
    expect(manifest.version).toBe(1)
    expect(manifest.infoHash).toMatch(/^[0-9a-f]{40}$/)
    expect(manifest.name).toBe('hello')
    expect(manifest.trackers).toEqual(['ws://127.0.0.1:9/'])
    expect(result.magnetURI).toBe(`magnet:?xt=urn:btih:${manifest.infoHash}&dn=hello&tr=ws%3A%2F%2F127.0.0.1%3A9%2F`)
    expect(manifest).not.toHaveProperty('magnetURI') // built by the problem page, not downloaded by every visitor
    expect(manifest.pieceLength).toBe(16384)
    expect(manifest.files.map((f) => f.path)).toEqual(HELLO_FILES)
    const byPath = new Map(manifest.files.map((f) => [f.path, f]))
    expect(byPath.get('docs/guide/index.html')?.type).toBe('text/html')
    expect(byPath.get('style.css')?.type).toBe('text/css')
    expect(byPath.get('app.js')?.type).toBe('text/javascript')
    expect(byPath.get('logo.png')?.type).toBe('image/png')
    expect(byPath.get('fonts/open-sans-regular.woff2')?.type).toBe('font/woff2')
    expect(byPath.get('logo.png')?.length).toBe((await readFile(join(site, 'logo.png'))).length)
    // BEP 47 pad files make the torrent longer than its files: the layout publish planned (cli/lib/layout.ts).
    expect(manifest.length).toBe(planLayout(manifest.files.map((f) => f.length), manifest.pieceLength, DEFAULT_PAD_POLICY, manifest.files.map((f) => f.path)).length)
    expect(result.metainfo.files.map((f) => f.offset)).toEqual(planLayout(manifest.files.map((f) => f.length), manifest.pieceLength, DEFAULT_PAD_POLICY, manifest.files.map((f) => f.path)).offsets)

    // The torrent as any BitTorrent tool sees it.
    const torrentBytes = await readFile(join(result.out, 'site.torrent'))
    const parsed = await parseTorrent(torrentBytes) as unknown as {
      infoHash: string, name: string, announce: string[], pieceLength: number, files: Array<{ path: string, length: number }>, private?: boolean
    }
    // A client without BEP 47 sees the pad files as files under .pad/ ("the recommended path").
    const pads = parsed.files.filter((f) => f.path.startsWith(join('hello', '.pad') + '/'))
    parsed.files = parsed.files.filter((f) => !pads.includes(f))
    expect(pads.every((f) => f.path === join('hello', '.pad', String(f.length)))).toBe(true)
    expect(parsed.infoHash).toBe(manifest.infoHash)
    expect(parsed.name).toBe('hello')
    expect(parsed.announce).toEqual(['ws://127.0.0.1:9/'])
    expect(parsed.pieceLength).toBe(16384)
    expect(parsed.files.map((f) => f.path)).toEqual(HELLO_FILES.map((p) => join('hello', p)))
    expect(parsed.private).toBeUndefined()

    // The dotfile rule: .well-known kept; .hidden, .git/ and docs/.DS_Store (present in the copy) skipped.
    await expect(readFile(join(site, '.hidden'), 'utf8')).resolves.toContain('must not be published')
    await expect(readFile(join(site, '.git', 'config'), 'utf8')).resolves.toContain('[core]')
    expect(manifest.files.filter((f) => f.path.split('/').some((part) => part.startsWith('.')))).toEqual([
      { path: '.well-known/security.txt', length: 95, type: 'text/plain' }
    ])

    // What the seeder gets matches the file.
    const back = await readTorrentFile(join(result.out, 'site.torrent'))
    expect(back.metainfo.infoHash).toBe(result.metainfo.infoHash)
    expect(back.metainfo.multiFile).toBe(true)
    expect(await checkSiteFolder(result.metainfo, site)).toEqual([])
  })

  it('ships the plain loader script and worker to a site without _redirects rules, --spa, a sectioned index or web seeds, the full ones otherwise', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await makeLoaderDir(dir)
    for (const name of ['peersite-plain.js', 'sw-plain.js']) await writeFile(join(loaderDir, name), `/* fake ${name} */\n`)
    const loaderOf = async (out: string): Promise<[string, string]> => {
      const sw = await readFile(join(out, 'sw.js'), 'utf8')
      return [await readFile(join(out, 'peersite.js'), 'utf8'), sw.slice(sw.indexOf('\n') + 1)]
    }
    const plain = await publishSite({ dir: site, out: join(dir, 'plain'), trackers: ['ws://127.0.0.1:9/'], loaderDir })
    expect(await loaderOf(plain.out)).toEqual(['/* fake peersite-plain.js */\n', '/* fake sw-plain.js */\n'])
    const spa = await publishSite({ dir: site, out: join(dir, 'spa'), trackers: ['ws://127.0.0.1:9/'], loaderDir, spa: true })
    expect(await loaderOf(spa.out)).toEqual(['/* fake peersite.js */\n', '/* fake sw.js */\n'])
    await writeFile(join(loaderDir, 'peersite-webseed.js'), '/* fake peersite-webseed.js */\n')
    const seeded = await publishSite({ dir: site, out: join(dir, 'seeded'), trackers: ['ws://127.0.0.1:9/'], loaderDir, webSeeds: ['https://example.com/hello/'] })
    expect(await loaderOf(seeded.out)).toEqual(['/* fake peersite.js */\n', '/* fake sw.js */\n'])
    await writeFile(join(site, '_redirects'), '/old /about.html 301\n')
    const rules = await publishSite({ dir: site, out: join(dir, 'rules'), trackers: ['ws://127.0.0.1:9/'], loaderDir })
    expect(await loaderOf(rules.out)).toEqual(['/* fake peersite.js */\n', '/* fake sw.js */\n'])
  })

  it('gives the same infohash and the same site.torrent when the same folder is published twice', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await makeLoaderDir(dir)
    const first = await publishSite({ dir: site, trackers: [], loaderDir })
    const torrent1 = await readFile(join(first.out, 'site.torrent'))
    const second = await publishSite({ dir: site, trackers: [], loaderDir })
    expect(second.infoHash).toBe(first.infoHash)
    expect(await readFile(join(second.out, 'site.torrent'))).toEqual(torrent1)
    // A copy elsewhere with the same name and bytes: same infohash (mtimes and paths are not part of the info dict).
    const elsewhere = await copyHello(await temp())
    const third = await publishSite({ dir: elsewhere, trackers: ['wss://tracker.example.org'], loaderDir })
    expect(third.infoHash).toBe(first.infoHash)
  })

  it('honours --out and --piece-length, and replaces a previous output', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const loaderDir = await makeLoaderDir(dir)
    const out = join(dir, 'public')
    const a = await publishSite({ dir: site, out, trackers: [], loaderDir, pieceLength: 65536 })
    expect(a.metainfo.pieceLength).toBe(65536)
    // A file added to the output since (a CNAME) is not the earlier publish's: carried over, and reported.
    await writeFile(join(out, 'CNAME'), 'example.org')
    const b = await publishSite({ dir: site, out, trackers: [], loaderDir })
    expect(b.metainfo.pieceLength).toBe(16384)
    expect(b.infoHash).not.toBe(a.infoHash)
    expect(b.kept).toEqual(['CNAME'])
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('example.org')
    // No temporary siblings are left behind.
    expect((await readdir(dir)).sort()).toEqual(['hello', 'loader', 'public'])
  })

  it('makes a multi-file torrent even for a one-file site', async () => {
    const dir = await temp()
    const site = join(dir, 'tiny')
    await mkdir(site)
    await writeFile(join(site, 'index.html'), '<h1>tiny</h1>')
    const result = await publishSite({ dir: site, trackers: [], loaderDir: await makeLoaderDir(dir) })
    expect(result.metainfo.multiFile).toBe(true)
    expect(result.metainfo.name).toBe('tiny')
    expect(result.metainfo.files.map((f) => f.path)).toEqual(['index.html'])
    const parsed = await parseTorrent(await readFile(join(result.out, 'site.torrent'))) as unknown as { infoHash: string, files: Array<{ path: string }> }
    expect(parsed.infoHash).toBe(result.infoHash)
    expect(parsed.files.map((f) => f.path)).toEqual(['tiny/index.html'])
  })

  it('follows symlinks that stay inside the folder', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    await symlink('about.html', join(site, 'about-us.html'))
    await symlink('docs', join(site, 'manual'))
    const listing = await walkSite(site)
    const paths = listing.files.map((f) => f.path)
    expect(paths).toContain('about-us.html')
    expect(paths).toContain('manual/guide/index.html')
    expect(listing.files.find((f) => f.path === 'about-us.html')?.length).toBe(listing.files.find((f) => f.path === 'about.html')?.length)
  })
})

describe('walkSite refuses', () => {
  it('a symlink pointing outside the folder', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    await writeFile(join(dir, 'secret.txt'), 'secret')
    await symlink(join(dir, 'secret.txt'), join(site, 'leak.txt'))
    await expect(walkSite(site)).rejects.toThrow(UsageError)
    await expect(walkSite(site)).rejects.toThrow(/symlink leak\.txt points outside the folder/)
  })

  it('a symlink loop', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    await symlink('..', join(site, 'docs', 'up'))
    await expect(walkSite(site)).rejects.toThrow(/symlink loop at docs\/up/)
  })

  it('a folder with nothing but dotfiles', async () => {
    const dir = await temp()
    await writeFile(join(dir, '.env'), 'X=1')
    await expect(walkSite(dir)).rejects.toThrow(/has no files to publish/)
  })
})

describe('checkSiteFolder', () => {
  it('names the files that no longer match the torrent', async () => {
    const dir = await temp()
    const site = await copyHello(dir)
    const { metainfo } = await publishSite({ dir: site, trackers: [], loaderDir: await makeLoaderDir(dir) })
    const style = await readFile(join(site, 'style.css'), 'utf8')
    await writeFile(join(site, 'style.css'), style.replace('rgb(12, 34, 56)', 'rgb(99, 34, 56)'))
    await writeFile(join(site, 'app.js'), '// shorter')
    const { rm } = await import('node:fs/promises')
    await rm(join(site, 'about.html'))
    const problems = await checkSiteFolder(metainfo, site)
    expect(problems).toContainEqual({ path: 'style.css', reason: 'modified' })
    expect(problems).toContainEqual({ path: 'app.js', reason: 'wrong size' })
    expect(problems).toContainEqual({ path: 'about.html', reason: 'missing' })
    // Files whose pieces all still verify (or fail only because of a missing or resized neighbour) are not blamed.
    expect(problems.map((p) => p.path)).not.toContain('404.html')
    expect(problems.map((p) => p.path)).not.toContain('.well-known/security.txt')
  })
})

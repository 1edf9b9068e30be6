/**
 * publish's output must not change when its speed does (issue 16): the same folder gives the same infohash, the same
 * peersite.json and the same index sections, byte for byte, as the build before the parallel hasher. The expected
 * digests below were taken from that build (commit ab7c553) on these generated trees; a change to the torrent
 * layout, the manifest or the index format changes them on purpose, and then they are taken again. Taken again for
 * the sectioned index when its sections began to carry their pages' needs (`preload`, issue 16 third round): the
 * sections changed, and with them their hashes in peersite.json; the infohash and examples/hello's output did not.
 * Taken again when peersite.json lost its magnet link (issue 14, size): both manifests changed, nothing else.
 */
import { createHash } from 'node:crypto'
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { publishSite } from '../../../cli/lib/publish.js'
import { INDEX_SCRIPT } from '../../../worker/protocol.js'
import { randomData } from '../../fixtures/make-torrent.js'
import { writeManyFilesSite } from '../../helpers/many-files.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { helloDir, makeLoaderDir } from './helpers.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')

/** Publishes `site` and digests what a visitor trusts: the infohash, peersite.json and each index section. */
async function digest (parent: string, site: string, threads?: number): Promise<{ infoHash: string, manifest: string, sections: string }> {
  const loaderDir = await makeLoaderDir(parent)
  await writeFile(join(loaderDir, INDEX_SCRIPT), '/* fake index */\n')
  const result = await publishSite({ dir: site, out: join(parent, 'out'), trackers: ['ws://127.0.0.1:9/'], loaderDir, ...(threads !== undefined ? { threads } : {}) })
  const manifest = await readFile(join(result.out, 'peersite.json'))
  const sectionDir = join(result.out, 'peersite-index')
  const names = await readdir(sectionDir).catch(() => [] as string[])
  const sections = names.sort().map(async (n) => `${n} ${sha256(await readFile(join(sectionDir, n)))}\n`)
  return { infoHash: result.infoHash, manifest: sha256(manifest), sections: sha256((await Promise.all(sections)).join('')) }
}

describe('publish output is unchanged', () => {
  it('for a site of 1,500 small pages with a big file, an empty one, a symlink and a non-ASCII name (a sectioned index)', async () => {
    const tmp = await makeTempDir('peersite-golden-')
    temps.push(tmp)
    const site = join(tmp.path, 'golden')
    await mkdir(site)
    await writeManyFilesSite(site, 1500)
    await mkdir(join(site, 'media'))
    await writeFile(join(site, 'media', 'big.bin'), randomData(5 * 1024 * 1024 + 333, 7))
    await writeFile(join(site, 'media', 'empty.txt'), '')
    await writeFile(join(site, 'media', 'café.txt'), 'crème brûlée\n')
    await symlink('../index.html', join(site, 'media', 'home.html'))
    const got = await digest(tmp.path, site)
    expect(got).toEqual({
      infoHash: '90c257ada92548191986a50848034469634a8754',
      manifest: 'a97ad9c4ff0e37c2378588667a3c45818b3ca2520310b883383f993fd7aaed27',
      sections: 'b4d72dec669edf28bf6be71d0f50021dc83f5f19a06ba82c73a31293d7653a00'
    })
  })

  it('whether the files are listed, hashed and scanned on threads or on one (the same digests)', async () => {
    const tmp = await makeTempDir('peersite-golden-')
    temps.push(tmp)
    const site = join(tmp.path, 'golden')
    await mkdir(site)
    await writeManyFilesSite(site, 1500)
    await mkdir(join(site, 'js'))
    await writeFile(join(site, 'js', 'app.mjs'), 'import "./dep.mjs"\nconst lazy = "js/later.js"\n')
    await writeFile(join(site, 'js', 'dep.mjs'), 'export const x = 1\n')
    await writeFile(join(site, 'js', 'later.js'), 'void 0\n')
    await writeFile(join(site, 'page.html'), '<link rel=stylesheet href=style.css><script type=module src=js/app.mjs></script>')
    const one = await digest(tmp.path, site, 0)
    expect(await digest(tmp.path, site, 2)).toEqual(one)
    expect(await digest(tmp.path, site, 3)).toEqual(one)
  })

  it('for examples/hello (the file table and the preload table in peersite.json)', async () => {
    const tmp = await makeTempDir('peersite-golden-')
    temps.push(tmp)
    const site = join(tmp.path, 'hello')
    await cp(helloDir, site, { recursive: true })
    const got = await digest(tmp.path, site)
    expect(got).toEqual({
      infoHash: '63c5249015a42f0bfe5ecd81badd14798cf079ef',
      manifest: '18bfc96d4cec8df1b63d8941445214b3adbd3295d715987e216f4cf8ce160987',
      sections: sha256('')
    })
  })
})

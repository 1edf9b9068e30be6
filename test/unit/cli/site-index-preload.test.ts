/**
 * The page-needs table of a site with a sectioned index (issue 16, third round): publish writes each HTML page's needs
 * into its own section (by path), the worker resolves them by loading the needs' sections and hands the engine their
 * byte ranges with their piece hashes, and the engine raises them within the caps of any table (loader/preload.ts).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishSite, type PublishResult } from '../../../cli/lib/publish.js'
import { finishSiteIndex, pathBucket, planSiteIndex } from '../../../cli/lib/site-index.js'
import { LIKELY_MAX_BYTES, PRELOAD_MAX_FILES, PRELOAD_PRIORITY_TOP } from '../../../engine/constants.js'
import type { Torrent } from '../../../engine/torrent.js'
import { isLazy, lazyMetainfo } from '../../../loader/lazy-metainfo.js'
import { PageHints } from '../../../loader/preload.js'
import '../../../worker/index-script.js'
import { INDEX_SCRIPT, type PreloadRange, type SiteManifest } from '../../../worker/protocol.js'
import { bucketOf, parseSection, sectionPath } from '../../../worker/site-index.js'
import { createSite, resolveLazily } from '../../../worker/site.js'
import { pinOf } from '../../../worker/verify.js'
import { writeManyFilesSite, type ManyFilesSite } from '../../helpers/many-files.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { makeLoaderDir } from './helpers.js'

describe('a sectioned index carries its pages\' needs', () => {
  let tmp: TempDir
  let site: ManyFilesSite
  let indexed: PublishResult
  let manifest: SiteManifest
  let loaderDir: string

  beforeAll(async () => {
    tmp = await makeTempDir('peersite-index-preload-')
    const dir = join(tmp.path, 'site')
    await mkdir(dir)
    site = await writeManyFilesSite(dir, 300)
    loaderDir = await makeLoaderDir(tmp.path)
    await writeFile(join(loaderDir, INDEX_SCRIPT), '/* fake index script */\n')
    indexed = await publishSite({ dir, trackers: ['ws://127.0.0.1:1'], loaderDir, pieceLength: 16 * 1024, out: join(tmp.path, 'out'), index: true })
    manifest = JSON.parse(await readFile(join(indexed.out, 'peersite.json'), 'utf8')) as SiteManifest
  })

  afterAll(async () => { await tmp?.cleanup() })

  type Group = Array<string | [string, number, number]>
  const sectionOf = async (path: string): Promise<{ files: Array<[string, number, number, string]>, pieces: Array<[number, string]>, preload?: { groups: Group[], pages: number[] } }> => {
    const hash = manifest.index!.sections[bucketOf(path, manifest.index!.sections.length)]!
    return JSON.parse(await readFile(join(indexed.out, sectionPath(hash)), 'utf8'))
  }

  it('publish writes each page\'s needs into the page\'s own section, a small one whole; peersite.json has no table', async () => {
    expect(manifest.preload).toBeUndefined()
    const css = indexed.metainfo.files.find((f) => f.path === 'style.css')!
    const whole: Group = [['style.css', css.offset, css.length]]
    const section = await sectionOf(site.deep.path)
    const at = section.files.findIndex(([path]) => path === site.deep.path)
    expect(at).toBeGreaterThanOrEqual(0)
    const pairs = section.preload!.pages
    const k = pairs.findIndex((v, i) => i % 2 === 0 && v === at)
    expect(section.preload!.groups[pairs[k + 1]!]).toEqual(whole)
    // The stylesheet's piece hash is among the section's own, so no other section is needed for it.
    const cssPiece = Math.floor(css.offset / indexed.metainfo.pieceLength)
    expect(section.pieces.some(([first, b64]) => first <= cssPiece && cssPiece < first + Buffer.from(b64, 'base64').length / 20)).toBe(true)
    // Every page of the site (all link /style.css) is in its section's table, and nothing else is.
    let pages = 0
    for (const hash of manifest.index!.sections) {
      const s = JSON.parse(await readFile(join(indexed.out, sectionPath(hash)), 'utf8')) as Awaited<ReturnType<typeof sectionOf>>
      for (let i = 0; i < (s.preload?.pages.length ?? 0); i += 2) {
        expect(s.files[s.preload!.pages[i]!]![0]).toMatch(/\.html$/)
        expect(s.preload!.groups[s.preload!.pages[i + 1]!]).toEqual(whole)
        pages++
      }
    }
    expect(pages).toBe(site.files - 2) // all but style.css and 404.html
  })

  it('the worker has a page\'s needs with the page\'s section: ranges and piece hashes, no other section fetched', async () => {
    const fetched: string[] = []
    const s = createSite(manifest, async (hash) => {
      fetched.push(hash)
      return new Uint8Array(await readFile(join(indexed.out, sectionPath(hash))))
    })
    await resolveLazily(s, site.deep.path, new URL(`https://host.example/${site.deep.path}`))
    const posted: unknown[] = []
    await s.index!.preload('style.css', (msg) => posted.push(msg))
    expect(posted).toEqual([])
    await s.index!.preload(site.deep.path, (msg) => posted.push(msg))
    expect(posted).toMatchObject([{ type: 'preload', page: site.deep.path, likely: [] }])
    expect(await s.index!.namedNeeds(site.deep.path)).toBeUndefined()
    const found = s.index!.givenNeeds(site.deep.path)
    const css = indexed.metainfo.files.find((f) => f.path === 'style.css')!
    const { pieceLength, pieceHashes } = indexed.metainfo
    const first = Math.floor(css.offset / pieceLength)
    const last = Math.floor((css.offset + css.length - 1) / pieceLength)
    expect(found!.needs.map((r) => ({ offset: r.offset, length: r.length, hashes: new Uint8Array(r.hashes) })))
      .toEqual([{ offset: css.offset, length: css.length, hashes: pieceHashes.slice(first * 20, (last + 1) * 20) }])
    expect(found!.likely).toEqual([])
    const buckets = manifest.index!.sections.length
    expect(fetched).toEqual([manifest.index!.sections[bucketOf(site.deep.path, buckets)]])
  })

  it('a need named by path (a big file) is resolved by loading its own section', async () => {
    // Published with a piece length that makes the stylesheet span more pieces than a section carries whole.
    const dir = join(tmp.path, 'big-css')
    await mkdir(dir)
    const small = await writeManyFilesSite(dir, 40)
    await writeFile(join(dir, 'style.css'), `body{margin:0}\n/*${'x'.repeat(20_000)}*/\n`)
    const out = await publishSite({ dir, trackers: ['ws://127.0.0.1:1'], loaderDir, pieceLength: 1024, out: join(tmp.path, 'big-out'), index: true })
    const m = JSON.parse(await readFile(join(out.out, 'peersite.json'), 'utf8')) as SiteManifest
    const fetched: string[] = []
    const s = createSite(m, async (hash) => {
      fetched.push(hash)
      return new Uint8Array(await readFile(join(out.out, sectionPath(hash))))
    })
    await resolveLazily(s, small.deep.path, new URL(`https://host.example/${small.deep.path}`))
    expect(s.index!.givenNeeds(small.deep.path)).toEqual({ needs: [], likely: [] })
    const named = await s.index!.namedNeeds(small.deep.path)
    const css = out.metainfo.files.find((f) => f.path === 'style.css')!
    expect(named!.needs.map((r) => [r.offset, r.length, r.hashes.byteLength])).toEqual([[css.offset, css.length, 20 * (Math.floor((css.offset + css.length - 1) / 1024) - Math.floor(css.offset / 1024) + 1)]])
    const buckets = m.index!.sections.length
    expect(new Set(fetched)).toEqual(new Set([small.deep.path, 'style.css'].map((p) => m.index!.sections[bucketOf(p, buckets)])))
  })

  it('a crafted section\'s needs are read leniently and capped: unsafe paths and bad pairs dropped', async () => {
    const hash20 = btoa(String.fromCharCode(...new Uint8Array(20).fill(7)))
    const many = Array.from({ length: PRELOAD_MAX_FILES + 10 }, (_, i) => `x/${i}.js`)
    const section = {
      version: 1, bucket: 0, files: [['a.html', 0, 100, 'text/html'], ['b.html', 100, 100, 'text/html']], dirs: [], pieces: [[0, hash20]],
      preload: {
        groups: [['../../etc/passwd', 'ok.css', '/abs', 5, ['w.css', 10, 20], ['far.css', 5000, 10], ['out.css', 10 * 1024 - 5, 10], ['../x', 0, 10]], many, 'not a group'],
        pages: [0, 0, 1, 1, 7, 0, 0, 2, 'x', 0]
      }
    }
    const bytes = new TextEncoder().encode(JSON.stringify(section))
    const parsed = await parseSection(bytes, { bucket: 0, buckets: 1, pieceLength: 1024, length: 10 * 1024, hash: await pinOf(bytes) })
    // Given whole only inside the torrent and with its pieces hashed in the section (piece 0 here).
    expect(parsed.needs.get('a.html')).toEqual({ pages: ['ok.css', { path: 'w.css', offset: 10, length: 20 }], likely: [] })
    expect(parsed.needs.get('b.html')!.pages).toEqual(many.slice(0, PRELOAD_MAX_FILES))
    expect(parsed.needs.size).toBe(2)
  })
})

describe('the engine raises the needs the worker sent (PageHints.onRanges)', () => {
  const PIECE = 1000
  const LENGTH = 20 * 1024 * 1024
  function setup (): { hints: PageHints, raised: Array<{ first: number, last: number, priority: number }>, metainfo: ReturnType<typeof lazyMetainfo> } {
    const metainfo = lazyMetainfo({ infoHash: 'ab'.repeat(20), name: 's', pieceLength: PIECE, length: LENGTH })
    const raised: Array<{ first: number, last: number, priority: number }> = []
    const torrent = {
      destroyed: false,
      metainfo,
      prioritize (first: number, last: number, priority: number) { raised.push({ first, last, priority }); return () => {} }
    } as unknown as Torrent
    return { hints: new PageHints(torrent, { files: [] }), raised, metainfo }
  }
  const range = (offset: number, length: number, fill = 9): PreloadRange => {
    const pieces = Math.floor((offset + length - 1) / PIECE) - Math.floor(offset / PIECE) + 1
    return { offset, length, hashes: new Uint8Array(pieces * 20).fill(fill).buffer }
  }

  it('installs the hashes and raises the ranges, the page\'s first tier on top', () => {
    const { hints, raised, metainfo } = setup()
    expect(isLazy(metainfo)).toBe(true)
    expect(hints.onRanges('a.html', [range(2500, 1000, 3)], [range(10_000, 500)])).toBe(true)
    expect(raised.map(({ first, last }) => [first, last])).toEqual([[2, 3], [10, 10]])
    expect(raised[0]!.priority).toBe(PRELOAD_PRIORITY_TOP)
    expect(raised[1]!.priority).toBeLessThan(raised[0]!.priority)
    expect(metainfo.pieceHashes.slice(2 * 20, 4 * 20)).toEqual(new Uint8Array(40).fill(3))
  })

  it('leaves out ranges outside the torrent and hashes that do not fit them', () => {
    const { hints, raised, metainfo } = setup()
    const bad: PreloadRange[] = [
      range(LENGTH + 2000, 100),
      { offset: 0, length: 5000, hashes: new ArrayBuffer(20) }
    ]
    expect(hints.onRanges('a.html', bad, [])).toBe(true)
    expect(raised).toEqual([])
    expect(metainfo.pieceHashes.every((b) => b === 0)).toBe(true)
  })
})

describe('the worker holds a crafted section\'s needs to the caps of a table (LazyIndex.preload)', () => {
  it('at most LIKELY_MAX_BYTES per tier, over both parts', async () => {
    const MiB = 1024 * 1024
    const hashes = btoa(String.fromCharCode(...new Uint8Array(20 * 20).fill(7)))
    const section = {
      version: 1, bucket: 0, files: [['a.html', 0, 100, 'text/html']], dirs: [], pieces: [[0, hashes]],
      preload: { groups: [[['big1.js', 0, 5 * MiB], ['big2.js', 5 * MiB, 2 * MiB], ['s.css', 7 * MiB, 10]]], pages: [0, 0] }
    }
    const bytes = new TextEncoder().encode(JSON.stringify(section))
    const { LazyIndex } = await import('../../../worker/site-index.js')
    const index = new LazyIndex({ version: 1, sections: [await pinOf(bytes)], files: 1 }, { infoHash: 'ab'.repeat(20), pieceLength: MiB, length: 20 * MiB }, async () => bytes)
    await index.load(0)
    const posted: Array<{ needs: readonly PreloadRange[] }> = []
    await index.preload('a.html', (msg) => posted.push(msg))
    expect(posted.map((m) => m.needs.map((r) => [r.offset, r.length]))).toEqual([[[0, 5 * MiB]]])
    expect(LIKELY_MAX_BYTES).toBeLessThan(7 * MiB)
  })
})

describe('finishSiteIndex places each page\'s needs', () => {
  it('the same whether its plan records where each file went or the pages are found by path (a plan of another table)', () => {
    // Pages 0-39 need style.css (40): a small need, written whole.
    const files = Array.from({ length: 41 }, (_, i) => ({ path: i === 40 ? 'style.css' : `p/${i}.html`, offset: i * 100, length: 100 }))
    const table = { groups: [[40]], pages: Array.from({ length: 40 }, (_, i) => [i, 0]).flat() }
    const hashes = new Uint8Array(Math.ceil(4100 / 1024) * 20)
    const typeOf = (): string => 'text/html'
    type Plan = ReturnType<typeof planSiteIndex>
    const finish = (plan: Plan): string[] => finishSiteIndex(plan, hashes, { table, files, pieceLength: 1024 }).sections.map((s) => Buffer.from(s.bytes).toString())
    /** [page path, its needs] as the sections say. */
    const placed = (plan: Plan): Array<[string, unknown]> => finish(plan).flatMap((text) => {
      const section = JSON.parse(text) as { files: Array<[string]>, preload?: { groups: unknown[], pages: number[] } }
      const pages = section.preload?.pages ?? []
      return Array.from({ length: pages.length / 2 }, (_, k) => [section.files[pages[2 * k]!]![0], section.preload!.groups[pages[2 * k + 1]!]] as [string, unknown])
    }).sort()
    const plan = planSiteIndex(files, 1024, typeOf)
    expect(placed(plan)).toEqual(files.slice(0, 40).map((f) => [f.path, [['style.css', 4000, 100]]]).sort())
    // Without the plan's record, by path: the same sections, byte for byte.
    expect(finish({ ...plan, bucketOf: new Int32Array(0), positionOf: new Int32Array(0) })).toEqual(finish(plan))
    // A plan laid out from the files in another order records other indexes: its pages are found by path.
    expect(placed(planSiteIndex([...files].reverse(), 1024, typeOf))).toEqual(placed(plan))
  })
})

describe('publish\'s path bucket', () => {
  it('is the worker\'s bucketOf, ASCII or not', () => {
    for (const count of [1, 7, 157, 1000]) {
      for (const path of ['index.html', 'posts/2009/02/page-1234.html', 'café/menu.html', 'docs/é', 'emoji-😀.txt', 'a\u007fb', 'x\u0080y', '']) {
        expect(pathBucket(path, count), `${path} of ${count}`).toBe(bucketOf(path, count))
      }
    }
  })
})

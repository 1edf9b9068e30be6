/**
 * publish's own piece hasher (cli/lib/torrent.ts) against create-torrent as an oracle for the unpadded layout, and
 * the BEP 47 layouts (cli/lib/layout.ts): pad files where planned, piece hashes of the zero-padded stream, and the
 * point of padding: an unchanged file keeps its piece hashes when a file before it changes size.
 */
import { createHash } from 'node:crypto'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import createTorrent from 'create-torrent'
import { afterEach, describe, expect, it } from 'vitest'
import { parseInfoDictionary, pieceHash } from '../../../engine/metainfo/index.js'
import { bdecode, isDict } from '../../../engine/util/bencode.js'
import { planLayout, type PadPolicy } from '../../../cli/lib/layout.js'
import { SubresourceRefs } from '../../../cli/lib/subresources.js'
import { buildTorrent, infoBytesOf } from '../../../cli/lib/torrent.js'
import { walkSite } from '../../../cli/lib/walk.js'
import { randomData } from '../../fixtures/make-torrent.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const PL = 16384
const temps: TempDir[] = []
afterEach(async () => { while (temps.length > 0) await temps.pop()!.cleanup() })

async function site (files: Record<string, Uint8Array>): Promise<string> {
  const dir = await makeTempDir('peersite-builder-')
  temps.push(dir)
  const root = join(dir.path, 'site')
  for (const [path, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), data)
  }
  return root
}

const FILES: Record<string, Uint8Array> = {
  'index.html': randomData(3000, 1),
  'app.js': randomData(20_000, 2),
  'css/site.css': randomData(900, 3),
  'empty.txt': new Uint8Array(0),
  'media/big.bin': randomData(3 * PL + 77, 4),
  'z.txt': randomData(15_000, 5)
}

async function build (root: string, padPolicy: PadPolicy, pieceLength = PL, threads?: number): Promise<Awaited<ReturnType<typeof buildTorrent>>> {
  return await buildTorrent(await walkSite(root), { name: 'site', pieceLength, trackers: ['ws://127.0.0.1:9/'], createdBy: 'test', padPolicy, ...(threads !== undefined ? { threads } : {}) })
}

describe('publish torrent builder', () => {
  it('makes, unpadded, the info dictionary create-torrent makes (same bytes, same infohash)', async () => {
    const root = await site(FILES)
    const listing = await walkSite(root)
    const ours = await build(root, 'none')
    const theirs = await new Promise<Uint8Array>((resolve, reject) => {
      // Streams with a fullPath, as publish fed create-torrent before it had its own hasher (an empty file is a
      // stream of no chunks: create-torrent 6.1.3 hashes an empty chunk wrongly).
      createTorrent(listing.files.map((f) => Object.assign(Readable.from(FILES[f.path]!.length === 0 ? [] : [Buffer.from(FILES[f.path]!)]), { fullPath: `site/${f.path}` })) as never,
        { name: 'site', pieceLength: PL, announceList: [['ws://127.0.0.1:9/']], filterJunkFiles: false } as never,
        (err: Error | null, buf: Uint8Array) => { if (err !== null) reject(err); else resolve(buf) })
    })
    expect(Buffer.from(infoBytesOf(ours.torrent)).equals(Buffer.from(infoBytesOf(theirs)))).toBe(true)
  })

  for (const policy of ['all', 'crossing', 'anchored'] as const) {
    it(`pads with BEP 47 pad files where the '${policy}' layout says, hashing zeros`, async () => {
      const root = await site(FILES)
      const listing = await walkSite(root)
      const { torrent, metainfo } = await build(root, policy)
      const layout = planLayout(listing.files.map((f) => f.length), PL, policy, listing.files.map((f) => f.path))
      expect(layout.padding).toBeGreaterThan(0)
      expect(metainfo.files.map((f) => f.offset)).toEqual(layout.offsets)
      expect(metainfo.length).toBe(layout.length)
      // The file list as any client reads it: pad entries carry attr "p" and the recommended path [".pad", "N"].
      const info = bdecode(infoBytesOf(torrent))
      if (!isDict(info) || !Array.isArray(info.files)) throw new Error('no files')
      const dec = new TextDecoder()
      const pads = info.files.filter((f) => isDict(f) && f.attr !== undefined).map((f) => {
        const e = f as Record<string, unknown>
        return { attr: dec.decode(e.attr as Uint8Array), length: e.length, path: (e.path as Uint8Array[]).map((p) => dec.decode(p)) }
      })
      expect(pads.length).toBe(metainfo.tailPadding?.size)
      for (const p of pads) expect(p).toEqual({ attr: 'p', length: p.length, path: ['.pad', String(p.length)] })
      // Every piece hash is the SHA-1 of the files laid out with zeros in the gaps.
      const stream = new Uint8Array(layout.length)
      listing.files.forEach((f, i) => stream.set(FILES[f.path]!, layout.offsets[i]))
      for (let i = 0; i < metainfo.pieceCount; i++) {
        const want = createHash('sha1').update(stream.subarray(i * PL, (i + 1) * PL)).digest()
        expect(Buffer.from(pieceHash(metainfo, i)).equals(want), `piece ${i}`).toBe(true)
      }
    })
  }

  it('returns the Metainfo that parsing its own info dictionary gives, in every layout (it is not decoded back)', async () => {
    const root = await site(FILES)
    for (const policy of ['none', 'all', 'crossing', 'anchored'] as const) {
      const { torrent, metainfo } = await build(root, policy)
      expect(metainfo, policy).toEqual(await parseInfoDictionary(infoBytesOf(torrent)))
    }
  })

  it('hashes on worker threads exactly as on one thread, in every layout (segments cut inside files and between them)', async () => {
    // Pieces of 16 KiB and 8 segments per thread: segments of one piece, so big.bin and app.js are cut across
    // segments; an empty file last sits at the torrent's very end.
    const files: Record<string, Uint8Array> = { ...FILES, 'zzz-empty.txt': new Uint8Array(0) }
    for (let i = 0; i < 40; i++) files[`pages/p${i}.html`] = randomData(100 + i * 97, 10 + i)
    const root = await site(files)
    for (const policy of ['none', 'all', 'crossing', 'anchored'] as const) {
      const one = await build(root, policy, PL, 0)
      for (const threads of [1, 2, 3]) {
        const many = await build(root, policy, PL, threads)
        expect(Buffer.from(infoBytesOf(many.torrent)).equals(Buffer.from(infoBytesOf(one.torrent))), `${policy}, ${threads} threads`).toBe(true)
        expect(many.metainfo).toEqual(one.metainfo)
      }
    }
  })

  it('lists a folder on threads as on one thread (regular files, a symlinked file and folder, an empty file)', async () => {
    const root = await site({ ...FILES, 'docs/a.html': randomData(10, 1), 'docs/b/c.txt': randomData(20, 2) })
    await symlink('docs', join(root, 'linked'))
    await symlink('../index.html', join(root, 'docs', 'home.html'))
    const one = await walkSite(root, { threads: 0 })
    const many = await walkSite(root, { threads: 2 })
    expect(many.threads?.size).toBe(2)
    const { threads, ...rest } = many
    expect(rest).toEqual(one)
    expect(one.files.map((f) => f.path)).toContain('linked/b/c.txt')
    // The listing's threads hash it, then end.
    const built = await buildTorrent(many, { name: 'site', pieceLength: PL, trackers: [] })
    expect(threads?.closed).toBe(true)
    expect(built.metainfo).toEqual((await buildTorrent(one, { name: 'site', pieceLength: PL, trackers: [], threads: 0 })).metainfo)
  })

  it('scans pages, stylesheets and scripts on worker threads as on one thread (pages cut across segments too)', async () => {
    const enc = (text: string): Uint8Array => new TextEncoder().encode(text)
    const page = (n: number): string => `<!doctype html><link rel=stylesheet href=css/site.css><script type=module src="./app.mjs"></script><script>load("lib/extra.js")</script><p>${'x'.repeat(n)}</p>`
    const root = await site({
      ...FILES,
      'a.html': enc(page(10)),
      // Longer than a piece: the segment that starts it scans it whole, the next one only hashes its end.
      'long.html': enc(page(3 * PL)),
      'b/c.htm': enc('<link rel=preload as=font href=/fonts/f.woff2><style>@import "../css/site.css";</style>'),
      'css/site.css': enc('@import url(base.css); @font-face { src: url("../fonts/f.woff2") }'),
      'css/base.css': enc('p { color: red }'),
      'app.mjs': enc('import { x } from "./lib/x.js"\nexport * from "./lib/y.js"\nconst u = "workers/w.js"'),
      'big.html': randomData(70_000, 3)
    })
    const scanned = async (threads: number): Promise<Record<string, unknown>> => {
      const refs = new SubresourceRefs()
      await buildTorrent(await walkSite(root), { name: 'site', pieceLength: PL, trackers: [], threads, scan: refs })
      const sorted = (m: ReadonlyMap<string, unknown>): Array<[string, unknown]> => [...m].sort(([a], [b]) => (a < b ? -1 : 1))
      return { html: sorted(refs.html), css: sorted(refs.css), module: sorted(refs.module), literals: sorted(refs.literals) }
    }
    const one = await scanned(0)
    // Every page, stylesheet and script was scanned (app.js is random bytes, index.html too), with what they name.
    expect((one.html as unknown[]).map((e) => (e as [string])[0])).toEqual(['a.html', 'b/c.htm', 'big.html', 'index.html', 'long.html'])
    expect(one.html).toContainEqual(['a.html', [{ url: 'css/site.css', kind: 'css' }, { url: './app.mjs', kind: 'module' }]])
    expect(one.css).toContainEqual(['css/site.css', [{ url: 'base.css', kind: 'css' }, { url: '../fonts/f.woff2', kind: 'other' }]])
    expect(one.module).toContainEqual(['app.mjs', [{ url: './lib/x.js', kind: 'module' }, { url: './lib/y.js', kind: 'module' }]])
    expect(one.literals).toContainEqual(['long.html', ['lib/extra.js']])
    for (const threads of [1, 2, 3]) expect(await scanned(threads), `${threads} threads`).toEqual(one)
  })

  it('keeps the piece hashes of an unchanged file when a file before it grows, padded; not unpadded', async () => {
    const before = await site(FILES)
    const after = await site({ ...FILES, 'app.js': randomData(20_123, 9) })
    const shared = async (policy: PadPolicy): Promise<number> => {
      const a = (await build(before, policy)).metainfo
      const b = (await build(after, policy)).metainfo
      const file = b.files.find((f) => f.path === 'media/big.bin')!
      const old = new Set(Array.from({ length: a.pieceCount }, (_, i) => Buffer.from(pieceHash(a, i)).toString('hex')))
      let kept = 0
      for (let i = Math.floor(file.offset / PL); i < Math.floor((file.offset + file.length) / PL); i++) {
        if (old.has(Buffer.from(pieceHash(b, i)).toString('hex'))) kept++
      }
      return kept
    }
    expect(await shared('crossing')).toBe(3) // its three whole pieces (the tail piece also holds z.txt's start or not)
    expect(await shared('none')).toBe(0)
  })

  it('refuses a file that changed size since the folder was listed', async () => {
    const root = await site(FILES)
    const listing = await walkSite(root)
    await writeFile(join(root, 'z.txt'), randomData(15_001, 5))
    await expect(buildTorrent(listing, { name: 'site', pieceLength: PL, trackers: [] })).rejects.toThrow(/z.txt changed while it was being hashed/)
  })
})

describe('piece layouts', () => {
  it("'anchored' keeps a run of small files in step after an earlier small file grows, where 'crossing' drifts", () => {
    // 400 small pages (300 B - 3 KB), one near the start grows by 1 KB: pieces are compared by their files' offsets.
    const paths = Array.from({ length: 400 }, (_, i) => `docs/page-${String(i).padStart(3, '0')}.html`)
    const lengths = paths.map((_, i) => 300 + ((i * 7919) % 2700))
    const grown = lengths.map((n, i) => (i === 5 ? n + 1024 : n))
    const inStep = (policy: PadPolicy): number => {
      const a = planLayout(lengths, PL, policy, paths).offsets
      const b = planLayout(grown, PL, policy, paths).offsets
      // Files after the edit whose offset within its piece, and whose piece's first file, are unchanged.
      let same = 0
      for (let i = 6; i < paths.length; i++) if (a[i]! % PL === b[i]! % PL) same++
      return same / (paths.length - 6)
    }
    expect(inStep('anchored')).toBeGreaterThan(0.9)
    expect(inStep('crossing')).toBeLessThan(inStep('anchored'))
    expect(inStep('none')).toBeLessThan(0.1)
  })

  it("'anchored' needs the paths, and never pads an empty file or one already on a boundary", () => {
    expect(() => planLayout([1, 2], PL, 'anchored')).toThrow(RangeError)
    const l = planLayout([PL, 0, PL], PL, 'anchored', ['a', 'b', 'c'])
    expect(l).toEqual({ offsets: [0, PL, PL], length: 2 * PL, padding: 0 })
  })
})

describe('publish torrent builder and files that change', () => {
  for (const threads of [0, 2]) {
    it(`refuses a file that grew or shrank since the folder was listed, small or larger than a read (${threads} threads)`, async () => {
      for (const [name, before, after] of [['empty.txt', 0, 1], ['small.txt', 100, 101], ['small2.txt', 100, 99], ['big.bin', 5 * 1024 * 1024, 5 * 1024 * 1024 + 1], ['big2.bin', 5 * 1024 * 1024, 5 * 1024 * 1024 - 1]] as const) {
        const root = await site({ [name]: randomData(before, 1), 'other.txt': randomData(10, 2) })
        const listing = await walkSite(root)
        await writeFile(join(root, name), randomData(after, 3))
        await expect(buildTorrent(listing, { name: 'site', pieceLength: PL, trackers: [], threads }), name).rejects.toThrow(new RegExp(`^${name} changed while it was being hashed`))
      }
    })

    it(`names the first unreadable file in the site's order (${threads} threads)`, async () => {
      const files: Record<string, Uint8Array> = {}
      for (let i = 0; i < 30; i++) files[`p${String(i).padStart(2, '0')}.html`] = randomData(5000, i)
      const root = await site(files)
      const listing = await walkSite(root)
      await rm(join(root, 'p07.html'))
      await rm(join(root, 'p21.html'))
      await expect(buildTorrent(listing, { name: 'site', pieceLength: PL, trackers: [], threads })).rejects.toThrow(/^p07\.html does not exist$/)
    })
  }
})

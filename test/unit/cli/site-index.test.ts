/**
 * The sectioned index of a site with many files (issue 16): publish writes it, the worker resolves requests by
 * loading only the sections they need, every piece hash comes from a section that matches peersite.json, and a crafted
 * section (wrong hash, too large, paths escaping the site or the section, files outside the torrent, pieces
 * without hashes) is refused.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishSite, type PublishResult } from '../../../cli/lib/publish.js'
import { SiteIndexError } from '../../../engine/errors.js'
import { sha1 } from '../../../engine/util/bytes.js'
import { installHashes, isLazy, lazyMetainfo, upgradeMetainfo } from '../../../loader/lazy-metainfo.js'
import '../../../worker/index-script.js'
import { INDEX_SCRIPT, type SiteManifest } from '../../../worker/protocol.js'
import { bucketOf, MAX_SECTION_BYTES, parseSection, sectionPath, type SectionContext } from '../../../worker/site-index.js'
import { createSite, resolveLazily, siteResponse, type Resolution, type Site } from '../../../worker/site.js'
import { pinOf, verifyPiece } from '../../../worker/verify.js'
import { makeLoaderDir } from './helpers.js'
import { writeManyFilesSite, type ManyFilesSite } from '../../helpers/many-files.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const FILES = 300

describe('the sectioned index', () => {
  let tmp: TempDir
  let site: ManyFilesSite
  let indexed: PublishResult
  let plain: PublishResult
  let manifest: SiteManifest
  const fetched: string[] = []

  beforeAll(async () => {
    tmp = await makeTempDir('peersite-index-')
    const dir = join(tmp.path, 'site')
    await mkdir(dir)
    site = await writeManyFilesSite(dir, FILES)
    const loaderDir = await makeLoaderDir(tmp.path)
    await writeFile(join(loaderDir, INDEX_SCRIPT), '/* fake index script */\n')
    const common = { dir, trackers: ['ws://127.0.0.1:1'], loaderDir, pieceLength: 16 * 1024 }
    indexed = await publishSite({ ...common, out: join(tmp.path, 'indexed'), index: true })
    plain = await publishSite({ ...common, out: join(tmp.path, 'plain'), index: false })
    manifest = JSON.parse(await readFile(join(indexed.out, 'peersite.json'), 'utf8')) as SiteManifest
  })

  afterAll(async () => { await tmp?.cleanup() })

  /** The indexed site as the worker builds it, its sections read from the output folder. */
  const open = (): Site => createSite(manifest, async (hash) => {
    fetched.push(hash)
    return new Uint8Array(await readFile(join(indexed.out, sectionPath(hash))))
  })

  it('keeps one torrent: the same infohash with or without an index, every file in it', async () => {
    expect(indexed.infoHash).toBe(plain.infoHash)
    expect(await readFile(join(indexed.out, 'site.torrent'))).toEqual(await readFile(join(plain.out, 'site.torrent')))
    expect(indexed.metainfo.files.length).toBe(site.files)
  })

  it('peersite.json holds the sections\' hashes instead of the file table, and sw.js imports the index code', async () => {
    expect(manifest.files).toEqual([])
    expect(manifest.preload).toBeUndefined()
    expect(manifest.index?.files).toBe(site.files)
    expect(manifest.index!.sections.length).toBeGreaterThan(1)
    expect((await readFile(join(indexed.out, 'sw.js'), 'utf8')).split('\n')[1]).toBe(`importScripts("${INDEX_SCRIPT}");`)
    expect(await readFile(join(plain.out, 'sw.js'), 'utf8')).not.toContain('importScripts')
    // Each section is the file its hash names.
    for (const hash of manifest.index!.sections) expect(await pinOf(await readFile(join(indexed.out, sectionPath(hash))))).toBe(hash)
  })

  it('resolves a deep page by loading its one section, with the file\'s place in the torrent', async () => {
    const s = open()
    fetched.length = 0
    const url = new URL(`https://host.example/${site.deep.path}`)
    const found = await resolveLazily(s, site.deep.path, url)
    expect(found.kind).toBe('file')
    const file = indexed.metainfo.files.find((f) => f.path === site.deep.path)!
    expect(found.kind === 'file' && found.file).toEqual({ path: file.path, offset: file.offset, length: file.length, type: 'text/html' })
    expect(fetched).toEqual([manifest.index!.sections[bucketOf(site.deep.path, manifest.index!.sections.length)]])
    expect(s.index?.loaded).toBe(1)
  })

  it('resolves folders, clean URLs and missing pages as the full table would', async () => {
    const lazy = open()
    const full = createSite({ ...plain.manifest })
    const folder = site.deep.path.slice(0, site.deep.path.lastIndexOf('/'))
    for (const rel of [folder, `${folder}/`, site.deep.path.replace(/\.html$/, ''), 'no/such/page', '', 'style.css']) {
      const url = new URL(`https://host.example/${rel}`)
      const plainly = (r: Resolution): unknown => r.kind === 'file' ? { kind: r.kind, path: r.file.path, length: r.file.length, type: r.file.type, status: r.status } : r
      expect(plainly(await resolveLazily(lazy, rel, url)), rel).toEqual(plainly(await resolveLazily(full, rel, url)))
    }
    // A missing page loaded the 404 page's section too: siteResponse finds it.
    const res = await siteResponse(new Request('https://host.example/no/such/page', { method: 'HEAD' }), new URL('https://host.example/no/such/page'), 'no/such/page', lazy, async () => { throw new Error('no body') })
    expect(res.status).toBe(404)
  })

  it('verifies pieces against the loaded sections\' hashes only', async () => {
    const s = open()
    await resolveLazily(s, site.deep.path, new URL(`https://host.example/${site.deep.path}`))
    const table = s.index!.table
    const data = new Uint8Array(await readFile(join(tmp.path, 'site', site.deep.path)))
    const file = indexed.metainfo.files.find((f) => f.path === site.deep.path)!
    const index = Math.floor(file.offset / table.pieceLength)
    // The piece's bytes, rebuilt from the files it holds.
    const piece = new Uint8Array(Math.min(table.pieceLength, table.length - index * table.pieceLength))
    for (const f of indexed.metainfo.files) {
      const from = Math.max(f.offset, index * table.pieceLength)
      const to = Math.min(f.offset + f.length, index * table.pieceLength + piece.length)
      if (from >= to) continue
      const bytes = f.path === file.path ? data : new Uint8Array(await readFile(join(tmp.path, 'site', f.path)))
      piece.set(bytes.subarray(from - f.offset, to - f.offset), from - index * table.pieceLength)
    }
    expect(await verifyPiece(table, index, piece)).toBe(true)
    piece[0] = piece[0]! ^ 1
    expect(await verifyPiece(table, index, piece)).toBe(false)
    // A piece whose section is not loaded is never verified, even with the right bytes.
    const other = Array.from({ length: table.pieceCount }, (_, i) => i).find((i) => !s.index!.known(i))
    expect(other).toBeDefined()
    const bytes = new Uint8Array(table.pieceLength).fill(3)
    table.hashes.set(await sha1(bytes), other! * 20)
    expect(await verifyPiece(table, other!, bytes)).toBe(false)
  })

  it('answers 503 and serves nothing when a section does not match peersite.json', async () => {
    const s = createSite(manifest, async (hash) => {
      const bytes = new Uint8Array(await readFile(join(indexed.out, sectionPath(hash))))
      bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1
      return bytes
    })
    let opened = false
    const url = new URL(`https://host.example/${site.deep.path}`)
    const res = await siteResponse(new Request(url), url, site.deep.path, s, async () => { opened = true; return new ReadableStream() })
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('does not match peersite.json')
    expect(opened).toBe(false)
    await expect(resolveLazily(s, site.deep.path, url)).rejects.toBeInstanceOf(SiteIndexError)
  })
})

describe('a crafted section is refused', () => {
  const PIECE = 1024
  const LENGTH = 10 * PIECE
  const HASH20 = btoa(String.fromCharCode(...new Uint8Array(20).fill(7)))

  async function check (section: unknown, ctx: Partial<SectionContext> = {}): Promise<unknown> {
    const bytes = new TextEncoder().encode(typeof section === 'string' ? section : JSON.stringify(section))
    return await parseSection(bytes, { bucket: 0, buckets: 1, pieceLength: PIECE, length: LENGTH, hash: await pinOf(bytes), ...ctx })
  }
  const good = { version: 1, bucket: 0, files: [['a/b.html', 0, 100, 'text/html']], dirs: ['a'], pieces: [[0, HASH20]] }

  it('accepts a well-formed one', async () => {
    expect(await check(good)).toMatchObject({ bucket: 0, files: [{ path: 'a/b.html', offset: 0, length: 100, type: 'text/html' }], dirs: ['a'] })
  })

  it('with the wrong hash', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(good))
    await expect(parseSection(bytes, { bucket: 0, buckets: 1, pieceLength: PIECE, length: LENGTH, hash: '0'.repeat(32) })).rejects.toThrow(/does not match peersite.json/)
  })

  it('too large, before hashing it', async () => {
    const bytes = new Uint8Array(MAX_SECTION_BYTES + 1)
    await expect(parseSection(bytes, { bucket: 0, buckets: 1, pieceLength: PIECE, length: LENGTH, hash: await pinOf(bytes) })).rejects.toThrow(/too large/)
  })

  it('with paths that escape the site', async () => {
    for (const path of ['../etc/passwd', 'a/../../b', './a', 'a//b', '/abs', 'a\\..\\b', 'a\0b', '', 'x'.repeat(5000)]) {
      await expect(check({ ...good, files: [[path, 0, 100, 'text/html']] }), JSON.stringify(path)).rejects.toThrow(SiteIndexError)
    }
    await expect(check({ ...good, dirs: ['..'] })).rejects.toThrow(/bad folder/)
  })

  it('with a path of another section, or claiming another bucket', async () => {
    const buckets = 7
    const path = 'a/b.html'
    const other = (bucketOf(path, buckets) + 1) % buckets
    await expect(check({ ...good, bucket: other }, { bucket: other, buckets })).rejects.toThrow(/bad path/)
    await expect(check({ ...good, bucket: 1 })).rejects.toThrow(/malformed/)
  })

  it('with a file outside the torrent, a piece without its hash, a bad type, bad piece runs', async () => {
    await expect(check({ ...good, files: [['a/b.html', LENGTH - 10, 100, 'text/html']], pieces: [[9, HASH20]] })).rejects.toThrow(/outside the torrent/)
    await expect(check({ ...good, files: [['a/b.html', PIECE - 10, 100, 'text/html']] })).rejects.toThrow(/no hash for piece 1/)
    await expect(check({ ...good, files: [['a/b.html', 0, 100, 'text/html\r\nSet-Cookie: x=1']] })).rejects.toThrow(/bad type/)
    await expect(check({ ...good, pieces: [[9, HASH20 + HASH20]] })).rejects.toThrow(/bad piece run/)
    await expect(check({ ...good, pieces: [[0, 'not base64!']] })).rejects.toThrow(/bad piece run/)
    await expect(check({ ...good, pieces: [[0, btoa('short')]] })).rejects.toThrow(/bad piece run/)
    await expect(check('{"version":1,')).rejects.toThrow(/not JSON/)
    await expect(check({ ...good, files: 'a' })).rejects.toThrow(/malformed/)
  })
})

describe('the engine\'s metainfo without the info dictionary (loader/lazy-metainfo.ts)', () => {
  const manifest = { infoHash: 'ab'.repeat(20), name: 'site', pieceLength: 16, length: 40 }

  it('installs the hashes a read brings, ending at its last piece', async () => {
    const m = lazyMetainfo(manifest)
    expect(isLazy(m)).toBe(true)
    expect(m.pieceCount).toBe(3)
    const hashes = new Uint8Array(40).map((_, i) => i)
    expect(installHashes(m, 1, 2, hashes.buffer)).toBe(true)
    expect(m.pieceHashes.subarray(20, 60)).toEqual(hashes)
    expect(m.pieceHashes.subarray(0, 20)).toEqual(new Uint8Array(20))
    // Hashes that do not reach back to `first`, or pieces past the torrent: refused.
    expect(installHashes(m, 0, 2, hashes.buffer)).toBe(false)
    expect(installHashes(m, 2, 3, hashes.buffer)).toBe(false)
    expect(installHashes(m, 1, 2, new Uint8Array(30).buffer)).toBe(false)
  })

  it('is completed in place by the real metainfo of the same layout', async () => {
    const m = lazyMetainfo(manifest)
    const real = { ...m, info: new Uint8Array([100, 101]), files: [{ index: 0, path: 'a', length: 40, offset: 0 }], pieceHashes: new Uint8Array(60).fill(9) }
    expect(() => upgradeMetainfo(m, { ...real, length: 41 })).toThrow(/does not fit/)
    upgradeMetainfo(m, real)
    expect(m.files).toEqual(real.files)
    expect(m.info).toEqual(real.info)
    expect(m.pieceHashes).toEqual(real.pieceHashes)
    expect(isLazy(m)).toBe(false)
  })
})

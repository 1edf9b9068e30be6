import { createHash } from 'node:crypto'
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, truncate, unlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../../../engine/errors.js'
import { errorInWords } from '../../../../cli/lib/system-errors.js'
import { bitfieldString } from '../../../fixtures/bitfield.js'
import { FsStore, sameFileRefusal, statFiles } from '../../../../engine/storage/fs.js'
import { probeNameRules } from '../../../../engine/storage/name-probe.js'
import { LateStore } from '../../../../engine/storage/late.js'
import { attachStore } from '../../../../engine/storage/late-attach.js'
import { MemoryStore } from '../../../../engine/storage/memory.js'
import { LAYOUT, content, describeStore, fileTable, pieceOf, type StoreLayout } from './store-suite.js'

async function tempRoot (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'peersite-store-'))
}

describeStore('MemoryStore', async (layout) => ({ store: new MemoryStore(layout) }), {
  quota: async (layout, maxBytes) => ({ store: new MemoryStore({ ...layout, maxBytes }) })
})

describeStore('LateStore, before its store is attached', async (layout) => ({ store: new LateStore(layout) }), {
  quota: async (layout, maxBytes) => ({ store: new LateStore({ ...layout, maxBytes }) })
})

describeStore('LateStore, attached', async (layout) => {
  const store = new LateStore(layout)
  await attachStore(store, new MemoryStore(layout))
  return { store }
}, {
  quota: async (layout, maxBytes) => {
    const store = new LateStore(layout)
    await attachStore(store, new MemoryStore({ ...layout, maxBytes }))
    return { store }
  }
})

describeStore('FsStore', async (layout) => {
  const root = await tempRoot()
  return {
    store: new FsStore({ ...layout, root, names: 'checked' }),
    readFile: async (path) => new Uint8Array(await readFile(join(root, path))),
    cleanup: async () => { await rm(root, { recursive: true, force: true }) }
  }
})

describeStore('FsStore with one open file at a time', async (layout) => {
  const root = await tempRoot()
  return {
    store: new FsStore({ ...layout, root, maxOpenFiles: 1, names: 'checked' }),
    readFile: async (path) => new Uint8Array(await readFile(join(root, path))),
    cleanup: async () => { await rm(root, { recursive: true, force: true }) }
  }
})

describe('MemoryStore', () => {
  it('rejects a get of a piece never put with ERR_NOT_FOUND', async () => {
    const store = new MemoryStore(LAYOUT)
    const err = await store.get(0).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as StorageError).code).toBe('ERR_NOT_FOUND')
  })

  it('rejects a put beyond maxBytes with ERR_QUOTA, counting replaced pieces once', async () => {
    const data = content(LAYOUT.length)
    const store = new MemoryStore({ ...LAYOUT, maxBytes: 2050 })
    await store.put(0, pieceOf(data, LAYOUT, 0))
    await store.put(1, pieceOf(data, LAYOUT, 1))
    await store.put(1, pieceOf(data, LAYOUT, 1)) // same piece again: no extra bytes
    const err = await store.put(2, pieceOf(data, LAYOUT, 2)).catch((e: unknown) => e)
    expect((err as StorageError).code).toBe('ERR_QUOTA')
    await store.put(4, pieceOf(data, LAYOUT, 4)) // 50 bytes still fit
    expect(store.bytes).toBe(2050)
    expect(store.has(2)).toBe(false)
  })
})

describe('FsStore', () => {
  let root: string
  const data = content(LAYOUT.length)
  const pieceCount = Math.ceil(LAYOUT.length / LAYOUT.pieceLength)

  /** The metainfo fields checkPieces needs, hashed from `data`. */
  function metaFor (layout: StoreLayout, bytes: Uint8Array): { pieceLength: number, pieceCount: number, length: number, pieceHashes: Uint8Array } {
    const count = Math.ceil(layout.length / layout.pieceLength)
    const pieceHashes = new Uint8Array(count * 20)
    for (let i = 0; i < count; i++) pieceHashes.set(createHash('sha1').update(pieceOf(bytes, layout, i)).digest(), i * 20)
    return { pieceLength: layout.pieceLength, pieceCount: count, length: layout.length, pieceHashes }
  }

  async function filled (): Promise<FsStore> {
    const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
    for (let i = 0; i < pieceCount; i++) await store.put(i, pieceOf(data, LAYOUT, i))
    return store
  }

  beforeEach(async () => { root = await tempRoot() })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('keeps the data after close', async () => {
    await (await filled()).close()
    const again = new FsStore({ ...LAYOUT, root, names: 'checked' })
    expect(await again.get(3)).toEqual(pieceOf(data, LAYOUT, 3))
    await again.close()
  })

  it('creates zero-length files up front', async () => {
    const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
    await store.createEmptyFiles()
    expect((await stat(join(root, 'dir/empty'))).size).toBe(0)
    await store.createEmptyFiles() // idempotent
    await store.close()
  })

  it('reports a piece never written as ERR_NOT_FOUND', async () => {
    const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
    const err = await store.get(0).catch((e: unknown) => e)
    expect((err as StorageError).code).toBe('ERR_NOT_FOUND')
    await store.close()
  })

  it('refuses paths that escape the root', () => {
    for (const path of ['../evil', 'a/../../evil', '/etc/passwd', 'a//b', 'a/./b', 'a\\..\\b']) {
      const files = fileTable([[path, 10]])
      expect(() => new FsStore({ pieceLength: 16, length: 10, root, files, names: 'checked' }), path).toThrow(StorageError)
    }
  })

  it('refuses, before writing anything, files that the platform\'s file system would make one, or that Windows refuses', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['darwin', ['index.html', 'A.html', 'a.html'], /^cannot store these files here: A\.html and a\.html are the same file on macOS/],
      ['darwin', ['caf\u00e9/x', 'cafe\u0301/x'], /^cannot store these files here: caf\u00e9\/x and cafe\u0301\/x are the same file on macOS/],
      ['win32', ['x', 'X/y'], /^cannot store these files here: x and X\/y are the same name on Windows/],
      ['win32', ['docs/aux.txt'], /^cannot store these files here: docs\/aux\.txt: "aux\.txt" is a reserved device name on Windows$/]
    ]
    for (const [platform, paths, message] of cases) {
      const files = fileTable(paths.map((p) => [p, 10] as const))
      const err = (() => { try { return new FsStore({ pieceLength: 16, length: files.length * 10, root, files, names: platform }) } catch (e) { return e } })()
      expect(err, paths.join(' ')).toBeInstanceOf(StorageError)
      expect((err as StorageError).code).toBe('ERR_FILE_NAMES')
      expect((err as Error).message).toMatch(message)
      // The same files are fine where names are bytes: each is its own file.
      const linux = new FsStore({ pieceLength: 16, length: files.length * 10, root: join(root, platform), files, names: 'linux' })
      await linux.close()
    }
    expect(await readdir(root)).toEqual([])
  })

  it('follows the rules it is given: a case-insensitive folder on Linux, or the rules probed of a folder', async () => {
    const files = fileTable([['A.html', 10], ['a.html', 10]])
    const vfat = { caseInsensitive: true, normalizes: false, windowsNames: false }
    const err = (() => { try { return new FsStore({ pieceLength: 16, length: 20, root, files, names: vfat, site: 'site (12345678)' }) } catch (e) { return e } })()
    expect((err as Error).message).toBe('cannot store site (12345678) here: A.html and a.html are the same file here (names that differ only in case or Unicode form)')
    // This machine's temporary folder is case-sensitive: both files are kept, each with its own bytes.
    const probed = new FsStore({ pieceLength: 16, length: 20, root: join(root, 'site'), files, names: probeNameRules(join(root, 'site')) })
    await probed.put(0, new Uint8Array(16).fill(1))
    await probed.put(1, new Uint8Array(4).fill(2))
    expect([...await readFile(join(root, 'site', 'A.html'))]).toEqual(new Array(10).fill(1))
    expect([...await readFile(join(root, 'site', 'a.html'))]).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2])
    await probed.close()
  })

  it('\'checked\': no name check of its own (files already on disk, or names the caller refused up front), and nothing written', async () => {
    await writeFile(join(root, 'A.html'), 'x'.repeat(10))
    const past = new Date('2001-02-03T04:05:06Z')
    await utimes(root, past, past)
    const files = fileTable([['A.html', 10], ['a.html', 10]])
    const store = new FsStore({ pieceLength: 16, length: 20, root, files, names: 'checked' })
    expect([...await store.get(0, { offset: 0, length: 10 })]).toEqual(new Array(10).fill(120))
    await store.close()
    // No file was made or removed in the folder (a name probe would have changed its mtime).
    expect((await stat(root)).mtime).toEqual(past)
    expect(await readdir(root)).toEqual(['A.html'])
  })

  it('probeNameRules: this machine\'s temporary folder is case-sensitive and keeps Unicode forms apart; nothing is left behind', async () => {
    expect(probeNameRules(root, 'linux')).toEqual({ caseInsensitive: false, normalizes: false, windowsNames: false })
    // A folder not made yet is asked through its nearest existing parent.
    expect(probeNameRules(join(root, 'not', 'yet'), 'win32')).toEqual({ caseInsensitive: false, normalizes: false, windowsNames: true })
    expect(await readdir(root)).toEqual([])
  })

  it('sameFileRefusal: two names differing only in case or Unicode form that are one file on disk (a hard link stands in for A.html and a.html on a case-insensitive disk)', async () => {
    await writeFile(join(root, 'A.html'), 'x')
    await writeFile(join(root, 'a.html'), 'y')
    expect(await sameFileRefusal(['A.html', 'a.html'], root, 'site (12345678)')).toBeUndefined()
    await writeFile(join(root, 'caf\u00e9.html'), 'z')
    await link(join(root, 'caf\u00e9.html'), join(root, 'cafe\u0301.html'))
    const err = await sameFileRefusal(['A.html', 'a.html', 'caf\u00e9.html', 'missing.html', 'cafe\u0301.html'], root, 'site (12345678)')
    expect(err).toBeInstanceOf(StorageError)
    expect(err!.code).toBe('ERR_FILE_NAMES')
    expect(err!.message).toBe(`cannot store site (12345678) here: caf\u00e9.html and cafe\u0301.html are the same file in ${root} (names that differ only in case or Unicode form)`)
  })

  it('sameFileRefusal: a site\'s own hard or symbolic links to its files are no collision (publish follows links inside the folder)', async () => {
    await mkdir(join(root, 'v1'))
    await writeFile(join(root, 'page.html'), 'x')
    await writeFile(join(root, 'v1', 'a.html'), 'y')
    await link(join(root, 'page.html'), join(root, 'copy.html'))
    await symlink('page.html', join(root, 'alias.html'))
    await symlink('v1', join(root, 'v2'))
    expect(await sameFileRefusal(['page.html', 'copy.html', 'alias.html', 'v1/a.html', 'v2/a.html'], root, 'site (12345678)')).toBeUndefined()
    // Among them, a name differing only in case from a link to the same file still is one.
    await link(join(root, 'page.html'), join(root, 'Alias.html'))
    expect((await sameFileRefusal(['page.html', 'alias.html', 'Alias.html'], root, 'site (12345678)'))?.message)
      .toBe(`cannot store site (12345678) here: alias.html and Alias.html are the same file in ${root} (names that differ only in case or Unicode form)`)
    // The clash is with the earlier name of the two, whatever other names of that file came between.
    expect((await sameFileRefusal(['Alias.html', 'page.html', 'copy.html', 'alias.html'], root, 'site (12345678)'))?.message)
      .toBe(`cannot store site (12345678) here: Alias.html and alias.html are the same file in ${root} (names that differ only in case or Unicode form)`)
  })

  it('statFiles and sameFileRefusal: the stats taken once (seed, for its check) are the ones the refusal uses', async () => {
    await writeFile(join(root, 'A.html'), 'x')
    await link(join(root, 'A.html'), join(root, 'a.html'))
    const paths = ['A.html', 'a.html', 'missing.html']
    const stats = await statFiles(paths, root)
    expect(stats.map((st) => st?.size)).toEqual([1n, 1n, undefined])
    // Gone from the disk since: the refusal is decided from the stats it was given, not a second look.
    await unlink(join(root, 'a.html'))
    expect((await sameFileRefusal(paths, root, 'site (12345678)', stats))?.message)
      .toBe(`cannot store site (12345678) here: A.html and a.html are the same file in ${root} (names that differ only in case or Unicode form)`)
    expect(await sameFileRefusal(paths, root, 'site (12345678)')).toBeUndefined()
  })

  it('keeps BEP 47 padding off the disk: zeros in gaps between files are read back and checked, never written', async () => {
    // a [0, 10), 6 bytes of padding, b [16, 40), 8 bytes of padding, c [48, 50); pieces of 16.
    const files = [{ index: 0, path: 'a', length: 10, offset: 0 }, { index: 1, path: 'd/b', length: 24, offset: 16 }, { index: 2, path: 'c', length: 2, offset: 48 }]
    const layout = { pieceLength: 16, length: 50, files }
    const bytes = content(50)
    bytes.fill(0, 10, 16)
    bytes.fill(0, 40, 48)
    const store = new FsStore({ ...layout, root, names: 'checked' })
    for (let i = 0; i < 4; i++) await store.put(i, pieceOf(bytes, layout, i))
    expect((await readdir(root, { recursive: true })).sort()).toEqual(['a', 'c', 'd', 'd/b'])
    expect((await stat(join(root, 'd', 'b'))).size).toBe(24)
    expect(await store.get(0)).toEqual(pieceOf(bytes, layout, 0))
    expect(await store.get(2, { offset: 4, length: 12 })).toEqual(bytes.subarray(36, 48))
    expect((await store.checkPieces(metaFor(layout, bytes))).count).toBe(4)
    await store.close()
  })

  it('a put that fails names the file and the folder, and the system\'s error the CLI says in words', async () => {
    // A file where a folder must be, a folder where a file must be, a disk with no space left (/dev/full's writes).
    await writeFile(join(root, 'dir'), 'a file')
    await mkdir(join(root, 'a.txt'))
    await symlink('/dev/full', join(root, 'd'))
    const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
    const failure = async (index: number): Promise<StorageError> => await store.put(index, pieceOf(data, LAYOUT, index)).then(() => { throw new Error(`piece ${index} was written`) }, (err: StorageError) => err)
    const cases: Array<[number, string, string]> = [
      [2, 'dir/sub/c.bin', 'a part of the path is a file, not a folder'],
      [0, 'a.txt', 'it is a folder'],
      [4, 'd', 'no space left on the device']
    ]
    for (const [index, path, words] of cases) {
      const err = await failure(index)
      expect(err).toBeInstanceOf(StorageError)
      expect(err.message).toMatch(new RegExp(`^cannot write ${path} in ${root}: E[A-Z]+: `))
      expect(errorInWords(err)).toBe(`cannot write ${path} in ${root}: ${words}`)
    }
    await store.close()
  })

  it('a put that fails names the folder it was told to show (get writes into a staging folder that becomes --out)', async () => {
    await mkdir(join(root, 'a.txt'))
    const store = new FsStore({ ...LAYOUT, root, shownRoot: '/srv/site', names: 'checked' })
    const err = await store.put(0, pieceOf(data, LAYOUT, 0)).catch((e: unknown) => e)
    expect(errorInWords(err)).toBe('cannot write a.txt in /srv/site: it is a folder')
    await store.close()
  })

  it('rejects a file table that does not fit', () => {
    // Fewer bytes in files than the torrent's length is BEP 47 padding (gaps of zeros); more is a broken table.
    expect(() => new FsStore({ pieceLength: 16, length: 9, root, files: fileTable([['a', 10]]), names: 'checked' })).toThrow(RangeError)
  })

  it('stores a single-file torrent', async () => {
    const files = fileTable([['site.bin', 2500]])
    const bytes = content(2500, 3)
    const layout = { pieceLength: 1000, length: 2500, files }
    const store = new FsStore({ ...layout, root, names: 'checked' })
    for (let i = 0; i < 3; i++) await store.put(i, pieceOf(bytes, layout, i))
    await store.close()
    expect(new Uint8Array(await readFile(join(root, 'site.bin')))).toEqual(bytes)
  })

  describe('checkPieces', () => {
    it('accepts intact files', async () => {
      const store = await filled()
      const have = await store.checkPieces(metaFor(LAYOUT, data))
      expect(bitfieldString(have)).toBe('*****')
      await store.close()
    })

    it('reports the piece holding a corrupted byte', async () => {
      await (await filled()).close()
      // dir/sub/c.bin starts at torrent offset 1500: its byte 1000 is torrent byte 2500, in piece 2.
      const path = join(root, 'dir/sub/c.bin')
      const bytes = new Uint8Array(await readFile(path))
      bytes[1000] = bytes[1000]! ^ 0xff
      await writeFile(path, bytes)
      const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
      expect(bitfieldString(await store.checkPieces(metaFor(LAYOUT, data)))).toBe('** **')
      await store.close()
    })

    it('reports pieces of a missing file and of a short file, without throwing', async () => {
      await (await filled()).close()
      await unlink(join(root, 'a.txt')) // bytes 0-1499: pieces 0 and 1
      await truncate(join(root, 'd'), 200) // loses bytes 4000-4049: piece 4
      const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
      expect(bitfieldString(await store.checkPieces(metaFor(LAYOUT, data)))).toBe('  ** ')
      await store.close()
    })

    it('reports nothing in an empty folder', async () => {
      const store = new FsStore({ ...LAYOUT, root, names: 'checked' })
      expect(bitfieldString(await store.checkPieces(metaFor(LAYOUT, data)))).toBe('     ')
      await store.close()
    })

    it('hashes pieces larger than its read chunk and files spanning many pieces', async () => {
      // 3 pieces of 5 MiB (> the 4 MiB read chunk) over two files split mid-piece.
      const pieceLength = 5 * 1024 * 1024
      const length = 3 * pieceLength - 123
      const layout = { pieceLength, length, files: fileTable([['x', pieceLength + 7], ['y', length - pieceLength - 7]]) }
      const bytes = content(length, 9)
      const store = new FsStore({ ...layout, root, names: 'checked' })
      for (let i = 0; i < 3; i++) await store.put(i, pieceOf(bytes, layout, i))
      expect(bitfieldString(await store.checkPieces(metaFor(layout, bytes)))).toBe('***')
      await store.close()
    })
  })
})

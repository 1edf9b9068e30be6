/**
 * parseInfoDictionary is where everything a hostile torrent could use against us is checked, once: each way an info
 * dictionary can be unsafe or inconsistent is refused with InvalidTorrentError (and a sound one is accepted).
 */
import { describe, expect, it } from 'vitest'
import { InvalidTorrentError } from '../../../engine/errors.js'
import { parseInfoDictionary } from '../../../engine/metainfo/index.js'
import { bencode } from '../../../engine/util/bencode.js'

const PL = 16384
const hashes = (n: number): Uint8Array => new Uint8Array(20 * n).fill(7)

/** A multi-file info dictionary; `over` replaces or adds keys (undefined removes one). */
function multi (files: Array<{ path: unknown, length: number }>, over: Record<string, unknown> = {}): Uint8Array {
  const length = files.reduce((s, f) => s + f.length, 0)
  const dict: Record<string, unknown> = { name: 'site', 'piece length': PL, pieces: hashes(Math.ceil(length / PL)), files, ...over }
  for (const [k, v] of Object.entries(dict)) if (v === undefined) delete dict[k]
  return bencode(dict)
}

async function refused (info: Uint8Array, pattern: RegExp): Promise<void> {
  const err = await parseInfoDictionary(info).then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(InvalidTorrentError)
  expect((err as Error).message).toMatch(pattern)
}

describe('parseInfoDictionary accepts', () => {
  it('a sound multi-file and a single-file dictionary', async () => {
    const m = await parseInfoDictionary(multi([{ path: ['index.html'], length: 10 }, { path: ['docs', 'a.css'], length: PL }]))
    expect(m.files.map((f) => [f.path, f.offset])).toEqual([['index.html', 0], ['docs/a.css', 10]])
    expect(m.pieceCount).toBe(2)
    const single = await parseInfoDictionary(bencode({ name: 'a.bin', 'piece length': PL, length: 1, pieces: hashes(1) }))
    expect(single.files).toEqual([{ index: 0, path: 'a.bin', length: 1, offset: 0 }])
  })

  it('a piece length that is not a power of two (BEP 3 says "almost always", not "must")', async () => {
    const m = await parseInfoDictionary(bencode({ name: 'a', 'piece length': 3 * PL, length: 1, pieces: hashes(1) }))
    expect(m.pieceLength).toBe(3 * PL)
  })
})

describe('parseInfoDictionary refuses', () => {
  for (const bad of ['', '.', '..', 'a/b', '/etc', 'a\\b', '..\\..\\x', 'a\0b']) {
    it(`the unsafe path component ${JSON.stringify(bad)}, in a file path, in path.utf-8 and as the name`, async () => {
      await refused(multi([{ path: ['docs', bad], length: 1 }]), /unsafe path component/)
      await refused(multi([{ path: ['ok'], 'path.utf-8': [bad], length: 1 } as never]), /unsafe path component/)
      await refused(multi([{ path: ['ok'], length: 1 }], { name: bad }), /unsafe name/)
      await refused(bencode({ name: bad, 'piece length': PL, length: 1, pieces: hashes(1) }), /unsafe name/)
    })
  }

  it('a file without a path, with an empty path, or a path component that is not a string', async () => {
    await refused(multi([{ path: [], length: 1 }]), /no path/)
    await refused(multi([{ path: 'index.html', length: 1 }]), /no path/)
    await refused(multi([{ path: [5], length: 1 }]), /not a string/)
    await refused(multi([{ length: 1 } as never]), /no path/)
  })

  it('the same path twice', async () => {
    await refused(multi([{ path: ['a', 'b'], length: 1 }, { path: ['a', 'b'], length: 2 }]), /duplicate file path a\/b/)
  })

  it('a file inside a file, in either order', async () => {
    await refused(multi([{ path: ['a', 'b'], length: 1 }, { path: ['a', 'b', 'c'], length: 1 }]), /a\/b\/c is inside a file/)
    await refused(multi([{ path: ['a', 'b', 'c'], length: 1 }, { path: ['a', 'b'], length: 1 }]), /a\/b\/c is inside a file/)
    await refused(multi([{ path: ['a'], length: 1 }, { path: ['a', 'b', 'c', 'd'], length: 1 }]), /inside a file/)
  })

  it('a piece-hash count that does not match the length', async () => {
    const files = [{ path: ['a'], length: 3 * PL }]
    await refused(multi(files, { pieces: hashes(2) }), /expected 3 piece hashes .* found 2/)
    await refused(multi(files, { pieces: hashes(4) }), /expected 3 piece hashes .* found 4/)
    await refused(multi(files, { pieces: new Uint8Array(59) }), /multiple of 20/)
    await refused(multi(files, { pieces: undefined }), /multiple of 20/)
    await refused(multi([{ path: ['a'], length: 0 }], { pieces: hashes(1) }), /expected 0 piece hashes/)
  })

  for (const [what, value] of [['zero', 0], ['negative', -PL], ['huge', 2 ** 40], ['over 64 MiB', 64 * 1024 * 1024 + 1], ['a string', 'x']] as const) {
    it(`a piece length that is ${what}`, async () => {
      await refused(multi([{ path: ['a'], length: 1 }], { 'piece length': value, pieces: hashes(1) }), /invalid piece length/)
    })
  }

  it('file lengths that are negative, missing, or add up past 2^53', async () => {
    await refused(multi([{ path: ['a'], length: -1 }], { pieces: hashes(0) }), /invalid length/)
    await refused(multi([{ path: ['a'] } as never], { pieces: hashes(0) }), /invalid length/)
    await refused(bencode({ name: 'site', 'piece length': 2 ** 26, pieces: hashes(1), files: [{ path: ['a'], length: 2 ** 52 }, { path: ['b'], length: 2 ** 52 }] }), /overflows|invalid length/)
  })

  it('an empty file list, a file entry that is not a dictionary, neither files nor length, no name', async () => {
    await refused(multi([]), /non-empty list/)
    await refused(bencode({ name: 'site', 'piece length': PL, pieces: hashes(0), files: [5] }), /not a dictionary/)
    await refused(bencode({ name: 'site', 'piece length': PL, pieces: hashes(0) }), /neither files nor a valid length/)
    await refused(bencode({ 'piece length': PL, length: 1, pieces: hashes(1) }), /no name/)
  })

  it('bytes that are not one bencoded dictionary', async () => {
    await refused(new TextEncoder().encode('i5e'), /not a dictionary/)
    await refused(new TextEncoder().encode('d4:name'), /not valid bencoding/)
    await refused(new TextEncoder().encode('de5:extra'), /not valid bencoding/)
  })
})

describe('parseInfoDictionary and BEP 47 pad files', () => {
  const pad = (length: number): Record<string, unknown> => ({ attr: 'p', length, path: ['.pad', String(length)] })

  it('leaves pad files out of the file table, keeps their bytes in the offsets, and notes which piece they end', async () => {
    const m = await parseInfoDictionary(multi([{ path: ['a.html'], length: 100 }, pad(PL - 100) as never, { path: ['b.js'], length: PL + 5 }]))
    expect(m.files.map((f) => [f.index, f.path, f.offset])).toEqual([[0, 'a.html', 0], [1, 'b.js', PL]])
    expect(m.length).toBe(2 * PL + 5)
    expect(m.pieceCount).toBe(3)
    expect([...(m.tailPadding ?? [])]).toEqual([[0, PL - 100]])
  })

  it('accepts a pad file without a path (BEP 47: clients "should not require it")', async () => {
    const m = await parseInfoDictionary(multi([{ path: ['a'], length: 10 }, { attr: 'p', length: PL - 10 } as never, { path: ['b'], length: 3 }]))
    expect(m.files.map((f) => f.offset)).toEqual([0, PL])
  })

  it('refuses a pad file that does not end a piece, or is a piece long', async () => {
    await refused(multi([{ path: ['a'], length: 10 }, pad(20) as never, { path: ['b'], length: PL }]), /padding file/)
    await refused(multi([pad(PL) as never, { path: ['b'], length: PL }]), /padding file/)
  })
})

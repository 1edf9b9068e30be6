/**
 * A site whose file names Windows or macOS would write into one file (or that Windows refuses) is refused by `get`
 * with one line naming the paths, before anything is written; the platform is passed in, so this runs on Linux.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { FsStore } from '../../../engine/storage/fs.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { download, fsStoreOrRefusal } from '../../../cli/lib/swarm.js'
import { makeTorrent } from '../../fixtures/make-torrent.js'
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
    expect((err as Error).message).toBe(`cannot write site into ${out}: A.html and a.html are the same file on macOS (names that differ only in case or Unicode form)`)
    expect(await readdir(dir.path)).toEqual([]) // no output, no staging folder
  })

  it('refuses a Windows device name on Windows', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'index.html', data: bytes('x') }, { path: 'docs/nul.tar.gz', data: bytes('y') }])
    const out = join(dir.path, 'copy')
    const err = await download({ infoHash: metainfo.infoHash, metainfo, out, trackers: [], platform: 'win32' }).catch((e: unknown) => e)
    expect((err as Error).message).toBe(`cannot write site into ${out}: docs/nul.tar.gz: "nul.tar.gz" is a reserved device name on Windows`)
    expect(await readdir(dir.path)).toEqual([])
  })

  it('fsStoreOrRefusal: metadata from peers with merging names gets a stand-in store and the reason, never a throw', async () => {
    dir = await makeTempDir()
    const { metainfo } = await makeTorrent([{ path: 'caf\u00e9.html', data: bytes('nfc') }, { path: 'cafe\u0301.html', data: bytes('nfd') }])
    const reasons: string[] = []
    const standIn = fsStoreOrRefusal(metainfo, dir.path, 'darwin', (err) => reasons.push(err.message))
    expect(standIn).toBeInstanceOf(MemoryStore)
    expect(reasons).toEqual([expect.stringMatching(/^cannot store these files here: caf\u00e9\.html and cafe\u0301\.html are the same file on macOS/)])
    const store = fsStoreOrRefusal(metainfo, dir.path, 'linux', (err) => reasons.push(err.message))
    expect(store).toBeInstanceOf(FsStore)
    await store.close()
    expect(reasons).toHaveLength(1)
    expect(await readdir(dir.path)).toEqual([])
  })
})

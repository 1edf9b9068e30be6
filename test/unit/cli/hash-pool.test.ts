/**
 * The hashing threads' lstats (cli/lib/hash-pool.ts `stat`), shared between a worker and this thread: the results are
 * lstat's, in order, and a path that fails is reported by its label, the first in order when several fail.
 */
import { lstatSync } from 'node:fs'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { HashThreads } from '../../../cli/lib/hash-pool.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const temps: TempDir[] = []
const pools: HashThreads[] = []
afterEach(async () => {
  while (pools.length > 0) await pools.pop()!.close()
  while (temps.length > 0) await temps.pop()!.cleanup()
})

/** 1,000 files of 0-999 bytes, a folder and a symlink among them: several stat jobs per thread. */
async function tree (): Promise<{ paths: string[], labels: string[] }> {
  const dir = await makeTempDir('peersite-pool-')
  temps.push(dir)
  const labels: string[] = []
  for (let i = 0; i < 1000; i++) {
    await writeFile(join(dir.path, `f${i}.txt`), 'x'.repeat(i))
    labels.push(`f${i}.txt`)
  }
  await mkdir(join(dir.path, 'folder'))
  await symlink('f1.txt', join(dir.path, 'link'))
  labels.splice(500, 0, 'folder', 'link')
  return { paths: labels.map((l) => join(dir.path, l)), labels }
}

function expected (paths: readonly string[]): { files: number[], sizes: number[], mtimes: number[] } {
  const stats = paths.map((p) => lstatSync(p))
  return { files: stats.map((s) => (s.isFile() ? 1 : 0)), sizes: stats.map((s) => s.size), mtimes: stats.map((s) => s.mtimeMs) }
}

function plain (r: { files: Uint8Array, sizes: Float64Array, mtimes: Float64Array }): { files: number[], sizes: number[], mtimes: number[] } {
  return { files: [...r.files], sizes: [...r.sizes], mtimes: [...r.mtimes] }
}

describe('HashThreads.stat', () => {
  it("gives lstat's results in order, twice on the same threads", async () => {
    const { paths, labels } = await tree()
    const pool = new HashThreads(2)
    pools.push(pool)
    expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
    expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
  })

  it('names the first path that cannot be listed, and works on after it', async () => {
    const { paths, labels } = await tree()
    const pool = new HashThreads(2)
    pools.push(pool)
    // Two missing paths, one in the first job (the worker's) and one in a later one: the first is named.
    const withGone = [...paths.slice(0, 10), paths[0]! + '.gone', ...paths.slice(10, 900), paths[0]! + '.gone-too', ...paths.slice(900)]
    const withGoneLabels = [...labels.slice(0, 10), 'gone.txt', ...labels.slice(10, 900), 'gone-too.txt', ...labels.slice(900)]
    await expect(pool.stat(withGone, withGoneLabels)).rejects.toThrow(/^gone\.txt does not exist$/)
    expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
  })
})

/**
 * The hashing threads' lstats (cli/lib/hash-pool.ts `stat`): a worker still booting is given none of them (this
 * thread takes them all), a booted one takes its share; either way the results are lstat's, in order, and a path that
 * fails is reported by its label, the first in order when several fail.
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
  for (const when of ['while the worker boots', 'once it has booted']) {
    it(`gives lstat's results in order ${when}`, async () => {
      const { paths, labels } = await tree()
      const pool = new HashThreads(2)
      pools.push(pool)
      if (when === 'once it has booted') await pool.booted()
      expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
      // The same pool again, now surely booted: the worker takes a share.
      await pool.booted()
      expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
    })

    it(`names the first path that cannot be listed ${when}`, async () => {
      const { paths, labels } = await tree()
      const pool = new HashThreads(2)
      pools.push(pool)
      if (when === 'once it has booted') await pool.booted()
      // Two missing paths, one early (in the worker's first job once booted) and one late: the early one is named.
      const withGone = [...paths.slice(0, 10), paths[0]! + '.gone', ...paths.slice(10, 900), paths[0]! + '.gone-too', ...paths.slice(900)]
      const withGoneLabels = [...labels.slice(0, 10), 'gone.txt', ...labels.slice(10, 900), 'gone-too.txt', ...labels.slice(900)]
      await expect(pool.stat(withGone, withGoneLabels)).rejects.toThrow(/^gone\.txt does not exist$/)
      // The pool still works after a failure.
      expect(plain(await pool.stat(paths, labels))).toEqual(expected(paths))
    })
  }
})

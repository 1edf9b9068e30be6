/**
 * publish's Ctrl-C undo at the moments between a rename done on disk and its callback (the signal's callback can run
 * first): the output folder is the earlier one or the new one, whole, and the handler ends in one line, exit 130.
 */
import * as fsp from 'node:fs/promises'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { publishSite } from '../../../cli/lib/publish.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'

/** What runs right after the real rename to `to`, before its promise settles (set per test). */
let afterRename: ((from: string, to: string) => void) | undefined
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>()
  return {
    ...real,
    rename: async (from: string, to: string) => {
      await real.rename(from, to)
      afterRename?.(from, to)
    }
  }
})

const temps: TempDir[] = []
afterEach(async () => {
  afterRename = undefined
  vi.restoreAllMocks()
  for (const t of temps.splice(0)) await t.cleanup()
})

/** Publishes twice into one output; during the second, the SIGINT handler runs right after `which` rename. */
async function interrupted (which: 'to old' | 'to out'): Promise<{ dir: string, out: string, first: string, second: string | Error, exits: unknown[], errors: string[] }> {
  const t = await makeTempDir('peersite-cli-')
  temps.push(t)
  const dir = t.path
  const site = await copyHello(dir)
  const loaderDir = await makeLoaderDir(dir)
  const out = join(dir, 'public')
  const first = (await publishSite({ dir: site, out, trackers: [], loaderDir, pieceLength: 65536 })).infoHash
  const exits: unknown[] = []
  const errors: string[] = []
  vi.spyOn(process, 'exit').mockImplementation(((code: unknown) => { exits.push(code) }) as typeof process.exit)
  vi.spyOn(process.stderr, 'write').mockImplementation(((line: string) => { errors.push(line); return true }) as typeof process.stderr.write)
  const before = new Set(process.listeners('SIGINT'))
  afterRename = (from, to) => {
    if ((which === 'to old') !== to.endsWith('-old')) return
    afterRename = undefined
    const handler = process.listeners('SIGINT').find((l) => !before.has(l))!
    handler('SIGINT')
  }
  // With process.exit a stand-in, publish goes on after the handler: what it then does is not the point here.
  const second = await publishSite({ dir: site, out, trackers: [], loaderDir }).then((r) => r.infoHash, (err: Error) => err)
  return { dir, out, first, second, exits, errors }
}

const infoHashIn = async (out: string): Promise<string> => (JSON.parse(await readFile(join(out, 'peersite.json'), 'utf8')) as { infoHash: string }).infoHash

describe('publish: a signal between a rename on disk and its callback', () => {
  it('after the new output moved in: it stays, the earlier one is removed, no exception from the handler', async () => {
    const { dir, out, second, exits, errors } = await interrupted('to out')
    expect(exits).toEqual([130])
    expect(errors).toEqual([])
    expect(await infoHashIn(out)).toBe(second)
    expect((await readdir(dir)).sort()).toEqual(['hello', 'loader', 'public'])
  })

  it('after the earlier output moved aside: it goes back', async () => {
    const { dir, out, first, exits, errors } = await interrupted('to old')
    expect(exits).toEqual([130])
    expect(errors).toEqual([`peersite: error: interrupted; nothing was written to ${out}\n`])
    expect(await infoHashIn(out)).toBe(first)
    expect((await readdir(dir)).sort()).toEqual(['hello', 'loader', 'public'])
  })
})

/**
 * Process ids are reused: a leftover named with a pid that a process started since now has is a killed run's all the
 * same (cli/lib/signals.ts mayHaveMade, Linux), so sweepLeftovers removes it and puts back the earlier output it had
 * moved aside. Not one named with this process's own pid: a container's restarted run often gets the same pid, but so
 * does a live run in another container writing to the same volume, and nothing tells the two apart. A folder's ctime cannot be set, and a
 * leftover's name needs the live process's pid, known only once it runs: lstat reports the folders named here as
 * changed before that process started.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import * as fsp from 'node:fs/promises'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { makeOutputStaging } from '../../../cli/lib/paths.js'
import { mayHaveMade, processStartMs } from '../../../cli/lib/signals.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

/** The ctime lstat reports for a folder of this name (the real one for the others). */
const ctimes = new Map<string, number>()
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>()
  return {
    ...real,
    lstat: async (path: string) => {
      const stats = await real.lstat(path)
      const ctime = ctimes.get(basename(path))
      if (ctime !== undefined) stats.ctimeMs = ctime
      return stats
    }
  }
})

const temps: TempDir[] = []
const children: ChildProcess[] = []
afterEach(async () => {
  ctimes.clear()
  for (const child of children.splice(0)) child.kill()
  for (const t of temps.splice(0)) await t.cleanup()
})

/** A process that runs until killed, with its pid. */
async function liveProcess (): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  children.push(child)
  await new Promise((resolve) => child.once('spawn', resolve))
  return child.pid!
}

describe.runIf(process.platform === 'linux')('a leftover named with a pid in use again', () => {
  it('a live process started after a folder was named did not make it; one started before may have', async () => {
    const pid = await liveProcess()
    const started = processStartMs(pid)!
    expect(Math.abs(started - Date.now())).toBeLessThan(60_000) // read right: it has only just started
    expect(mayHaveMade(pid, started - 60_000)).toBe(false)
    expect(mayHaveMade(pid, started)).toBe(true)
    expect(mayHaveMade(process.pid, Date.now())).toBe(true)
  })

  it('is swept: its staging folder removed, the earlier output it moved aside put back', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const out = join(t.path, 'site')
    const pid = await liveProcess()
    const before = processStartMs(pid)! - 60_000
    const staging = `.site.peersite-partial-${pid}-a1b2c3`
    const old = `.site.peersite-partial-${pid}-d4e5f6-old`
    const live = `.site.peersite-partial-${pid}-j0k1l2` // changed since it started: its own, perhaps
    for (const name of [staging, old, live]) await mkdir(join(t.path, name))
    await writeFile(join(t.path, old, 'CNAME'), 'example.org')
    ctimes.set(staging, before).set(old, before)
    const kept: string[] = []
    const made = await makeOutputStaging(out, 'site', (p) => kept.push(p))
    expect(kept).toEqual([])
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('example.org')
    expect((await readdir(t.path)).sort()).toEqual([basename(made), live, 'site'].sort())
  })

  it('with this process\'s own pid, is left alone and its earlier output named, never moved: a live run in another pid namespace may own it', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const out = join(t.path, 'site')
    // Named before this process started: a killed run's whose pid came back, or another container's live run's.
    const own = processStartMs(process.pid)! - 60_000
    const ownStaging = `.site.peersite-partial-${process.pid}-g7h8i9`
    const ownOld = `.site.peersite-partial-${process.pid}-m3n4o5-old`
    for (const name of [ownStaging, ownOld]) await mkdir(join(t.path, name))
    await writeFile(join(t.path, ownStaging, 'index.html'), 'being written')
    await writeFile(join(t.path, ownOld, 'CNAME'), 'example.org')
    ctimes.set(ownStaging, own).set(ownOld, own)
    const kept: string[] = []
    const made = await makeOutputStaging(out, 'site', (p) => kept.push(p))
    expect(kept).toEqual([join(t.path, ownOld)])
    expect((await readdir(t.path)).sort()).toEqual([basename(made), ownOld, ownStaging].sort())
    expect(await readFile(join(t.path, ownStaging, 'index.html'), 'utf8')).toBe('being written')
  })
})

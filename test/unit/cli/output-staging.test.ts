/**
 * What a killed run left beside an output folder (cli/lib/paths.ts makeOutputStaging, putBack): removed only when
 * the name is one a run makes and its process is gone; an earlier output moved aside goes back only where nothing
 * took its place, and is otherwise kept, never removed.
 */
import { spawn } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { makeOutputStaging, putBack } from '../../../cli/lib/paths.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})

async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise((resolve) => child.on('exit', resolve))
  return child.pid!
}

/** An earlier output, with a file the user added, moved aside by a run that died (process `pid`). */
async function movedAside (dir: string, pid: number): Promise<string> {
  const old = join(dir, `.site.peersite-partial-${pid}-a1b2c3-old`)
  await mkdir(old)
  await writeFile(join(old, 'CNAME'), 'example.org')
  return old
}

describe('makeOutputStaging', () => {
  it('puts an earlier output back into an empty folder made since (a deploy script\'s mkdir -p)', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const out = join(t.path, 'site')
    await movedAside(t.path, await deadPid())
    await mkdir(out)
    const kept: string[] = []
    const staging = await makeOutputStaging(out, 'site', (p) => kept.push(p))
    expect(await readFile(join(out, 'CNAME'), 'utf8')).toBe('example.org')
    expect(kept).toEqual([])
    expect((await readdir(t.path)).sort()).toEqual([staging.slice(t.path.length + 1), 'site'].sort())
  })

  it('keeps an earlier output, and says so, when the output folder holds files again', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const out = join(t.path, 'site')
    const old = await movedAside(t.path, await deadPid())
    await mkdir(out)
    await writeFile(join(out, 'index.html'), 'new')
    const kept: string[] = []
    await makeOutputStaging(out, 'site', (p) => kept.push(p))
    expect(kept).toEqual([old])
    expect(await readFile(join(old, 'CNAME'), 'utf8')).toBe('example.org')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe('new')
  })

  it('leaves alone what only looks like a staging folder, and a live process\'s', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const out = join(t.path, 'site')
    const dead = await deadPid()
    const theirs = [`.site.peersite-partial-${dead}-my-backup`, `.site.peersite-partial-${dead}-a1b2c3-old-copy`, `.site.peersite-partial-${process.ppid}-a1b2c3`]
    const ours = [`.site.peersite-partial-${dead}-a1b2c3`, `.site.peersite-partial-${dead}`]
    for (const name of [...theirs, ...ours]) await mkdir(join(t.path, name))
    const staging = await makeOutputStaging(out, 'site')
    expect((await readdir(t.path)).sort()).toEqual([...theirs, staging.slice(t.path.length + 1)].sort())
  })
})

describe('putBack', () => {
  it('puts back where nothing is, never over a file or a folder with files', async () => {
    const t = await makeTempDir('peersite-staging-')
    temps.push(t)
    const old = await movedAside(t.path, 1)
    const file = join(t.path, 'file')
    await writeFile(file, 'x')
    expect(await putBack(old, file)).toBe(false)
    expect(await putBack(old, join(t.path, 'missing'))).toBe(true)
    expect(await readFile(join(t.path, 'missing', 'CNAME'), 'utf8')).toBe('example.org')
  })
})

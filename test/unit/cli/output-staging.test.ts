/**
 * What a killed run left beside an output folder (cli/lib/paths.ts makeOutputStaging, putBack): removed only when
 * the name is one a run makes and its process is gone; an earlier output moved aside goes back only where nothing
 * took its place, and is otherwise kept, never removed. And the one step that replaces an output folder
 * (OutputReplacement, publish's and loader --out's), undone on Ctrl-C at each moment of its two renames.
 */
import { spawn } from 'node:child_process'
import { renameSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { makeOutputStaging, OutputReplacement, putBack, undoReplaceOnSignal } from '../../../cli/lib/paths.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const temps: TempDir[] = []
afterEach(async () => {
  vi.restoreAllMocks()
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

/** An output folder `site` holding `earlier`, and a staging folder beside it holding `new`. */
async function replacing (): Promise<{ dir: string, out: string, replacement: OutputReplacement }> {
  const t = await makeTempDir('peersite-staging-')
  temps.push(t)
  const out = join(t.path, 'site')
  const staging = join(t.path, '.site.peersite-partial-1-a1b2c3')
  await mkdir(out)
  await writeFile(join(out, 'index.html'), 'earlier')
  await mkdir(staging)
  await writeFile(join(staging, 'index.html'), 'new')
  return { dir: t.path, out, replacement: new OutputReplacement(staging, out) }
}

describe('OutputReplacement', () => {
  it('replaces the output, and puts the earlier one back if the new one cannot be renamed in', async () => {
    const done = await replacing()
    await done.replacement.run()
    expect(await readFile(join(done.out, 'index.html'), 'utf8')).toBe('new')
    expect(await readdir(done.dir)).toEqual(['site'])

    const failed = await replacing()
    await rm(failed.replacement.staging, { recursive: true })
    await expect(failed.replacement.run()).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await readFile(join(failed.out, 'index.html'), 'utf8')).toBe('earlier')
    expect(await readdir(failed.dir)).toEqual(['site'])
  })

  // A rename's callback can run after the signal's though the rename is done on disk: these renames are done by
  // hand, run() not knowing of them.
  it('undoNow before the renames: the staging folder goes, the output stays', async () => {
    const { dir, out, replacement } = await replacing()
    expect(replacement.undoNow()).toBe('earlier')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe('earlier')
    expect(await readdir(dir)).toEqual(['site'])
  })

  it('undoNow with the earlier output moved aside: it goes back, the staging folder goes', async () => {
    const { dir, out, replacement } = await replacing()
    renameSync(out, replacement.old)
    expect(replacement.undoNow()).toBe('earlier')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe('earlier')
    expect(await readdir(dir)).toEqual(['site'])
  })

  it('undoNow with the new output in place: it stays, the earlier one goes', async () => {
    const { dir, out, replacement } = await replacing()
    renameSync(out, replacement.old)
    renameSync(replacement.staging, out)
    expect(replacement.undoNow()).toBe('new')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe('new')
    expect(await readdir(dir)).toEqual(['site'])
  })

  it('undoNow after run(): nothing to undo', async () => {
    const { dir, out, replacement } = await replacing()
    await replacement.run()
    expect(replacement.undoNow()).toBe('new')
    expect(await readFile(join(out, 'index.html'), 'utf8')).toBe('new')
    expect(await readdir(dir)).toEqual(['site'])
  })

  it('undoNow that cannot put the earlier output back says where it is, and removes nothing', async () => {
    const { dir, out, replacement } = await replacing()
    renameSync(out, replacement.old)
    await writeFile(out, 'a file since')
    expect(() => replacement.undoNow()).toThrow(`${out} could not be put back (ENOTDIR): the earlier output is in ${replacement.old}`)
    expect((await readdir(dir)).sort()).toEqual(['.site.peersite-partial-1-a1b2c3', '.site.peersite-partial-1-a1b2c3-old', 'site'])
  })

  it('undoNow when another folder took the output\'s place meanwhile: the earlier output is kept aside and named', async () => {
    const { dir, out, replacement } = await replacing()
    renameSync(out, replacement.old)
    await mkdir(out)
    await writeFile(join(out, 'other.txt'), 'another run\'s')
    expect(() => replacement.undoNow()).toThrow(`${out} could not be put back (ENOTEMPTY): the earlier output is in ${replacement.old}`)
    expect(await readFile(join(replacement.old, 'index.html'), 'utf8')).toBe('earlier')
    expect((await readdir(dir)).sort()).toEqual(['.site.peersite-partial-1-a1b2c3', '.site.peersite-partial-1-a1b2c3-old', 'site'])
  })

  it('undoReplaceOnSignal: the earlier output back, one line, exit 130; no line once the new one is in', async () => {
    const exits: unknown[] = []
    const errors: string[] = []
    vi.spyOn(process, 'exit').mockImplementation(((code: unknown) => { exits.push(code) }) as typeof process.exit)
    vi.spyOn(process.stderr, 'write').mockImplementation(((line: string) => { errors.push(line); return true }) as typeof process.stderr.write)
    const signal = (replacement: OutputReplacement | undefined, name: NodeJS.Signals): void => {
      const before = new Set(process.listeners(name))
      const forget = undoReplaceOnSignal(replacement?.out ?? 'nowhere', () => replacement)
      const handler = process.listeners(name).find((l) => !before.has(l))!
      forget()
      handler(name)
    }
    const aside = await replacing()
    renameSync(aside.out, aside.replacement.old)
    signal(aside.replacement, 'SIGINT')
    expect(await readFile(join(aside.out, 'index.html'), 'utf8')).toBe('earlier')
    expect(await readdir(aside.dir)).toEqual(['site'])
    const moved = await replacing()
    renameSync(moved.out, moved.replacement.old)
    renameSync(moved.replacement.staging, moved.out)
    signal(moved.replacement, 'SIGTERM')
    expect(await readdir(moved.dir)).toEqual(['site'])
    signal(undefined, 'SIGINT') // the staging folder not made yet
    expect(exits).toEqual([130, 143, 130])
    expect(errors).toEqual([`peersite: error: interrupted; nothing was written to ${aside.out}\n`])
  })
})

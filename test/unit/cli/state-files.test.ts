/**
 * The small files a run writes whole (writeAtomically in cli/lib/paths.ts, for mirror's mirror.json and info and for
 * pointers.json): the mode the caller asks for, no temporary file left by a failed write, and those a killed
 * process left, under the name of this version or of an older one, removed once that process is gone. How such a
 * file (and seed's peersite.json) is read: readJsonObject.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readJsonObject, removeKilledWrites, writeAtomically } from '../../../cli/lib/paths.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})

async function temp (): Promise<string> {
  const t = await makeTempDir('peersite-state-files-')
  temps.push(t)
  return t.path
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

describe('writeAtomically', () => {
  it('writes the file whole with the mode asked for (the umask\'s default, as writeFile, unless told)', async () => {
    const dir = await temp()
    const umask = process.umask()
    await writeAtomically(join(dir, 'plain'), 'one')
    await writeAtomically(join(dir, 'private'), new Uint8Array([1, 2, 3]), 0o600)
    await writeAtomically(join(dir, 'plain'), 'two') // replaces the file
    expect(await readFile(join(dir, 'plain'), 'utf8')).toBe('two')
    expect([...await readFile(join(dir, 'private'))]).toEqual([1, 2, 3])
    expect(await modeOf(join(dir, 'plain'))).toBe(0o666 & ~umask)
    expect(await modeOf(join(dir, 'private'))).toBe(0o600)
    expect((await readdir(dir)).sort()).toEqual(['plain', 'private'])
  })

  it('removes its temporary file when the rename fails, and throws', async () => {
    const dir = await temp()
    await mkdir(join(dir, 'taken', 'inside'), { recursive: true })
    await expect(writeAtomically(join(dir, 'taken'), 'x')).rejects.toMatchObject({ code: 'EISDIR' })
    expect(await readdir(dir)).toEqual(['taken'])
  })
})

describe('removeKilledWrites', () => {
  // pointers.json's temporary files were <path>.<pid>.<uuid>.tmp, mirror's <path>.tmp-<pid>: files of either
  // name, left by an older version, are swept as this version's are.
  it('removes both names of a gone process\'s temporary files, never a running process\'s nor another name', async () => {
    const dir = await temp()
    const path = join(dir, 'mirror.json')
    const gone = spawnSync(process.execPath, ['-e', '']).pid
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    await new Promise((resolve) => running.once('spawn', resolve))
    try {
      const kept = [`mirror.json.${running.pid!}.${randomUUID()}.tmp`, `mirror.json.tmp-${running.pid!}`, `mirror.json.${gone}`, `mirror.json.${gone}.x.tmp`, 'mirror.json.corrupt-2026-12-04T16-20-05-123Z', 'mirror.json']
      for (const name of [`mirror.json.${gone}.${randomUUID()}.tmp`, `mirror.json.tmp-${gone}`, ...kept]) await writeFile(join(dir, name), '{"version":1,')
      await removeKilledWrites(path)
      expect((await readdir(dir)).sort()).toEqual([...kept].sort())
    } finally {
      running.kill()
    }
  })
})

describe('readJsonObject', () => {
  it('tells a missing file, one that cannot be read (why, in words), one that is damaged (which way) and an object apart', async () => {
    const dir = await temp()
    const at = (name: string): string => join(dir, name)
    await mkdir(at('folder'))
    for (const [name, text] of [['truncated', '{"version":1,'], ['null', 'null'], ['number', '5'], ['object', '{"version":1,"keys":{}}'], ['array', '[1,2]']]) await writeFile(at(name!), text!)
    expect(await readJsonObject(at('missing'))).toEqual({ kind: 'missing' })
    expect(await readJsonObject(join(at('object'), 'below'))).toEqual({ kind: 'unreadable', reason: 'a part of the path is a file, not a folder' })
    expect(await readJsonObject(at('folder'))).toEqual({ kind: 'unreadable', reason: 'it is a folder' })
    expect(await readJsonObject(at('truncated'))).toEqual({ kind: 'damaged', reason: 'not JSON' })
    expect(await readJsonObject(at('null'))).toEqual({ kind: 'damaged', reason: 'not a JSON object' })
    expect(await readJsonObject(at('number'))).toEqual({ kind: 'damaged', reason: 'not a JSON object' })
    expect(await readJsonObject(at('object'))).toEqual({ kind: 'object', value: { version: 1, keys: {} } })
    // An array is no object to any caller (it was: each then looked for its fields in it).
    expect(await readJsonObject(at('array'))).toEqual({ kind: 'damaged', reason: 'not a JSON object' })
  })
})

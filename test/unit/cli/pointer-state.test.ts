/**
 * The state file: highest seq per key, atomic, re-verified on load, never lowered, damage read as empty; what a
 * killed write left is removed once its process is gone; a save that fails while a command runs is one warning.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateEd25519, nodeSigner } from '../../../engine/pointer/node.js'
import { PointerBook, pointerId, signPointer, webCryptoVerifier } from '../../../engine/pointer/index.js'
import { utf8 } from '../../../engine/util/bytes.js'
import { PointerStateFile, defaultStateDir } from '../../../cli/lib/pointer-state.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

const temps: TempDir[] = []
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup()
})
const site = generateEd25519()
const id = pointerId(site.publicKey)

describe('PointerStateFile', () => {
  it('keeps the highest seq and its record across instances (a restart), so a replay is still a rollback', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const r9 = await signPointer(nodeSigner(site.seed), { infoHash: '99'.repeat(20), seq: 9 })
    await new PointerStateFile(t.path).save(id, { seq: 9, record: r9 })
    await new PointerStateFile(t.path).save(id, { seq: 4 }) // lower: ignored
    const known = await new PointerStateFile(t.path).load(id)
    expect(known?.seq).toBe(9)
    expect(known?.record?.infoHash).toBe('99'.repeat(20))
    const book = new PointerBook({ verifier: webCryptoVerifier() }, { publicKey: site.publicKey, known: known! })
    const replay = await book.offer(await signPointer(nodeSigner(site.seed), { infoHash: '44'.repeat(20), seq: 4 }))
    expect(replay.kind === 'refused' && replay.error.reason).toBe('rollback')
    expect(await readdir(t.path)).toEqual(['pointers.json']) // no temporary file left
  })

  it('keys by (key, salt), remembers a fork, and drops a stored record that no longer verifies (keeping its seq)', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const state = new PointerStateFile(t.path)
    const salted = pointerId(site.publicKey, utf8.encode('blog'))
    await state.save(salted, { seq: 3, forked: true })
    expect(await state.load(id)).toBeUndefined()
    expect(await state.load(salted)).toEqual({ seq: 3, forked: true })
    const r5 = await signPointer(nodeSigner(site.seed), { infoHash: '55'.repeat(20), seq: 5 })
    await state.save(id, { seq: 5, record: r5 })
    const file = JSON.parse(await readFile(state.path, 'utf8')) as { keys: Record<string, { record: { v: string } }> }
    file.keys[id]!.record.v = file.keys[id]!.record.v.replace(/55/g, '66')
    await writeFile(state.path, JSON.stringify(file))
    expect(await state.load(id)).toEqual({ seq: 5 })
  })

  it('overlapping saves of different keys and of one key, from two instances on one file, all land with the highest seq', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const other = pointerId(generateEd25519().publicKey)
    const salted = pointerId(site.publicKey, utf8.encode('blog'))
    const one = new PointerStateFile(t.path)
    const two = new PointerStateFile(t.path)
    await one.save(id, { seq: 100 })
    const saves = await Promise.allSettled([
      one.save(id, { seq: 150 }), two.save(other, { seq: 200 }), one.save(id, { seq: 120 }), two.save(id, { seq: 170 }),
      one.save(other, { seq: 180 }), two.save(salted, { seq: 3 }), one.save(id, { seq: 160 })
    ])
    expect(saves.map(s => s.status)).toEqual(Array(7).fill('fulfilled'))
    const restarted = new PointerStateFile(t.path)
    expect(await restarted.load(id)).toEqual({ seq: 170 })
    expect(await restarted.load(other)).toEqual({ seq: 200 })
    expect(await restarted.load(salted)).toEqual({ seq: 3 })
    expect(await readdir(t.path)).toEqual(['pointers.json'])
  })

  it('reads a damaged or foreign file as empty and replaces it on the next write', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const state = new PointerStateFile(t.path, () => {}) // the warnings: next test
    for (const junk of ['not json', '{"version":2,"keys":{}}', '{"version":1,"keys":{"zz":{"seq":1},"__proto__":{"seq":5}}}', JSON.stringify({ version: 1, keys: { [id]: { seq: -4 } } })]) {
      await writeFile(state.path, junk)
      expect(await state.load(id)).toBeUndefined()
    }
    await state.save(id, { seq: 1 })
    expect(await state.load(id)).toEqual({ seq: 1 })
  })

  it('moves a damaged file aside to pointers.json.corrupt-<time>, whole, with one warning naming it', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const warnings: string[] = []
    const state = new PointerStateFile(t.path, (m) => warnings.push(m))
    for (const [junk, why] of [['{"version":1,"keys":{"ab', 'not JSON'], ['{"version":2,"keys":{}}', 'unknown version 2'], ['[1,2]', 'not a JSON object'], ['{"keys":{}}', 'not a peersite state file'], ['null', 'not a JSON object']] as const) {
      await writeFile(state.path, junk)
      expect(await state.load(id)).toBeUndefined()
      expect(await state.load(id)).toBeUndefined() // moved: read once, reported once
      const copies = (await readdir(t.path)).filter((n) => n.startsWith('pointers.json.corrupt-'))
      expect(copies).toHaveLength(1)
      expect(copies[0]).toMatch(/^pointers\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/)
      expect(await readFile(join(t.path, copies[0]!), 'utf8')).toBe(junk)
      expect(warnings).toEqual([`${state.path} is damaged (${why}): moved to ${join(t.path, copies[0]!)}; the versions seen of site keys start again from what peers show`])
      await rm(join(t.path, copies[0]!))
      warnings.length = 0
    }
    await state.save(id, { seq: 1 })
    expect(await state.load(id)).toEqual({ seq: 1 })
    expect(await readdir(t.path)).toEqual(['pointers.json'])
    expect(warnings).toEqual([])
  })

  // A process killed between its write and its rename left pointers.json.<pid>.<uuid>.tmp for ever.
  it('removes the temporary files of a gone process on the first read, never a running one\'s', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    const gone = spawnSync(process.execPath, ['-e', '']).pid
    // Another command's process, started before its file was written: it may be writing it now.
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    await new Promise((resolve) => running.once('spawn', resolve))
    try {
      const kept = [`pointers.json.${running.pid!}.${randomUUID()}.tmp`, 'pointers.json.corrupt-2026-12-04T16-20-05-123Z', `pointers.json.${gone}.x.tmp`]
      for (const name of [`pointers.json.${gone}.${randomUUID()}.tmp`, ...kept]) await writeFile(join(t.path, name), '{"version":1,')
      expect(await new PointerStateFile(t.path).load(id)).toBeUndefined()
      expect((await readdir(t.path)).sort()).toEqual([...kept].sort())
    } finally {
      running.kill()
    }
  })

  it('saveOrWarn: a save that fails is one warning naming the file and why, never an error', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    await writeFile(join(t.path, 'file'), '')
    const warnings: string[] = []
    const state = new PointerStateFile(join(t.path, 'file', 'state'), (m) => warnings.push(m))
    await state.saveOrWarn(id, { seq: 1 })
    await state.saveOrWarn(id, { seq: 2 })
    const line = `cannot save ${state.path} (a part of the path is a file, not a folder): the newest versions seen of site keys are not remembered for the next run`
    // The same line each time: warningPrinter says it once.
    expect(warnings).toEqual([line, line])
  })

  // One that cannot be read was read as empty in silence, and the next save wrote over it, losing the newest versions
  // seen of every other key (no permission is the case in life; a folder is the one a test run as root can make).
  it('a file that cannot be read: a load warns and reads it as empty; a save refuses and leaves it', async () => {
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    await mkdir(join(t.path, 'pointers.json'))
    await writeFile(join(t.path, 'pointers.json', 'kept'), 'x')
    const warnings: string[] = []
    const state = new PointerStateFile(t.path, (m) => warnings.push(m))
    expect(await state.load(id)).toBeUndefined()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^cannot read .*pointers\.json \(.+\): the newest versions seen of site keys are not known, so a rollback to an older one would not be noticed$/)
    await expect(state.save(id, { seq: 5 })).rejects.toThrow(/^cannot read .*pointers\.json \(.+\), so it is not replaced$/)
    await state.saveOrWarn(id, { seq: 5 })
    expect(warnings[warnings.length - 1]).toMatch(/, so it is not replaced: the newest versions seen of site keys are not remembered for the next run$/)
    expect(await readdir(join(t.path, 'pointers.json'))).toEqual(['kept'])
  })

  it('lives in PEERSITE_STATE_DIR, else $XDG_STATE_HOME/peersite, else ~/.local/state/peersite', async () => {
    expect(defaultStateDir({ PEERSITE_STATE_DIR: '/x' })).toBe('/x')
    expect(defaultStateDir({ XDG_STATE_HOME: '/s' })).toBe('/s/peersite')
    expect(defaultStateDir({})).toMatch(/\.local\/state\/peersite$/)
    const t = await makeTempDir('peersite-state-')
    temps.push(t)
    await mkdir(join(t.path, 'deep'))
    const state = new PointerStateFile(join(t.path, 'deep', 'er'))
    await state.save(id, { seq: 2 })
    expect((await state.load(id))?.seq).toBe(2)
  })
})

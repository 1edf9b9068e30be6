/**
 * removeNow (cli/lib/signals.ts), what publish's Ctrl-C handler removes its staging folder with: writes begun
 * before the signal go on in other threads while the handler runs, and add files to the folder being removed.
 */
import type * as fs from 'node:fs'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { removeNow } from '../../../cli/lib/signals.js'
import { makeTempDir, type TempDir } from '../../helpers/tmp.js'

/** Errors rmSync fails with before it does its work (as Windows answers while another process holds a file open). */
const failures: string[] = []
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>()
  return {
    ...real,
    rmSync: (...args: Parameters<typeof real.rmSync>) => {
      const code = failures.shift()
      if (code !== undefined) throw Object.assign(new Error(`${code}: held open`), { code })
      real.rmSync(...args)
    }
  }
})

const temps: TempDir[] = []
afterEach(async () => {
  failures.length = 0
  for (const t of temps.splice(0)) await t.cleanup()
})

/**
 * A thread that writes a file into `folder` every millisecond, 1,000 times (a write into a removed folder fails and
 * is skipped), as libuv's threads go on copying: started, and running, when this resolves.
 */
async function writerInto (folder: string): Promise<Worker> {
  const worker = new Worker(`
    const { writeFileSync } = require('node:fs')
    const { join } = require('node:path')
    const { parentPort, workerData } = require('node:worker_threads')
    const pause = new Int32Array(new SharedArrayBuffer(4))
    parentPort.postMessage('started')
    for (let i = 0; i < 1000; i++) {
      try { writeFileSync(join(workerData, 'late-' + i), 'x') } catch {}
      Atomics.wait(pause, 0, 0, 1)
    }
  `, { eval: true, workerData: folder })
  await new Promise((resolve) => worker.once('message', resolve))
  return worker
}

describe('removeNow', () => {
  it('removes a folder while another thread still writes files into it', async () => {
    const t = await makeTempDir('peersite-remove-')
    temps.push(t)
    const folder = join(t.path, 'staging')
    await mkdir(join(folder, 'fonts'), { recursive: true })
    for (let i = 0; i < 50; i++) await writeFile(join(folder, i % 2 === 0 ? 'fonts' : '', `f${i}`), 'x')
    const worker = await writerInto(folder)
    // Holds the main thread, as a signal handler does, while the writer keeps adding files.
    const started = Date.now()
    while (Date.now() - started < 20) { /* let it write a few */ }
    expect(() => removeNow(folder)).not.toThrow()
    expect(existsSync(folder)).toBe(false)
    await worker.terminate()
    expect(existsSync(folder)).toBe(false)
  })

  it('tries again while a file is held open (EBUSY, EPERM)', async () => {
    const t = await makeTempDir('peersite-remove-')
    temps.push(t)
    const folder = join(t.path, 'staging')
    await mkdir(folder)
    await writeFile(join(folder, 'held.txt'), 'x')
    failures.push('EBUSY', 'EPERM', 'EBUSY')
    expect(() => removeNow(folder)).not.toThrow()
    expect(failures).toEqual([])
    expect(existsSync(folder)).toBe(false)
  })

  it('is a no-op for a folder that is not there, and throws other errors', async () => {
    const t = await makeTempDir('peersite-remove-')
    temps.push(t)
    expect(() => removeNow(join(t.path, 'missing'))).not.toThrow()
    expect(() => removeNow(join(t.path, 'missing\0name'))).toThrow()
  })
})

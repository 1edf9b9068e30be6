/** Path helpers for output folders that may not exist yet. */
import { randomBytes } from 'node:crypto'
import { mkdir, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../../engine/errors.js'

/** realpath of `path`, or of its nearest existing ancestor with the rest appended (for folders about to be created). */
export async function realpathOrNearest (path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch {
    const parent = dirname(path)
    if (parent === path) return path
    return join(await realpathOrNearest(parent), basename(path))
  }
}

/**
 * A new folder `prefix` + 6 random hex digits, as mkdtemp names one, but made with the default mode (0777 minus the
 * umask) where mkdtemp makes it 0700: a staging folder renamed into place becomes the output folder, which should get
 * the mode any other tool would give it (a private one is right only for a folder that is always removed).
 */
export async function makeStagingFolder (prefix: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const path = `${prefix}${randomBytes(3).toString('hex')}`
    try {
      await mkdir(path)
      return path
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw err
    }
  }
}

/**
 * `mkdir -p`, which fails where Node's `mkdir(path, { recursive: true })` hangs: that one retries for ever when the
 * file system answers ENOENT for a folder whose parent exists (procfs and sysfs do: `loader --out /proc/x` never
 * returned). Here each missing level is made once, parents first; a level the file system still refuses is an error.
 */
export async function makeFolders (path: string, mode?: number): Promise<void> {
  const options = mode !== undefined ? { mode } : {}
  try {
    await mkdir(path, options)
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' && await stat(path).then((s) => s.isDirectory(), () => false)) return
    if (code !== 'ENOENT') throw err
  }
  const parent = dirname(path)
  if (parent === path) throw new Error(`unreachable: the root ${path} does not exist`)
  await makeFolders(parent, mode)
  try {
    await mkdir(path, options)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' && await stat(path).then((s) => s.isDirectory(), () => false)) return
    // ENOENT again, its parent being there now: this file system makes no folder here.
    if (code === 'ENOENT') throw new UsageError(`cannot create ${path}: the file system of ${parent} does not allow new folders`)
    throw err
  }
}

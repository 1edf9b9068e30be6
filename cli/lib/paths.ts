/** Path helpers for output folders that may not exist yet. */
import { randomBytes } from 'node:crypto'
import { mkdir, realpath } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

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

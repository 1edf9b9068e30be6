/** Path helpers for output folders that may not exist yet. */
import { realpath } from 'node:fs/promises'
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

/**
 * An output folder written again (`publish`, `loader --out`): the files a user added to it since (a GitHub Pages
 * CNAME, .nojekyll, _headers) are copied into the new output, never lost with the old one. What an earlier run wrote
 * is knowable: the loader's files, and with `publish --with-files` the site's files its torrent lists; everything else
 * was added by someone else.
 */
import { copyFile, lstat, readdir, readlink, symlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { makeFolders } from './paths.js'

/** What an earlier run wrote into the folder: these names at its top, and the listed files below `siteFolder`. */
export interface EarlierOutput {
  readonly names: ReadonlySet<string>
  readonly siteFolder?: string
  /** Paths below `siteFolder` ('/'-separated). */
  readonly siteFiles?: ReadonlySet<string>
}

/** Files and symbolic links in `out` that `earlier` did not write, as '/'-separated paths, sorted. */
export async function addedFiles (out: string, earlier: EarlierOutput): Promise<string[]> {
  const added: string[] = []
  const visit = async (dir: string, prefix: string, written: ReadonlySet<string> | undefined): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = prefix + entry.name
      if (entry.isDirectory()) {
        // The earlier site's folder: what it listed is the earlier run's; the rest was added.
        const inSite = prefix === '' && entry.name === earlier.siteFolder ? earlier.siteFiles : undefined
        if (prefix === '' && earlier.names.has(entry.name) && inSite === undefined) continue
        await visit(join(dir, entry.name), `${path}/`, inSite ?? written)
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (prefix === '' && earlier.names.has(entry.name)) continue
        if (written !== undefined && written.has(path.slice(path.indexOf('/') + 1))) continue
        added.push(path)
      }
    }
  }
  await visit(out, '', undefined)
  return added.sort()
}

/**
 * Throws UsageError if an added file has the path of one the new output writes (or of a folder it makes, or lies
 * below one of its files). `writes` tells whether a path is one of the new output's files; `folders`, its folders.
 */
export function checkAddedFiles (added: readonly string[], writes: (path: string) => boolean, folders: (path: string) => boolean, label: string): void {
  for (const path of added) {
    const parts = path.split('/')
    const clash = writes(path) || folders(path) || parts.slice(1).some((_, i) => writes(parts.slice(0, i + 1).join('/')))
    if (clash) throw new UsageError(`${path} in ${label} was not written by peersite, and this run writes that path: move it out of the folder first`)
  }
}

/** Copies the added files from the old output into the new one being assembled (a symbolic link as a link). */
export async function copyAddedFiles (from: string, to: string, added: readonly string[]): Promise<void> {
  for (const path of added) {
    const source = join(from, ...path.split('/'))
    const target = join(to, ...path.split('/'))
    await makeFolders(dirname(target))
    if ((await lstat(source)).isSymbolicLink()) await symlink(await readlink(source), target)
    else await copyFile(source, target)
  }
}

/** "kept 2 files added to out/ since it was written: CNAME, _headers": one line, at most 3 names. */
export function keptLine (added: readonly string[], label: string): string {
  const names = added.slice(0, 3).join(', ') + (added.length > 3 ? `, and ${added.length - 3} more` : '')
  return `kept ${added.length} ${added.length === 1 ? 'file' : 'files'} added to ${label} since it was written: ${names}`
}

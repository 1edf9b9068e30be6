/**
 * Which files of a folder make up the site. Regular files, in a stable order (so the same folder always gives the
 * same infohash); dotfiles and dot-folders are skipped except `.well-known/` at the site root (RFC 8615 puts it
 * there, and sites publish security.txt and friends in it). A symlink is followed if its target is inside the
 * folder and refused if not: publishing must never leak a file from elsewhere on the machine.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { UsageError } from '../../engine/errors.js'

export interface SiteFile {
  /** Site-relative, '/'-separated: "docs/guide/index.html". */
  readonly path: string
  /** Where to read it (through a symlink if the site has one). */
  readonly absPath: string
  readonly length: number
  readonly mtimeMs: number
}

export interface SiteListing {
  /** The folder, resolved (symlinks in its own path resolved too). */
  readonly root: string
  readonly files: SiteFile[]
  readonly length: number
}

/** RFC 8615 well-known URIs: the one dot-folder a site needs. */
const WELL_KNOWN = '.well-known'

export async function walkSite (dir: string): Promise<SiteListing> {
  const given = resolve(dir)
  let info
  try {
    info = await stat(given)
  } catch (err) {
    throw fsError(err, `folder ${dir}`)
  }
  if (!info.isDirectory()) throw new UsageError(`not a folder: ${dir} (publish a folder, not a single file)`)
  const root = await realpath(given)
  const files: SiteFile[] = []
  walkDir(root, root, '', new Set([root]), files)
  if (files.length === 0) throw new UsageError(`folder ${dir} has no files to publish (dotfiles are skipped)`)
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const length = files.reduce((sum, f) => sum + f.length, 0)
  if (length === 0) throw new UsageError(`folder ${dir} holds only empty files: nothing to publish`)
  return { root, files, length }
}

/**
 * Synchronous on purpose: a folder of 10,000 files costs one lstat each, and through the async
 * API each of those is a thread-pool round trip that costs more than the system call itself (README "Where publish
 * time goes"). Nothing else runs while publish lists its folder.
 */
function walkDir (root: string, absDir: string, relDir: string, ancestors: Set<string>, out: SiteFile[]): void {
  let entries: Dirent[]
  try {
    entries = readdirSync(absDir, { withFileTypes: true })
  } catch (err) {
    throw fsError(err, `folder ${relDir === '' ? root : relDir}`)
  }
  for (const entry of entries) {
    const name = entry.name
    const rel = relDir === '' ? name : `${relDir}/${name}`
    const abs = join(absDir, name)
    if (name.startsWith('.') && !(relDir === '' && name === WELL_KNOWN)) continue
    if (name.includes('\\')) throw new UsageError(`cannot publish ${rel}: a file name with a backslash is not portable`)

    let target = abs
    let kind
    try {
      kind = lstatSync(abs)
    } catch (err) {
      throw fsError(err, rel)
    }
    if (kind.isSymbolicLink()) {
      try {
        target = realpathSync(abs)
      } catch {
        throw new UsageError(`cannot read ${rel}: broken symlink`)
      }
      if (!isInside(root, target)) throw new UsageError(`symlink ${rel} points outside the folder (to ${target})`)
      try {
        kind = statSync(target)
      } catch (err) {
        throw fsError(err, rel)
      }
    }

    if (kind.isDirectory()) {
      const real = target === abs ? realpathSync(abs) : target
      if (ancestors.has(real)) throw new UsageError(`symlink loop at ${rel}`)
      ancestors.add(real)
      walkDir(root, abs, rel, ancestors, out)
      ancestors.delete(real)
    } else if (kind.isFile()) {
      // Readability is checked where each file is opened to be hashed (cli/lib/torrent.ts), before anything is
      // written, with the same message: opening every file twice was a fifth of publish's time on small files.
      out.push({ path: rel, absPath: abs, length: kind.size, mtimeMs: kind.mtimeMs })
    }
    // Sockets, FIFOs and devices are not web content: skipped.
  }
}

export function isInside (parent: string, child: string): boolean {
  const rel = relative(parent, child)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel))
}

/** A file-system error as a UsageError naming the thing and the reason in words. */
export function fsError (err: unknown, what: string): UsageError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT': return new UsageError(`${what} does not exist`)
    case 'EACCES':
    case 'EPERM': return new UsageError(`cannot read ${what}: permission denied`)
    case 'ENOTDIR': return new UsageError(`${what} is not a folder`)
    case 'ELOOP': return new UsageError(`cannot read ${what}: too many levels of symlinks`)
    case 'EISDIR': return new UsageError(`${what} is a folder, not a file`)
    default: return new UsageError(`cannot read ${what}: ${(err as Error).message}`)
  }
}

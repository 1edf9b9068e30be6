/**
 * Which files of a folder make up the site. Regular files, in a stable order (so the same folder always gives the
 * same infohash); dotfiles and dot-folders are skipped except `.well-known/` at the site root (RFC 8615 puts it
 * there, and sites publish security.txt and friends in it). A symlink is followed if its target is inside the
 * folder and refused if not: publishing must never leak a file from elsewhere on the machine.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { defaultThreads, HashThreads, PARALLEL_MIN_FILES } from './hash-pool.js'

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
  /**
   * Threads started because the folder is big (cli/lib/hash-pool.ts): they listed its files and will hash them.
   * buildTorrent ends them; so does anything that gives up on the listing before (or they end when left idle).
   */
  readonly threads?: HashThreads
  /** One line per entry left out that is not a file or folder: `skipping pipe: not a regular file (fifo)`. */
  readonly skipped: readonly string[]
}

export interface WalkOptions {
  /** Threads to list (lstat) and later hash the files: default from PARALLEL_MIN_FILES files on; 0: none. */
  threads?: number
}

/** RFC 8615 well-known URIs: the one dot-folder a site needs. */
const WELL_KNOWN = '.well-known'

interface Found {
  /** Files found through a symlink, already stat'ed. */
  readonly files: SiteFile[]
  /** Regular files as readdir saw them (site path, path to read): lstat still to do. */
  readonly rels: string[]
  readonly abss: string[]
  readonly skipped: string[]
  threads: HashThreads | undefined
  readonly opts: WalkOptions
}

export async function walkSite (dir: string, opts: WalkOptions = {}): Promise<SiteListing> {
  const given = resolve(dir)
  let info
  try {
    info = await stat(given)
  } catch (err) {
    throw fsError(err, `folder ${dir}`)
  }
  if (!info.isDirectory()) throw new UsageError(`not a folder: ${dir} (publish a folder, not a single file)`)
  const root = await realpath(given)
  const found: Found = { files: [], rels: [], abss: [], skipped: [], threads: opts.threads !== undefined && opts.threads > 0 ? new HashThreads(opts.threads) : undefined, opts }
  try {
    walkDir(root, root, root, '', new Set([root]), found)
    const files = found.files
    // Sizes and times of the regular files: on the threads when the folder is big, a batch of lstat each.
    const { rels, abss } = found
    if (found.threads !== undefined) {
      const stats = await found.threads.stat(abss, rels)
      for (let i = 0; i < rels.length; i++) {
        if (stats.files[i] !== 1) throw changedWhileListed(rels[i]!)
        files.push({ path: rels[i]!, absPath: abss[i]!, length: stats.sizes[i]!, mtimeMs: stats.mtimes[i]! })
      }
    } else {
      for (let i = 0; i < rels.length; i++) {
        let st
        try {
          st = lstatSync(abss[i]!)
        } catch (err) {
          throw fsError(err, rels[i]!)
        }
        if (!st.isFile()) throw changedWhileListed(rels[i]!)
        files.push({ path: rels[i]!, absPath: abss[i]!, length: st.size, mtimeMs: st.mtimeMs })
      }
    }
    if (files.length === 0) throw new UsageError(`folder ${dir} has no files to publish (dotfiles are skipped)`)
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const length = files.reduce((sum, f) => sum + f.length, 0)
    if (length === 0) throw new UsageError(`folder ${dir} holds only empty files: nothing to publish`)
    return { root, files, length, skipped: found.skipped, ...(found.threads !== undefined ? { threads: found.threads } : {}) }
  } catch (err) {
    await found.threads?.close()
    throw err
  }
}

/**
 * Synchronous on purpose: through the async API each directory read is a thread-pool round trip (README "Where
 * publish time goes"). Nothing else runs while publish lists its folder. readdir's entry types say which names are
 * regular files and folders without a system call each; only symlinks (and entries of unknown type) are stat'ed
 * here. `realDir` is `absDir` with symlinks resolved: a plain folder's real path is its parent's plus its name.
 */
function walkDir (root: string, absDir: string, realDir: string, relDir: string, ancestors: Set<string>, found: Found): void {
  let entries: Dirent[]
  try {
    entries = readdirSync(absDir, { withFileTypes: true })
  } catch (err) {
    throw fsError(err, `folder ${relDir === '' ? root : relDir}`)
  }
  let utf8Checked = false
  for (const entry of entries) {
    const name = entry.name
    if (name.startsWith('.') && !(relDir === '' && name === WELL_KNOWN)) continue
    const rel = relDir === '' ? name : `${relDir}/${name}`
    // readdir decodes a name that is not UTF-8 with U+FFFD in place of its bad bytes: a name that does not exist. The
    // folder is read again as bytes once, whatever the number of such names (once per name was quadratic).
    if (!utf8Checked && name.includes('\uFFFD')) {
      checkUtf8Names(absDir, relDir)
      utf8Checked = true
    }
    if (name.includes('\\')) throw new UsageError(`cannot publish ${rel}: a file name with a backslash is not portable`)
    // absDir is absolute and normalized, name one segment: joined without join()'s normalizing pass per entry.
    const abs = absDir.endsWith(sep) ? absDir + name : absDir + sep + name

    if (entry.isFile()) {
      // Readability is checked where each file is opened to be hashed (cli/lib/torrent.ts), before anything is
      // written, with the same message: opening every file twice was a fifth of publish's time on small files.
      found.rels.push(rel)
      found.abss.push(abs)
      // A big folder: threads start now, and boot while the rest of it is read.
      if (found.threads === undefined && found.opts.threads === undefined && found.rels.length === PARALLEL_MIN_FILES && defaultThreads() > 0) found.threads = new HashThreads(defaultThreads())
      continue
    }
    if (entry.isDirectory()) {
      enter(root, abs, join(realDir, name), rel, ancestors, found)
      continue
    }

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
      } catch (err) {
        // ENOENT: it (or a link it leads to) points at nothing; ELOOP: links that lead to each other, not a broken one.
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'ELOOP') throw new UsageError(`symlink loop at ${rel}`)
        if (code === 'ENOENT') throw new UsageError(`cannot read ${rel}: broken symlink`)
        throw fsError(err, rel)
      }
      if (!isInside(root, target)) throw new UsageError(`symlink ${rel} points outside the folder (to ${target})`)
      try {
        kind = statSync(target)
      } catch (err) {
        throw fsError(err, rel)
      }
    }

    if (kind.isDirectory()) {
      enter(root, abs, target === abs ? join(realDir, name) : target, rel, ancestors, found)
    } else if (kind.isFile()) {
      found.files.push({ path: rel, absPath: abs, length: kind.size, mtimeMs: kind.mtimeMs })
    } else {
      // Sockets, FIFOs and devices are not web content: skipped, saying so (a FIFO is never opened: that would block).
      found.skipped.push(`skipping ${rel}: not a regular file (${specialKind(kind)})`)
    }
  }
}

function specialKind (kind: Stats): string {
  return kind.isFIFO() ? 'fifo' : kind.isSocket() ? 'socket' : kind.isCharacterDevice() ? 'character device' : kind.isBlockDevice() ? 'block device' : 'unknown type'
}

/**
 * Refuses a folder holding a file name that is not UTF-8 (Linux allows any bytes but '/' and NUL): a torrent's paths
 * are UTF-8 (BEP 3), so it cannot be published as it is. Refused rather than skipped: a site published without a
 * file its pages link to is broken where nobody looks, and renaming the file is the user's call. Called only for a
 * name with U+FFFD in it (a name may hold that character validly): the folder is read again as bytes.
 */
function checkUtf8Names (absDir: string, relDir: string): void {
  const strict = new TextDecoder('utf-8', { fatal: true })
  for (const raw of readdirSync(absDir, { encoding: 'buffer' })) {
    try {
      strict.decode(raw)
    } catch {
      const shown = relDir === '' ? escapeName(raw) : `${relDir}/${escapeName(raw)}`
      throw new UsageError(`file name is not valid UTF-8: ${shown} (a torrent's paths are UTF-8: rename it)`)
    }
  }
}

/** A file name's bytes for a message: its valid UTF-8 as text, every other byte as \xNN. */
export function escapeName (raw: Uint8Array): string {
  const strict = new TextDecoder('utf-8', { fatal: true })
  let out = ''
  let i = 0
  while (i < raw.length) {
    const lead = raw[i]!
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0
    let text: string | undefined
    if (size > 0 && i + size <= raw.length) {
      try {
        text = strict.decode(raw.subarray(i, i + size))
      } catch {
        // Not a valid sequence (a stray continuation byte, an overlong form, a surrogate): its lead byte is escaped.
      }
    }
    if (text === undefined) {
      out += `\\x${lead.toString(16).padStart(2, '0')}`
      i++
    } else {
      // Control characters would break the one line: escaped too.
      out += text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
      i += size
    }
  }
  return out
}

function enter (root: string, abs: string, real: string, rel: string, ancestors: Set<string>, found: Found): void {
  if (ancestors.has(real)) throw new UsageError(`symlink loop at ${rel}`)
  ancestors.add(real)
  walkDir(root, abs, real, rel, ancestors, found)
  ancestors.delete(real)
}

function changedWhileListed (rel: string): UsageError {
  return new UsageError(`${rel} changed while the folder was being listed: publish again`)
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

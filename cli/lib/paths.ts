/**
 * Path helpers for output folders that may not exist yet, and for the small JSON files a run reads
 * (readJsonObject), writes whole (writeAtomically) and sweeps up after a killed one (removeKilledWrites).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { existsSync, renameSync } from 'node:fs'
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rm, rmdir, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { printError } from './format.js'
import { interruptedBy, mayHaveMade, removeNow, stagingLeftovers, undoOnSignal } from './signals.js'
import { errnoCode, systemReason } from './system-errors.js'

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
 * `label` names that output folder (as the user gave it) when the file system makes no folder there: the staging
 * folder's own name means nothing to the user.
 */
export async function makeStagingFolder (prefix: string, label: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const path = `${prefix}${randomBytes(3).toString('hex')}`
    try {
      await mkdir(path)
      return path
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // ENOENT though the parent folder is there: a file system that makes no folders (procfs, sysfs).
      if (code === 'ENOENT' && await stat(dirname(path)).then((s) => s.isDirectory(), () => false)) {
        throw new UsageError(`cannot create ${label}: the file system of ${dirname(path)} does not allow new folders`)
      }
      if (code !== 'EEXIST' || attempt >= 100) throw err
    }
  }
}

/**
 * The staging folder of the output folder `out` (`get --out`, `loader --out`), beside it so that it is renamed into
 * place whole: `.<name>.peersite-partial-<pid>-xxxxxx`, made after the folders above `out`. A run that was killed
 * (SIGKILL, a crash, a power cut) leaves its staging folder behind; the next run for the same `out` removes those
 * whose process is gone (and those of an earlier `loader --out`, named `...-<pid>` alone), and puts back an earlier
 * output such a run had moved aside (`...-old`) if nothing took its place (putBack; `onKept` is told of one it keeps).
 * A folder whose process still runs (another run into the same place; mayHaveMade: not one that has its pid but
 * started after the folder was named), or whose name is not one a run makes, is left alone.
 */
export async function makeOutputStaging (out: string, label: string, onKept?: (path: string) => void): Promise<string> {
  await makeFolders(dirname(out))
  const prefix = `.${basename(out)}.peersite-partial-`
  for (const path of await sweepLeftovers(out, prefix, /^(?<pid>\d+)(?:-[A-Za-z0-9]{6}(?<old>-old)?)?$/, false)) onKept?.(path)
  return await makeStagingFolder(join(dirname(out), `${prefix}${process.pid}-`), label)
}

/**
 * What killed runs left beside `out`, named `prefix` + a name `pattern` matches: its `pid` group names the run's
 * process (a name without one, from an older version, is swept only if `unnamed`), its `old` group marks an earlier
 * output that run had moved aside. Those of a process that is gone (or that has its pid but started after the folder
 * was named: mayHaveMade) are removed, and an earlier output is put back (putBack) or kept, never removed: the ones
 * kept are returned. Anything else, a live run's folder included, is left alone, as is one that cannot be removed
 * (someone else's).
 */
export async function sweepLeftovers (out: string, prefix: string, pattern: RegExp, unnamed: boolean): Promise<string[]> {
  const kept: string[] = []
  for (const rest of await stagingLeftovers(out, prefix)) {
    const groups = pattern.exec(rest)?.groups
    if (groups === undefined) continue
    const path = join(dirname(out), prefix + rest)
    if (groups.pid === undefined) {
      if (!unnamed) continue
    } else {
      const pid = Number(groups.pid)
      if (!Number.isSafeInteger(pid) || pid <= 0) continue
      if (pid === process.pid) {
        // Named with this process's own pid but not made by this run: a killed run's whose pid came back (a
        // container's run is often pid 1 each time), or a live run's in another pid namespace that writes into
        // the same folder (two containers sharing a volume, both pid 1). Nothing here tells them apart, so
        // nothing is removed or moved; an earlier output moved aside is named to the user.
        if (groups.old !== undefined) kept.push(path)
        continue
      }
      const changed = await lstat(path).then((s) => s.ctimeMs, () => undefined)
      if (changed === undefined || mayHaveMade(pid, changed)) continue
    }
    if (groups.old !== undefined) {
      if (!await putBack(path, out)) kept.push(path)
    } else {
      await rm(path, { recursive: true, force: true }).catch(() => {})
    }
  }
  return kept
}

/** What a user is told of an earlier output that a killed run moved aside and that could not go back (putBack). */
export function keptAsideWarning (path: string): string {
  return `kept ${path}: an earlier output that an interrupted run had moved aside; remove it once you have what you need from it`
}

/**
 * Puts back at `out` an earlier output that a killed run had moved aside to `old`, when nothing took its place:
 * `out` is missing, or an empty folder made since (a deploy script's `mkdir -p`). Otherwise `old` stays where it is
 * and this returns false: it may hold files the user added to the output (a CNAME), so it is never removed here.
 */
export async function putBack (old: string, out: string): Promise<boolean> {
  // A file at `out`, no permission, or another run's doing meanwhile: kept.
  return await renameOntoEmpty(old, out).catch(() => false)
}

/**
 * Renames the folder `from` to `to` if `to` is missing or an empty folder (removed first), and returns true; returns
 * false, moving nothing, if `to` holds anything. Other errors (`to` is a file, no permission) are thrown.
 */
export async function renameOntoEmpty (from: string, to: string): Promise<boolean> {
  const entries = await readdir(to).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (entries !== undefined && entries.length > 0) return false
  if (entries !== undefined) await rmdir(to)
  await rename(from, to)
  return true
}

/**
 * The one step that puts a new output, written in full to `staging` beside it, in place of the output folder `out`:
 * two renames, so the earlier output stays whole until the new one is complete (`out` moved aside to
 * `<staging>-old`, then `staging` renamed to `out`, then the earlier one removed). A run killed between the renames
 * leaves it at `-old`, for the next run's sweep to put back (sweepLeftovers); Ctrl-C is undone at once (undoNow,
 * undoReplaceOnSignal).
 */
export class OutputReplacement {
  /** Where the earlier output is while the new one moves in. */
  readonly old: string
  /** How far run() is, as its renames' callbacks report it (the folders on disk may be one step further). */
  private step: 'staging' | 'aside' | 'done' = 'staging'

  constructor (readonly staging: string, readonly out: string) {
    this.old = `${staging}-old`
  }

  /**
   * The renames. `earlier`: whether an earlier output may be at `out` to move aside (with false, `staging` is renamed
   * straight to `out`, which fails if a folder with files appeared there meanwhile). If the new output cannot be
   * renamed in, the earlier one goes back before the error is thrown.
   */
  async run (earlier = true): Promise<void> {
    if (earlier) {
      const aside = await rename(this.out, this.old).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false
        throw err
      })
      if (aside) this.step = 'aside'
    }
    try {
      await rename(this.staging, this.out)
    } catch (err) {
      if (this.step === 'aside') {
        await rename(this.old, this.out).then(() => { this.step = 'staging' }, () => {}) // the earlier output back
      }
      throw err
    }
    this.step = 'done'
    await rm(this.old, { recursive: true, force: true })
  }

  /**
   * Undoes what is not finished, synchronously (for a signal handler): before the new output is in place, the
   * earlier one goes back to `out` and the staging folder is removed ('earlier'); after, what is left of the earlier
   * one is removed ('new'). A rename's callback can run after the signal's though the rename is done on disk, so the
   * folders tell where the outputs are: the earlier one at `old`, unless the new one is in `out` already. Throws,
   * naming where the earlier output is, if it cannot be put back.
   */
  undoNow (): 'earlier' | 'new' {
    let done = this.step === 'done'
    if (!done && existsSync(this.old)) {
      try {
        renameSync(this.old, this.out)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        // `out` is taken: by the new output if the staging folder is gone (its rename is done), else by something
        // else meanwhile (another run), and then the earlier output stays where it is, named to the user.
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || existsSync(this.staging)) throw new Error(`${this.out} could not be put back (${String(code)}): the earlier output is in ${this.old}`)
        done = true // the new output is in `out`
      }
    }
    removeNow(done ? this.old : this.staging)
    return done ? 'new' : 'earlier'
  }
}

/**
 * Until the returned function is called, SIGINT and SIGTERM undo the replacement of the output folder `out`
 * (OutputReplacement.undoNow, `current()` being the one under way, undefined while there is none yet) and exit 130 or
 * 143, saying so in one line when the earlier output is left as it was.
 */
export function undoReplaceOnSignal (out: string, current: () => OutputReplacement | undefined): () => void {
  return undoOnSignal((signal) => {
    const replacement = current()
    if (replacement === undefined) return
    if (replacement.undoNow() === 'earlier') printError(`${interruptedBy(signal)}; nothing was written to ${out}`)
  })
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

/** What readJsonObject found: each caller says what a missing, unreadable or damaged file means for it. */
export type JsonObjectRead =
  | { kind: 'object', value: Record<string, unknown> }
  | { kind: 'missing' }
  /** `reason`: why it cannot be read, in words (systemReason). */
  | { kind: 'unreadable', reason: string }
  | { kind: 'damaged', reason: 'not JSON' | 'not a JSON object' }

/** A small JSON file whose top level should be an object (a state file, an output's peersite.json), read whole. */
export async function readJsonObject (path: string): Promise<JsonObjectRead> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? { kind: 'missing' } : { kind: 'unreadable', reason: systemReason(err) }
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: 'damaged', reason: 'not JSON' }
  }
  // An array is an object to typeof, but no file read here is one: each caller would look for fields in it.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'damaged', reason: 'not a JSON object' }
  return { kind: 'object', value: value as Record<string, unknown> }
}

/**
 * Writes `data` to `path` whole or not at all: into a temporary file beside it named with this process's pid
 * (`<path>.<pid>.<uuid>.tmp`: the uuid keeps two writes of one process apart), flushed to the disk, then renamed over
 * `path`, so that a crash leaves the old file or the new one, never half of one. `mode` is the new file's (before
 * the umask): 0o600 for private state. A failed write removes its temporary file (named with this process's pid, no
 * later run's sweep would); one a killed process left is removed by removeKilledWrites.
 */
export async function writeAtomically (path: string, data: string | Uint8Array, mode = 0o666): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`
  const handle = await open(tmp, 'wx', mode) // fails if the name is taken: then there is no file of ours to remove
  try {
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/**
 * The temporary files of writeAtomically that a process killed between its write and its rename left beside `path`,
 * removed once their process is gone: `<path>.<pid>.<uuid>.tmp`, and `<path>.tmp-<pid>` as mirror named them before
 * (an older version's may still be there). sweepLeftovers never removes a running process's (another get, seed or
 * mirror on the same folder may be writing it now), nor one named with this process's own pid.
 */
export async function removeKilledWrites (path: string): Promise<void> {
  const name = basename(path)
  await sweepLeftovers(path, `${name}.`, /^(?<pid>\d+)\.[0-9a-f-]{36}\.tmp$/, false)
  await sweepLeftovers(path, `${name}.tmp-`, /^(?<pid>\d+)$/, false)
}

/**
 * What this machine remembers of each site key between runs: the highest seq verified (and its record), so that a
 * replayed older record is refused as a rollback even after a restart, and a publish from this machine never reuses
 * a seq. One small JSON file, `pointers.json`, in PEERSITE_STATE_DIR, else $XDG_STATE_HOME/peersite, else
 * ~/.local/state/peersite:
 *
 *   { "version": 1, "keys": { "<public key hex>[:<salt hex>]": { "seq": 123, "forked": true?, "record": { k, salt?, seq, v, sig }? } } }
 *
 * Written atomically (writeAtomically: a temporary file in the same folder, fsync, rename), 0o600 (private state),
 * in a folder made 0o700 when this makes it (mirror's pointers.json sits in the mirror folder, whose mode is the
 * user's: an existing folder is never changed), so a crash leaves the old file or the new one, never half of one.
 * Two processes writing at once: the last rename wins and the other's update is lost, which only lowers the bar for
 * a rollback back to what the survivor knew (the seq then grows again on the next record seen). Within one process,
 * saves to one file run one at a time (each reads, changes and writes the file in its turn), so overlapping saves of
 * different keys, or of one key, all land. A damaged file (not JSON, or not this format: a later peersite's, say) is read as empty rather than
 * stopping the CLI, after it is renamed aside to `pointers.json.corrupt-<time>` (nothing in it is lost; being moved,
 * it is reported once) with one warning. The temporary files of a process killed between its write and its rename
 * (`pointers.json.<pid>.<uuid>.tmp`) are removed when the file is first read, once their process is gone
 * (removeKilledWrites: never a running process's).
 */
import { lstat, rename } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { UsageError } from '../../engine/errors.js'
import { nodeVerifier } from '../../engine/pointer/node.js'
import { pointerFromJson, pointerToJson, verifyPointer, type PointerKnown, type PointerRecordJson } from '../../engine/pointer/index.js'
import { fromHex } from '../../engine/util/bytes.js'
import { warn } from './format.js'
import { makeFolders, readJsonObject, removeKilledWrites, writeAtomically } from './paths.js'
import { systemReason } from './system-errors.js'

export const STATE_FILE = 'pointers.json'

export function defaultStateDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.PEERSITE_STATE_DIR !== undefined && env.PEERSITE_STATE_DIR !== '') return env.PEERSITE_STATE_DIR
  if (env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '') return join(env.XDG_STATE_HOME, 'peersite')
  return join(homedir(), '.local', 'state', 'peersite')
}

interface StoredKey { seq: number, forked?: true, record?: PointerRecordJson }
interface StateFile { version: 1, keys: Record<string, StoredKey> }

/** The tail of the saves queued on each file (by path), shared by every PointerStateFile of this process. */
const saving = new Map<string, Promise<void>>()

/** Where a damaged state file is moved: beside it, named after the time (`pointers.json.corrupt-2026-12-04T16-20-05-123Z`). */
export function corruptCopyPath (path: string, now = new Date()): string {
  return `${path}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`
}

export class PointerStateFile {
  readonly path: string
  readonly #onWarning: (message: string) => void
  /** The sweep of killed writes' temporary files (removeKilledWrites), once per instance. */
  #swept: Promise<void> | undefined

  constructor (dir: string = defaultStateDir(), onWarning: (message: string) => void = warn) {
    this.path = join(dir, STATE_FILE)
    this.#onWarning = onWarning
  }

  /**
   * Removes the temporary files that processes killed between their write and their rename left beside the file,
   * once their process is gone; the first read does it too (get, seed and serve), mirror on start (its folder holds
   * a pointers.json even while it mirrors no site key).
   */
  async removeKilledWrites (): Promise<void> {
    this.#swept ??= removeKilledWrites(this.path)
    await this.#swept
  }

  /** What is known of `id` (pointerId(publicKey, salt)); the stored record is checked again (the file is only ours
   * as long as nobody edits it) and dropped, keeping the seq, if it no longer verifies. */
  async load (id: string): Promise<PointerKnown | undefined> {
    const stored = (await this.#read('load')).keys[id]
    if (stored === undefined) return undefined
    let record
    if (stored.record !== undefined && stored.forked !== true) {
      try {
        const [key, salt] = id.split(':')
        record = await verifyPointer(nodeVerifier, pointerFromJson(stored.record), { publicKey: fromHex(key!), salt: fromHex(salt ?? '') })
        if (record.seq !== stored.seq) record = undefined
      } catch {
        record = undefined
      }
    }
    return { seq: stored.seq, ...(stored.forked === true ? { forked: true } : {}), ...(record !== undefined ? { record } : {}) }
  }

  /** Records `known` for `id` unless the file already knows a higher seq for it; after the saves queued before it
   * on this file (by any instance), so that none reads the file before another's write and writes back over it. */
  async save (id: string, known: PointerKnown): Promise<void> {
    const previous = saving.get(this.path) ?? Promise.resolve()
    const done = previous.then(async () => await this.#save(id, known))
    const tail = done.catch(() => {})
    saving.set(this.path, tail)
    try {
      await done
    } finally {
      if (saving.get(this.path) === tail) saving.delete(this.path)
    }
  }

  /**
   * save, for a record learnt while a command runs, which goes on without it: a failure is one warning line (the
   * same for every key and seq, so that a folder that stays read-only is reported once by warningPrinter).
   */
  async saveOrWarn (id: string, known: PointerKnown): Promise<void> {
    try {
      await this.save(id, known)
    } catch (err) {
      this.#onWarning(err instanceof UsageError
        ? `${err.message}: the newest versions seen of site keys are not remembered for the next run`
        : `cannot save ${this.path} (${systemReason(err)}): the newest versions seen of site keys are not remembered for the next run`)
    }
  }

  async #save (id: string, known: PointerKnown): Promise<void> {
    const state = await this.#read('save')
    const old = state.keys[id]
    if (old !== undefined && old.seq > known.seq) return
    state.keys[id] = {
      seq: known.seq,
      ...(known.forked === true ? { forked: true as const } : {}),
      ...(known.record !== undefined && known.forked !== true ? { record: pointerToJson(known.record) } : {})
    }
    // Private state: the file only its owner reads, in a folder only its owner lists.
    await makeFolders(dirname(this.path), 0o700)
    await writeAtomically(this.path, JSON.stringify(state, null, 2) + '\n', 0o600)
  }

  /**
   * The file's keys. One that cannot be read (no permission, a folder) is not known to be damaged and stays where it
   * is: a load reads it as empty, with one warning; a save refuses, since writing it anew would lose the newest
   * versions it holds of every other key.
   */
  async #read (purpose: 'load' | 'save'): Promise<StateFile> {
    await this.removeKilledWrites()
    const read = await readJsonObject(this.path)
    if (read.kind === 'missing') return { version: 1, keys: {} }
    if (read.kind === 'unreadable') {
      // Nothing there to lose (a part of the path is a file, say): read as empty, and a save says why it fails.
      if (!await lstat(this.path).then(() => true, () => false)) return { version: 1, keys: {} }
      if (purpose === 'save') throw new UsageError(`cannot read ${this.path} (${read.reason}), so it is not replaced`)
      this.#onWarning(`cannot read ${this.path} (${read.reason}): the newest versions seen of site keys are not known, so a rollback to an older one would not be noticed`)
      return { version: 1, keys: {} }
    }
    if (read.kind === 'damaged') return await this.#setAside(read.reason)
    const json = read.value as Partial<StateFile>
    if (json.version !== 1 || typeof json.keys !== 'object' || json.keys === null) {
      return await this.#setAside(json.version !== undefined && json.version !== 1 ? `unknown version ${JSON.stringify(json.version)}` : 'not a peersite state file')
    }
    // Entries that are not well formed are dropped one by one (the rest of the file still counts).
    const keys: Record<string, StoredKey> = {}
    for (const [id, v] of Object.entries(json.keys)) {
      if (!/^[0-9a-f]{64}(:([0-9a-f]{2}){1,64})?$/.test(id)) continue
      if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.seq) || v.seq < 0) continue
      Object.defineProperty(keys, id, { value: v, enumerable: true, writable: true, configurable: true })
    }
    return { version: 1, keys }
  }

  /** A damaged file: renamed aside (kept whole), reported in one line, read as empty. */
  async #setAside (why: string): Promise<StateFile> {
    const copy = corruptCopyPath(this.path)
    try {
      await rename(this.path, copy)
      this.#onWarning(`${this.path} is damaged (${why}): moved to ${copy}; the versions seen of site keys start again from what peers show`)
    } catch (err) {
      // Another process moved it first (it warned); else it stays, read as empty, and is replaced on the next write.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#onWarning(`${this.path} is damaged (${why}) and cannot be moved aside: read as empty`)
    }
    return { version: 1, keys: {} }
  }
}

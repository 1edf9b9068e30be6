/**
 * Pieces stored as the site's own files on disk (Node only: the one engine module allowed `node:` imports). A piece
 * may span several files and a file several pieces; `fileSlices` maps between them. This is what `peersite seed`
 * serves from and what a Node downloader writes into, so the folder is usable as-is afterwards.
 */
import { createHash } from 'node:crypto'
import type { BigIntStats } from 'node:fs'
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { Bitfield } from '../bitfield.js'
import { AbortError, StorageError } from '../errors.js'
import { fileSlices, type FileSlice, type Metainfo, type TorrentFile } from '../metainfo/index.js'
import { fileNameProblem, foldName, type NamePlatform, type NameRules } from '../metainfo/names.js'
import { pieceRange, type PieceStore, type PieceStoreInit } from './index.js'

export interface FsStoreInit extends PieceStoreInit {
  /** The folder the files live in (a multi-file torrent's files are relative to it). */
  readonly root: string
  readonly files: readonly TorrentFile[]
  /** File handles kept open between operations (least recently used ones are closed first). Default 16. */
  readonly maxOpenFiles?: number
  /**
   * Which of `files`' names this file system would make one file (engine/metainfo/names.ts), said by the caller, as
   * only it knows where the names come from. Names from a torrent, about to be written: the rules of the folder's
   * file system (probeNameRules, engine/storage/name-probe.ts, asked once per command and folder) or a platform's
   * (tests). 'checked': nothing to check here, as the store only reads files already on disk (a seeder: their names
   * are the disk's own, and sameFileRefusal finds two that are one file) or the caller refused them already with
   * fileNamesRefusal. The store never asks the disk itself: a probe is a file written into the folder.
   */
  readonly names: NamePlatform | NameRules | 'checked'
  /** The site a refusal names ("site (08cc9bb4)": siteLabel); default "these files". */
  readonly site?: string
  /** The folder a failed write names, default `root`: `get` writes into a staging folder that becomes its --out. */
  readonly shownRoot?: string
}

type Mode = 'r' | 'rw'

interface HandleEntry {
  readonly key: string
  readonly handle: Promise<FileHandle>
  /** Operations using the handle right now: a busy handle is never closed by eviction. */
  users: number
}

/** checkPieces reads in chunks this large: big sequential reads keep a disk (and the page cache) at full speed. */
const CHECK_CHUNK = 4 * 1024 * 1024

export class FsStore implements PieceStore {
  readonly pieceLength: number
  readonly length: number
  readonly root: string
  readonly files: readonly TorrentFile[]
  /** Absolute path of each file, checked once to be inside `root`. */
  readonly #paths: string[]
  /** File end offsets in torrent space, for a binary search instead of scanning every file per piece. */
  readonly #ends: number[]
  readonly #maxOpen: number
  readonly #shownRoot: string
  /** Insertion order is recency order: an entry is re-inserted on each use. */
  readonly #handles = new Map<string, HandleEntry>()
  #closed = false

  constructor (init: FsStoreInit) {
    if (!Number.isSafeInteger(init.pieceLength) || init.pieceLength <= 0) throw new RangeError(`invalid piece length ${init.pieceLength}`)
    // Files in torrent order, without overlaps; gaps between them are BEP 47 padding (zeros, never written).
    let end = 0
    for (const f of init.files) {
      if (f.offset < end) throw new RangeError(`file ${f.path} overlaps the one before it`)
      end = f.offset + f.length
    }
    if (end > init.length) throw new RangeError(`files hold ${end} bytes, expected at most ${init.length}`)
    this.pieceLength = init.pieceLength
    this.length = init.length
    this.root = resolve(init.root)
    this.#shownRoot = init.shownRoot ?? this.root
    this.files = init.files
    this.#maxOpen = Math.max(1, init.maxOpenFiles ?? 16)
    this.#paths = init.files.map((f) => this.#safePath(f.path))
    // Two paths this file system would make one file: the second would overwrite the first, and pieces are read
    // back without hashing them again, so peers would be served the wrong bytes. Refused before anything is written.
    const refusal = init.names === 'checked' ? undefined : fileNamesRefusal(init.files.map((f) => f.path), init.names, init.site)
    if (refusal !== undefined) throw refusal
    this.#ends = init.files.map((f) => f.offset + f.length)
  }

  async put (index: number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#check(signal)
    const { pieceLength } = pieceRange(this, index)
    if (data.length !== pieceLength) {
      throw new StorageError(`piece ${index} is ${pieceLength} bytes, got ${data.length}`, 'ERR_INVALID_LENGTH')
    }
    for (const slice of this.#slices(index * this.pieceLength, pieceLength)) {
      if (isAborted(signal)) throw new AbortError()
      try {
        await this.#withHandle(slice.file.index, 'rw', async (handle) => {
          let done = 0
          while (done < slice.length) {
            const { bytesWritten } = await handle.write(data, slice.rangeOffset + done, slice.length - done, slice.fileOffset + done)
            done += bytesWritten
          }
        })
      } catch (err) {
        throw this.#writeError(slice.file.path, err)
      }
    }
  }

  /**
   * A failed write names the file and the folder: the system's own error names neither (ENOSPC on a write) or only an
   * absolute path (a folder's creation). Its message ends with the system's, which the CLI says in words
   * (cli/lib/system-errors.ts errorInWords: "cannot write a.html in /srv/site: no space left on the device").
   */
  #writeError (path: string, err: unknown): unknown {
    if (!(err instanceof Error) || err instanceof AbortError || (err instanceof StorageError && err.code === 'ERR_CLOSED')) return err
    // #open's own wrapping ("cannot open <path>: …") gives way to this one.
    const cause = err instanceof StorageError && err.cause instanceof Error ? err.cause : err
    return new StorageError(`cannot write ${path} in ${this.#shownRoot}: ${cause.message}`, 'ERR_STORAGE', { cause })
  }

  /** Reads what is on disk. The engine only reads pieces it verified, so a missing or short file is 'ERR_NOT_FOUND'. */
  async get (index: number, range?: { offset: number, length: number }, signal?: AbortSignal): Promise<Uint8Array> {
    this.#check(signal)
    const { offset, length } = pieceRange(this, index, range)
    const out = new Uint8Array(length)
    for (const slice of this.#slices(index * this.pieceLength + offset, length)) {
      if (isAborted(signal)) throw new AbortError()
      await this.#withHandle(slice.file.index, 'r', async (handle) => {
        let done = 0
        while (done < slice.length) {
          const { bytesRead } = await handle.read(out, slice.rangeOffset + done, slice.length - done, slice.fileOffset + done)
          if (bytesRead === 0) throw new StorageError(`${slice.file.path} is shorter than expected`, 'ERR_NOT_FOUND')
          done += bytesRead
        }
      })
    }
    return out
  }

  /** Creates every zero-length file (and its folders) up front: no piece ever writes to them, yet the site has them. */
  async createEmptyFiles (): Promise<void> {
    this.#check(undefined)
    for (const file of this.files) {
      if (file.length !== 0) continue
      const path = this.#paths[file.index]!
      await mkdir(dirname(path), { recursive: true })
      // 'a' creates the file if needed and never truncates one that exists.
      await (await open(path, 'a')).close()
    }
  }

  /**
   * Which pieces on disk match their SHA-1 (what `peersite seed` runs before serving a folder). Reads the files in
   * torrent order with large sequential reads, hashing while the next read is in flight. Missing or short files
   * make the pieces that overlap them fail; nothing throws for bad data.
   */
  async checkPieces (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'pieceHashes'>, signal?: AbortSignal): Promise<Bitfield> {
    this.#check(signal)
    if (meta.pieceLength !== this.pieceLength || meta.length !== this.length || meta.pieceHashes.length !== meta.pieceCount * 20) {
      throw new StorageError('metainfo does not describe this store', 'ERR_INVALID_ARGUMENT')
    }
    const verified = new Bitfield(meta.pieceCount)
    const hasher = new PieceHasher(meta, verified)
    const buffers = [new Uint8Array(CHECK_CHUNK), new Uint8Array(CHECK_CHUNK)]
    let hashed = 0
    for (const file of this.files) {
      if (file.length === 0) continue
      // BEP 47 padding before this file: "the content of padding file is all zeros".
      if (file.offset > hashed) hasher.zeros(file.offset - hashed)
      hashed = file.offset + file.length
      if (isAborted(signal)) throw new AbortError()
      let handle: FileHandle
      try {
        handle = await open(this.#paths[file.index]!, 'r')
      } catch {
        hasher.skip(file.length)
        continue
      }
      try {
        let position = 0
        let which = 0
        const readAt = (pos: number, buf: Uint8Array): Promise<number> =>
          handle.read(buf, 0, Math.min(buf.length, file.length - pos), pos).then((r) => r.bytesRead, () => 0)
        let pending = readAt(0, buffers[0]!)
        while (position < file.length) {
          const bytesRead = await pending
          if (bytesRead === 0) break
          const current = buffers[which]!
          position += bytesRead
          which ^= 1
          // Start the next read before hashing this chunk, so the disk and the CPU work at the same time.
          if (position < file.length) pending = readAt(position, buffers[which]!)
          hasher.update(current.subarray(0, bytesRead))
          if (isAborted(signal)) {
            if (position < file.length) await pending
            throw new AbortError()
          }
        }
        // A short file: whatever it lacks fails the pieces that cover it.
        if (position < file.length) hasher.skip(file.length - position)
      } finally {
        await handle.close()
      }
    }
    if (meta.length > hashed) hasher.zeros(meta.length - hashed)
    return verified
  }

  async close (): Promise<void> {
    this.#closed = true
    const entries = [...this.#handles.values()]
    this.#handles.clear()
    await Promise.all(entries.map(async (e) => {
      try { await (await e.handle).close() } catch { /* opening failed: nothing to close */ }
    }))
  }

  // ---- internals ------------------------------------------------------------------------------------------------

  #check (signal: AbortSignal | undefined): void {
    if (isAborted(signal)) throw new AbortError()
    if (this.#closed) throw new StorageError('the store is closed', 'ERR_CLOSED')
  }

  /**
   * Defence in depth: metainfo already rejects '..' and separators, but a store constructed from other input must
   * not write outside its folder either.
   */
  #safePath (path: string): string {
    const parts = path.split('/')
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) {
      throw new StorageError(`unsafe file path ${JSON.stringify(path)}`, 'ERR_UNSAFE_PATH')
    }
    const full = resolve(this.root, ...parts)
    const rel = relative(this.root, full)
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new StorageError(`file path ${JSON.stringify(path)} escapes ${this.root}`, 'ERR_UNSAFE_PATH')
    }
    return full
  }

  /** The file slices of torrent bytes [offset, offset + length), looking only at the files that can overlap. */
  #slices (offset: number, length: number): FileSlice[] {
    // First file whose end lies past `offset` (files are in torrent order, so ends are non-decreasing).
    let lo = 0
    let hi = this.#ends.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#ends[mid]! <= offset) lo = mid + 1
      else hi = mid
    }
    let stop = lo
    const end = offset + length
    while (stop < this.files.length && this.files[stop]!.offset < end) stop++
    return fileSlices({ files: this.files.slice(lo, stop) }, offset, length)
  }

  async #withHandle<T> (fileIndex: number, mode: Mode, use: (handle: FileHandle) => Promise<T>): Promise<T> {
    // A put or get that spans files may reach its next file after close(): opening it would leak the handle
    // (and recreate files in a folder the owner is removing).
    this.#check(undefined)
    const key = `${fileIndex}:${mode}`
    let entry = this.#handles.get(key)
    if (entry === undefined) {
      entry = { key, handle: this.#open(this.#paths[fileIndex]!, mode), users: 0 }
    } else {
      this.#handles.delete(key)
    }
    this.#handles.set(key, entry)
    entry.users++
    let handle: FileHandle
    try {
      handle = await entry.handle
    } catch (err) {
      entry.users--
      // Do not cache a failed open: the file may appear later (another piece's put creates it).
      if (this.#handles.get(key) === entry) this.#handles.delete(key)
      throw err
    }
    try {
      return await use(handle)
    } finally {
      entry.users--
      this.#evict()
    }
  }

  async #open (path: string, mode: Mode): Promise<FileHandle> {
    if (mode === 'r') {
      try {
        return await open(path, 'r')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageError(`${path} does not exist`, 'ERR_NOT_FOUND', { cause: err })
        throw new StorageError(`cannot open ${path}: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
      }
    }
    // 'r+' never truncates; only when the file is missing do we create it (and its folders). 'wx+' rather than
    // 'w+' so a file created meanwhile by someone else is never truncated.
    for (;;) {
      try {
        return await open(path, 'r+')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(`cannot open ${path}: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
      }
      await mkdir(dirname(path), { recursive: true })
      try {
        return await open(path, 'wx+')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageError(`cannot create ${path}: ${(err as Error).message}`, 'ERR_STORAGE', { cause: err })
      }
    }
  }

  /** Closes idle handles, least recently used first, until at most maxOpenFiles remain. */
  #evict (): void {
    if (this.#handles.size <= this.#maxOpen) return
    for (const entry of this.#handles.values()) {
      if (this.#handles.size <= this.#maxOpen) break
      if (entry.users > 0) continue
      this.#handles.delete(entry.key)
      entry.handle.then(async (h) => { await h.close() }, () => {}).catch(() => {})
    }
  }
}

/** A function, not an inline check: TypeScript would narrow `signal.aborted` to false after the first check. */
function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** Feeds torrent bytes, in order, into one SHA-1 per piece and records the pieces that match. */
class PieceHasher {
  readonly #meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'pieceHashes'>
  readonly #verified: Bitfield
  #index = 0
  /** Bytes of the current piece seen (hashed or skipped) so far. */
  #filled = 0
  #hash = createHash('sha1')
  /** The current piece lost some bytes: it cannot match, so its hash is not even finished. */
  #broken = false

  constructor (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'pieceHashes'>, verified: Bitfield) {
    this.#meta = meta
    this.#verified = verified
  }

  #currentLength (): number {
    const m = this.#meta
    return this.#index < m.pieceCount - 1 ? m.pieceLength : m.length - m.pieceLength * (m.pieceCount - 1)
  }

  update (bytes: Uint8Array): void {
    let at = 0
    while (at < bytes.length && this.#index < this.#meta.pieceCount) {
      const take = Math.min(bytes.length - at, this.#currentLength() - this.#filled)
      if (!this.#broken) this.#hash.update(bytes.subarray(at, at + take))
      at += take
      this.#advance(take)
    }
  }

  zeros (count: number): void {
    const zero = new Uint8Array(Math.min(count, this.#meta.pieceLength))
    while (count > 0) {
      const take = Math.min(count, zero.length)
      this.update(zero.subarray(0, take))
      count -= take
    }
  }

  skip (count: number): void {
    while (count > 0 && this.#index < this.#meta.pieceCount) {
      const take = Math.min(count, this.#currentLength() - this.#filled)
      this.#broken = true
      count -= take
      this.#advance(take)
    }
  }

  #advance (count: number): void {
    this.#filled += count
    if (this.#filled < this.#currentLength()) return
    if (!this.#broken) {
      const digest = this.#hash.digest()
      const expected = this.#meta.pieceHashes.subarray(this.#index * 20, this.#index * 20 + 20)
      if (digest.equals(expected)) this.#verified.set(this.#index)
    }
    this.#index++
    this.#filled = 0
    this.#broken = false
    this.#hash = createHash('sha1')
  }
}

/**
 * Why `paths` cannot be files side by side on a file system with these `rules` (the one wording of this refusal,
 * ERR_FILE_NAMES): names it would make one file (the rules of a folder: engine/storage/name-probe.ts) or that Windows
 * refuses. FsStore checks this before writing anything; `get` asks it before making its folder.
 */
export function fileNamesRefusal (paths: readonly string[], rules: NamePlatform | NameRules, site = 'these files'): StorageError | undefined {
  const problem = fileNameProblem(paths, rules)
  return problem === undefined ? undefined : new StorageError(`cannot store ${site} here: ${problem}`, 'ERR_FILE_NAMES')
}

/**
 * Each of `paths` under `root` as stat() sees it (links followed; device and inode numbers as bigints, which 64-bit
 * inode numbers need), or undefined where there is no file. `seed` takes them once, for the check's sizes and for
 * sameFileRefusal.
 */
export async function statFiles (paths: readonly string[], root: string): Promise<Array<BigIntStats | undefined>> {
  const stats: Array<BigIntStats | undefined> = []
  for (const path of paths) stats.push(await stat(resolve(root, ...path.split('/')), { bigint: true }).catch(() => undefined))
  return stats
}

/**
 * For files that already exist under `root` (a folder to seed): two paths whose names differ only in case or Unicode
 * form and that are one file (same device and inode: A.html and a.html on a case-insensitive file system) are the
 * collision. Paths of other names that are one file are not: a site may hold a hard link or a symbolic link to
 * another of its files (publish follows links inside the folder), and each is served as its own path. A file missing
 * is not this check's concern. `stats`: statFiles(paths, root) if the caller took them already.
 */
export async function sameFileRefusal (paths: readonly string[], root: string, site = 'these files', stats?: ReadonlyArray<BigIntStats | undefined>): Promise<StorageError | undefined> {
  const known = stats ?? await statFiles(paths, root)
  // Each file (device and inode) with its path, or once it has several, its paths by their folded names: one fold per
  // path of a file with several and one lookup, where comparing each path with every earlier one of its file was
  // quadratic (a site of many links to one file). A file's only path is never folded: most files have one.
  const seen = new Map<string, string | Map<string, string>>()
  for (const [i, path] of paths.entries()) {
    const st = known[i]
    if (st === undefined) continue
    const id = `${st.dev}:${st.ino}`
    const earlier = seen.get(id)
    if (earlier === undefined) {
      seen.set(id, path)
      continue
    }
    const others = typeof earlier === 'string' ? new Map([[foldName(earlier), earlier]]) : earlier
    const key = foldName(path)
    const other = others.get(key)
    if (other !== undefined) return new StorageError(`cannot store ${site} here: ${other} and ${path} are the same file in ${root} (names that differ only in case or Unicode form)`, 'ERR_FILE_NAMES')
    others.set(key, path)
    seen.set(id, others)
  }
  return undefined
}

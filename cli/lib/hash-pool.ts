/**
 * Piece hashing on several threads (issue 16: publish close to the hashing limit). A site of many small files costs
 * publish mostly system calls (open, read, close per file) and a big one SHA-1; `find | xargs cat | sha1sum` spreads
 * the same work over several processes, so over both cores of a small machine. Here the torrent's byte space is cut
 * at piece boundaries into segments, and worker threads each read and hash whole segments: a piece's hash depends
 * only on its own bytes, so segments need nothing from each other, and every piece hash lands in one shared table.
 *
 * Each worker holds one read buffer (at most READ_CHUNK) and a segment's file list: memory stays bounded whatever
 * the number of files. Files are read exactly as the single-threaded path reads them (cli/lib/torrent.ts): exactly
 * the listed length, one byte more asked at the end so a file that grew says so, one that shrank reads short.
 */
import { availableParallelism } from 'node:os'
import type { Worker } from 'node:worker_threads'
import { UsageError } from '../../engine/errors.js'
import { MAX_SCAN_BYTES, pageScanner, type PageScan, type ScanKind, type ScanSink } from './page-scan.js'
import { fsError, type SiteFile } from './walk.js'

/** Worker threads at most (one per core, and a core's worth of reads is enough to keep SHA-1 busy). */
const MAX_THREADS = 4
/** Segments per thread: threads that finish early take more, so a core busy with something else slows no one. */
const SEGMENTS_PER_THREAD = 8
/**
 * A file costs about as much as hashing this many bytes (open, read, close: ~20 µs here, where SHA-1 runs at about
 * 750 MB/s): segments are balanced on bytes plus files at this rate.
 */
const FILE_COST_BYTES = 16 * 1024
/** Below both of these, threads cost more to start (~30 ms each) than they save: one thread hashes. */
export const PARALLEL_MIN_FILES = 2000
export const PARALLEL_MIN_BYTES = 64 * 1024 * 1024

/** How many threads hash a site of this shape (0: none, the caller hashes on its own thread). */
export function hashThreads (files: number, bytes: number, forced?: number): number {
  if (forced !== undefined) return Math.max(0, Math.floor(forced))
  if (files < PARALLEL_MIN_FILES && bytes < PARALLEL_MIN_BYTES) return 0
  return defaultThreads()
}

/** One thread per core, at most MAX_THREADS; none on a single core, where threads would only take turns. */
export function defaultThreads (): number {
  const cores = availableParallelism()
  return cores < 2 ? 0 : Math.min(MAX_THREADS, cores)
}

/** A pool not given work for this long ends its threads (a publish that failed after listing its folder). */
const IDLE_CLOSE_MS = 10_000

export interface ParallelHashInit {
  readonly files: readonly SiteFile[]
  /** Where each file starts in the torrent (cli/lib/layout.ts), in the same order. */
  readonly offsets: readonly number[]
  /** Torrent bytes, padding included. */
  readonly length: number
  readonly pieceLength: number
  /** Bytes per read; also the largest file scanned. */
  readonly chunk: number
  /** Files to scan for what they name (cli/lib/page-scan.ts): the threads scan them as they read them. */
  readonly scan?: ScanSink
  onProgress?: (hashed: number, total: number) => void
}

/**
 * What lstat says of each path, by index: a regular file (1) or something else now (0), its size and mtime. Arrays,
 * not an object per path: 10,000 small objects that live until the folder is listed cost the collector more than
 * the arrays cost to read.
 */
export interface StatResults { readonly files: Uint8Array, readonly sizes: Float64Array, readonly mtimes: Float64Array }

/**
 * One segment: the pieces [firstPiece, endPiece) and the files that have bytes in them: their paths to read, joined
 * by NUL (no path holds one), and for each [length, offset, scan kind, index] in `fields`. Packed so: a list of
 * small arrays costs several times more to copy to a thread than one string and one typed array.
 */
interface HashJob { readonly type: 'hash', readonly id: number, readonly firstPiece: number, readonly endPiece: number, readonly paths: string, readonly fields: Float64Array }
interface StatJob { readonly type: 'stat', readonly id: number, readonly paths: readonly string[] }
interface Setup { readonly type: 'setup', readonly pieces: SharedArrayBuffer, readonly pieceLength: number, readonly length: number, readonly chunk: number }
type Job = HashJob | StatJob
interface Failure { readonly type: 'error', readonly id: number, readonly index: number, readonly changed: boolean, readonly code?: string, readonly message: string }
/**
 * A segment's scans: `found` holds each distinct finding once (most pages of a big site name the same few files),
 * `which` triples [file index, its ScanKind, position in `found`].
 */
interface Scans { readonly found: PageScan[], readonly which: number[] }
type Reply =
  | { readonly type: 'done', readonly id: number, readonly bytes: number, readonly scans?: Scans }
  | { readonly type: 'stat', readonly id: number, readonly sizes: Float64Array, readonly mtimes: Float64Array, readonly files: Uint8Array }
  | Failure

/**
 * Threads that list (lstat) and hash a site's files: `threads - 1` worker threads and this one, which takes jobs
 * between theirs (it would only wait for them otherwise, and a worker costs about 30 ms of CPU to boot). Started as
 * soon as a folder turns out big (cli/lib/walk.ts), so that the workers boot while the folder is still being read;
 * ended by close(), or by themselves when left idle.
 */
export class HashThreads {
  readonly #workers: Worker[]
  /** This thread's copy of the program, and where its replies go while a run lasts. */
  readonly #here: (message: Setup | Job) => void
  #hereReply: ((reply: Reply) => void) | undefined
  #idle: ReturnType<typeof setTimeout> | undefined
  #closed = false
  #dead: Error | undefined

  constructor (threads: number) {
    // Loaded here, not imported: a site small enough for one thread never loads the worker modules (3-6 ms).
    const { Worker } = process.getBuiltinModule('node:worker_threads')
    this.#workers = Array.from({ length: Math.max(1, threads) - 1 }, () => {
      // The page scanners go along as source text too: pages are scanned where their bytes are read.
      const worker = new Worker(`const { parentPort } = process.getBuiltinModule('node:worker_threads')
parentPort.on('message', (${hashProgram.toString()})(${pageScanner.toString()}, (reply, transfer) => { parentPort.postMessage(reply, transfer) }))`, { eval: true })
      // A thread that fails while idle must not crash the process: the next run reports it.
      worker.on('error', (err) => { this.#dead ??= err })
      worker.on('exit', (code) => { this.#dead ??= new Error(`exited (${code})`) })
      return worker
    })
    this.#here = hashProgram(pageScanner, (reply) => { this.#hereReply?.(reply) })
    this.#rest()
  }

  /** Threads that take jobs: the workers and this one. */
  get size (): number {
    return this.#workers.length + 1
  }

  get closed (): boolean {
    return this.#closed
  }

  /** lstat of each path, on the threads; a failure is thrown as fsError naming `labels[i]`. */
  async stat (paths: readonly string[], labels: readonly string[]): Promise<StatResults> {
    const batch = Math.max(256, Math.ceil(paths.length / (this.size * 4)))
    const jobs: StatJob[] = []
    for (let at = 0; at < paths.length; at += batch) jobs.push({ type: 'stat', id: at, paths: paths.slice(at, at + batch) })
    const out = { files: new Uint8Array(paths.length), sizes: new Float64Array(paths.length), mtimes: new Float64Array(paths.length) }
    const failure = await this.#run(jobs, (reply) => {
      if (reply.type !== 'stat') return
      out.files.set(reply.files, reply.id)
      out.sizes.set(reply.sizes, reply.id)
      out.mtimes.set(reply.mtimes, reply.id)
    }, (f) => f.id + f.index)
    if (failure !== undefined) throw fsError(errnoError(failure), labels[failure.id + failure.index] ?? paths[failure.id + failure.index] ?? 'a file')
    return out
  }

  /** The SHA-1 of every piece (20 bytes each, in order) of the files laid out at `offsets`. */
  async hash (init: ParallelHashInit): Promise<Uint8Array> {
    const { pieceLength, length } = init
    const pieceCount = Math.ceil(length / pieceLength)
    const shared = new SharedArrayBuffer(pieceCount * 20)
    const setup: Setup = { type: 'setup', pieces: shared, pieceLength, length, chunk: init.chunk }
    for (const w of this.#workers) w.postMessage(setup)
    this.#here(setup)
    let hashed = 0
    const failure = await this.#run(planJobs(init, pieceCount, this.size * SEGMENTS_PER_THREAD), (reply) => {
      if (reply.type === 'done') {
        const scans = reply.scans
        if (scans !== undefined && init.scan !== undefined) {
          const w = scans.which
          for (let k = 0; k + 2 < w.length; k += 3) init.scan.took(init.files[w[k]!]!.path, w[k + 1] as ScanKind, scans.found[w[k + 2]!]!)
        }
        hashed += reply.bytes
        init.onProgress?.(Math.min(hashed, length), length)
      }
    }, (f) => f.index)
    if (failure !== undefined) {
      // The first bad file in the site's order, whichever thread met it first: the same message one thread gives.
      const file = init.files[failure.index]
      if (file === undefined) throw new Error(`internal error: hashing failed: ${failure.message}`)
      if (failure.changed) throw new UsageError(`${file.path} changed while it was being hashed: publish again`)
      throw fsError(errnoError(failure), file.path)
    }
    return new Uint8Array(new Uint8Array(shared))
  }

  async close (): Promise<void> {
    this.#closed = true
    clearTimeout(this.#idle)
    await Promise.all(this.#workers.map(async (w) => { w.removeAllListeners(); await w.terminate() }))
  }

  /**
   * Hands the jobs out to whichever thread is free: two at a time to each worker (its next one is there while this
   * thread, busy with a job of its own, cannot answer), one at a time here between turns of the event loop. After a
   * failure no more are given, and the one that `order` puts first is returned once the others in flight are back.
   */
  async #run (jobs: readonly Job[], onReply: (reply: Reply) => void, order: (f: Failure) => number): Promise<Failure | undefined> {
    if (this.#closed) throw new Error('internal error: the hashing threads are closed')
    if (this.#dead !== undefined) throw new Error(`internal error: a hashing thread failed: ${this.#dead.message}`)
    clearTimeout(this.#idle)
    for (const w of this.#workers) w.ref() // a reply to wait for keeps the process alive
    let next = 0
    let failure: Failure | undefined
    const take = (): Job | undefined => failure === undefined ? jobs[next++] : undefined
    const handle = (reply: Reply): void => {
      if (reply.type === 'error') {
        if (failure === undefined || order(reply) < order(failure)) failure = reply
      } else {
        onReply(reply)
      }
    }
    const onWorker = async (worker: Worker): Promise<void> => await new Promise<void>((resolve, reject) => {
      let pending = 0
      const give = (): void => {
        for (let job = pending < 2 ? take() : undefined; job !== undefined; job = pending < 2 ? take() : undefined) {
          worker.postMessage(job)
          pending++
        }
        if (pending > 0) return
        worker.off('message', onMessage)
        worker.off('error', reject)
        worker.off('exit', onExit)
        resolve()
      }
      const onMessage = (reply: Reply): void => {
        handle(reply)
        pending--
        give()
      }
      const onExit = (code: number): void => { reject(new Error(`internal error: a hashing thread exited (${code})`)) }
      worker.on('message', onMessage)
      worker.once('error', reject)
      worker.once('exit', onExit)
      give()
    })
    const onThisThread = async (): Promise<void> => {
      this.#hereReply = handle
      try {
        while (true) {
          // A turn of the event loop first: the workers' replies are taken and they get their next jobs.
          await new Promise((resolve) => setImmediate(resolve))
          const job = take()
          if (job === undefined) return
          this.#here(job)
        }
      } finally {
        this.#hereReply = undefined
      }
    }
    try {
      await Promise.all([...this.#workers.map(onWorker), onThisThread()])
    } finally {
      next = jobs.length // a thread that failed ends the run: this one takes nothing more either
      this.#rest()
    }
    return failure
  }

  /** Idle: the threads do not keep the process alive, and end themselves if nothing comes. */
  #rest (): void {
    for (const w of this.#workers) w.unref()
    this.#idle = setTimeout(() => { void this.close() }, IDLE_CLOSE_MS)
    this.#idle.unref()
  }
}

function errnoError (f: Failure): Error {
  return Object.assign(new Error(f.message), f.code !== undefined ? { code: f.code } : {})
}

/**
 * Cuts the pieces into about `count` segments of similar cost (bytes, plus FILE_COST_BYTES per file), each with
 * the files that have bytes in it; an empty file goes with the segment its offset falls in (the last one at the end).
 */
function planJobs (init: ParallelHashInit, pieceCount: number, count: number): HashJob[] {
  const { files, offsets, pieceLength } = init
  const extra = new Float64Array(pieceCount)
  for (let i = 0; i < files.length; i++) extra[Math.min(pieceCount - 1, Math.floor(offsets[i]! / pieceLength))]! += FILE_COST_BYTES
  const total = pieceCount * pieceLength + files.length * FILE_COST_BYTES
  const target = total / Math.max(1, Math.min(count, pieceCount))
  const cuts = [0]
  let cost = 0
  for (let p = 0; p < pieceCount; p++) {
    cost += pieceLength + extra[p]!
    if (cost >= target && p + 1 < pieceCount) {
      cuts.push(p + 1)
      cost = 0
    }
  }
  cuts.push(pieceCount)
  const scan = init.scan
  const scanMax = Math.min(init.chunk, MAX_SCAN_BYTES)
  const jobs: HashJob[] = []
  let f = 0
  for (let s = 0; s + 1 < cuts.length; s++) {
    const firstPiece = cuts[s]!
    const endPiece = cuts[s + 1]!
    const start = firstPiece * pieceLength
    const end = endPiece === pieceCount ? Infinity : endPiece * pieceLength
    // Files are in offset order: skip those that end before this segment, take those that start before its end.
    // (Files end in offset order too: each ends at or before the next one's offset.)
    while (f < files.length && (files[f]!.length === 0 ? offsets[f]! < start : offsets[f]! + files[f]!.length <= start)) f++
    const paths: string[] = []
    const fields: number[] = []
    for (let i = f; i < files.length && offsets[i]! < end; i++) {
      const file = files[i]!
      if (file.length === 0 ? offsets[i]! < start : offsets[i]! + file.length <= start) continue
      const kind = scan !== undefined && file.length <= scanMax ? scan.kind(file.path) : 0
      paths.push(file.absPath)
      fields.push(file.length, offsets[i]!, kind, i)
    }
    jobs.push({ type: 'hash', id: s, firstPiece, endPiece, paths: paths.join('\0'), fields: new Float64Array(fields) })
  }
  return jobs
}

/**
 * The hashing program: given where replies go, the handler of the messages a thread is sent (setup, then jobs). The
 * workers run it from its source text (Worker `eval`), so it uses nothing but globals: no import of this module
 * reaches it, and it works the same from dist/, a bundle or the tests' sources. This thread runs it as it is.
 */
function hashProgram (makeScanner: typeof pageScanner, post: (reply: Reply, transfer?: ArrayBuffer[]) => void): (message: Setup | Job) => void {
  // process.getBuiltinModule, not require(): a bundler rewrites require() calls into its own helper, which a
  // thread started from source text does not have.
  const { openSync, readSync, closeSync, lstatSync, constants } = process.getBuiltinModule('node:fs')
  // Non-blocking: a file replaced by a FIFO since it was listed fails its length check instead of blocking the open.
  const READ_NO_WAIT = constants.O_RDONLY | constants.O_NONBLOCK
  const { createHash } = process.getBuiltinModule('node:crypto')
  const scanner = makeScanner()
  let pieceLength = 0
  let total = 0
  let pieces: Uint8Array = new Uint8Array(0)
  let chunk = Buffer.alloc(0)
  let zeros = new Uint8Array(0)

  class Changed extends Error {}

  /**
   * Reads the file's bytes [at, at + want) into the start of `chunk`. Exactly: a file that now ends sooner throws
   * Changed; at the file's end one byte more is asked for, so one that grew throws Changed too.
   */
  const readAt = (fd: number, at: number, want: number, fileLength: number): void => {
    const last = at + want === fileLength
    const ask = last && want < chunk.length ? want + 1 : want
    let got = 0
    while (got < want) {
      const n = readSync(fd, chunk, got, ask - got, at + got)
      if (n === 0) throw new Changed() // shorter than listed
      got += n
    }
    if (got > want) throw new Changed() // longer than listed
    if (last && ask === want && readSync(fd, chunk, 0, 1, fileLength) !== 0) throw new Changed()
  }

  const fail = (id: number, index: number, err: unknown): void => {
    const e = err as NodeJS.ErrnoException
    // ESPIPE, EAGAIN: a read at an offset of a FIFO (opened non-blocking) that replaced the file since it was listed.
    const changed = err instanceof Changed || e.code === 'ESPIPE' || e.code === 'EAGAIN'
    post({ type: 'error', id, index, changed, ...(typeof e.code === 'string' ? { code: e.code } : {}), message: String(e.message) })
  }

  const stat = (job: StatJob): void => {
    const n = job.paths.length
    const sizes = new Float64Array(n)
    const mtimes = new Float64Array(n)
    const files = new Uint8Array(n)
    let k = 0
    try {
      for (; k < n; k++) {
        const st = lstatSync(job.paths[k]!)
        files[k] = st.isFile() ? 1 : 0
        sizes[k] = st.size
        mtimes[k] = st.mtimeMs
      }
    } catch (err) {
      fail(job.id, k, err)
      return
    }
    post({ type: 'stat', id: job.id, sizes, mtimes, files }, [sizes.buffer, mtimes.buffer, files.buffer])
  }

  const hashSegment = (job: HashJob): void => {
    let piece = job.firstPiece
    let filled = 0
    let hash = createHash('sha1')
    const feed = (bytes: Uint8Array): void => {
      let at = 0
      while (at < bytes.length) {
        const take = Math.min(bytes.length - at, pieceLength - filled)
        hash.update(at === 0 && take === bytes.length ? bytes : bytes.subarray(at, at + take))
        at += take
        filled += take
        if (filled === pieceLength) {
          pieces.set(hash.digest(), piece * 20)
          piece++
          filled = 0
          hash = createHash('sha1')
        }
      }
    }
    const zero = (count: number): void => {
      while (count > 0) {
        const take = Math.min(count, zeros.length)
        feed(zeros.subarray(0, take))
        count -= take
      }
    }
    const start = job.firstPiece * pieceLength
    const end = Math.min(job.endPiece * pieceLength, total)
    // What the segment's pages name, each distinct finding once (keyed by its JSON).
    const found: PageScan[] = []
    const which: number[] = []
    const slots = new Map<string, number>()
    let pos = start
    let index = -1
    try {
      const paths = job.fields.length === 0 ? [] : job.paths.split('\0')
      for (let f = 0; f < paths.length; f++) {
        const abs = paths[f]!
        const fileLength = job.fields[4 * f]!
        const offset = job.fields[4 * f + 1]!
        const kind = job.fields[4 * f + 2] as ScanKind
        const i = job.fields[4 * f + 3]!
        index = i
        if (offset > pos) {
          zero(offset - pos)
          pos = offset
        }
        const from = pos - offset
        const to = Math.min(fileLength, end - offset)
        const fd = openSync(abs, READ_NO_WAIT)
        try {
          if (kind !== 0 && from === 0) {
            // A page the subresource scan wants, whole, even if this segment holds only its start.
            readAt(fd, 0, fileLength, fileLength)
            const scan = scanner.scan(kind, chunk.subarray(0, fileLength))
            const key = JSON.stringify(scan)
            let slot = slots.get(key)
            if (slot === undefined) {
              slot = found.push(scan) - 1
              slots.set(key, slot)
            }
            which.push(i, kind, slot)
            feed(chunk.subarray(0, to))
          } else {
            for (let done = from; done < to;) {
              const want = Math.min(chunk.length, to - done)
              readAt(fd, done, want, fileLength)
              feed(chunk.subarray(0, want))
              done += want
            }
          }
          // An empty file must still be empty.
          if (fileLength === 0 && readSync(fd, chunk, 0, 1, 0) !== 0) throw new Changed()
        } finally {
          closeSync(fd)
        }
        pos = offset + to
      }
      if (end > pos) zero(end - pos)
      if (filled > 0) pieces.set(hash.digest(), piece * 20)
    } catch (err) {
      fail(job.id, index, err)
      return
    }
    post({ type: 'done', id: job.id, bytes: end - start, ...(which.length > 0 ? { scans: { found, which } } : {}) })
  }

  return (message: Setup | Job): void => {
    if (message.type === 'setup') {
      pieceLength = message.pieceLength
      total = message.length
      pieces = new Uint8Array(message.pieces)
      if (chunk.length < message.chunk) chunk = Buffer.allocUnsafe(message.chunk)
      zeros = new Uint8Array(Math.min(pieceLength, 1 << 20))
    } else if (message.type === 'stat') {
      stat(message)
    } else {
      hashSegment(message)
    }
  }
}

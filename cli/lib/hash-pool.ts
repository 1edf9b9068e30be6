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
import { Worker } from 'node:worker_threads'
import { UsageError } from '../../engine/errors.js'
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
  return Math.min(MAX_THREADS, Math.max(2, availableParallelism()))
}

export interface ParallelHashInit {
  readonly files: readonly SiteFile[]
  /** Where each file starts in the torrent (cli/lib/layout.ts), in the same order. */
  readonly offsets: readonly number[]
  /** Torrent bytes, padding included. */
  readonly length: number
  readonly pieceLength: number
  readonly threads: number
  /** Bytes per read; also the largest file shown to `peek`. */
  readonly chunk: number
  readonly peek?: { wants: (path: string) => boolean, take: (path: string, bytes: Uint8Array) => void }
  onProgress?: (hashed: number, total: number) => void
}

/** One segment: the pieces [firstPiece, endPiece) and the files that have bytes in them, as [absPath, length, offset, peek, index]. */
interface Job { readonly id: number, readonly firstPiece: number, readonly endPiece: number, readonly files: Array<[string, number, number, 0 | 1, number]> }
type Reply =
  | { readonly type: 'done', readonly id: number, readonly bytes: number }
  | { readonly type: 'peek', readonly index: number, readonly bytes: Uint8Array }
  | { readonly type: 'error', readonly id: number, readonly index: number, readonly changed: boolean, readonly code?: string, readonly message: string }

/** The SHA-1 of every piece (20 bytes each, in order) of the files laid out at `offsets`. */
export async function hashInParallel (init: ParallelHashInit): Promise<Uint8Array> {
  const { pieceLength, length } = init
  const pieceCount = Math.ceil(length / pieceLength)
  const shared = new SharedArrayBuffer(pieceCount * 20)
  const jobs = planJobs(init, pieceCount, init.threads * SEGMENTS_PER_THREAD)
  const threads = Math.min(init.threads, jobs.length)
  const workers = Array.from({ length: threads }, () => new Worker(`(${hashWorker.toString()})()`, {
    eval: true,
    workerData: { pieces: shared, pieceLength, length, chunk: init.chunk }
  }))
  let next = 0
  let hashed = 0
  const errors: Array<Extract<Reply, { type: 'error' }>> = []
  try {
    await Promise.all(workers.map(async (worker) => await new Promise<void>((resolve, reject) => {
      const give = (): void => {
        const job = errors.length === 0 ? jobs[next++] : undefined
        if (job === undefined) resolve()
        else worker.postMessage(job)
      }
      worker.on('message', (reply: Reply) => {
        if (reply.type === 'peek') {
          const file = init.files[reply.index]!
          init.peek?.take(file.path, reply.bytes)
          return
        }
        if (reply.type === 'error') errors.push(reply)
        else {
          hashed += reply.bytes
          init.onProgress?.(Math.min(hashed, length), length)
        }
        give()
      })
      worker.once('error', reject)
      worker.once('exit', (code) => { reject(new Error(`internal error: a hashing thread exited (${code})`)) })
      give()
    })))
  } finally {
    await Promise.all(workers.map(async (w) => { w.removeAllListeners('exit'); await w.terminate() }))
  }
  if (errors.length > 0) {
    // The first bad file in the site's order, whichever thread met it first: the same message a single thread gives.
    const first = errors.reduce((a, b) => (b.index < a.index ? b : a))
    const file = init.files[first.index]
    if (file === undefined) throw new Error(`internal error: hashing failed: ${first.message}`)
    if (first.changed) throw new UsageError(`${file.path} changed while it was being hashed: publish again`)
    throw fsError(Object.assign(new Error(first.message), first.code !== undefined ? { code: first.code } : {}), file.path)
  }
  return new Uint8Array(new Uint8Array(shared))
}

/**
 * Cuts the pieces into about `count` segments of similar cost (bytes, plus FILE_COST_BYTES per file), each with
 * the files that have bytes in it; an empty file goes with the segment its offset falls in (the last one at the end).
 */
function planJobs (init: ParallelHashInit, pieceCount: number, count: number): Job[] {
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
  const wants = init.peek?.wants
  const jobs: Job[] = []
  let f = 0
  for (let s = 0; s + 1 < cuts.length; s++) {
    const firstPiece = cuts[s]!
    const endPiece = cuts[s + 1]!
    const start = firstPiece * pieceLength
    const end = endPiece === pieceCount ? Infinity : endPiece * pieceLength
    // Files are in offset order: skip those that end before this segment, take those that start before its end.
    // (Files end in offset order too: each ends at or before the next one's offset.)
    while (f < files.length && (files[f]!.length === 0 ? offsets[f]! < start : offsets[f]! + files[f]!.length <= start)) f++
    const list: Job['files'] = []
    for (let i = f; i < files.length && offsets[i]! < end; i++) {
      const file = files[i]!
      if (file.length === 0 ? offsets[i]! < start : offsets[i]! + file.length <= start) continue
      const peek = wants !== undefined && file.length <= init.chunk && wants(file.path) ? 1 : 0
      list.push([file.absPath, file.length, offsets[i]!, peek, i])
    }
    jobs.push({ id: s, firstPiece, endPiece, files: list })
  }
  return jobs
}

/**
 * The worker thread's program. It runs from its source text (Worker `eval`), so it uses nothing but globals and
 * require(): no import of this module reaches it, and it works the same from dist/, a bundle or the tests' sources.
 */
function hashWorker (): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads')
  const { openSync, readSync, closeSync } = require('node:fs') as typeof import('node:fs')
  const { createHash } = require('node:crypto') as typeof import('node:crypto')
  const { pieceLength, length: total, chunk: chunkSize } = workerData as { pieceLength: number, length: number, chunk: number }
  const pieces = new Uint8Array((workerData as { pieces: SharedArrayBuffer }).pieces)
  const chunk = Buffer.allocUnsafe(chunkSize)
  const zeros = new Uint8Array(Math.min(pieceLength, 1 << 20))
  if (parentPort === null) return

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

  parentPort.on('message', (job: Job) => {
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
    let pos = start
    let index = -1
    try {
      for (const [abs, fileLength, offset, peek, i] of job.files) {
        index = i
        if (offset > pos) {
          zero(offset - pos)
          pos = offset
        }
        const from = pos - offset
        const to = Math.min(fileLength, end - offset)
        const fd = openSync(abs, 'r')
        try {
          if (peek === 1 && from === 0) {
            // A page the subresource scan wants, whole, even if this segment holds only its start.
            readAt(fd, 0, fileLength, fileLength)
            const copy = new Uint8Array(chunk.subarray(0, fileLength))
            parentPort.postMessage({ type: 'peek', index: i, bytes: copy }, [copy.buffer])
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
      parentPort.postMessage({ type: 'done', id: job.id, bytes: end - start })
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      parentPort.postMessage({ type: 'error', id: job.id, index, changed: err instanceof Changed, ...(typeof e.code === 'string' ? { code: e.code } : {}), message: String(e.message) })
    }
  })
}

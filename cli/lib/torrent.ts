/**
 * Torrent files: making one from a site listing (a streaming piece hasher of our own: BitTorrent v1 layout, BEP 47
 * pad files, one pass over the files with a bounded buffer, on worker threads for big sites: hash-pool.ts), and
 * reading one back. The engine gets a Metainfo
 * parsed from the exact info-dictionary bytes, so the infohash it announces is the one in the file.
 */
import { createHash, type Hash } from 'node:crypto'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { InvalidTorrentError, UsageError } from '../../engine/errors.js'
import { metainfoFromParts, parseInfoDictionary, type InfoFileEntry, type Metainfo, type TorrentFile } from '../../engine/metainfo/index.js'
import { bdecode, bencode, isDict, isBytes, rawDictValue, type BValue } from '../../engine/util/bencode.js'
import { HashThreads, hashThreads } from './hash-pool.js'
import { MAX_SCAN_BYTES, pageScanner, type ScanSink } from './page-scan.js'
import { DEFAULT_PAD_POLICY, planLayout, type Layout, type PadPolicy } from './layout.js'
import { fsError, type SiteFile, type SiteListing } from './walk.js'

export interface BuiltTorrent {
  /** The .torrent file. */
  readonly torrent: Uint8Array
  readonly metainfo: Metainfo
}

export interface BuildTorrentOptions {
  /** The torrent's name (BEP 3 `name`): the folder's basename. */
  name: string
  pieceLength: number
  /** Announce URLs, one tier each (BEP 12). */
  trackers: readonly string[]
  createdBy?: string
  /** BEP 19 `url-list`: web seeds (outside the info dictionary: the infohash does not change). */
  webSeeds?: readonly string[]
  /** Where files start (cli/lib/layout.ts); default DEFAULT_PAD_POLICY. */
  padPolicy?: PadPolicy
  onProgress?: (hashed: number, total: number) => void
  /**
   * Told what each file it wants scanned names (cli/lib/page-scan.ts), if the file fits in one read (READ_CHUNK):
   * the file is scanned where its bytes are read (on the hashing threads for a big site), and the subresource scan
   * takes pages' references here instead of reading every page a second time.
   */
  scan?: ScanSink
  /**
   * Called with the file table's layout (what the Metainfo's `files` will be) while the pieces are hashed on other
   * threads: work that needs the table but not the hashes fits there.
   */
  whileHashing?: (files: ReadonlyArray<Pick<TorrentFile, 'path' | 'offset' | 'length'>>) => void
  /** Hashing threads (cli/lib/hash-pool.ts); default hashThreads(): none for small sites. 0: on this thread. */
  threads?: number
}

/** The page scanners of this thread (the hashing threads run their own copies). */
const scanner = pageScanner()

/** Files are read in chunks this large: fewer, larger reads keep the hasher busy; also the most ever held. */
const READ_CHUNK = 4 * 1024 * 1024
/** Hashing gives the event loop a turn this often (ms): progress lines and Ctrl-C stay live. */
const YIELD_EVERY_MS = 50

/**
 * Builds a multi-file BitTorrent v1 torrent of the listed files, in the listing's order, with BEP 47 pad files
 * where the policy puts them. The info dictionary depends only on the names, sizes and bytes of the files, the piece
 * length and the policy: the same folder gives the same infohash. Unpadded, it is byte for byte what create-torrent
 * makes (test/unit/cli/torrent-builder.test.ts).
 *
 * Sites of many files or many bytes are hashed on worker threads, segment by segment (cli/lib/hash-pool.ts), the
 * others on this thread; both read each file in one pass, in chunks of at most READ_CHUNK, and give the same bytes.
 */
export async function buildTorrent (site: SiteListing, opts: BuildTorrentOptions): Promise<BuiltTorrent> {
  const pieceLength = opts.pieceLength
  const layout = planLayout(site.files.map((f) => f.length), pieceLength, opts.padPolicy ?? DEFAULT_PAD_POLICY, site.files.map((f) => f.path))
  const entries = new InfoFiles()
  let end = 0
  for (let i = 0; i < site.files.length; i++) {
    const file = site.files[i]!
    const gap = layout.offsets[i]! - end
    if (gap > 0) entries.pad(gap)
    entries.file(file.length, file.path)
    end = layout.offsets[i]! + file.length
  }
  const chunkSize = Math.min(READ_CHUNK, Math.max(pieceLength, largest(site.files)))
  // The listing's threads when it started some (a big folder: they booted while it was read), else new ones.
  const started = site.threads !== undefined && !site.threads.closed ? site.threads : undefined
  const threads = opts.threads ?? started?.size ?? hashThreads(site.files.length, site.length)
  const progress = opts.onProgress
  let pieces: Uint8Array
  if (threads > 0) {
    const pool = started !== undefined && started.size === threads ? started : new HashThreads(threads)
    try {
      const hashing = pool.hash({
        files: site.files, offsets: layout.offsets, length: layout.length, pieceLength, chunk: chunkSize,
        ...(opts.scan !== undefined ? { scan: opts.scan } : {}),
        ...(progress !== undefined ? { onProgress: (h: number, t: number) => { progress(Math.floor(h / t * site.length), site.length) } } : {})
      })
      try {
        opts.whileHashing?.(fileTable(site, layout))
      } finally {
        pieces = await hashing
      }
    } finally {
      await pool.close()
      await started?.close()
    }
  } else {
    await started?.close()
    opts.whileHashing?.(fileTable(site, layout))
    pieces = await hashOnThisThread(site, layout, pieceLength, chunkSize, opts)
  }
  opts.onProgress?.(site.length, site.length)
  const info = entries.infoDictionary(opts.name, pieceLength, pieces)
  // The creation date lies outside the info dictionary (so it cannot change the infohash); using the newest mtime
  // instead of "now" makes site.torrent itself byte-identical when nothing changed.
  const newest = site.files.reduce((max, f) => Math.max(max, f.mtimeMs), 1000)
  const top: Record<string, unknown> = {
    'created by': opts.createdBy ?? 'peersite',
    'creation date': Math.ceil(newest / 1000),
    encoding: 'UTF-8'
  }
  if (opts.trackers.length > 0) {
    top.announce = opts.trackers[0]
    top['announce-list'] = opts.trackers.map((url) => [url])
  }
  // Keys of a bencoded dictionary are sorted: "info" comes after every key above and before "url-list" (BEP 19), so
  // the info dictionary goes between them, as is.
  const head = bencode(top)
  const tail = opts.webSeeds !== undefined && opts.webSeeds.length > 0
    ? bencode({ 'url-list': [...opts.webSeeds] }).subarray(1)
    : Buffer.from('e')
  const torrent = Buffer.concat([head.subarray(0, head.length - 1), Buffer.from('4:info'), info, tail])
  // The fields are known: the Metainfo is made from them (with parseInfoDictionary's checks), not decoded back.
  const metainfo = await metainfoFromParts(info, { name: opts.name, pieceLength, pieces, files: entries.entries })
  checkLayout(site, metainfo)
  return { torrent, metainfo }
}

/**
 * The single-threaded hasher, for sites too small to pay for starting threads (hash-pool.ts hashThreads). Reads are
 * synchronous, in one pass, in chunks of at most READ_CHUNK: a site of many small files costs one open/read/close
 * per file and no promise round trips (async fs costs a thread-pool hop per call: README "Where publish time goes").
 */
async function hashOnThisThread (site: SiteListing, layout: Layout, pieceLength: number, chunkSize: number, opts: BuildTorrentOptions): Promise<Uint8Array> {
  const pieces = new Uint8Array(Math.ceil(layout.length / pieceLength) * 20)
  const hasher = new PieceHasher(pieceLength, pieces)
  const chunk = Buffer.allocUnsafe(chunkSize)
  // Date.now, not performance.now: the global `performance` loads ten perf_hooks modules on first use (2-3 ms),
  // and a turn every 50 ms needs no finer clock.
  let lastYield = Date.now()
  let hashed = 0
  /** Lets the event loop run (progress lines, Ctrl-C) if it has not for YIELD_EVERY_MS: inside big files too. */
  const breathe = async (): Promise<void> => {
    if (Date.now() - lastYield < YIELD_EVERY_MS) return
    opts.onProgress?.(hashed, site.length)
    await new Promise((resolve) => setImmediate(resolve))
    lastYield = Date.now()
  }
  for (let i = 0; i < site.files.length; i++) {
    const file = site.files[i]!
    const gap = layout.offsets[i]! - hasher.position
    if (gap > 0) hasher.zeros(gap)
    const sink = opts.scan
    const kind = sink !== undefined && file.length <= Math.min(chunk.length, MAX_SCAN_BYTES) ? sink.kind(file.path) : 0
    const take = sink === undefined || kind === 0 ? undefined : (bytes: Uint8Array): void => { sink.took(file.path, kind, scanner.scan(kind, bytes)) }
    if (file.length <= chunk.length) {
      readWhole(file, chunk, hasher, take)
      hashed += file.length
      // Checked here, not only in breathe(): an await per small file is a promise and a microtask turn each.
      if (Date.now() - lastYield >= YIELD_EVERY_MS) await breathe()
    } else {
      const before = hashed
      await readInChunks(file, chunk, hasher, async (done) => { hashed = before + done; await breathe() })
    }
  }
  hasher.finish()
  return pieces
}

/**
 * The info dictionary's file list, written as bencoding while the files are hashed (the generic encoder makes a few
 * small arrays per token, which for 10,000 files was a tenth of publish's time). Keys in sorted order, as BEP 3
 * requires: attr < length < path in an entry; files < name < piece length < pieces in the dictionary.
 */
class InfoFiles {
  readonly #parts: string[] = []
  /** The same list, decoded: what the Metainfo is made from. */
  readonly entries: InfoFileEntry[] = []

  /** BEP 47: 'The recommended path is [".pad", "N"] where N is the length of the padding file in base10.' */
  pad (length: number): void {
    const n = String(length)
    this.#parts.push(`d4:attr1:p6:lengthi${n}e4:pathl4:.pad${n.length}:${n}ee`)
    this.entries.push({ pad: true, length })
  }

  file (length: number, path: string): void {
    let entry = `d6:lengthi${length}e4:pathl`
    const parts = path.split('/')
    for (const part of parts) entry += `${Buffer.byteLength(part)}:${part}`
    this.#parts.push(entry + 'ee')
    this.entries.push({ path: parts, length })
  }

  infoDictionary (name: string, pieceLength: number, pieces: Uint8Array): Uint8Array {
    const head = `d5:filesl${this.#parts.join('')}e4:name${Buffer.byteLength(name)}:${name}12:piece lengthi${pieceLength}e6:pieces${pieces.length}:`
    return new Uint8Array(Buffer.concat([Buffer.from(head, 'utf8'), pieces, Buffer.from('e')]))
  }
}

function fileTable (site: SiteListing, layout: Layout): Array<Pick<TorrentFile, 'path' | 'offset' | 'length'>> {
  return site.files.map((f, i) => ({ path: f.path, offset: layout.offsets[i]!, length: f.length }))
}

function largest (files: readonly SiteFile[]): number {
  let max = 0
  for (const f of files) if (f.length > max) max = f.length
  return max
}

/**
 * Feeds one file into the hasher. Exactly the listed length is read: a file that is shorter or longer now than when
 * the folder was listed changed under us, and its torrent would lie about it.
 */
/** A file that fits in one read, synchronously: no promise per file on a site of many small files. */
function readWhole (file: SiteFile, chunk: Buffer, hasher: PieceHasher, peek: ((bytes: Uint8Array) => void) | undefined): void {
  const fd = openFile(file)
  try {
    readChunk(fd, file, chunk, hasher, peek, 0)
  } finally {
    closeSync(fd)
  }
}

/** A file larger than one read, chunk by chunk, `between` after each (the event loop's turn). */
async function readInChunks (file: SiteFile, chunk: Buffer, hasher: PieceHasher, between: (done: number) => Promise<void>): Promise<void> {
  const fd = openFile(file)
  try {
    let done = 0
    while (done < file.length) {
      done = readChunk(fd, file, chunk, hasher, undefined, done)
      await between(done)
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Opened non-blocking: the walk lists only regular files, but one replaced by a FIFO since then would block a plain
 * open until some process writes to it; this way it fails its length check ("changed while it was being hashed").
 */
function openFile (file: SiteFile): number {
  try {
    return openSync(file.absPath, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw fsError(err, file.path)
  }
}

/**
 * Reads the chunk of `file` starting at `done` into the hasher; returns where the next starts. The last read asks
 * for one byte more than the file should have: a file that grew since it was listed says so there, without an
 * fstat per file; one that shrank returns 0 early.
 */
function readChunk (fd: number, file: SiteFile, chunk: Buffer, hasher: PieceHasher, peek: ((bytes: Uint8Array) => void) | undefined, done: number): number {
  const want = Math.min(chunk.length, file.length - done)
  const last = want === file.length - done
  const ask = last && want < chunk.length ? want + 1 : want
  let got = 0
  do {
    const n = readFrom(fd, file, chunk, got, ask - got, done + got)
    if (n === 0) {
      if (got < want) throw changed(file) // shorter than listed
      break
    }
    got += n
  } while (got < want)
  if (got > want) throw changed(file) // longer than listed
  if (last && ask === want && readFrom(fd, file, chunk, 0, 1, file.length) !== 0) throw changed(file)
  // A file that fits in one chunk is whole here: the subresource scan looks at it now, not in a second read.
  if (peek !== undefined && want === file.length) peek(chunk.subarray(0, want))
  hasher.update(chunk.subarray(0, want))
  return done + want
}

/** readSync; ESPIPE or EAGAIN (a FIFO, opened non-blocking, where a file was listed) is the file having changed. */
function readFrom (fd: number, file: SiteFile, buffer: Buffer, offset: number, length: number, position: number): number {
  try {
    return readSync(fd, buffer, offset, length, position)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ESPIPE' || code === 'EAGAIN') throw changed(file)
    throw err
  }
}

function changed (file: SiteFile): UsageError {
  return new UsageError(`${file.path} changed while it was being hashed: publish again`)
}

/** Torrent bytes in, one SHA-1 per piece out (into `pieces`); no piece is ever copied whole. */
class PieceHasher {
  readonly #pieceLength: number
  readonly #pieces: Uint8Array
  #index = 0
  #filled = 0
  #hash: Hash = createHash('sha1')
  #zero: Uint8Array | undefined

  constructor (pieceLength: number, pieces: Uint8Array) {
    this.#pieceLength = pieceLength
    this.#pieces = pieces
  }

  /** Torrent bytes fed so far. */
  get position (): number {
    return this.#index * this.#pieceLength + this.#filled
  }

  update (bytes: Uint8Array): void {
    let at = 0
    while (at < bytes.length) {
      const take = Math.min(bytes.length - at, this.#pieceLength - this.#filled)
      this.#hash.update(at === 0 && take === bytes.length ? bytes : bytes.subarray(at, at + take))
      at += take
      this.#filled += take
      if (this.#filled === this.#pieceLength) this.#digest()
    }
  }

  zeros (count: number): void {
    this.#zero ??= new Uint8Array(this.#pieceLength)
    while (count > 0) {
      const take = Math.min(count, this.#zero.length)
      this.update(this.#zero.subarray(0, take))
      count -= take
    }
  }

  /** The last, possibly short, piece. */
  finish (): void {
    if (this.#filled > 0) this.#digest()
  }

  #digest (): void {
    this.#pieces.set(this.#hash.digest(), this.#index * 20)
    this.#index++
    this.#filled = 0
    this.#hash = createHash('sha1')
  }
}

/** A file that changed while it was hashed would give a torrent that lies about the folder. */
function checkLayout (site: SiteListing, metainfo: Metainfo): void {
  if (metainfo.files.length !== site.files.length) throw new Error('internal error: torrent file count differs from the folder')
  metainfo.files.forEach((f, i) => {
    const expected = site.files[i]!
    if (f.path !== expected.path) throw new Error(`internal error: torrent lists ${f.path} where ${expected.path} was expected`)
    if (f.length !== expected.length) throw new UsageError(`${f.path} changed while it was being hashed: publish again`)
  })
}

/**
 * The info dictionary's bytes inside a .torrent file, exactly as written: the infohash is their SHA-1, and a torrent
 * made elsewhere may not be canonical bencoding (keys out of order), so they are never decoded and re-encoded.
 */
export function infoBytesOf (torrent: Uint8Array): Uint8Array {
  let info: Uint8Array | undefined
  try {
    info = rawDictValue(torrent, 'info')
  } catch (err) {
    throw new InvalidTorrentError(`not valid bencoding: ${(err as Error).message}`, { cause: err })
  }
  if (info === undefined || info[0] !== 0x64 /* 'd' */) throw new InvalidTorrentError('no info dictionary')
  // A copy, as a plain Uint8Array: the torrent is often a Buffer from readFile, kept whole by a view into it.
  return new Uint8Array(info)
}

export interface TorrentFileContents {
  readonly metainfo: Metainfo
  /** Announce URLs (announce-list tiers flattened, else announce). */
  readonly trackers: string[]
  /** BEP 19 `url-list` (a string or a list of them). */
  readonly webSeeds: string[]
}

/** Reads and validates a .torrent file. Throws UsageError naming the file for anything unreadable or malformed. */
export async function readTorrentFile (path: string): Promise<TorrentFileContents> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UsageError(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(err as Error).message}`)
  }
  return await parseTorrentBytes(bytes, path)
}

export async function parseTorrentBytes (bytes: Uint8Array, label: string): Promise<TorrentFileContents> {
  let dict: BValue
  try {
    dict = bdecode(bytes)
  } catch (err) {
    throw new UsageError(`not a valid .torrent file: ${label} (${(err as Error).message})`)
  }
  if (!isDict(dict) || dict.info === undefined || !isDict(dict.info)) {
    throw new UsageError(`not a valid .torrent file: ${label} (no info dictionary)`)
  }
  let metainfo: Metainfo
  try {
    metainfo = await parseInfoDictionary(infoBytesOf(bytes))
  } catch (err) {
    throw new UsageError(`not a valid .torrent file: ${label} (${(err as Error).message})`)
  }
  const trackers: string[] = []
  const decoder = new TextDecoder()
  const list = dict['announce-list']
  if (Array.isArray(list)) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue
      for (const url of tier) if (isBytes(url)) trackers.push(decoder.decode(url))
    }
  }
  if (trackers.length === 0 && isBytes(dict.announce)) trackers.push(decoder.decode(dict.announce))
  const urlList = dict['url-list']
  const webSeeds = (Array.isArray(urlList) ? urlList : [urlList]).filter(isBytes).map((u) => decoder.decode(u))
  return { metainfo, trackers: [...new Set(trackers)], webSeeds: [...new Set(webSeeds)] }
}

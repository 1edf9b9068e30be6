/**
 * The info dictionary (BEP 3 "info dictionary") turned into what the engine needs: the infohash, the file table,
 * the piece hashes, and the mapping between pieces and file byte ranges.
 *
 * Everything a hostile torrent could use against us is checked here, once: path traversal in file names, lengths
 * that do not add up, a piece-hash string of the wrong size.
 */
import { InvalidTorrentError } from '../errors.js'
import { bdecode, isBytes, isDict, isInt, type BValue } from '../util/bencode.js'
import { sha1, toHex, utf8 } from '../util/bytes.js'

export interface TorrentFile {
  /** Index in the file table. */
  readonly index: number
  /** Path inside the site, '/'-separated, without the torrent's name for multi-file torrents ("docs/guide/index.html"). */
  readonly path: string
  readonly length: number
  /** Byte offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number
}

export interface Metainfo {
  /** SHA-1 of the bencoded info dictionary, 40 lowercase hex digits. */
  readonly infoHash: string
  readonly infoHashBytes: Uint8Array
  /** The raw bencoded info dictionary, exactly as hashed (served to peers by ut_metadata, BEP 9). */
  readonly info: Uint8Array
  readonly name: string
  readonly pieceLength: number
  readonly pieceCount: number
  /** Total bytes of all files. */
  readonly length: number
  /** 20-byte SHA-1 per piece, concatenated. */
  readonly pieceHashes: Uint8Array
  readonly files: readonly TorrentFile[]
  /** BEP 3: multi-file torrents have `files`; single-file ones only `length`. */
  readonly multiFile: boolean
  /**
   * BEP 47 padding: piece index -> bytes of zeros at its end (a pad file's whole length). Pad files are not in
   * `files` (they are not site files); their bytes count in `length` and in the piece hashes as zeros, which the
   * engine fills in itself instead of downloading. Absent or empty: no padding.
   */
  readonly tailPadding?: ReadonlyMap<number, number>
}

/** Largest piece length accepted from a torrent we did not make (libtorrent's limit is in the same range). */
const MAX_PIECE_LENGTH = 64 * 1024 * 1024
const MAX_FILES = 100_000

/**
 * One entry of a multi-file torrent's `files` list, decoded: a BEP 47 pad file, or a file with its path components
 * (BEP 3 `path`: "a list of UTF-8 encoded strings corresponding to subdirectory names, the last of which is the
 * actual file name").
 */
export type InfoFileEntry =
  | { readonly pad: true, readonly length: number }
  | { readonly pad?: false, readonly path: readonly string[], readonly length: number }

/** An info dictionary's fields, decoded (parseInfoDictionary) or known by whoever wrote the bytes (publish). */
export interface InfoDictionaryParts {
  readonly name: string
  readonly pieceLength: number
  /** The `pieces` string: 20 bytes per piece. */
  readonly pieces: Uint8Array
  /** Multi-file: the `files` list; single-file: the `length`. */
  readonly files: readonly InfoFileEntry[] | number
}

/** Parses and validates a bencoded info dictionary. Throws InvalidTorrentError for anything malformed or unsafe. */
export async function parseInfoDictionary (info: Uint8Array): Promise<Metainfo> {
  let dict: BValue
  try {
    dict = bdecode(info)
  } catch (err) {
    throw new InvalidTorrentError(`info dictionary is not valid bencoding: ${(err as Error).message}`, { cause: err })
  }
  if (!isDict(dict)) throw new InvalidTorrentError('info dictionary is not a dictionary')

  const rawName = dict['name.utf-8'] ?? dict.name
  if (!isBytes(rawName)) throw new InvalidTorrentError('info dictionary has no name')
  const pieces = dict.pieces
  if (!isBytes(pieces)) throw new InvalidTorrentError('pieces is not a multiple of 20 bytes')
  // Only the shapes are checked here; the values (lengths, counts, names, the piece table's size) are checked once, in
  // metainfoFromParts, which receives them as they are (a value of the wrong type fails its number checks there).
  let files: InfoFileEntry[] | number
  const rawFiles = dict.files
  if (rawFiles !== undefined) {
    if (!Array.isArray(rawFiles)) throw new InvalidTorrentError('files is not a non-empty list')
    files = rawFiles.map((entry): InfoFileEntry => {
      if (!isDict(entry)) throw new InvalidTorrentError('a files entry is not a dictionary')
      const fileLength = entry.length as number
      // BEP 47: "p = padding file"; "clients implementing this BEP should not require [path] to be present on padding files".
      if (isBytes(entry.attr) && utf8.decode(entry.attr).includes('p')) return { pad: true, length: fileLength }
      const rawPath = entry['path.utf-8'] ?? entry.path
      if (!Array.isArray(rawPath)) throw new InvalidTorrentError('a file has no path')
      const path = rawPath.map((p) => {
        if (!isBytes(p)) throw new InvalidTorrentError('a path component is not a string')
        return utf8.decode(p)
      })
      return { path, length: fileLength }
    })
  } else {
    // Not a number: metainfoFromParts refuses it as "neither files nor a valid length".
    files = isInt(dict.length) ? dict.length : -1
  }
  // A piece length that is not a number is passed as NaN: metainfoFromParts writes it into its message.
  const pieceLength = dict['piece length']
  return await metainfoFromParts(info, { name: utf8.decode(rawName), pieceLength: isInt(pieceLength) ? pieceLength : NaN, pieces, files })
}

/**
 * The Metainfo of an info dictionary whose fields are known without decoding it: publish writes the bytes itself and
 * knows every field, and decoding them back cost it tens of milliseconds per 10,000 files. The checks are
 * parseInfoDictionary's (it ends here too), so a torrent publish makes is held to what any received one is.
 * `info` must be the bencoding of exactly these parts (test/unit/cli/torrent-builder.test.ts compares the two).
 */
export async function metainfoFromParts (info: Uint8Array, parts: InfoDictionaryParts): Promise<Metainfo> {
  const { name, pieceLength, pieces } = parts
  checkComponent(name, 'name')
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH) throw new InvalidTorrentError(`invalid piece length ${pieceLength}`)
  if (pieces.length % 20 !== 0) throw new InvalidTorrentError('pieces is not a multiple of 20 bytes')

  const files: TorrentFile[] = []
  const pads: Array<{ offset: number, length: number }> = []
  let length = 0
  const multiFile = typeof parts.files !== 'number'
  if (typeof parts.files !== 'number') {
    if (parts.files.length === 0) throw new InvalidTorrentError('files is not a non-empty list')
    if (parts.files.length > MAX_FILES) throw new InvalidTorrentError(`too many files (${parts.files.length})`)
    const seen = new Set<string>()
    for (const entry of parts.files) {
      const fileLength = entry.length
      if (!Number.isSafeInteger(fileLength) || fileLength < 0) throw new InvalidTorrentError('a file has an invalid length')
      if (entry.pad === true) {
        if (fileLength > 0) pads.push({ offset: length, length: fileLength })
        length += fileLength
        if (!Number.isSafeInteger(length)) throw new InvalidTorrentError('torrent length overflows')
        continue
      }
      if (entry.path.length === 0) throw new InvalidTorrentError('a file has no path')
      for (const component of entry.path) checkComponent(component, 'path component')
      const path = entry.path.join('/')
      if (seen.has(path)) throw new InvalidTorrentError(`duplicate file path ${path}`)
      seen.add(path)
      files.push({ index: files.length, path, length: fileLength, offset: length })
      length += fileLength
      if (!Number.isSafeInteger(length)) throw new InvalidTorrentError('torrent length overflows')
    }
    // A path that is both a file and a folder ("a" and "a/b") cannot be written to a disk or served. Each folder is
    // looked up once: a folder already found not to be a file had all of its parents checked with it.
    const folders = new Set<string>()
    for (const path of seen) {
      for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) {
        const folder = path.slice(0, end)
        if (folders.has(folder)) break
        if (seen.has(folder)) throw new InvalidTorrentError(`${path} is inside a file`)
        folders.add(folder)
      }
    }
  } else {
    length = parts.files
    if (!Number.isSafeInteger(length) || length < 0) throw new InvalidTorrentError('info dictionary has neither files nor a valid length')
    files.push({ index: 0, path: name, length, offset: 0 })
  }

  const pieceCount = Math.ceil(length / pieceLength)
  if (pieces.length !== pieceCount * 20) {
    throw new InvalidTorrentError(`expected ${pieceCount} piece hashes for ${length} bytes, found ${pieces.length / 20}`)
  }

  const tailPadding = padTails(pads, pieceLength, length)
  const infoHashBytes = await sha1(info)
  return {
    infoHash: toHex(infoHashBytes),
    infoHashBytes,
    info,
    name,
    pieceLength,
    pieceCount,
    length,
    pieceHashes: pieces,
    files,
    multiFile,
    ...(tailPadding.size > 0 ? { tailPadding } : {})
  }
}

/**
 * BEP 47 pad files "let the following file start at a piece boundary": each fills the end of one piece. Only that
 * shape is accepted (a pad shorter than a piece, ending on a piece boundary or at the torrent's end), so the engine
 * can treat the zeros as the tail of a piece it never asks for; any other pad could only come from a broken or
 * hostile torrent.
 */
function padTails (pads: ReadonlyArray<{ offset: number, length: number }>, pieceLength: number, total: number): Map<number, number> {
  const tails = new Map<number, number>()
  for (const pad of pads) {
    const end = pad.offset + pad.length
    if (pad.length >= pieceLength || (end % pieceLength !== 0 && end !== total)) {
      throw new InvalidTorrentError(`a padding file (${pad.length} bytes at ${pad.offset}) does not end a piece`)
    }
    const index = Math.floor((end - 1) / pieceLength)
    if (tails.has(index)) throw new InvalidTorrentError(`two padding files end piece ${index}`)
    tails.set(index, pad.length)
  }
  return tails
}

function checkComponent (s: string, what: string): void {
  if (s.length === 0 || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0')) {
    throw new InvalidTorrentError(`unsafe ${what} ${JSON.stringify(s)}`)
  }
}

/** The site's bytes: its files' lengths, without BEP 47 pad files (`length` counts them: they are in the pieces). */
export function filesLength (meta: Pick<Metainfo, 'files'>): number {
  let n = 0
  for (const f of meta.files) n += f.length
  return n
}

export function pieceLengthAt (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length'>, index: number): number {
  if (index < 0 || index >= meta.pieceCount) throw new RangeError(`piece ${index} out of range`)
  if (index < meta.pieceCount - 1) return meta.pieceLength
  return meta.length - meta.pieceLength * (meta.pieceCount - 1)
}

/** Bytes of piece `index` that peers must send: the piece without its BEP 47 padding (zeros the engine fills in). */
export function pieceDataLength (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'length' | 'tailPadding'>, index: number): number {
  return pieceLengthAt(meta, index) - (meta.tailPadding?.get(index) ?? 0)
}

export function pieceHash (meta: Pick<Metainfo, 'pieceHashes'>, index: number): Uint8Array {
  return meta.pieceHashes.subarray(index * 20, index * 20 + 20)
}

/** The pieces [first, last] (inclusive) that hold the torrent bytes [offset, offset + length). Empty ranges give first > last. */
export function piecesForRange (meta: Pick<Metainfo, 'pieceLength'>, offset: number, length: number): { first: number, last: number } {
  if (length <= 0) return { first: 1, last: 0 }
  return { first: Math.floor(offset / meta.pieceLength), last: Math.floor((offset + length - 1) / meta.pieceLength) }
}

export interface FileSlice {
  readonly file: TorrentFile
  /** Offset inside the file. */
  readonly fileOffset: number
  /** Offset inside the requested range. */
  readonly rangeOffset: number
  readonly length: number
}

/** Splits the torrent bytes [offset, offset + length) into the slices of the files that hold them, in order. */
export function fileSlices (meta: Pick<Metainfo, 'files'>, offset: number, length: number): FileSlice[] {
  const out: FileSlice[] = []
  const end = offset + length
  for (const file of meta.files) {
    const fileEnd = file.offset + file.length
    if (fileEnd <= offset || file.offset >= end || file.length === 0) continue
    const start = Math.max(offset, file.offset)
    const stop = Math.min(end, fileEnd)
    out.push({ file, fileOffset: start - file.offset, rangeOffset: start - offset, length: stop - start })
  }
  return out
}

/** Finds a file by its site path ("docs/index.html"). */
export function findFile (meta: Pick<Metainfo, 'files'>, path: string): TorrentFile | undefined {
  return meta.files.find((f) => f.path === path)
}

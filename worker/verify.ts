/**
 * What the worker checks before it serves a byte (it is the trust boundary: the engine port, Cache Storage and
 * IndexedDB can all be written by any script of the origin, the worker's own script cannot):
 *   - pieces, against the SHA-1 hashes of site.torrent, whose info dictionary must hash to the site's infohash;
 *   - its cached loader files, against the SHA-256 pins `peersite publish` builds into sw.js.
 *
 * site.torrent is decoded here with a small bencode reader of its own rather than engine/util/bencode.ts: the worker
 * needs only the piece table and the byte span of the info dictionary (to hash it as received), and the `bencode`
 * package would add to the loader's weight (test/e2e/budget.test.ts).
 */
import { PINS_GLOBAL, type LoaderPins } from './protocol.js'

/** The piece layout of a torrent and where each file starts in it. */
export interface PieceTable {
  readonly infoHash: string
  readonly pieceLength: number
  readonly length: number
  readonly pieceCount: number
  /** 20 bytes per piece */
  readonly hashes: Uint8Array
  /** path ("docs/index.html") -> its length and the offset of its first byte in the torrent */
  readonly files: ReadonlyMap<string, { readonly offset: number, readonly length: number }>
}

export class TorrentFormatError extends Error {
  constructor (message: string) {
    super(`site.torrent: ${message}`)
    this.name = 'TorrentFormatError'
  }
}

type Value = number | Uint8Array | Value[] | Map<string, Value>

const text = new TextDecoder()

/** Decodes the bencoded value at `pos`; returns it and where it ends. Iterative nesting is not needed: depth ≤ 4 here. */
function decodeAt (b: Uint8Array, pos: number, depth = 0): [Value, number] {
  if (depth > 16) throw new TorrentFormatError('nested too deeply')
  const c = b[pos]
  if (c === 0x69) { // i<digits>e
    const end = b.indexOf(0x65, pos)
    const n = Number(text.decode(b.subarray(pos + 1, end)))
    if (end < 0 || !Number.isSafeInteger(n)) throw new TorrentFormatError(`bad integer at ${pos}`)
    return [n, end + 1]
  }
  if (c === 0x6c || c === 0x64) { // l...e, d...e
    const list: Value[] = []
    const dict = new Map<string, Value>()
    let p = pos + 1
    while (b[p] !== 0x65) {
      if (p >= b.length) throw new TorrentFormatError('truncated')
      if (c === 0x64) {
        const [key, afterKey] = decodeAt(b, p, depth + 1)
        if (!(key instanceof Uint8Array)) throw new TorrentFormatError(`dictionary key at ${p} is not a string`)
        const [value, next] = decodeAt(b, afterKey, depth + 1)
        dict.set(text.decode(key), value)
        p = next
      } else {
        const [value, next] = decodeAt(b, p, depth + 1)
        list.push(value)
        p = next
      }
    }
    return [c === 0x64 ? dict : list, p + 1]
  }
  const colon = b.indexOf(0x3a, pos)
  const n = Number(text.decode(b.subarray(pos, colon)))
  if (colon < 0 || colon - pos > 15 || !Number.isSafeInteger(n) || n < 0 || colon + 1 + n > b.length) {
    throw new TorrentFormatError(`bad string at ${pos}`)
  }
  return [b.subarray(colon + 1, colon + 1 + n), colon + 1 + n]
}

export function toHex (bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')
}

async function digest (algorithm: 'SHA-1' | 'SHA-256', bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, bytes as Uint8Array<ArrayBuffer>))
}

export async function sha256Hex (bytes: Uint8Array): Promise<string> {
  return toHex(await digest('SHA-256', bytes))
}

/**
 * The piece table of site.torrent, checked to be the torrent of `infoHash`: the SHA-1 of its info dictionary, as
 * the bytes stand in the file, must be the infohash. Throws TorrentFormatError otherwise.
 */
export async function parsePieceTable (torrent: Uint8Array, infoHash: string): Promise<PieceTable> {
  if (torrent[0] !== 0x64) throw new TorrentFormatError('not a dictionary')
  // Walk the top-level dictionary by hand to keep the info dictionary's byte span.
  let p = 1
  let span: [number, number] | undefined
  while (torrent[p] !== 0x65 && p < torrent.length) {
    const [key, afterKey] = decodeAt(torrent, p)
    const [, next] = decodeAt(torrent, afterKey)
    if (key instanceof Uint8Array && text.decode(key) === 'info') span = [afterKey, next]
    p = next
  }
  if (span === undefined) throw new TorrentFormatError('no info dictionary')
  const infoBytes = torrent.subarray(span[0], span[1])
  if (toHex(await digest('SHA-1', infoBytes)) !== infoHash.toLowerCase()) {
    throw new TorrentFormatError(`it is not the torrent of ${infoHash}`)
  }
  const [info] = decodeAt(infoBytes, 0)
  if (!(info instanceof Map)) throw new TorrentFormatError('info is not a dictionary')
  const pieceLength = info.get('piece length')
  const hashes = info.get('pieces')
  if (typeof pieceLength !== 'number' || pieceLength <= 0 || !(hashes instanceof Uint8Array) || hashes.length % 20 !== 0) {
    throw new TorrentFormatError('no piece table')
  }
  const files = new Map<string, { offset: number, length: number }>()
  let length = 0
  const list = info.get('files')
  if (Array.isArray(list)) {
    for (const f of list) {
      const size = f instanceof Map ? f.get('length') : undefined
      const path = f instanceof Map ? f.get('path.utf-8') ?? f.get('path') : undefined
      if (typeof size !== 'number' || size < 0 || !Array.isArray(path)) throw new TorrentFormatError('bad file entry')
      files.set(path.map((s) => s instanceof Uint8Array ? text.decode(s) : '').join('/'), { offset: length, length: size })
      length += size
    }
  } else {
    const name = info.get('name.utf-8') ?? info.get('name')
    const size = info.get('length')
    if (typeof size !== 'number' || !(name instanceof Uint8Array)) throw new TorrentFormatError('no files')
    files.set(text.decode(name), { offset: 0, length: size })
    length = size
  }
  const pieceCount = Math.ceil(length / pieceLength)
  if (hashes.length !== pieceCount * 20) throw new TorrentFormatError('piece hashes do not match the length')
  return { infoHash: infoHash.toLowerCase(), pieceLength, length, pieceCount, hashes, files }
}

export function pieceSize (table: PieceTable, index: number): number {
  return index < table.pieceCount - 1 ? table.pieceLength : table.length - table.pieceLength * (table.pieceCount - 1)
}

/** Whether `bytes` is exactly piece `index` of the torrent (its length and its SHA-1). */
export async function verifyPiece (table: PieceTable, index: number, bytes: Uint8Array): Promise<boolean> {
  if (!Number.isInteger(index) || index < 0 || index >= table.pieceCount || bytes.byteLength !== pieceSize(table, index)) return false
  const got = await digest('SHA-1', bytes)
  const want = table.hashes.subarray(index * 20, index * 20 + 20)
  return got.every((x, i) => x === want[i])
}

/** The pieces holding bytes [offset, offset + length) of the file at torrent offset `fileStart` (length > 0). */
export function piecesOf (table: PieceTable, fileStart: number, offset: number, length: number): { first: number, last: number } {
  const start = fileStart + offset
  return { first: Math.floor(start / table.pieceLength), last: Math.floor((start + length - 1) / table.pieceLength) }
}

/** The pins sw.js was published with (undefined for a worker script not written by `peersite publish`). */
export function readPins (scope: object): LoaderPins | undefined {
  const pins = (scope as Record<string, unknown>)[PINS_GLOBAL] as Partial<LoaderPins> | undefined
  if (typeof pins !== 'object' || pins === null || typeof pins.infoHash !== 'string' || typeof pins.files !== 'object' || pins.files === null) return undefined
  return pins as LoaderPins
}

/**
 * What the worker checks before it serves a byte (it is the trust boundary: the engine port, Cache Storage and
 * IndexedDB can all be written by any script of the origin, the worker's own script cannot):
 *   - pieces, against the SHA-1 hashes of site.torrent, whose info dictionary must hash to the site's infohash;
 *   - its cached loader files, against the SHA-256 pins `peersite publish` builds into sw.js.
 *
 * site.torrent is decoded here with a small bencode reader of its own rather than engine/util/bencode.ts: the worker
 * needs only the piece table and the byte span of the info dictionary (to hash it as received), and a reader that
 * builds no values is the lighter one in sw.js (test/e2e/budget.test.ts).
 */
import { PIN_HEX, PINS_GLOBAL, type LoaderPins } from './protocol.js'

/** A plain site's build (scripts/build-browser.mjs; undefined in Node's tests): no sectioned index, no `known`. */
declare const PEERSITE_PLAIN: boolean | undefined

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
  /**
   * A sectioned index (site-index.ts) loads piece hashes section by section: whether piece `index`'s is in `hashes`
   * yet. Absent: all are (site.torrent).
   */
  readonly known?: (index: number) => boolean
}

export type Value = number | Uint8Array | Value[] | Map<string, Value>

const text = new TextDecoder()
const fail = (what: string): never => { throw new Error(`site.torrent: ${what}`) }

/**
 * Decodes the bencoded value at `pos` (BEP 3); returns it and where it ends. site.torrent's own keys nest 4 levels,
 * but an info dictionary may carry other keys (a BEP 52 `file tree` nests a level per folder): as deep as the engine
 * reads (MAX_BENCODE_DEPTH, 64 lists or dictionaries), or a torrent the engine runs would be refused here.
 */
export function decodeAt (b: Uint8Array, pos: number, depth = 0): [Value, number] {
  const c = b[pos]
  if (depth > 64 || c === undefined) fail('malformed')
  if (c === 0x6c || c === 0x64) { // l...e, d...e
    const items: Value[] = []
    let p = pos + 1
    while (b[p] !== 0x65) [items[items.length], p] = decodeAt(b, p, depth + 1)
    if (c === 0x6c) return [items, p + 1]
    const dict = new Map<string, Value>()
    for (let i = 0; i < items.length; i += 2) dict.set(text.decode(items[i] as Uint8Array), items[i + 1]!)
    return [dict, p + 1]
  }
  // i<digits>e, or <length>:<bytes>
  const end = b.indexOf(c === 0x69 ? 0x65 : 0x3a, pos)
  const n = Number(text.decode(b.subarray(c === 0x69 ? pos + 1 : pos, end)))
  if (end < 0 || !Number.isSafeInteger(n) || (c !== 0x69 && (n < 0 || end + 1 + n > b.length))) fail('malformed')
  return c === 0x69 ? [n, end + 1] : [b.subarray(end + 1, end + 1 + n), end + 1 + n]
}

export function toHex (bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('')
}

export async function digest (algorithm: 'SHA-1' | 'SHA-256', bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(algorithm, bytes as Uint8Array<ArrayBuffer>))
}

/** The pin of a loader file (protocol.ts LoaderPins): the first PIN_HEX hex digits of its SHA-256. */
export async function pinOf (bytes: Uint8Array): Promise<string> {
  return toHex(await digest('SHA-256', bytes)).slice(0, PIN_HEX)
}

/**
 * The piece table of site.torrent, checked to be the torrent of `infoHash`: the SHA-1 of its info dictionary, as
 * the bytes stand in the file, must be the infohash. The file offsets come from the torrent's file list (pad files
 * included), whose other entries must be the manifest's files with their paths and lengths, in order. Throws otherwise.
 */
export async function parsePieceTable (torrent: Uint8Array, infoHash: string, files: Iterable<{ readonly path: string, readonly length: number }>): Promise<PieceTable> {
  // Walk the top-level dictionary by hand to keep the info dictionary's byte span.
  let p = 1
  let span: [number, number] | undefined
  while (torrent[0] === 0x64 && torrent[p] !== 0x65 && p < torrent.length) {
    const [key, afterKey] = decodeAt(torrent, p)
    const [, next] = decodeAt(torrent, afterKey)
    if (key instanceof Uint8Array && text.decode(key) === 'info') span = [afterKey, next]
    p = next
  }
  if (span === undefined) return fail('no info dictionary')
  const infoBytes = torrent.subarray(span[0], span[1])
  if (toHex(await digest('SHA-1', infoBytes)) !== infoHash.toLowerCase()) fail(`not the torrent of ${infoHash}`)
  const info = decodeAt(infoBytes, 0)[0] as Map<string, Value>
  const pieceLength = info.get('piece length')
  const hashes = info.get('pieces')
  const table = new Map<string, { offset: number, length: number }>()
  // Where each file starts: after the files before it and any BEP 47 pad files ("attr" holds "p") between them,
  // which are zeros in the pieces and never site files. The torrent's other entries must be the manifest's files,
  // path and length, in order: only then is the manifest's file list the torrent's (a rewritten manifest cannot swap
  // the paths of two files of one length).
  const entries = info.get('files')
  let length = 0
  let next = 0
  const listed = [...files]
  for (const entry of Array.isArray(entries) ? entries as Array<Map<string, Value>> : [info]) {
    const size = entry.get('length')
    if (typeof size !== 'number' || size < 0) fail('a file has no length')
    const attr = entry.get('attr')
    if (!(attr instanceof Uint8Array && text.decode(attr).includes('p'))) {
      const f = listed[next++]
      // Its path as the engine reads it (engine/metainfo): `path` joined, or `name` for a single-file torrent.
      const k = entry === info ? 'name' : 'path'
      const path = [entry.get(k + '.utf-8') ?? entry.get(k)].flat() as Uint8Array[]
      if (f === undefined || f.length !== size || f.path !== path.map((s) => text.decode(s)).join('/')) fail('its files do not match the manifest')
      table.set(f!.path, { offset: length, length: size as number })
    }
    length += size as number
  }
  if (next !== listed.length) fail('its files do not match the manifest')
  const pieceCount = typeof pieceLength === 'number' && pieceLength > 0 ? Math.ceil(length / pieceLength) : -1
  if (!(hashes instanceof Uint8Array) || hashes.length !== pieceCount * 20) fail('its pieces do not match the manifest')
  return { infoHash: infoHash.toLowerCase(), pieceLength: pieceLength as number, length, pieceCount, hashes: hashes as Uint8Array, files: table }
}

export function pieceSize (table: PieceTable, index: number): number {
  return index < table.pieceCount - 1 ? table.pieceLength : table.length - table.pieceLength * (table.pieceCount - 1)
}

/** Whether `bytes` is exactly piece `index` of the torrent (its length and its SHA-1). */
export async function verifyPiece (table: PieceTable, index: number, bytes: Uint8Array): Promise<boolean> {
  if (!Number.isInteger(index) || index < 0 || index >= table.pieceCount || bytes.byteLength !== pieceSize(table, index)) return false
  if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && table.known !== undefined && !table.known(index)) return false
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
  const pins = (scope as Record<string, unknown>)[PINS_GLOBAL]
  return typeof pins === 'object' && pins !== null ? pins as LoaderPins : undefined
}

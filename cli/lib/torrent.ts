/**
 * Torrent files: making one from a site listing (create-torrent does the BitTorrent v1 layout and the hashing),
 * and reading one back. The engine gets a Metainfo parsed from the exact info-dictionary bytes, so the infohash it
 * announces is the one in the file.
 */
import { createHash } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import createTorrent from 'create-torrent'
import { InvalidTorrentError, UsageError } from '../../engine/errors.js'
import { parseInfoDictionary, type Metainfo } from '../../engine/metainfo/index.js'
import { bdecode, bencode, isDict, isBytes, rawDictValue, type BValue } from '../../engine/util/bencode.js'
import type { SiteListing } from './walk.js'

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
  onProgress?: (hashed: number, total: number) => void
}

/** Files are read in chunks this large: fewer, larger reads keep the disk and the hasher busy. */
const READ_CHUNK = 4 * 1024 * 1024

/**
 * Builds a multi-file BitTorrent v1 torrent of the listed files, in the listing's order. The info dictionary depends
 * only on the names, sizes and bytes of the files and on the piece length: the same folder gives the same infohash.
 */
export async function buildTorrent (site: SiteListing, opts: BuildTorrentOptions): Promise<BuiltTorrent> {
  if (site.files.length === 1) return await buildSingleEntryTorrent(site, opts)
  // create-torrent takes streams with a `fullPath`; a shared first component becomes the torrent's name. Each stream
  // opens its file only when hashing reaches it, so a site with many files never holds many descriptors.
  const inputs = site.files.map((file) => Object.assign(Readable.from(readChunks(file.absPath, file.path)), {
    fullPath: `${opts.name}/${file.path}`
  }))
  // The creation date lies outside the info dictionary (so it cannot change the infohash); using the newest mtime
  // instead of "now" makes site.torrent itself byte-identical when nothing changed.
  const newest = site.files.reduce((max, f) => Math.max(max, f.mtimeMs), 1000)
  const torrent = await new Promise<Uint8Array>((resolve, reject) => {
    createTorrent(inputs, {
      name: opts.name,
      pieceLength: opts.pieceLength,
      announceList: opts.trackers.map((url) => [url]),
      creationDate: new Date(newest),
      createdBy: opts.createdBy ?? 'peersite',
      filterJunkFiles: false,
      ...(opts.webSeeds !== undefined && opts.webSeeds.length > 0 ? { urlList: [...opts.webSeeds] } : {}),
      ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {})
    }, (err, buf) => { if (err !== null) reject(err); else resolve(buf) })
  })
  const metainfo = await parseInfoDictionary(infoBytesOf(torrent))
  checkLayout(site, metainfo)
  return { torrent, metainfo }
}

/**
 * create-torrent makes any one-input torrent a single-file torrent; a site is always a folder, so a one-file site
 * is built by hand in the same layout (same hashing, same key order through bencode).
 */
async function buildSingleEntryTorrent (site: SiteListing, opts: BuildTorrentOptions): Promise<BuiltTorrent> {
  const file = site.files[0]!
  const data = await readFile(file.absPath)
  const hashes: Uint8Array[] = []
  for (let offset = 0; offset < data.length; offset += opts.pieceLength) {
    hashes.push(createHash('sha1').update(data.subarray(offset, offset + opts.pieceLength)).digest())
  }
  opts.onProgress?.(data.length, data.length)
  const info = {
    files: [{ length: data.length, path: file.path.split('/') }],
    name: opts.name,
    'piece length': opts.pieceLength,
    pieces: Buffer.concat(hashes)
  }
  const torrentDict: Record<string, unknown> = {
    'created by': opts.createdBy ?? 'peersite',
    'creation date': Math.ceil(Math.max(file.mtimeMs, 1000) / 1000),
    encoding: 'UTF-8',
    info
  }
  if (opts.trackers.length > 0) {
    torrentDict.announce = opts.trackers[0]
    torrentDict['announce-list'] = opts.trackers.map((url) => [url])
  }
  if (opts.webSeeds !== undefined && opts.webSeeds.length > 0) torrentDict['url-list'] = [...opts.webSeeds]
  const torrent = bencode(torrentDict)
  const metainfo = await parseInfoDictionary(bencode(info))
  checkLayout(site, metainfo)
  return { torrent, metainfo }
}

async function * readChunks (absPath: string, rel: string): AsyncGenerator<Uint8Array> {
  let handle
  try {
    handle = await open(absPath, 'r')
  } catch (err) {
    throw new UsageError(`cannot read ${rel}: ${(err as Error).message}`)
  }
  try {
    while (true) {
      const buf = Buffer.allocUnsafe(READ_CHUNK)
      const { bytesRead } = await handle.read(buf, 0, READ_CHUNK, null)
      if (bytesRead === 0) return
      yield bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
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

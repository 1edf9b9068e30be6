/**
 * The publish side of a site's sectioned index (the format and the reader are in worker/site-index.ts): the
 * torrent's file table and piece hashes split into small JSON sections by a hash of each path, so that a visitor's
 * worker fetches only the section a request needs and the first page of a 10,000-file site costs what a 10-file
 * site's does. The torrent itself is unchanged: one infohash, every file, any BitTorrent client downloads it all.
 */
import { createHash } from 'node:crypto'
import type { Metainfo, TorrentFile } from '../../engine/metainfo/index.js'
import { PIN_HEX } from '../../worker/protocol.js'
import { bucketOf, sectionPath, type SiteIndexRoot } from '../../worker/site-index.js'

/**
 * From this many files on, `publish` writes a sectioned index instead of the file table in peersite.json. Below it
 * the whole table is small (about 12 bytes gzipped per file in peersite.json and as much again in site.torrent:
 * 12 KB for 500 files) and one fetch beats several; above it the table grows past a section's few KB.
 */
export const INDEX_MIN_FILES = 1000
/** Entries (files and folders) per section, on average: a section is a few KB gzipped (about 40 bytes each). */
export const SECTION_ENTRIES = 64

export interface BuiltSection {
  /** Its path below the output folder (peersite-index/<hash>.json). */
  readonly path: string
  readonly bytes: Uint8Array
}

export interface BuiltIndex {
  readonly root: SiteIndexRoot
  readonly sections: readonly BuiltSection[]
}

/** Whether a site of `files` files gets a sectioned index (`force` overrides: publish's `index` option). */
export function wantsIndex (files: number, force?: boolean): boolean {
  return force ?? files >= INDEX_MIN_FILES
}

/** Splits the metainfo's file table (with each file's Content-Type from `typeOf`) into sections. */
export function buildSiteIndex (metainfo: Pick<Metainfo, 'files' | 'pieceLength' | 'pieceHashes'>, typeOf: (path: string) => string): BuiltIndex {
  return finishSiteIndex(planSiteIndex(metainfo.files, metainfo.pieceLength, typeOf), metainfo.pieceHashes)
}

/** A sectioned index before the piece hashes are known: which files, folders and pieces go in each section. */
export interface SiteIndexPlan {
  readonly buckets: ReadonlyArray<{ readonly files: Array<[string, number, number, string]>, readonly dirs: string[], readonly pieces: Set<number> }>
}

/**
 * Everything of the index but the piece hashes, from the file table's layout alone: publish makes it while the
 * pieces are being hashed on other threads (cli/lib/torrent.ts `whileHashing`).
 */
export function planSiteIndex (files: ReadonlyArray<Pick<TorrentFile, 'path' | 'offset' | 'length'>>, pieceLength: number, typeOf: (path: string) => string): SiteIndexPlan {
  const dirSet = new Set<string>()
  for (const file of files) {
    // Each folder above the file, deepest first; one already seen has all of its parents in the set too.
    for (let end = file.path.lastIndexOf('/'); end > 0; end = file.path.lastIndexOf('/', end - 1)) {
      const dir = file.path.slice(0, end)
      if (dirSet.has(dir)) break
      dirSet.add(dir)
    }
  }
  const count = Math.max(1, Math.ceil((files.length + dirSet.size) / SECTION_ENTRIES))
  const buckets = Array.from({ length: count }, () => ({ files: [] as Array<[string, number, number, string]>, dirs: [] as string[], pieces: new Set<number>() }))
  for (const file of files) {
    const bucket = buckets[bucketOf(file.path, count)]!
    bucket.files.push([file.path, file.offset, file.length, typeOf(file.path)])
    if (file.length === 0) continue
    const last = Math.floor((file.offset + file.length - 1) / pieceLength)
    for (let i = Math.floor(file.offset / pieceLength); i <= last; i++) bucket.pieces.add(i)
  }
  for (const dir of dirSet) buckets[bucketOf(dir, count)]!.dirs.push(dir)
  return { buckets }
}

/** The sections of a planned index, with the piece hashes. */
export function finishSiteIndex (plan: SiteIndexPlan, pieceHashes: Uint8Array): BuiltIndex {
  const sections: BuiltSection[] = []
  const hashes: string[] = []
  let files = 0
  plan.buckets.forEach((b, bucket) => {
    files += b.files.length
    const json = JSON.stringify({ version: 1, bucket, files: b.files, dirs: b.dirs.sort(), pieces: pieceRuns(pieceHashes, b.pieces) })
    const bytes = new TextEncoder().encode(json)
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, PIN_HEX)
    hashes.push(hash)
    sections.push({ path: sectionPath(hash), bytes })
  })
  return { root: { version: 1, sections: hashes, files }, sections }
}

/** The hashes of `pieces` as runs of consecutive indexes: [[first, base64 of 20 bytes per piece], ...]. */
function pieceRuns (pieceHashes: Uint8Array, pieces: ReadonlySet<number>): Array<[number, string]> {
  const sorted = [...pieces].sort((a, b) => a - b)
  const runs: Array<[number, string]> = []
  let start = 0
  for (let k = 1; k <= sorted.length; k++) {
    if (k < sorted.length && sorted[k] === sorted[k - 1]! + 1) continue
    const first = sorted[start]!
    const last = sorted[k - 1]!
    runs.push([first, Buffer.from(pieceHashes.subarray(first * 20, (last + 1) * 20)).toString('base64')])
    start = k
  }
  return runs
}

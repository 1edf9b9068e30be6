/**
 * The publish side of a site's sectioned index (the format and the reader are in worker/site-index.ts): the
 * torrent's file table and piece hashes split into small JSON sections by a hash of each path, so that a visitor's
 * worker fetches only the section a request needs and the first page of a 10,000-file site costs what a 10-file
 * site's does. The torrent itself is unchanged: one infohash, every file, any BitTorrent client downloads it all.
 */
import { createHash } from 'node:crypto'
import type { Metainfo, TorrentFile } from '../../engine/metainfo/index.js'
import { PIN_HEX } from '../../worker/protocol.js'
import type { PreloadTable } from './subresources.js'
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

/**
 * worker/site-index.ts bucketOf, for publish's 10,000 paths: an ASCII path is its own UTF-8, so its FNV-1a is taken
 * from its characters with no bytes allocated (the worker's copy stays small: it is part of every first visit).
 */
export function pathBucket (path: string, count: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c >= 0x80) return bucketOf(path, count)
    h = Math.imul(h ^ c, 0x01000193)
  }
  return (h >>> 0) % count
}

/** Whether a site of `files` files gets a sectioned index (`force` overrides: publish's `index` option). */
export function wantsIndex (files: number, force?: boolean): boolean {
  return force ?? files >= INDEX_MIN_FILES
}

/** Splits the metainfo's file table (with each file's Content-Type from `typeOf`) into sections. */
export function buildSiteIndex (metainfo: Pick<Metainfo, 'files' | 'pieceLength' | 'pieceHashes'>, typeOf: (path: string) => string, preload?: PreloadTable): BuiltIndex {
  const plan = planSiteIndex(metainfo.files, metainfo.pieceLength, typeOf)
  return finishSiteIndex(plan, metainfo.pieceHashes, preload === undefined ? undefined : { table: preload, files: metainfo.files, pieceLength: metainfo.pieceLength })
}

/**
 * The page-needs table (cli/lib/subresources.ts, in the torrent's file indexes) and the torrent's file table: each
 * section gets the needs of its own pages (worker/site-index.ts `preload`).
 */
export interface SectionPreload {
  readonly table: PreloadTable
  readonly files: ReadonlyArray<Pick<TorrentFile, 'path' | 'offset' | 'length'>>
  readonly pieceLength: number
}

/**
 * A first-tier need of at most this many pieces is written into the page's section whole (its place in the torrent,
 * its pieces' hashes among the section's): the page's stylesheet is raised with the page's read, with no other section
 * to fetch before the first byte. A larger one (a big bundle: its hashes would be copied into every section of its
 * pages) is named by path, and the worker loads its section.
 */
export const INLINE_NEED_PIECES = 4

/** A sectioned index before the piece hashes are known: which files, folders and pieces go in each section. */
export interface SiteIndexPlan {
  readonly buckets: ReadonlyArray<{ readonly files: Array<[string, number, number, string]>, readonly dirs: string[], readonly pieces: Set<number> }>
  /**
   * Each section's JSON up to its piece hashes (`{"version":1,"bucket":0,"files":[...],"dirs":[...],"pieces":`): the
   * bulk of its text, written while the pieces are hashed on other threads; finishSiteIndex adds the rest.
   */
  readonly heads: readonly string[]
  /** Where the file of each index of the planned table went: its bucket, and its position in that bucket's `files`. */
  readonly bucketOf: Int32Array
  readonly positionOf: Int32Array
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
  const fileBucket = new Int32Array(files.length)
  const filePosition = new Int32Array(files.length)
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!
    const b = pathBucket(file.path, count)
    const bucket = buckets[b]!
    fileBucket[f] = b
    filePosition[f] = bucket.files.push([file.path, file.offset, file.length, typeOf(file.path)]) - 1
    if (file.length === 0) continue
    const last = Math.floor((file.offset + file.length - 1) / pieceLength)
    for (let i = Math.floor(file.offset / pieceLength); i <= last; i++) bucket.pieces.add(i)
  }
  for (const dir of dirSet) buckets[pathBucket(dir, count)]!.dirs.push(dir)
  // The keys in the order finishSiteIndex's sections have always had them (JSON.stringify of one object).
  const heads = buckets.map((b, bucket) => `{"version":1,"bucket":${bucket},"files":${JSON.stringify(b.files)},"dirs":${JSON.stringify(b.dirs.sort())},"pieces":`)
  return { buckets, heads, bucketOf: fileBucket, positionOf: filePosition }
}

/**
 * The sections of a planned index, with the piece hashes (and the needs of each section's pages, if given); each is
 * also handed to `onSection` as soon as it is made (publish writes it while the next is made).
 */
export function finishSiteIndex (plan: SiteIndexPlan, pieceHashes: Uint8Array, preload?: SectionPreload, onSection?: (section: BuiltSection) => void): BuiltIndex {
  const sections: BuiltSection[] = []
  const hashes: string[] = []
  const needs = preload === undefined ? undefined : sectionNeeds(plan, preload)
  let files = 0
  plan.buckets.forEach((b, bucket) => {
    files += b.files.length
    const own = needs?.[bucket]
    const pieces = own === undefined ? b.pieces : new Set([...b.pieces, ...own.pieces])
    // Only sections with pages that need something carry the key: the format is unchanged for the others.
    const json = `${plan.heads[bucket]!}${JSON.stringify(pieceRuns(pieceHashes, pieces))}${own !== undefined ? `,"preload":${JSON.stringify(own.needs)}` : ''}}`
    const bytes = Buffer.from(json, 'utf8')
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, PIN_HEX)
    hashes.push(hash)
    const section = { path: sectionPath(hash), bytes }
    sections.push(section)
    onSection?.(section)
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
    // A view of the hashes, not a copy.
    runs.push([first, Buffer.from(pieceHashes.buffer, pieceHashes.byteOffset + first * 20, (last - first + 1) * 20).toString('base64')])
    start = k
  }
  return runs
}

/**
 * A section's `preload`: `groups[g]` lists needs; `pages` is flat pairs [index of the page in the section's `files`,
 * group]; `likely` the same pairs for the second tier. A need is `[path, offset, length]` with its pieces' hashes in the
 * section's `pieces` (a small first-tier need: INLINE_NEED_PIECES), or a path, whose own section the worker loads.
 */
export interface SectionNeeds {
  groups: Array<Array<string | [string, number, number]>>
  pages: number[]
  likely?: number[]
}

function sectionNeeds (plan: SiteIndexPlan, { table, files, pieceLength }: SectionPreload): Array<{ needs: SectionNeeds, pieces: number[] } | undefined> {
  // Where each file sits: its bucket and its position in that bucket's `files` (the plan's own record when it was
  // laid out from this table, as publish does; else found by path).
  let place = (f: number): [number, number] | undefined => [plan.bucketOf[f]!, plan.positionOf[f]!]
  const planned = plan.bucketOf.length === files.length && files.every((f, i) => plan.buckets[plan.bucketOf[i]!]?.files[plan.positionOf[i]!]?.[0] === f.path)
  if (!planned) {
    const byPath = new Map<string, [number, number]>()
    plan.buckets.forEach((b, bucket) => b.files.forEach(([path], position) => byPath.set(path, [bucket, position])))
    place = (f) => byPath.get(files[f]!.path)
  }
  // A section's copy of a table group, by the group's number (the second tier's as -1 - number).
  type Building = SectionNeeds & { keys: Map<number, number>, pieces: number[] }
  const out: Array<Building | undefined> = plan.buckets.map(() => undefined)
  const add = (pairs: readonly number[] | undefined, tier: 'pages' | 'likely'): void => {
    if (pairs === undefined) return
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const at = place(pairs[k]!)
      const group = table.groups[pairs[k + 1]!]
      if (at === undefined || group === undefined) continue
      const section: Building = out[at[0]] ??= { groups: [], pages: [], keys: new Map(), pieces: [] }
      // The table's groups are shared by pages with the same needs; a section keeps its own copy of those it uses.
      const key = tier === 'pages' ? pairs[k + 1]! : -1 - pairs[k + 1]!
      let g = section.keys.get(key)
      if (g === undefined) {
        g = section.groups.push(group.map((i) => {
          const { path, offset, length } = files[i]!
          if (tier === 'likely' || length === 0) return path
          const first = Math.floor(offset / pieceLength)
          const last = Math.floor((offset + length - 1) / pieceLength)
          if (last - first + 1 > INLINE_NEED_PIECES) return path
          for (let p = first; p <= last; p++) section.pieces.push(p)
          return [path, offset, length]
        })) - 1
        section.keys.set(key, g)
      }
      ;(section[tier] ??= []).push(at[1], g)
    }
  }
  add(table.pages, 'pages')
  add(table.likely, 'likely')
  return out.map((s) => s === undefined ? undefined : { needs: { groups: s.groups, pages: s.pages, ...(s.likely !== undefined ? { likely: s.likely } : {}) }, pieces: s.pieces })
}

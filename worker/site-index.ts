/**
 * The sectioned index of a site with many files (issue 16): what the worker needs to answer a request, fetched by
 * section instead of the whole file table, so a visitor's first page does not pay for the number of files.
 *
 * `peersite publish` (cli/lib/site-index.ts) splits the torrent's file table into `n` buckets by a hash of each path
 * (FNV-1a of its UTF-8 bytes, mod n; a folder is bucketed by its own path too). Each bucket is one JSON file beside
 * the loader, `peersite-index/<hash>.json`:
 *
 *   {"version":1,"bucket":3,
 *    "files":[["docs/a.html",<offset in the torrent>,<length>,"text/html"],...],
 *    "dirs":["docs",...],
 *    "pieces":[[<first piece>,"<base64 of the SHA-1 of pieces first, first+1, ...>"],...]}
 *
 * `pieces` holds the hashes of every piece a file of the section touches. peersite.json's `index.sections` lists
 * the first 128 bits of each section's SHA-256 (bucket b at position b): peersite.json names the infohash and is
 * trusted as much as it, and a section is used only if it hashes to its entry there. So a byte still reaches the page
 * only after its piece's SHA-1 matched a hash that chains to peersite.json (worker/verified-read.ts).
 *
 * Resolving a URL may look up several paths (the file, a folder, "page.html", "404.html"): LazyIndex.ensure runs the
 * pure resolver (site.ts), notes every path whose bucket is not loaded yet, loads those sections and runs it again.
 * A bucket holds the whole truth about the paths that hash to it, so once loaded the answer is final.
 */
import { SiteIndexError } from '../engine/errors.js'
import { fnv1a32, type SiteFile } from './site.js'
import { pinOf } from './verify.js'

/** The folder beside peersite.json that holds the sections. */
export const INDEX_DIR = 'peersite-index'
/** Hex digits of a section's SHA-256 in the root (128 bits, as the loader pins: protocol.ts PIN_HEX). */
export const SECTION_HASH_HEX = 32
/** A section larger than this is refused before it is hashed (publish keeps them near 64 entries: a few KB). */
export const MAX_SECTION_BYTES = 4 * 1024 * 1024
/** Buckets a root may list. */
export const MAX_SECTIONS = 1 << 16
/** A path longer than this (UTF-16 units) is refused: no file system or URL needs more. */
const MAX_PATH = 4096
/** Resolve, load, resolve again: a `_redirects` rewrite adds one round, so 8 is generous. */
const MAX_ROUNDS = 8

/** `index` in peersite.json (worker/protocol.ts SiteManifest). */
export interface SiteIndexRoot {
  readonly version: 1
  /** The first SECTION_HASH_HEX hex digits of each section's SHA-256, bucket b at position b. */
  readonly sections: readonly string[]
  /** The number of files in the torrent (for display; the sections hold the table). */
  readonly files: number
}

export interface IndexedFile extends SiteFile {
  /** Where the file's first byte is in the torrent. */
  readonly offset: number
}

export interface Section {
  readonly bucket: number
  readonly files: readonly IndexedFile[]
  readonly dirs: readonly string[]
  /** Runs of consecutive piece hashes: 20 bytes per piece from `first` on. */
  readonly pieces: ReadonlyArray<{ readonly first: number, readonly hashes: Uint8Array }>
}

/** What a section is checked against: its root entry and the torrent's layout (both from peersite.json). */
export interface SectionContext {
  readonly bucket: number
  readonly hash: string
  readonly buckets: number
  readonly pieceLength: number
  readonly length: number
}

/** The bucket of a path (a file's, or a folder's without a trailing slash) among `count`. */
export function bucketOf (path: string, count: number): number {
  return fnv1a32(path) % count
}

/** The section's path below the site root. */
export function sectionPath (hash: string): string {
  return `${INDEX_DIR}/${hash}.json`
}

const HASH_RE = /^[0-9a-f]{32}$/

/** Whether `x` is a well-formed root (peersite.json `index`). */
export function validRoot (x: unknown): x is SiteIndexRoot {
  const r = x as Partial<SiteIndexRoot> | null
  return typeof r === 'object' && r !== null && r.version === 1 && Array.isArray(r.sections) && r.sections.length > 0 &&
    r.sections.length <= MAX_SECTIONS && r.sections.every((h) => typeof h === 'string' && HASH_RE.test(h)) &&
    Number.isSafeInteger(r.files) && (r.files as number) >= 0
}

/** A path of the table: '/'-separated segments, none empty, "." or "..", no backslash or NUL. */
function safePath (path: unknown): path is string {
  return typeof path === 'string' && path.length > 0 && path.length <= MAX_PATH &&
    path.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\') && !s.includes('\0'))
}

/** A Content-Type the worker can put in a header: printable ASCII, bounded. */
const TYPE_RE = /^[\x20-\x7e]{0,255}$/

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0

function base64Bytes (s: unknown): Uint8Array | undefined {
  if (typeof s !== 'string') return undefined
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

/**
 * Checks a section's bytes against its root entry, then its shape: its bucket, every path safe and of this bucket,
 * every file inside the torrent, every piece a file touches hashed in it. Throws SiteIndexError naming the problem.
 */
export async function parseSection (bytes: Uint8Array, ctx: SectionContext): Promise<Section> {
  const fail = (what: string): never => { throw new SiteIndexError(`index section ${ctx.bucket}: ${what}`) }
  if (bytes.byteLength > MAX_SECTION_BYTES) fail(`larger than ${MAX_SECTION_BYTES} bytes`)
  if (await pinOf(bytes) !== ctx.hash) fail('does not match its hash in peersite.json')
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return fail('not JSON')
  }
  const s = json as { version?: unknown, bucket?: unknown, files?: unknown, dirs?: unknown, pieces?: unknown } | null
  if (typeof s !== 'object' || s === null || s.version !== 1) return fail('not version 1')
  if (s.bucket !== ctx.bucket) fail(`claims bucket ${String(s.bucket)}`)
  if (!Array.isArray(s.files) || !Array.isArray(s.dirs) || !Array.isArray(s.pieces)) return fail('malformed')
  const pieceCount = Math.ceil(ctx.length / ctx.pieceLength)
  const covered = new Uint8Array(pieceCount)
  const pieces: Array<{ first: number, hashes: Uint8Array }> = []
  for (const run of s.pieces as unknown[]) {
    const [first, b64] = Array.isArray(run) ? run as unknown[] : []
    const hashes = base64Bytes(b64)
    if (!isCount(first) || hashes === undefined || hashes.length === 0 || hashes.length % 20 !== 0 ||
      first + hashes.length / 20 > pieceCount) fail('a piece run is malformed or outside the torrent')
    covered.fill(1, first as number, (first as number) + hashes!.length / 20)
    pieces.push({ first: first as number, hashes: hashes! })
  }
  const seen = new Set<string>()
  const files: IndexedFile[] = []
  for (const entry of s.files as unknown[]) {
    const [path, offset, length, type] = Array.isArray(entry) ? entry as unknown[] : []
    if (!safePath(path)) return fail(`unsafe path ${JSON.stringify(path)?.slice(0, 80)}`)
    if (bucketOf(path, ctx.buckets) !== ctx.bucket) fail(`${path} belongs to another section`)
    if (seen.has(path)) fail(`${path} twice`)
    if (!isCount(offset) || !isCount(length) || offset + length > ctx.length) return fail(`${path} lies outside the torrent`)
    if (typeof type !== 'string' || !TYPE_RE.test(type)) return fail(`${path} has a bad type`)
    if (length > 0) {
      const last = Math.floor((offset + length - 1) / ctx.pieceLength)
      for (let i = Math.floor(offset / ctx.pieceLength); i <= last; i++) if (covered[i] !== 1) fail(`the hash of piece ${i} of ${path} is missing`)
    }
    seen.add(path)
    files.push({ path, offset, length, type })
  }
  const dirs: string[] = []
  for (const dir of s.dirs as unknown[]) {
    if (!safePath(dir)) return fail(`unsafe folder ${JSON.stringify(dir)?.slice(0, 80)}`)
    if (bucketOf(dir, ctx.buckets) !== ctx.bucket) fail(`folder ${dir} belongs to another section`)
    dirs.push(dir)
  }
  return { bucket: ctx.bucket, files, dirs, pieces }
}

/** A Map whose lookups report the key first (LazyIndex notes the buckets not loaded yet). */
class ProbedMap<V> extends Map<string, V> {
  constructor (readonly probe: (key: string) => void) { super() }
  override get (key: string): V | undefined {
    this.probe(key)
    return super.get(key)
  }

  override has (key: string): boolean {
    this.probe(key)
    return super.has(key)
  }
}

class ProbedSet extends Set<string> {
  constructor (readonly probe: (key: string) => void) { super() }
  override has (key: string): boolean {
    this.probe(key)
    return super.has(key)
  }
}

/** Fetches the bytes of a section by its hash (from the worker's cache or the static host). */
export type FetchSection = (hash: string) => Promise<Uint8Array>

/**
 * The part of a site's file table and piece hashes loaded so far. `files` and `dirs` are what site.ts's Site
 * holds, filled section by section; `hashes` is the torrent's piece table (20 bytes per piece) with only the loaded
 * sections' pieces set (`known`).
 */
export class LazyIndex {
  readonly files: Map<string, IndexedFile>
  readonly dirs: Set<string>
  readonly pieceLength: number
  readonly length: number
  readonly pieceCount: number
  readonly hashes: Uint8Array
  readonly #known: Uint8Array
  readonly #root: SiteIndexRoot
  readonly #fetch: FetchSection
  readonly #loaded = new Set<number>()
  readonly #loading = new Map<number, Promise<void>>()
  #missing = new Set<number>()

  constructor (root: SiteIndexRoot, layout: { readonly pieceLength: number, readonly length: number }, fetchSection: FetchSection) {
    this.#root = root
    this.#fetch = fetchSection
    this.pieceLength = layout.pieceLength
    this.length = layout.length
    this.pieceCount = Math.ceil(layout.length / layout.pieceLength)
    this.hashes = new Uint8Array(this.pieceCount * 20)
    this.#known = new Uint8Array(this.pieceCount)
    const probe = (key: string): void => {
      const bucket = bucketOf(key, root.sections.length)
      if (!this.#loaded.has(bucket)) this.#missing.add(bucket)
    }
    this.files = new ProbedMap(probe)
    this.dirs = new ProbedSet(probe)
  }

  /** Whether piece `index`'s hash is loaded (verified-read.ts serves no piece whose hash it does not have). */
  known (index: number): boolean {
    return this.#known[index] === 1
  }

  /** The sections loaded so far (tests, the debug log). */
  get loaded (): number {
    return this.#loaded.size
  }

  /**
   * Runs `lookup` (synchronous, over `files` and `dirs`) until every path it looked at has its section loaded, and
   * returns its last answer.
   */
  async ensure<T> (lookup: () => T): Promise<T> {
    for (let round = 0; ; round++) {
      this.#missing = new Set()
      const answer = lookup()
      const missing = [...this.#missing]
      this.#missing = new Set()
      if (missing.length === 0) return answer
      if (round >= MAX_ROUNDS) throw new SiteIndexError('a lookup kept asking for more index sections')
      await Promise.all(missing.map(async (bucket) => { await this.load(bucket) }))
    }
  }

  /** Loads (once) the section of `bucket`. A section that fails is not kept: the next request tries again. */
  async load (bucket: number): Promise<void> {
    if (this.#loaded.has(bucket)) return
    let loading = this.#loading.get(bucket)
    if (loading === undefined) {
      loading = this.#fetchAndAdd(bucket).finally(() => this.#loading.delete(bucket))
      this.#loading.set(bucket, loading)
    }
    await loading
  }

  async #fetchAndAdd (bucket: number): Promise<void> {
    const hash = this.#root.sections[bucket]
    if (hash === undefined) throw new SiteIndexError(`no index section ${bucket}`)
    const section = await parseSection(await this.#fetch(hash), {
      bucket, hash, buckets: this.#root.sections.length, pieceLength: this.pieceLength, length: this.length
    })
    // Two sections that give one piece different hashes: the publisher's output is inconsistent, use neither.
    for (const { first, hashes } of section.pieces) {
      for (let i = 0; i < hashes.length / 20; i++) {
        const at = (first + i) * 20
        const hash = hashes.subarray(i * 20, i * 20 + 20)
        if (this.#known[first + i] === 1 && !hash.every((x, k) => x === this.hashes[at + k])) {
          throw new SiteIndexError(`index section ${bucket} disagrees with another about piece ${first + i}`)
        }
      }
    }
    for (const { first, hashes } of section.pieces) {
      this.hashes.set(hashes, first * 20)
      this.#known.fill(1, first, first + hashes.length / 20)
    }
    for (const file of section.files) this.files.set(file.path, file)
    for (const dir of section.dirs) this.dirs.add(dir)
    this.#loaded.add(bucket)
  }
}

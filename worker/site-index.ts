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
 *    "pieces":[[<first piece>,"<base64 of the SHA-1 of pieces first, first+1, ...>"],...],
 *    "preload":{"groups":[["style.css","app.js"],...],"pages":[<index in files>,<group>,...],"likely":[...]}}
 *
 * `preload` (only in sections with HTML pages that need something) is peersite.json's page-needs table for the
 * section's own pages (cli/lib/subresources.ts), by path: the worker loads the needs' sections in parallel with the
 * page's read and hands their byte ranges and piece hashes to the engine (LazyIndex.pageNeeds). Malformed entries are
 * skipped (a hint, never a failure).
 *
 * `pieces` holds the hashes of every piece a file of the section touches. peersite.json's `index.sections` lists
 * the first 128 bits of each section's SHA-256 (bucket b at position b): peersite.json names the infohash and is
 * trusted as much as it, and a section is used only if it hashes to its entry there. So a byte still reaches the page
 * only after its piece's SHA-1 matched a hash that chains to peersite.json (worker/verified-read.ts).
 *
 * Resolving a URL may look up several paths (the file, a folder, "page.html", "404.html"): LazyIndex.ensure runs the
 * pure resolver (site.ts), notes every path whose bucket is not loaded yet, loads the first such section and runs it again.
 * A bucket holds the whole truth about the paths that hash to it, so once loaded the answer is final.
 */
import { LIKELY_MAX_BYTES, LIKELY_MAX_FILES, PRELOAD_MAX_FILES } from '../engine/constants.js'
import { SiteIndexError } from '../engine/errors.js'
import { cacheNameFor } from './file-cache.js'
import type { EngineRequest, PreloadRange, SiteManifest } from './protocol.js'
import { fnv1a32, unsafeSegment, type ManifestForSite, type Site, type SiteFile } from './site.js'
import { pinOf, type PieceTable } from './verify.js'

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
/**
 * Resolve, load one section, resolve again: a missing page probes at most its path, "page.html", "dir/index.html",
 * the root index.html (`--spa`) and 404.html, and a `_redirects` rewrite its target's; 16 is generous.
 */
const MAX_ROUNDS = 16

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
  /** The section's pages -> the paths they need (its `preload`), at most PRELOAD_MAX_FILES and LIKELY_MAX_FILES each. */
  readonly needs: ReadonlyMap<string, PageNeeds>
}

/** A need named by path (its section says where it is), or given whole with its pieces' hashes in the page's section. */
export type Need = string | { readonly path: string, readonly offset: number, readonly length: number }

/** What a page needs to paint (`pages`) and what its scripts may load on demand (`likely`). */
export interface PageNeeds {
  readonly pages: readonly Need[]
  readonly likely: readonly Need[]
}

/**
 * A section's `preload`, read leniently: a bad group, page or need is left out (a need given whole must lie inside the
 * torrent with every piece hashed in the section, as a file of the section must).
 */
function readNeeds (preload: unknown, files: readonly IndexedFile[], hashed: (offset: number, length: number) => boolean): Map<string, PageNeeds> {
  const needs = new Map<string, { pages: Need[], likely: Need[] }>()
  const p = preload as { groups?: unknown, pages?: unknown, likely?: unknown } | null
  if (typeof p !== 'object' || p === null || !Array.isArray(p.groups)) return needs
  const need = (n: unknown): Need[] => {
    if (safePath(n)) return [n]
    if (!Array.isArray(n)) return []
    const [path, offset, length] = n as unknown[]
    return safePath(path) && isCount(offset) && isCount(length) && length > 0 && hashed(offset, length) ? [{ path, offset, length }] : []
  }
  const groups = (p.groups as unknown[]).map((g) => Array.isArray(g) ? g.flatMap(need) : undefined)
  const add = (pairs: unknown, tier: 'pages' | 'likely', max: number): void => {
    if (!Array.isArray(pairs)) return
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const page = files[pairs[k] as number]
      const group = groups[pairs[k + 1] as number]
      if (!Number.isInteger(pairs[k]) || !Number.isInteger(pairs[k + 1]) || page === undefined || group === undefined) continue
      let entry = needs.get(page.path)
      if (entry === undefined) needs.set(page.path, entry = { pages: [], likely: [] })
      entry[tier] = group.slice(0, max)
    }
  }
  add(p.pages, 'pages', PRELOAD_MAX_FILES)
  add(p.likely, 'likely', LIKELY_MAX_FILES)
  return needs
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

/** A path of the table: '/'-separated segments, none empty, "." or "..", no backslash or NUL (site.ts). */
const safePath = (path: unknown): path is string =>
  typeof path === 'string' && path.length <= MAX_PATH && !path.split('/').some(unsafeSegment)

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0

/**
 * Checks a section's bytes against its root entry, then its shape: its bucket, every path safe and of this bucket,
 * every file inside the torrent, every piece a file touches hashed in it. Throws SiteIndexError naming the problem.
 */
export async function parseSection (bytes: Uint8Array, ctx: SectionContext): Promise<Section> {
  const fail = (what: string): never => { throw new SiteIndexError(`index section ${ctx.bucket}: ${what}`) }
  if (bytes.byteLength > MAX_SECTION_BYTES) fail('too large')
  if (await pinOf(bytes) !== ctx.hash) fail('does not match peersite.json')
  let s: { version?: unknown, bucket?: unknown, files?: unknown, dirs?: unknown, pieces?: unknown, preload?: unknown }
  try {
    s = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return fail('not JSON')
  }
  if (s?.version !== 1 || s.bucket !== ctx.bucket || !Array.isArray(s.files) || !Array.isArray(s.dirs) || !Array.isArray(s.pieces)) return fail('malformed')
  const pieceCount = Math.ceil(ctx.length / ctx.pieceLength)
  const covered = new Uint8Array(pieceCount)
  const pieces: Array<{ first: number, hashes: Uint8Array }> = []
  for (const [first, b64] of s.pieces as Array<[unknown, unknown]>) {
    let hashes: Uint8Array | undefined
    try {
      hashes = Uint8Array.from(atob(b64 as string), (c) => c.charCodeAt(0))
    } catch {}
    const n = (hashes?.length ?? 0) / 20
    if (!isCount(first) || !Number.isInteger(n) || n === 0 || first + n > pieceCount) return fail('bad piece run')
    covered.fill(1, first, first + n)
    pieces.push({ first, hashes: hashes! })
  }
  /** The first piece of bytes [offset, offset + length) (inside the torrent) with no hash in the section, or -1. */
  const unhashed = (offset: number, length: number): number => {
    for (let i = Math.floor(offset / ctx.pieceLength); length > 0 && i * ctx.pieceLength < offset + length; i++) if (covered[i] !== 1) return i
    return -1
  }
  /** Whether every piece of bytes [offset, offset + length) is hashed in the section. */
  const hashed = (offset: number, length: number): boolean => offset + length <= ctx.length && unhashed(offset, length) === -1
  const files: IndexedFile[] = []
  for (const [path, offset, length, type] of s.files as Array<[unknown, unknown, unknown, unknown]>) {
    if (!safePath(path) || bucketOf(path, ctx.buckets) !== ctx.bucket) return fail(`bad path ${String(path).slice(0, 80)}`)
    if (!isCount(offset) || !isCount(length) || offset + length > ctx.length) return fail(`${path} outside the torrent`)
    if (typeof type !== 'string' || !/^[ -~]{0,255}$/.test(type)) return fail(`${path} has a bad type`)
    const missing = unhashed(offset, length)
    if (missing >= 0) fail(`no hash for piece ${missing}`)
    files.push({ path, offset, length, type })
  }
  for (const dir of s.dirs as unknown[]) {
    if (!safePath(dir) || bucketOf(dir, ctx.buckets) !== ctx.bucket) fail(`bad folder ${String(dir).slice(0, 80)}`)
  }
  return { bucket: ctx.bucket, files, dirs: s.dirs as string[], pieces, needs: readNeeds(s.preload, files, hashed) }
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
  readonly #needs = new Map<string, PageNeeds>()
  #missing = new Set<number>()

  constructor (root: SiteIndexRoot, layout: { readonly infoHash: string, readonly pieceLength: number, readonly length: number }, fetchSection: FetchSection) {
    if (!(root.sections.length <= MAX_SECTIONS && root.sections.every((h) => /^[0-9a-f]{32}$/.test(h)) &&
      Number.isSafeInteger(layout.pieceLength) && layout.pieceLength > 0 && Number.isSafeInteger(layout.length) && layout.length >= 0)) {
      throw new SiteIndexError('peersite.json has a malformed index')
    }
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
    this.table = { infoHash: layout.infoHash.toLowerCase(), pieceLength: this.pieceLength, length: this.length, pieceCount: this.pieceCount, hashes: this.hashes, files: this.files, known: (i) => this.known(i) }
  }

  /** The piece table of verified-read.ts: only the pieces whose hashes are loaded can be verified (`known`). */
  readonly table: PieceTable

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
      // Only the first: the resolver looks in order of precedence (the file, "page.html", the 404 page) and stops at
      // the first hit, so the later paths of this round may never be needed (one section for a page that exists).
      const [next] = this.#missing
      this.#missing = new Set()
      if (next === undefined) return answer
      if (round >= MAX_ROUNDS) throw new SiteIndexError('a lookup kept asking for more index sections')
      await this.load(next)
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
    // Two sections agree on a piece they share (publish wrote both from one table; either way, both come from it).
    for (const { first, hashes } of section.pieces) {
      this.hashes.set(hashes, first * 20)
      this.#known.fill(1, first, first + hashes.length / 20)
    }
    for (const file of section.files) this.files.set(file.path, file)
    for (const dir of section.dirs) this.dirs.add(dir)
    for (const [page, needs] of section.needs) this.#needs.set(page, needs)
    this.#loaded.add(bucket)
  }

  /**
   * Hands `post` what page `path` needs (protocol.ts EngineRequest `preload`, with the buffers to transfer): at once
   * what its section gives whole (small files: its stylesheet), then what it names by path once those sections have
   * loaded (in parallel). Nothing when the page has no needs.
   */
  async preload (path: string, post: (request: EngineRequest & { type: 'preload' }, transfer: ArrayBuffer[]) => void): Promise<void> {
    if (!this.#needs.has(path)) return
    // The caps of a table (loader/preload.ts), over both parts: at most LIKELY_MAX_BYTES per tier (readNeeds already
    // kept at most PRELOAD_MAX_FILES and LIKELY_MAX_FILES needs). The rest is left to the page's own requests.
    const left = [LIKELY_MAX_BYTES, LIKELY_MAX_BYTES]
    const within = (list: PreloadRange[], tier: number): PreloadRange[] => list.filter((r) => (left[tier]! -= r.length) >= 0)
    const send = (found: { needs: PreloadRange[], likely: PreloadRange[] } | undefined): void => {
      if (found === undefined) return
      const needs = within(found.needs, 0)
      const likely = within(found.likely, 1)
      if (needs.length === 0 && likely.length === 0) return
      post({ type: 'preload', page: path, needs, likely }, [...needs, ...likely].map((r) => r.hashes))
    }
    send(this.givenNeeds(path))
    send(await this.namedNeeds(path))
  }

  /** The needs of page `path` given whole in its section, as ranges with their hashes: ready now. */
  givenNeeds (path: string): { needs: PreloadRange[], likely: PreloadRange[] } {
    const own = this.#needs.get(path)
    const given = (list: readonly Need[] | undefined): PreloadRange[] => (list ?? []).flatMap((n) => typeof n === 'string' ? [] : [this.#range(n)])
    return { needs: given(own?.pages), likely: given(own?.likely) }
  }

  /**
   * The needs of page `path` named by path, as ranges with their hashes (protocol.ts EngineRequest `preload`): their
   * sections are loaded in parallel, a need whose section fails or that names no file is left out. Undefined when the
   * page has none.
   */
  async namedNeeds (path: string): Promise<{ needs: PreloadRange[], likely: PreloadRange[] } | undefined> {
    const own = this.#needs.get(path)
    const named = (list: readonly Need[] | undefined): string[] => (list ?? []).filter((n): n is string => typeof n === 'string')
    const pages = named(own?.pages)
    const likely = named(own?.likely)
    if (pages.length === 0 && likely.length === 0) return undefined
    const buckets = new Set([...pages, ...likely].map((p) => bucketOf(p, this.#root.sections.length)))
    await Promise.allSettled([...buckets].map(async (b) => { await this.load(b) }))
    const ranges = (paths: readonly string[]): PreloadRange[] => paths.flatMap((p) => {
      // Not through the probing `get`: these lookups are no request's resolution (LazyIndex.ensure).
      const file = Map.prototype.get.call(this.files, p) as IndexedFile | undefined
      return file === undefined || file.length === 0 ? [] : [this.#range(file)]
    })
    return { needs: ranges(pages), likely: ranges(likely) }
  }

  /** A range of the torrent (non-empty, its pieces' hashes loaded) with those hashes. */
  #range ({ offset, length }: { offset: number, length: number }): PreloadRange {
    const first = Math.floor(offset / this.pieceLength)
    const last = Math.floor((offset + length - 1) / this.pieceLength)
    return { offset, length, hashes: this.hashes.slice(first * 20, (last + 1) * 20).buffer }
  }
}

/**
 * Fetches the sections of site version `infoHash` below `scope`: from that version's cache (worker/file-cache.ts:
 * dropped with it when a new publish arrives) if the copy still has its hash (any script of the origin can rewrite
 * the cache), else from the host beside peersite.json. LazyIndex checks each against its hash before use.
 */
export function sectionFetcher (scope: string, infoHash: string): FetchSection {
  return async (hash) => {
    const key = `https://peersite.invalid/index/${hash}`
    const cache = typeof caches === 'undefined' ? undefined : await caches.open(cacheNameFor(scope, infoHash)).catch(() => undefined)
    const hit = await cache?.match(key).catch(() => undefined)
    if (hit !== undefined) {
      const cached = new Uint8Array(await hit.arrayBuffer())
      if (await pinOf(cached) === hash) return cached
    }
    const res = await fetch(new URL(sectionPath(hash), scope))
    if (!res.ok) throw new SiteIndexError(`${sectionPath(hash)}: HTTP ${res.status}`)
    // The host also serves the worker's script; still, a section larger than any publish writes is not read.
    if (Number(res.headers.get('Content-Length')) > MAX_SECTION_BYTES) throw new SiteIndexError(`${sectionPath(hash)} is too large`)
    const bytes = new Uint8Array(await res.arrayBuffer())
    // Kept as fetched: a wrong one fails its check in LazyIndex and is replaced here on the next try.
    void cache?.put(key, new Response(bytes)).catch(() => {})
    return bytes
  }
}

/** site.ts's Site of a manifest with an index: lookups fill from sections fetched below `scope` (or by `fetchSection`). */
export function lazySite (manifest: ManifestForSite & Pick<SiteManifest, 'index'>, from: string | FetchSection): Site {
  const index = new LazyIndex(manifest.index!, { infoHash: manifest.infoHash, pieceLength: manifest.pieceLength ?? 0, length: manifest.length ?? -1 },
    typeof from === 'string' ? sectionFetcher(from, manifest.infoHash) : from)
  return { infoHash: manifest.infoHash, files: index.files, dirs: index.dirs, redirects: manifest.redirects ?? [], spa: manifest.spa === true, layout: [], index }
}

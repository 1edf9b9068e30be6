/**
 * A page's subresources, requested from peers as soon as the page itself is (peersite.json `preload`, written by
 * `publish`: cli/lib/subresources.ts). Without this the browser discovers them one level at a time (the HTML, then
 * its scripts, then their imports), each level a round trip through the worker and the swarm.
 *
 * The leader raises them when the worker reads an HTML page (EngineHost `onRead`), and already at boot for the page
 * in the address bar, so the first page's files are on their way while the service worker is still installing.
 * A page's hints are dropped when the next page is read (the visitor moved on).
 */
import { LIKELY_MAX_BYTES, LIKELY_PRIORITY_TOP, PRELOAD_PRIORITY_TOP, READ_PRIORITY_AHEAD } from '../engine/constants.js'
import { piecesForRange } from '../engine/metainfo/index.js'
import type { Torrent } from '../engine/torrent.js'
import type { PreloadRange, SiteManifest } from '../worker/protocol.js'
import { installHashes, isLazy } from './lazy-metainfo.js'

type Span = { readonly first: number, readonly last: number }

/** A plain site's build (scripts/build-browser.mjs): no sectioned index, so no ranges from the worker. */
declare const PEERSITE_PLAIN: boolean | undefined

/**
 * Page path -> the file indexes it needs, in document order (`tier` 'likely': what its scripts may load on demand,
 * at most LIKELY_MAX_BYTES of it). Malformed entries are skipped (a hint, never a failure); an index names a file of
 * the torrent or nothing.
 */
export function preloadTable (manifest: Pick<SiteManifest, 'files' | 'preload'>, tier: 'pages' | 'likely' = 'pages'): Map<string, readonly number[]> {
  const table = new Map<string, readonly number[]>()
  const { preload, files } = manifest
  const pairs = preload?.[tier]
  if (!Array.isArray(pairs) || !Array.isArray(preload!.groups)) return table
  const valid = (i: unknown): i is number => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < files.length
  for (let k = 0; k + 1 < pairs.length; k += 2) {
    const page = pairs[k]
    const group = preload!.groups[pairs[k + 1]!]
    if (!valid(page) || !Array.isArray(group)) continue
    let bytes = 0
    table.set(files[page]!.path, group.filter((i) => valid(i) && (tier === 'pages' || (bytes += files[i]!.length) <= LIKELY_MAX_BYTES)))
  }
  return table
}

/** The site files a path in the address bar may be, best guess first (the worker's rules decide; this is only a hint). */
export function pageCandidates (pathname: string, root: string): string[] {
  const rootPath = new URL(root).pathname
  if (!pathname.startsWith(rootPath)) return []
  let path: string
  try {
    path = decodeURIComponent(pathname.slice(rootPath.length))
  } catch {
    return []
  }
  if (path === '' || path.endsWith('/')) return [`${path}index.html`]
  return [path, `${path}.html`, `${path}/index.html`]
}

export class PageHints {
  readonly #torrent: Torrent
  readonly #table: Map<string, readonly number[]>
  readonly #likely: Map<string, readonly number[]>
  readonly #guesses: boolean
  #releases: Array<() => void> = []
  /** The page whose subresources are raised now. */
  page: string | undefined

  /** `guesses` false (Save-Data on: a metered visitor): the second tier is left to the page's own requests. */
  constructor (torrent: Torrent, manifest: Pick<SiteManifest, 'files' | 'preload'>, guesses = true) {
    this.#torrent = torrent
    this.#table = preloadTable(manifest)
    this.#likely = guesses ? preloadTable(manifest, 'likely') : new Map()
    this.#guesses = guesses
  }

  /** The files `page` needs (itself excluded); empty when it is not an HTML page with hints. */
  needs (page: string): readonly number[] {
    return this.#table.get(page) ?? []
  }

  /**
   * A page is being read: raise what it needs (and drop the previous page's hints). False if it has none. With
   * `withPage` the page's own file comes first (at boot, before the worker has asked for it).
   */
  onPage (page: string, withPage = false): boolean {
    const needs = this.#table.get(page)
    const likely = this.#likely.get(page) ?? []
    const metainfo = this.#torrent.metainfo
    if ((needs === undefined && likely.length === 0) || metainfo === undefined || this.#torrent.destroyed) return false
    if (this.page === page) return true
    const self = withPage ? metainfo.files.findIndex((f) => f.path === page) : -1
    const files = self >= 0 ? [self, ...needs ?? []] : needs ?? []
    this.release()
    this.page = page
    const spans = (list: readonly number[]): Span[] => list.flatMap((index) => {
      const file = metainfo.files[index]
      return file === undefined || file.length === 0 ? [] : [piecesForRange(metainfo, file.offset, file.length)]
    })
    this.#raise(spans(files), spans(likely))
    return true
  }

  /**
   * A page of a sectioned index is being read: the worker sent its needs from the page's section (protocol.ts
   * EngineRequest `preload`), as ranges of the torrent with their pieces' hashes, installed first when the metainfo
   * has no info dictionary yet (lazy-metainfo.ts). The worker checked the section against peersite.json and holds
   * them to the caps of a table (PRELOAD_MAX_FILES, LIKELY_MAX_FILES, LIKELY_MAX_BYTES per tier: LazyIndex.preload, in
   * the index code small sites do not load); here a range is raised only inside the torrent, with hashes that fit it.
   * The worker sends a page's needs in up to two parts (those its section gives whole, then those it names by path):
   * a second part adds to the first.
   */
  onRanges (page: string, needs: readonly PreloadRange[], likely: readonly PreloadRange[]): boolean {
    const metainfo = this.#torrent.metainfo
    // The plain build's test wraps the code (not a return before it), so that esbuild drops what it calls too.
    if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && metainfo !== undefined && !this.#torrent.destroyed) {
      if (this.page !== page) this.release()
      this.page = page
      const spans = (list: readonly PreloadRange[]): Span[] => list.flatMap(({ offset, length, hashes }) => {
        const span = piecesForRange(metainfo, offset, length)
        return span.first <= span.last && span.last < metainfo.pieceCount && (!isLazy(metainfo) || installHashes(metainfo, span.first, span.last, hashes)) ? [span] : []
      })
      this.#raise(spans(needs), this.#guesses ? spans(likely) : [])
      return true
    }
    return false
  }

  /**
   * Strictly decreasing within a tier: the first file of the page first. Its needs above a reader's read-ahead;
   * the second tier (what its scripts may load on demand) below it, ahead of the background.
   */
  #raise (needs: readonly Span[], likely: readonly Span[]): void {
    const raise = (list: readonly Span[], bottom: number, top: number): void => list.forEach(({ first, last }, order) => {
      if (first > last) return
      this.#releases.push(this.#torrent.prioritize(first, last, bottom + (top - bottom) * (1 - order / (list.length + 1))))
    })
    raise(needs, READ_PRIORITY_AHEAD, PRELOAD_PRIORITY_TOP)
    raise(likely, 0, LIKELY_PRIORITY_TOP)
  }

  release (): void {
    for (const release of this.#releases) release()
    this.#releases = []
    this.page = undefined
  }
}

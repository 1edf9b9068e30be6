/**
 * A page's subresources, requested from peers as soon as the page itself is (peersite.json `preload`, written by
 * `publish`: cli/lib/subresources.ts). Without this the browser discovers them one level at a time (the HTML, then
 * its scripts, then their imports), each level a round trip through the worker and the swarm.
 *
 * The leader raises them when the worker reads an HTML page (EngineHost `onRead`), and already at boot for the page
 * in the address bar, so the first page's files are on their way while the service worker is still installing.
 * A page's hints are dropped when the next page is read (the visitor moved on).
 */
import { PRELOAD_PRIORITY_TOP, READ_PRIORITY_AHEAD } from '../engine/constants.js'
import { piecesForRange } from '../engine/metainfo/index.js'
import type { Torrent } from '../engine/torrent.js'
import type { SiteManifest } from '../worker/protocol.js'

/** Page path -> the file indexes it needs, in document order. Malformed entries are skipped (a hint, never a failure). */
export function preloadTable (manifest: Pick<SiteManifest, 'files' | 'preload'>): Map<string, readonly number[]> {
  const table = new Map<string, readonly number[]>()
  const { preload, files } = manifest
  if (preload === undefined || !Array.isArray(preload.pages) || !Array.isArray(preload.groups)) return table
  const valid = (i: unknown): i is number => typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < files.length
  for (let k = 0; k + 1 < preload.pages.length; k += 2) {
    const page = preload.pages[k]
    const group = preload.groups[preload.pages[k + 1]!]
    if (!valid(page) || !Array.isArray(group)) continue
    table.set(files[page]!.path, group.filter(valid))
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
  #releases: Array<() => void> = []
  /** The page whose subresources are raised now. */
  page: string | undefined

  constructor (torrent: Torrent, manifest: Pick<SiteManifest, 'files' | 'preload'>) {
    this.#torrent = torrent
    this.#table = preloadTable(manifest)
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
    const metainfo = this.#torrent.metainfo
    if (needs === undefined || metainfo === undefined || this.#torrent.destroyed) return false
    if (this.page === page) return true
    const self = withPage ? metainfo.files.findIndex((f) => f.path === page) : -1
    const files = self >= 0 ? [self, ...needs] : needs
    this.release()
    this.page = page
    const span = PRELOAD_PRIORITY_TOP - READ_PRIORITY_AHEAD
    files.forEach((index, order) => {
      const file = metainfo.files[index]
      if (file === undefined || file.length === 0) return
      const { first, last } = piecesForRange(metainfo, file.offset, file.length)
      if (first > last) return
      // Strictly decreasing, all above a reader's read-ahead: the first file of the page first.
      const priority = READ_PRIORITY_AHEAD + span * (1 - order / (files.length + 1))
      this.#releases.push(this.#torrent.prioritize(first, last, priority))
    })
    return true
  }

  release (): void {
    for (const release of this.#releases) release()
    this.#releases = []
    this.page = undefined
  }
}

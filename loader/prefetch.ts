/**
 * Whole-site prefetch (issue 5): after the first page has loaded and the browser is idle, the leader's engine fetches
 * the rest of the site in the background, rarest first, so the visitor becomes a seeder of the whole site and later
 * navigation is instant. It pauses whenever the worker reads (BackgroundPrefetch below).
 *
 * Until then no piece is wanted in the background (the engine fetches only what the worker reads for the first
 * page and what that page needs, loader/preload.ts, with all the bandwidth). Then the pieces of the prefetch set are marked wanted and the picker's rarest-first
 * step fetches them. The set, from the publisher's `prefetchLimit` (peersite.json, `publish --prefetch-limit`):
 *   - the whole site when it fits in the limit;
 *   - else the smallest files that fit together (a threshold on file size: pages, styles, scripts and images are
 *     in, big media stays on demand and is fetched only when played).
 */
import type { Metainfo, TorrentFile } from '../engine/metainfo/index.js'
import type { Torrent } from '../engine/torrent.js'

/**
 * BackgroundPrefetch and the set it fetches load after the first paint (peersite-later.js, loader/later.ts), a
 * bundle that shares no module with peersite.js: hence this file's own piece arithmetic (metainfo's piecesForRange).
 */

/** The default when peersite.json has no prefetchLimit (older publishes): cli/lib/prefetch.ts's DEFAULT_PREFETCH_LIMIT. */
export const DEFAULT_PREFETCH_LIMIT = 5 * 1024 * 1024

/** The files to prefetch for a limit in bytes. */
export function prefetchFiles (files: readonly TorrentFile[], limit: number): TorrentFile[] {
  const total = files.reduce((n, f) => n + f.length, 0)
  if (total <= limit) return [...files]
  const chosen: TorrentFile[] = []
  let bytes = 0
  for (const file of [...files].sort((a, b) => a.length - b.length || a.index - b.index)) {
    if (bytes + file.length > limit) break
    bytes += file.length
    chosen.push(file)
  }
  return chosen.sort((a, b) => a.index - b.index)
}

/** The piece ranges of those files, adjacent ranges merged. */
export function prefetchRanges (metainfo: Pick<Metainfo, 'pieceLength' | 'files'>, limit: number): Array<{ first: number, last: number }> {
  const ranges: Array<{ first: number, last: number }> = []
  for (const file of prefetchFiles(metainfo.files, limit)) {
    if (file.length <= 0) continue
    const first = Math.floor(file.offset / metainfo.pieceLength)
    const last = Math.floor((file.offset + file.length - 1) / metainfo.pieceLength)
    const prev = ranges[ranges.length - 1]
    if (prev !== undefined && first <= prev.last + 1) prev.last = Math.max(prev.last, last)
    else ranges.push({ first, last })
  }
  return ranges
}

/** The limit from the manifest: a non-negative safe integer, or the default. */
export function prefetchLimitOf (manifest: { readonly prefetchLimit?: unknown }): number {
  const limit = manifest.prefetchLimit
  return typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0 ? limit : DEFAULT_PREFETCH_LIMIT
}

/** Before the first page: nothing in the background. */
export function holdBackground (torrent: Torrent): void {
  const count = torrent.metainfo?.pieceCount ?? 0
  if (count > 0) torrent.setWanted(0, count - 1, false)
}

/** After the first page: the prefetch set is wanted. Returns the bytes of the files chosen. */
export function startPrefetch (torrent: Torrent, limit: number): number {
  const metainfo = torrent.metainfo
  if (metainfo === undefined || torrent.destroyed) return 0
  for (const { first, last } of prefetchRanges(metainfo, limit)) torrent.setWanted(first, last, true)
  return prefetchFiles(metainfo.files, limit).reduce((n, f) => n + f.length, 0)
}

/** The visitor asked the browser to save data (Chromium's Data Saver, `Save-Data`): no background prefetch then. */
export function saveDataRequested (): boolean {
  const connection = (navigator as Navigator & { connection?: { saveData?: boolean } }).connection
  return connection?.saveData === true
}

/** After the last read ends, this long without a new one before the background resumes (a page's late requests). */
export const PREFETCH_QUIET_MS = 500

/**
 * The background prefetch never competes with what a page loads: it starts once the first page has loaded and the
 * browser is idle, pauses (its pieces unwanted: no new background request) whenever the worker has a read open,
 * and resumes PREFETCH_QUIET_MS and an idle callback after the last read ended. A reader's pieces come first in
 * the picker anyway; pausing also keeps the peers' request pipelines free for them (rather than full of
 * background blocks that a reader's requests would queue behind).
 */
export class BackgroundPrefetch {
  readonly #torrent: Torrent
  readonly #ranges: Array<{ first: number, last: number }>
  /** Bytes of the files in the set. */
  readonly bytes: number
  #loaded = false
  #open = 0
  #wanted = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #generation = 0
  #onStart: (() => void) | undefined

  /** `onStart`: called when the background first starts fetching. */
  constructor (torrent: Torrent, limit: number, onStart?: () => void) {
    this.#torrent = torrent
    this.#onStart = onStart
    const metainfo = torrent.metainfo
    this.#ranges = metainfo === undefined ? [] : prefetchRanges(metainfo, limit)
    this.bytes = metainfo === undefined ? 0 : prefetchFiles(metainfo.files, limit).reduce((n, f) => n + f.length, 0)
  }

  /** Whether the background is fetching now (not paused, not waiting). */
  get running (): boolean {
    return this.#wanted
  }

  /** The first page has loaded. */
  pageLoaded (): void {
    this.#loaded = true
    this.#schedule()
  }

  /** The number of open reads changed (EngineHost `onActivity`). */
  onActivity (open: number): void {
    this.#open = open
    if (open > 0) this.#set(false)
    this.#schedule()
  }

  #schedule (): void {
    const generation = ++this.#generation
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    if (!this.#loaded || this.#open > 0 || this.#wanted || this.#ranges.length === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      whenIdle(() => {
        if (generation === this.#generation && this.#open === 0) this.#set(true)
      })
    }, PREFETCH_QUIET_MS)
  }

  #set (wanted: boolean): void {
    if (this.#wanted === wanted || this.#torrent.destroyed || this.#torrent.metainfo === undefined) return
    this.#wanted = wanted
    for (const { first, last } of this.#ranges) this.#torrent.setWanted(first, last, wanted)
    if (wanted) {
      this.#onStart?.()
      this.#onStart = undefined
    }
  }
}

function whenIdle (fn: () => void): void {
  const ric = (globalThis as { requestIdleCallback?: (cb: () => void, opts?: { timeout: number }) => number }).requestIdleCallback
  if (typeof ric === 'function') ric(fn, { timeout: 2_000 })
  else setTimeout(fn, 50)
}

/**
 * `--prefetch-limit`: how much of the site a visitor's browser fetches in the background after the first page has
 * painted (so later pages are instant and the visitor seeds the whole site). Written into peersite.json as
 * `prefetchLimit` (bytes); the loader applies it (loader/prefetch.ts). Big media beyond it stays on demand.
 */
import { ArgumentError } from '../../engine/errors.js'

/**
 * 5 MiB. Every visitor pays for the background prefetch, some by the megabyte (a metered mobile plan), and a plain
 * host would have sent only the pages they open: 50 MiB (the old default) made a first visit to a 24 MB docs site
 * cost 24 MB for a page that needed 1.2 MB. 5 MiB is about two median web pages (HTTP Archive's page weight), so a
 * first visit costs at most that much more than on a plain host; sites up to that size (blogs, most docs) are still
 * prefetched whole (instant later pages, and the visitor seeds all of it), and bigger ones prefetch their smallest
 * files (the HTML pages, styles and small scripts) while the rest stays on demand. Publishers who want every
 * visitor to seed everything raise it; with Save-Data on the loader prefetches nothing (loader/prefetch.ts).
 */
export const DEFAULT_PREFETCH_LIMIT = 5 * 1024 * 1024

const UNIT: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3
}

/** Parses a size: bytes ("0", "1048576") or with a unit ("50MB", "1.5GiB", "800k"; KB/MB/GB read as KiB/MiB/GiB). */
export function parsePrefetchLimit (input: string | number): number {
  const text = String(input).trim()
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text)
  const multiplier = match !== null ? UNIT[match[2]!.toLowerCase()] : undefined
  const value = match !== null && multiplier !== undefined ? Math.floor(Number(match[1]) * multiplier) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ArgumentError(`invalid --prefetch-limit "${text}": expected bytes or a size such as 50MB or 1GB (0: fetch only what is visited)`)
  }
  return value
}

/**
 * `--prefetch-limit`: how much of the site a visitor's browser fetches in the background after the first page has
 * painted (so later pages are instant and the visitor seeds the whole site). Written into peersite.json as
 * `prefetchLimit` (bytes); the loader applies it (loader/prefetch.ts). Big media beyond it stays on demand.
 */
import { UsageError } from '../../engine/errors.js'

/** 50 MiB: a typical site whole, while a video collection does not fill every visitor's disk. */
export const DEFAULT_PREFETCH_LIMIT = 50 * 1024 * 1024

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
    throw new UsageError(`invalid --prefetch-limit "${text}": expected bytes or a size such as 50MB or 1GB (0: fetch only what is visited)`)
  }
  return value
}

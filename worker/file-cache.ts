/**
 * Verified site files kept in Cache Storage, so a returning visitor's pages are served by the worker at once,
 * without waiting for the engine to rejoin the swarm (and with no peer at all).
 *
 * Only bytes that came out of the engine are stored, and the engine hands out nothing it has not verified against
 * the torrent's piece hashes: the cache never holds a byte a peer could have forged. One cache per infohash; a new
 * publish is a new infohash, and the caches of older ones are deleted when the worker learns of the new one.
 */
import type { OpenBody, SiteFile } from './site.js'

const PREFIX = 'peersite-files:'
/** Whole files up to this size are kept (pages, styles, scripts, images); bigger media stays on demand. */
export const MAX_CACHED_FILE = 8 * 1024 * 1024

/** One cache per scope (several sites may live on one origin under different paths) and infohash. */
export function cacheNameFor (scope: string, infoHash: string): string {
  return `${PREFIX}${scope}:${infoHash}`
}

/** Deletes the verified-file caches of this scope's other infohashes (older publishes). */
export async function dropOtherVersions (scope: string, infoHash: string): Promise<void> {
  if (typeof caches === 'undefined') return
  const keep = cacheNameFor(scope, infoHash)
  for (const name of await caches.keys()) {
    if (name.startsWith(`${PREFIX}${scope}:`) && name !== keep) await caches.delete(name)
  }
}

function keyFor (path: string): string {
  // Cache keys must be URLs; this one never reaches the network.
  return `https://peersite.invalid/${encodeURI(path)}`
}

/**
 * Wraps the engine's `open`: a cached file is read from Cache Storage (any byte range of it); a whole-file read of
 * a small file is copied into the cache as it streams to the page.
 */
export function cachingOpen (cacheName: string, files: ReadonlyMap<string, SiteFile>, open: OpenBody): OpenBody {
  return async (path, offset, length, signal) => {
    // No Cache Storage (unit tests in Node, some private modes): serve from the engine alone.
    const cache = typeof caches === 'undefined' ? undefined : await caches.open(cacheName).catch(() => undefined)
    const hit = await cache?.match(keyFor(path))
    if (hit !== undefined) {
      const size = Number(hit.headers.get('Content-Length') ?? Number.NaN)
      // The whole file: hand the cached body over as it is (no copy); a range: slice the cached blob.
      if (offset === 0 && length === size && hit.body !== null) return hit.body
      const blob = await hit.blob()
      if (offset + length <= blob.size) return blob.slice(offset, offset + length).stream()
    }
    const body = await open(path, offset, length, signal)
    const file = files.get(path)
    if (cache === undefined || file === undefined || offset !== 0 || length !== file.length || length > MAX_CACHED_FILE) return body
    const [toPage, toCache] = body.tee()
    // Stored only when every byte arrived: an aborted or failed read leaves nothing behind.
    void new Response(toCache).blob().then(async (blob) => {
      if (blob.size === file.length) await cache.put(keyFor(path), new Response(blob, { headers: { 'Content-Length': String(blob.size) } }))
    }).catch(() => {})
    return toPage
  }
}

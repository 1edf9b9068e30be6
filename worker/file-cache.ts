/**
 * Verified pieces kept in Cache Storage, so a returning visitor's pages are served by the worker at once, without
 * waiting for the engine to rejoin the swarm (and with no peer at all).
 *
 * Whole pieces, not files: any script of the origin can rewrite Cache Storage, so every piece read back is checked
 * against its SHA-1 again before it is served (worker/verified-read.ts), and a file's first and last piece hold
 * bytes of its neighbours that the check needs. One cache per scope and infohash; a new publish is a new infohash,
 * and the caches of older ones are deleted when the worker learns of the new one.
 */
const PREFIX = 'peersite-files:'
/** Pieces of files up to this size are kept (pages, styles, scripts, images); bigger media stays on demand. */
export const MAX_CACHED_FILE = 8 * 1024 * 1024

/** One cache per scope (several sites may live on one origin under different paths) and infohash. */
export function cacheNameFor (scope: string, infoHash: string): string {
  return `${PREFIX}${scope}:${infoHash}`
}

/** Deletes the piece caches of this scope's other infohashes (older publishes). */
export async function dropOtherVersions (scope: string, infoHash: string): Promise<void> {
  if (typeof caches === 'undefined') return
  const keep = cacheNameFor(scope, infoHash)
  for (const name of await caches.keys()) {
    if (name.startsWith(`${PREFIX}${scope}:`) && name !== keep) await caches.delete(name)
  }
}

/** Pieces in (unverified) storage: what verified-read.ts reads before asking the engine. */
export interface PieceCache {
  get (index: number): Promise<Uint8Array | undefined>
  put (index: number, bytes: Uint8Array): void
  delete (index: number): void
}

// Cache keys must be URLs; these never reach the network.
const keyFor = (index: number): string => `https://peersite.invalid/piece/${index}`

/** The piece cache of one site version, or undefined where Cache Storage is missing (Node, some private modes). */
export async function openPieceCache (cacheName: string): Promise<PieceCache | undefined> {
  if (typeof caches === 'undefined') return undefined
  const cache = await caches.open(cacheName).catch(() => undefined)
  if (cache === undefined) return undefined
  return {
    get: async (index) => {
      const hit = await cache.match(keyFor(index)).catch(() => undefined)
      return hit === undefined ? undefined : new Uint8Array(await hit.arrayBuffer())
    },
    put: (index, bytes) => { void cache.put(keyFor(index), new Response(bytes as Uint8Array<ArrayBuffer>)).catch(() => {}) },
    delete: (index) => { void cache.delete(keyFor(index)).catch(() => {}) }
  }
}

/**
 * Verified pieces kept in Cache Storage, so a returning visitor's pages are served by the worker at once, without
 * waiting for the engine to rejoin the swarm (and with no peer at all).
 *
 * Whole pieces, not files: any script of the origin can rewrite Cache Storage, so every piece read back is checked
 * against its SHA-1 again before it is served (worker/verified-read.ts), and a file's first and last piece hold
 * bytes of its neighbours that the check needs. One cache per scope and infohash; a new publish is a new infohash,
 * and the caches of older ones are deleted when the worker learns of the new one.
 */
/** Set in every browser build (undefined in Node's tests): a service worker always has `caches`, Node may not. */
declare const PEERSITE_BROWSER: boolean | undefined

const PREFIX = 'peersite-files:'
/** Pieces of files up to this size are kept (pages, styles, scripts, images); bigger media stays on demand. */
export const MAX_CACHED_FILE = 8 * 1024 * 1024

/** One cache per scope (several sites may live on one origin under different paths) and infohash. */
export function cacheNameFor (scope: string, infoHash: string): string {
  return `${PREFIX}${scope}:${infoHash}`
}

/** Deletes the piece caches of this scope's other infohashes (older publishes). */
export async function dropOtherVersions (scope: string, infoHash: string): Promise<void> {
  if (typeof PEERSITE_BROWSER === 'undefined' && typeof caches === 'undefined') return
  const keep = cacheNameFor(scope, infoHash)
  for (const name of await caches.keys()) {
    if (name.startsWith(`${PREFIX}${scope}:`) && name !== keep) await caches.delete(name)
  }
}

/**
 * Pieces in (unverified) storage: what verified-read.ts reads before asking the engine. A file read whole is kept as
 * one entry, its run of pieces (`getRun`): a warm visit then reads a 3.6 MB script with one Cache Storage lookup
 * instead of 230 (one per 16 KiB piece, 1-5 ms each in a row). Pieces of partial reads (Range) are kept one by one.
 */
export interface PieceCache {
  get (index: number): Promise<Uint8Array | undefined>
  put (index: number, bytes: Uint8Array): void
  delete (index: number): void
  /** Pieces `first`..`last` stored together (a whole file's), concatenated. */
  getRun (first: number, last: number): Promise<Uint8Array | undefined>
  putRun (first: number, last: number, bytes: Uint8Array): void
  deleteRun (first: number, last: number): void
}

// Cache keys must be URLs; these never reach the network.
const keyFor = (index: number): string => `https://peersite.invalid/piece/${index}`
const runKeyFor = (first: number, last: number): string => `https://peersite.invalid/run/${first}-${last}`

/**
 * The piece cache of one site version, or undefined where Cache Storage is missing (Node, some private modes).
 * The keys it holds are read once and kept in memory, so a miss (every piece of a first visit) costs no Cache
 * Storage round trip: those queue behind the writes of the pieces just served, which made a new request wait
 * 150 ms before it reached the engine.
 */
export async function openPieceCache (cacheName: string): Promise<PieceCache | undefined> {
  if (typeof PEERSITE_BROWSER === 'undefined' && typeof caches === 'undefined') return undefined
  const cache = await caches.open(cacheName).catch(() => undefined)
  if (cache === undefined) return undefined
  const known = new Set((await cache.keys().catch(() => [])).map((r) => r.url))
  /** Writes still under way: a read of the same key waits for its write (a return visit right after the first). */
  const writing = new Map<string, Promise<void>>()
  const read = async (key: string): Promise<Uint8Array | undefined> => {
    if (!known.has(key)) return undefined
    await writing.get(key)
    const hit = await cache.match(key).catch(() => undefined)
    if (hit === undefined) known.delete(key)
    return hit === undefined ? undefined : new Uint8Array(await hit.arrayBuffer())
  }
  const write = (key: string, bytes: Uint8Array): void => {
    known.add(key)
    const done: Promise<void> = cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>))
      .catch(() => { known.delete(key) })
      .finally(() => { if (writing.get(key) === done) writing.delete(key) })
    writing.set(key, done)
  }
  const drop = (key: string): void => {
    known.delete(key)
    void cache.delete(key).catch(() => {})
  }
  return {
    get: async (index) => await read(keyFor(index)),
    put: (index, bytes) => { write(keyFor(index), bytes) },
    delete: (index) => { drop(keyFor(index)) },
    getRun: async (first, last) => await read(runKeyFor(first, last)),
    putRun: (first, last, bytes) => { write(runKeyFor(first, last), bytes) },
    deleteRun: (first, last) => { drop(runKeyFor(first, last)) }
  }
}

/** Bytes of verified runs a worker keeps in memory (VerifiedRuns). */
export const MEMORY_BYTES = 32 * 1024 * 1024

/**
 * Whole files' runs of pieces that passed their SHA-1 check in this worker's life, in its memory, where no other
 * script of the origin can write (unlike Cache Storage): a file served again (the next page of the site, a return
 * visit while the worker still runs, the frame's page read ahead at the shell's navigation) is neither read back
 * from Cache Storage nor hashed again. A run still being read and checked is shared by every request for it. Beyond
 * MEMORY_BYTES it starts again empty (a page's files are read back and checked once more). One per infohash
 * (worker/handlers/state.ts).
 */
export class VerifiedRuns {
  readonly #runs = new Map<string, Promise<Uint8Array | undefined>>()
  #bytes = 0

  /** The run `first`..`last` from memory, else what `load` gives (verified bytes, or undefined: nothing kept). */
  async get (first: number, last: number, load: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> {
    const key = `${first}-${last}`
    let run = this.#runs.get(key)
    if (run === undefined) {
      const drop = (): void => { if (this.#runs.get(key) === run) this.#runs.delete(key) }
      run = load().then((bytes) => {
        if (bytes === undefined) drop()
        else this.#count(bytes)
        return bytes
      }, (err: unknown) => { drop(); throw err })
      this.#runs.set(key, run)
    }
    return await run
  }

  /** Keeps `bytes`, the run `first`..`last` just verified. */
  set (first: number, last: number, bytes: Uint8Array): void {
    this.#runs.set(`${first}-${last}`, Promise.resolve(bytes))
    this.#count(bytes)
  }

  #count (bytes: Uint8Array): void {
    this.#bytes += bytes.byteLength
    if (this.#bytes > MEMORY_BYTES) {
      this.#runs.clear()
      this.#bytes = 0
    }
  }
}

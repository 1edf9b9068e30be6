/**
 * The worker behind a gateway (`peersite gateway`, `peersite loader`; built into gateway/sw.js only): its one site is
 * the one its host name names (`<id>.<gateway host>`, engine/util/site-id.ts), and the host serves no peersite.json
 * or site.torrent. The leader page builds both from the info dictionary peers sent it (BEP 9) and posts them
 * (`site` message); they are kept, in Cache Storage too (a restarted worker, an offline return), only if the torrent's
 * info dictionary hashes to the host name's infohash and the manifest names that site and matches the torrent's
 * pieces. WorkerState (handlers/state.ts) then reads them like cached loader files.
 */
import { MANIFEST_FILE, TORRENT_FILE } from './protocol.js'
import { createSite, parseManifest } from './site.js'
import { parsePieceTable } from './verify.js'
import type { Handler } from './handlers/context.js'
import { siteIdFromHost } from '../engine/util/site-id.js'

/** The gateway source of the site `hostname` names (`<id>.<gateway host>`); none for a site key (not followed yet). */
export function gatewayOf (hostname: string, scope: string): GatewaySource | undefined {
  const id = siteIdFromHost(hostname)
  return id?.kind === 'infohash' ? new GatewaySource(id.infoHash, scope, `peersite:${scope}`) : undefined
}

export class GatewaySource {
  readonly infoHash: string
  readonly #cacheName: string
  readonly #scope: string
  readonly #provided: Promise<[string, Uint8Array]>
  #resolve!: (value: [string, Uint8Array]) => void
  #done = false

  /** `cacheName`: WorkerState's cache of loader files (`peersite:<scope>`). */
  constructor (infoHash: string, scope: string, cacheName: string) {
    this.infoHash = infoHash
    this.#scope = scope
    this.#cacheName = cacheName
    this.#provided = new Promise((resolve) => { this.#resolve = resolve })
  }

  /** Checks and keeps what a leader page provided; throws if it is not this address's site. */
  async provide (manifestJson: string, torrent: Uint8Array): Promise<void> {
    if (this.#done) return
    const site = createSite(parseManifest(JSON.parse(manifestJson)))
    if (site.infoHash.toLowerCase() !== this.infoHash) throw new Error(`${MANIFEST_FILE} names another site`)
    await parsePieceTable(torrent, this.infoHash, site.layout)
    const cache = await caches.open(this.#cacheName)
    await cache.put(new URL(MANIFEST_FILE, this.#scope).href, new Response(manifestJson, { headers: { 'Content-Type': 'application/json' } }))
    await cache.put(new URL(TORRENT_FILE, this.#scope).href, new Response(torrent as Uint8Array<ArrayBuffer>))
    this.#done = true
    this.#resolve([manifestJson, torrent])
  }

  /** Whether a leader page has provided the site (this worker's lifetime: a restarted worker reads its cache instead). */
  get provided (): boolean { return this.#done }

  /** The manifest's JSON, once provided. */
  async manifest (): Promise<string> {
    return (await this.#provided)[0]
  }

  /** The torrent, once provided. */
  async torrent (): Promise<Uint8Array> {
    return (await this.#provided)[1]
  }

  /** peersite.json or site.torrent as held now (404 at once when none yet): the loader page asks to learn whether it can boot from them. */
  async held (request: Request): Promise<Response> {
    const hit = await (await caches.open(this.#cacheName)).match(request.url)
    return hit ?? new Response('not held yet', { status: 404, headers: { 'Content-Type': 'text/plain' } })
  }
}

/** peersite.json and site.torrent are never fetched from a gateway (it has none): the worker answers them itself. */
export const gatewayFileHandler: Handler = {
  name: 'gateway-file',
  canHandle: (ctx) => ctx.state.gateway !== undefined && ctx.request.method === 'GET' && (ctx.rel === MANIFEST_FILE || ctx.rel === TORRENT_FILE),
  handle: async (ctx) => await ctx.state.gateway!.held(ctx.request)
}

/**
 * The worker behind a gateway (`peersite gateway`, `peersite loader`; built into gateway/sw.js only): its one site is
 * the one its host name names (`<id>.<gateway host>`, engine/util/site-id.ts), and the host serves no peersite.json
 * or site.torrent. The leader page builds both from the info dictionary peers sent it (BEP 9) and posts them
 * (`site` message); they are kept, in Cache Storage too (a restarted worker, an offline return), only if the torrent's
 * info dictionary hashes to the host name's infohash and the manifest names that site and matches the torrent's
 * pieces. WorkerState (handlers/state.ts) then reads them like cached loader files.
 *
 * A site key's address (`<52-char id>.<gateway host>`) names no torrent: the page finds the newest version in the
 * key's pointer swarm, and its manifest carries the signed record (`pointer`). The worker checks that record as it
 * checks a keyed site's newer version (version.ts checkVersion: signed by the host name's key, `v` naming the
 * manifest's infohash, the torrent hashing to it), at every provide and again when it reads its cache after a
 * restart. A worker holds one version: the page replaces an older one by dropping it (loader/gateway.ts).
 */
import { MANIFEST_FILE, TORRENT_FILE } from './protocol.js'
import { createSite, parseManifest } from './site.js'
import { parsePieceTable } from './verify.js'
import type { Handler } from './handlers/context.js'
import { siteIdFromHost } from '../engine/util/site-id.js'
import { checkVersion } from './version.js'
import type { SiteManifest } from './protocol.js'

/** The gateway source of the site `hostname` names (`<id>.<gateway host>`): a torrent, or a site key's newest version. */
export function gatewayOf (hostname: string, scope: string): GatewaySource | undefined {
  const id = siteIdFromHost(hostname)
  if (id === undefined) return undefined
  return id.kind === 'infohash' ? new GatewaySource(id.infoHash, scope, `peersite:${scope}`) : new GatewaySource('', scope, `peersite:${scope}`, id.publicKey)
}

export class GatewaySource {
  /** The torrent served: the host name's, or (a site key) the version last checked, '' before one is. */
  infoHash: string
  /** A site key's address: its public key (64 hex digits). */
  readonly publicKey: string | undefined
  readonly #cacheName: string
  readonly #scope: string
  /** Settles when a page provides a site that checks out; rejected once one did not, until one does (provide). */
  #provided: Promise<void>
  #resolve!: () => void
  #reject!: (err: Error) => void
  #held: [string, Uint8Array] | undefined
  /** A site key: the cached version of an earlier run, checked again (anything of the origin can write the cache). */
  readonly restored: Promise<void>

  /** `cacheName`: WorkerState's cache of loader files (`peersite:<scope>`). */
  constructor (infoHash: string, scope: string, cacheName: string, publicKey?: string) {
    this.infoHash = infoHash
    this.publicKey = publicKey
    this.#scope = scope
    this.#cacheName = cacheName
    this.#provided = new Promise((resolve, reject) => { this.#resolve = resolve; this.#reject = reject })
    this.#provided.catch(() => {})
    this.restored = publicKey === undefined ? Promise.resolve() : this.#restore()
  }

  /** Checks and keeps what a leader page provided (once); throws if it is not this address's site. */
  async provide (manifestJson: string, torrent: Uint8Array): Promise<void> {
    await this.restored
    if (this.#held !== undefined) return
    let manifest: SiteManifest
    try {
      manifest = await this.#check(manifestJson, torrent)
    } catch (err) {
      // The requests waiting for the site, and those that come before a page provides one that checks out, get an
      // error page (handlers/site.ts) instead of waiting for a site that will not come.
      const refused = new Error(`the site a page provided was refused: ${(err as Error).message}`)
      this.#reject(refused)
      this.#provided = Promise.reject(refused)
      this.#provided.catch(() => {})
      throw err
    }
    const cache = await caches.open(this.#cacheName)
    await cache.put(new URL(MANIFEST_FILE, this.#scope).href, new Response(manifestJson, { headers: { 'Content-Type': 'application/json' } }))
    await cache.put(new URL(TORRENT_FILE, this.#scope).href, new Response(torrent as Uint8Array<ArrayBuffer>))
    this.#keep(manifestJson, torrent, manifest)
  }

  /** The manifest if it is this address's site (for a key: its record checked); throws otherwise. */
  async #check (manifestJson: string, torrent: Uint8Array): Promise<SiteManifest> {
    const json: unknown = JSON.parse(manifestJson)
    if (this.publicKey !== undefined) {
      // The torrent is `d4:info<info>e`: checkVersion wants the info dictionary.
      return (await checkVersion({ address: `urn:btpk:${this.publicKey}` } as SiteManifest, -1, json, torrent.subarray(7, -1))).manifest
    }
    const manifest = parseManifest(json)
    const site = createSite(manifest)
    if (site.infoHash.toLowerCase() !== this.infoHash) throw new Error(`${MANIFEST_FILE} names another site`)
    await parsePieceTable(torrent, this.infoHash, site.layout)
    return manifest
  }

  #keep (manifestJson: string, torrent: Uint8Array, manifest: SiteManifest): void {
    this.#held = [manifestJson, torrent]
    if (this.publicKey !== undefined) {
      this.infoHash = manifest.infoHash.toLowerCase()
    }
    this.#resolve()
    this.#provided = Promise.resolve()
  }

  async #restore (): Promise<void> {
    try {
      const cache = await caches.open(this.#cacheName)
      const [m, t] = await Promise.all([MANIFEST_FILE, TORRENT_FILE].map(async (f) => await cache.match(new URL(f, this.#scope).href)))
      if (m === undefined || t === undefined) return
      const manifestJson = await m.text()
      const torrent = new Uint8Array(await t.arrayBuffer())
      this.#keep(manifestJson, torrent, await this.#check(manifestJson, torrent))
    } catch (err) {
      console.warn('peersite: the cached version of this site key does not check out:', (err as Error).message)
    }
  }

  /** Whether a site is held now (provided, or a checked cache of an earlier run). */
  async hasSite (): Promise<boolean> {
    await this.restored
    if (this.#held !== undefined) return true
    return await (await caches.open(this.#cacheName)).match(new URL(MANIFEST_FILE, this.#scope).href) !== undefined
  }

  /** The manifest's JSON, once provided (rejects while the last site a page provided was refused). */
  async manifest (): Promise<string> {
    await this.#provided
    return this.#held![0]
  }

  /** The torrent, once provided. */
  async torrent (): Promise<Uint8Array> {
    await this.#provided
    return this.#held![1]
  }

  /** peersite.json or site.torrent as held now (404 at once when none yet): the loader page asks to learn whether it can boot from them. */
  async held (request: Request): Promise<Response> {
    await this.restored
    // A site key: only what was checked (a cache entry that failed the check is not served as held).
    const hit = this.publicKey !== undefined && this.#held === undefined ? undefined : await (await caches.open(this.#cacheName)).match(request.url)
    return hit ?? new Response('not held yet', { status: 404, headers: { 'Content-Type': 'text/plain' } })
  }
}

/** peersite.json and site.torrent are never fetched from a gateway (it has none): the worker answers them itself. */
export const gatewayFileHandler: Handler = {
  canHandle: (ctx) => ctx.state.gateway !== undefined && ctx.request.method === 'GET' && (ctx.rel === MANIFEST_FILE || ctx.rel === TORRENT_FILE),
  handle: async (ctx) => await ctx.state.gateway!.held(ctx.request)
}

/**
 * The worker's memory: the loader shell, the manifest and site.torrent (precached at install in Cache Storage, so a
 * worker the browser restarted finds them again), the piece table, and the engine client.
 *
 * Cache Storage is shared by every script of the origin, so a cached loader file is used only when it matches its
 * pin (the SHA-256 `peersite publish` built into sw.js, verify.ts); one that does not is deleted and fetched again.
 * A network response is the host's word and is served as it is, but cached only when it matches its pin.
 *
 * Through a gateway (`<id>.<gateway host>`) the host has no peersite.json or site.torrent: they come from the leader
 * page (worker/gateway-source.ts), and are checked where they are used instead of against pins.
 */
import { EngineClient } from '../engine-client.js'
import { cacheNameFor, dropOtherVersions, openPieceCache, VerifiedRuns, type PieceCache } from '../file-cache.js'
import { loadedIndexCode, MANIFEST_FILE, TORRENT_FILE, type LoaderPins, type SiteManifest, type WorkerMessage } from '../protocol.js'
import { baseHeaders, contentType, createSite, parseManifest, relativePath, resolveFile, type OpenBody, type Site } from '../site.js'
import { verifiedOpen, verifiedRun, type VerifiedReadInit } from '../verified-read.js'
import { parsePieceTable, pinOf, type PieceTable } from '../verify.js'
import type { GatewaySource } from '../gateway-source.js'
import type { Versions } from '../version.js'

/**
 * Set by scripts/build-browser.mjs (undefined in Node's tests): the per-site worker (sw.js) has no gateway and, unless
 * keyed (sw-keyed.js), no site-key versions, so the branches for them drop out of its bundle. The tests are spelt out
 * where they are used: esbuild folds a define there, not through a module constant.
 */
declare const PEERSITE_GATEWAY_BUILD: boolean | undefined
declare const PEERSITE_KEYED: boolean | undefined
/** A plain site's build (worker/site.ts): no sectioned index. */
declare const PEERSITE_PLAIN: boolean | undefined


export class WorkerState {
  readonly scope: URL
  readonly engine: EngineClient
  /** the manifest once loaded: lets handlers decide synchronously */
  site: Site | undefined
  #loading: Promise<Site> | undefined
  readonly #cacheName: string
  readonly #shellKey: string
  readonly #manifestUrl: string
  readonly #torrentUrl: string
  /** infohashes a leader announced that the manifest did not have: each one makes at most one refresh */
  readonly #seen = new Set<string>()
  readonly #pins: LoaderPins | undefined
  #table: Promise<PieceTable> | undefined
  // The next three are declared only (no class field): the builds without a gateway or site key never set them.
  /** Through a gateway: the site the host name names, its manifest and torrent provided by the leader page. */
  declare readonly gateway: GatewaySource | undefined
  /** The pinned manifest of the loader folder (version 1 of a keyed site; set in the keyed build only). */
  declare base: SiteManifest | undefined
  /** A keyed site's newer versions (worker/version.ts), in the keyed build of the worker only. */
  declare readonly versions: Versions | undefined
  /** The piece cache of the current infohash, opened once (it reads its keys into memory: file-cache.ts). */
  #pieceCache: { readonly infoHash: string, readonly cache: Promise<PieceCache | undefined>, readonly memory: VerifiedRuns } | undefined
  /** The shell's bytes once they matched their pin: only the pinned shell is ever kept, so they cannot go stale. */
  #shell: Uint8Array | undefined

  constructor (scope: string, init: { engine?: EngineClient, pins?: LoaderPins | undefined, gateway?: GatewaySource | undefined, versions?: Versions } = {}) {
    this.scope = new URL(scope)
    this.#pins = init.pins
    if (typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) this.gateway = init.gateway
    if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) {
      this.versions = init.versions
      this.adopt = (manifest) => this.#setSite(createSite(manifest))
    }
    this.#cacheName = `peersite:${this.scope.href}`
    this.#shellKey = new URL('index.html', this.scope).href
    this.#manifestUrl = new URL(MANIFEST_FILE, this.scope).href
    this.#torrentUrl = new URL(TORRENT_FILE, this.scope).href
    this.engine = init.engine ?? new EngineClient({ requestLeader: () => { void this.askForLeader() } })
  }

  /** Install: the shell and the manifest are required (without them the worker is useless), the torrent is not. */
  async precache (): Promise<void> {
    // Through a gateway only the shell comes from the host.
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined) return await this.#keep(this.#shellKey, await this.#fetchShell())
    // A loader file fetched and cached if the host has it; a failure leaves it to a later request.
    const keepFetched = async (url: string, init?: RequestInit): Promise<void> => {
      const res = await fetch(url, init)
      if (res.ok) await this.#keep(url, res)
    }
    await Promise.all([
      this.#fetchShell().then(async (res) => { await this.#keep(this.#shellKey, res) }),
      this.#fetchManifest().then(async ([site, res]) => {
        await this.#keep(this.#manifestUrl, res)
        if (((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) ? this.versions : undefined)?.current === undefined) this.#setSite(site)
      }),
      // Not for a site with a sectioned index (its sw.js imported the index code): site.torrent is what its first
      // visit must not wait for (the loader fetches it after the first page; networkFirst caches it then).
      !(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && loadedIndexCode() !== undefined
        ? undefined
        : keepFetched(this.#torrentUrl, { cache: 'no-cache' }).catch(() => {}),
      // A first visit's page loads peersite.js before this worker controls it, so only a later visit's request
      // (stale-while-revalidate) would cache it: a visitor who came once and returned offline got a shell that could
      // not start its engine, and a page stored only in IndexedDB (prefetched) said no page of the site runs one. The
      // page's own request has it in the HTTP cache, or is still bringing it (the browser's cache waits for that one).
      keepFetched(new URL('peersite.js', this.scope).href).catch(() => {})
    ])
  }

  /**
   * The cached copy of loader file `url` if it matches its pin (a fresh Response), else undefined; a copy that
   * does not match is deleted. Without pins (a sw.js not written by `peersite publish`) nothing cached is trusted.
   * Only the bytes are pinned: the status and headers are the worker's own, by the file's name, never the cache's (a
   * script of the origin could store the right bytes with a `Refresh`, a CSP sandbox or another type).
   */
  async #pinned (url: string): Promise<Response | undefined> {
    const cache = await caches.open(this.#cacheName)
    const hit = await cache.match(url)
    if (hit === undefined) return undefined
    const bytes = new Uint8Array(await hit.arrayBuffer())
    if (await this.#matchesPin(url, bytes)) {
      if (url === this.#shellKey) this.#shell = bytes
      return new Response(bytes, { headers: baseHeaders(contentType(url.endsWith('.js') ? 'text/javascript' : url.endsWith('.html') ? 'text/html' : 'application/octet-stream')) })
    }
    await cache.delete(url)
    return undefined
  }

  async #matchesPin (url: string, bytes: Uint8Array): Promise<boolean> {
    const name = url.slice(this.scope.href.length)
    // Through a gateway: checked where used (the manifest must name the host name's site, the torrent hash to it).
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined && (name === MANIFEST_FILE || name === TORRENT_FILE)) return true
    const pin = this.#pins?.[name]
    return pin !== undefined && await pinOf(bytes) === pin
  }

  /** Caches a network response of loader file `url` if it matches its pin (a newer publish's does not: not kept); its bytes only. */
  async #keep (url: string, res: Response): Promise<void> {
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (await this.#matchesPin(url, bytes)) await (await caches.open(this.#cacheName)).put(url, new Response(bytes))
  }

  /** The loader's index.html, as the answer to a top-level navigation: cache first, the network if it is gone. */
  async shell (): Promise<Response> {
    if (this.#shell !== undefined) return new Response(this.#shell as Uint8Array<ArrayBuffer>, { headers: baseHeaders('text/html; charset=utf-8') })
    const hit = await this.#pinned(this.#shellKey)
    if (hit !== undefined) return hit
    const res = await this.#fetchShell()
    await this.#keep(this.#shellKey, res.clone())
    return res
  }

  /**
   * The shell fetched again and cached if it matches its pin (a cached copy that was lost or failed its pin comes
   * back). Only the pinned shell is kept, so once the shell is in memory there is nothing to refresh.
   */
  async refreshShell (): Promise<void> {
    if (this.#shell !== undefined) return
    try {
      const res = await this.#fetchShell()
      await this.#keep(this.#shellKey, res)
    } catch { /* offline: keep the cached shell */ }
  }

  /** A loader file from the cache, refreshed from the network in the background; the network when not cached. */
  async staleWhileRevalidate (request: Request): Promise<Response> {
    const refresh = fetch(request.url, { cache: 'no-cache' }).then(async (res) => {
      if (res.ok) await this.#keep(request.url, res.clone())
      return res
    })
    const hit = await this.#pinned(request.url)
    if (hit !== undefined) {
      refresh.catch(() => {})
      return hit
    }
    return await refresh
  }

  /**
   * Network first, the cached copy when the network fails (offline): for peersite.json and site.torrent, which the
   * loader page needs fresh (a new publish) but also offline, to boot the engine on the pieces it stored.
   */
  async networkFirst (request: Request): Promise<Response> {
    try {
      const res = await fetch(request)
      if (res.ok) await this.#keep(request.url, res.clone()).catch(() => {})
      return res
    } catch (err) {
      const hit = await this.#pinned(request.url)
      if (hit !== undefined) return hit
      throw err
    }
  }

  /** The manifest: from memory, else from the cache (a restarted worker), else from the network. */
  async loadSite (): Promise<Site> {
    if (this.site !== undefined) return this.site
    this.#loading ??= (async () => {
      // A site key's gateway: the version an earlier run cached, checked again, names the infohash to expect.
      if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD)) await this.gateway?.restored
      const hit = await this.#pinned(this.#manifestUrl)
      if (hit !== undefined) {
        try {
          const base = parseManifest(await hit.json())
          if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) this.base = base
          return ((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) ? await this.versions?.restore(this) : undefined) ?? this.#setSite(this.#siteOf(base))
        } catch { /* a corrupt entry: fetch it again */ }
      }
      const [site, res] = await this.#fetchManifest()
      await this.#keep(this.#manifestUrl, res)
      return ((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) ? await this.versions?.restore(this) : undefined) ?? this.#setSite(site)
    })().finally(() => { this.#loading = undefined })
    return await this.#loading
  }

  /**
   * A page runs the engine for `infoHash`. When it is not the manifest's, the host may have a newer publish (the
   * page read a newer peersite.json): the worker reads the manifest again and switches if it matches. Ports are
   * kept per infohash, so a tab still running the old one does not take over the new version's reads. Only an
   * infohash is taken, and at most 8 are remembered: a hostile page's made-up ones would each cost memory and a fetch.
   */
  async onLeader (infoHash: string, port: MessagePort): Promise<void> {
    if (!/^[0-9a-f]{40}$/i.test(infoHash)) return port.close()
    this.engine.setLeader(infoHash, port)
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined) return // the host name fixes the site: no host manifest to refresh
    const current = await this.loadSite().catch(() => undefined)
    // A keyed site's newer version is never replaced by the loader folder's older manifest.
    if (current?.infoHash === infoHash || this.#seen.has(infoHash) || ((typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) ? this.versions : undefined)?.current !== undefined) return
    if (this.#seen.size > 7) this.#seen.clear()
    this.#seen.add(infoHash)
    try {
      const [site, res] = await this.#fetchManifest()
      if (site.infoHash !== infoHash) return
      await this.#keep(this.#manifestUrl, res)
      this.#setSite(site)
    } catch { /* keep the current manifest */ }
  }

  /**
   * Serves `manifest` from now on (a keyed site's newer version, checked by worker/version.ts). Set in the keyed
   * build only (the constructor): declared, so that the other builds carry no field for it.
   */
  declare readonly adopt: ((manifest: SiteManifest) => Site) | undefined

  /** need-leader to the loader pages: top-level windows of this scope (site pages live in the shell's iframe). */
  async askForLeader (): Promise<void> {
    const clients = await (self as unknown as ServiceWorkerGlobalScope).clients.matchAll({ type: 'window', includeUncontrolled: true })
    const msg: WorkerMessage = { type: 'need-leader' }
    for (const client of clients) {
      if (client.frameType !== 'nested' && client.url.startsWith(this.scope.href)) client.postMessage(msg)
    }
  }

  /** The site of a checked manifest. Through a gateway, a manifest of another torrent than the host name's is refused. */
  #siteOf (manifest: SiteManifest): Site {
    const site = createSite(manifest, this.scope.href)
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined && site.infoHash.toLowerCase() !== this.gateway.infoHash) throw new Error(`${MANIFEST_FILE} names another site`)
    return site
  }

  #setSite (site: Site): Site {
    if (this.site?.infoHash !== site.infoHash) {
      void dropOtherVersions(this.scope.href, site.infoHash).catch(() => {})
      this.#table = undefined
    }
    this.site = site
    return site
  }

  /**
   * The piece table of `site`: site.torrent from the cache (if it matches its pin) or the network, checked to be the
   * torrent of the site's infohash (verify.ts). Kept in memory once loaded.
   */
  async pieceTable (site: Site): Promise<PieceTable> {
    // A sectioned index: piece hashes come with the sections, loaded as requests resolve their files (site-index.ts).
    if (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && site.index !== undefined) return site.index.table
    const load = async (): Promise<PieceTable> => {
      if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) {
        const version = this.versions?.current
        if (version?.manifest.infoHash === site.infoHash) return await parsePieceTable(version.torrent, site.infoHash, site.layout)
      }
      const url = this.#torrentUrl
      const hit = await this.#pinned(url)
      if (hit !== undefined) {
        try {
          return await parsePieceTable(new Uint8Array(await hit.arrayBuffer()), site.infoHash, site.layout)
        } catch { /* a newer publish's torrent: fetch the one of this manifest */ }
      }
      let bytes: Uint8Array
      if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined) {
        bytes = await this.gateway.torrent()
      } else {
        const res = await fetch(url, { cache: 'no-cache' })
        if (!res.ok) throw new Error(`${TORRENT_FILE} answered ${res.status}`)
        bytes = new Uint8Array(await res.arrayBuffer())
      }
      const table = await parsePieceTable(bytes, site.infoHash, site.layout)
      await this.#keep(url, new Response(bytes as Uint8Array<ArrayBuffer>)).catch(() => {})
      return table
    }
    const table = this.#table ?? load()
    this.#table = table
    table.catch(() => { if (this.#table === table) this.#table = undefined })
    return await table
  }

  /** What reads of `site`'s files need (verified-read.ts): its piece table, the piece cache, the runs verified in memory. */
  async reads (site: Site): Promise<VerifiedReadInit> {
    if (this.#pieceCache?.infoHash !== site.infoHash) {
      this.#pieceCache = { infoHash: site.infoHash, cache: openPieceCache(cacheNameFor(this.scope.href, site.infoHash)), memory: new VerifiedRuns() }
    }
    const { memory } = this.#pieceCache
    const [table, cache] = await Promise.all([this.pieceTable(site), this.#pieceCache.cache])
    return { table, engine: this.engine, cache, memory }
  }

  /** Reads of `site`'s files that serve verified pieces only (verified-read.ts), through the piece cache. */
  async opener (site: Site): Promise<OpenBody> {
    return verifiedOpen(await this.reads(site))
  }

  /**
   * A top-level navigation to `url`: the shell's frame will ask for the same URL, then for that page's files. While
   * the shell loads, the page and its files (peersite.json `preload`, both tiers) are read from the piece cache and
   * checked into memory (VerifiedRuns), so the frame's requests find them verified. Only what the cache holds: this
   * never asks the engine for anything. A site with a sectioned index is left out (its table loads with its sections),
   * and so is a gateway's (its manifest may wait for a leader page).
   */
  async warm (url: URL): Promise<void> {
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined) return
    const rel = relativePath(url, this.scope)
    const site = await this.loadSite()
    if (rel === null || (!(typeof PEERSITE_PLAIN === 'boolean' && PEERSITE_PLAIN) && site.index !== undefined)) return
    const found = resolveFile(site, rel, url)
    const page = found.kind === 'file' ? found.file.path : undefined
    const init = await this.reads(site)
    if (page === undefined || await verifiedRun(init, page) === undefined) return
    const { layout, preload } = site
    for (const tier of [preload?.pages, preload?.likely]) {
      const needs: Array<Promise<unknown>> = []
      for (let k = 0; tier !== undefined && k + 1 < tier.length; k += 2) {
        if (layout[tier[k]!]?.path !== page) continue
        for (const i of preload?.groups[tier[k + 1]!] ?? []) {
          const path = layout[i]?.path
          if (path !== undefined) needs.push(verifiedRun(init, path))
        }
      }
      await Promise.all(needs)
    }
  }

  /** The scope URL is where the host serves the loader's index.html (index.html itself as a fallback). */
  async #fetchShell (): Promise<Response> {
    let res = await fetch(this.scope, { cache: 'no-cache' })
    if (!res.ok) res = await fetch(this.#shellKey, { cache: 'no-cache' })
    if (!res.ok) throw new Error(`the loader page answered ${res.status}`)
    // A fresh response: no `redirected` flag (a navigation must not get one) and no host encoding headers.
    return new Response(await res.arrayBuffer(), { status: 200, headers: baseHeaders('text/html; charset=utf-8') })
  }

  async #fetchManifest (): Promise<[Site, Response]> {
    let text: string
    if ((typeof PEERSITE_GATEWAY_BUILD !== 'boolean' || PEERSITE_GATEWAY_BUILD) && this.gateway !== undefined) {
      // Nothing on the host: wait for the leader page to provide it (requests wait meanwhile, as for pieces).
      text = await this.gateway.manifest()
    } else {
      const res = await fetch(this.#manifestUrl, { cache: 'no-cache' })
      if (!res.ok) throw new Error(`${MANIFEST_FILE} answered ${res.status}`)
      text = await res.text()
    }
    const base = parseManifest(JSON.parse(text))
    if (typeof PEERSITE_KEYED !== 'boolean' || PEERSITE_KEYED) this.base = base
    const site = this.#siteOf(base)
    return [site, new Response(text, { headers: { 'Content-Type': 'application/json' } })]
  }
}

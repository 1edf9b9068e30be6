/**
 * The worker's memory: the loader shell and the manifest (both precached at install in Cache Storage, so a worker
 * the browser restarted finds them again), and the engine client.
 */
import { EngineClient } from '../engine-client.js'
import { dropOtherVersions } from '../file-cache.js'
import { MANIFEST_FILE, TORRENT_FILE, type WorkerMessage } from '../protocol.js'
import { createSite, parseManifest, type Site } from '../site.js'

const SHELL_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff'
}

export class WorkerState {
  readonly scope: URL
  readonly engine: EngineClient
  /** the manifest once loaded: lets handlers decide synchronously */
  site: Site | undefined
  private loading: Promise<Site> | undefined
  private readonly cacheName: string
  private readonly shellKey: string
  private readonly manifestUrl: string
  /** infohashes a leader announced that the manifest did not have: each one makes at most one refresh */
  private readonly seen = new Set<string>()

  constructor (scope: string, engine?: EngineClient) {
    this.scope = new URL(scope)
    this.cacheName = `peersite:${this.scope.href}`
    this.shellKey = new URL('index.html', this.scope).href
    this.manifestUrl = new URL(MANIFEST_FILE, this.scope).href
    this.engine = engine ?? new EngineClient({ requestLeader: () => { void this.askForLeader() } })
  }

  /** Install: the shell and the manifest are required (without them the worker is useless), the torrent is not. */
  async precache (): Promise<void> {
    const cache = await caches.open(this.cacheName)
    await Promise.all([
      this.fetchShell().then(async (res) => { await cache.put(this.shellKey, res) }),
      this.fetchManifest().then(async ([site, res]) => {
        await cache.put(this.manifestUrl, res)
        this.setSite(site)
      }),
      fetch(new URL(TORRENT_FILE, this.scope), { cache: 'no-cache' })
        .then(async (res) => { if (res.ok) await cache.put(new URL(TORRENT_FILE, this.scope).href, res) })
        .catch(() => {})
    ])
  }

  /** The loader's index.html, as the answer to a top-level navigation: cache first, the network if it is gone. */
  async shell (): Promise<Response> {
    const cache = await caches.open(this.cacheName)
    const hit = await cache.match(this.shellKey)
    if (hit !== undefined) return hit
    const res = await this.fetchShell()
    await cache.put(this.shellKey, res.clone())
    return res
  }

  /** Stale-while-revalidate for the shell: a new loader reaches the next navigation without a worker update. */
  async refreshShell (): Promise<void> {
    try {
      const res = await this.fetchShell()
      await (await caches.open(this.cacheName)).put(this.shellKey, res)
    } catch { /* offline: keep the cached shell */ }
  }

  /** A loader file from the cache, refreshed from the network in the background; the network when not cached. */
  async staleWhileRevalidate (request: Request): Promise<Response> {
    const cache = await caches.open(this.cacheName)
    const refresh = fetch(request.url, { cache: 'no-cache' }).then(async (res) => {
      if (res.ok) await cache.put(request.url, res.clone())
      return res
    })
    const hit = await cache.match(request.url)
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
    const cache = await caches.open(this.cacheName)
    try {
      const res = await fetch(request)
      if (res.ok) await cache.put(request.url, res.clone()).catch(() => {})
      return res
    } catch (err) {
      const hit = await cache.match(request.url)
      if (hit !== undefined) return hit
      throw err
    }
  }

  /** The manifest: from memory, else from the cache (a restarted worker), else from the network. */
  async loadSite (): Promise<Site> {
    if (this.site !== undefined) return this.site
    this.loading ??= (async () => {
      const cache = await caches.open(this.cacheName)
      const hit = await cache.match(this.manifestUrl)
      if (hit !== undefined) {
        try {
          return this.setSite(createSite(parseManifest(await hit.json())))
        } catch { /* a corrupt entry: fetch it again */ }
      }
      const [site, res] = await this.fetchManifest()
      await cache.put(this.manifestUrl, res)
      return this.setSite(site)
    })().finally(() => { this.loading = undefined })
    return await this.loading
  }

  /**
   * A page runs the engine for `infoHash`. When it is not the manifest's, the host may have a newer publish (the
   * page read a newer peersite.json): the worker reads the manifest again and switches if it matches. Ports are
   * kept per infohash, so a tab still running the old one does not take over the new version's reads.
   */
  async onLeader (infoHash: string, port: MessagePort): Promise<void> {
    this.engine.setLeader(infoHash, port)
    const current = await this.loadSite().catch(() => undefined)
    if (current?.infoHash === infoHash || this.seen.has(infoHash)) return
    this.seen.add(infoHash)
    try {
      const [site, res] = await this.fetchManifest()
      if (site.infoHash !== infoHash) return
      await (await caches.open(this.cacheName)).put(this.manifestUrl, res)
      this.setSite(site)
    } catch { /* keep the current manifest */ }
  }

  /** need-leader to the loader pages: top-level windows of this scope (site pages live in the shell's iframe). */
  async askForLeader (): Promise<void> {
    const clients = await (self as unknown as ServiceWorkerGlobalScope).clients.matchAll({ type: 'window', includeUncontrolled: true })
    const msg: WorkerMessage = { type: 'need-leader' }
    for (const client of clients) {
      if (client.frameType !== 'nested' && client.url.startsWith(this.scope.href)) client.postMessage(msg)
    }
  }

  private setSite (site: Site): Site {
    if (this.site?.infoHash !== site.infoHash) void dropOtherVersions(this.scope.href, site.infoHash).catch(() => {})
    this.site = site
    return site
  }

  /** The scope URL is where the host serves the loader's index.html (index.html itself as a fallback). */
  private async fetchShell (): Promise<Response> {
    let res = await fetch(this.scope, { cache: 'no-cache' })
    if (!res.ok) res = await fetch(this.shellKey, { cache: 'no-cache' })
    if (!res.ok) throw new Error(`the loader page answered ${res.status}`)
    // A fresh response: no `redirected` flag (a navigation must not get one) and no host encoding headers.
    return new Response(await res.arrayBuffer(), { status: 200, headers: SHELL_HEADERS })
  }

  private async fetchManifest (): Promise<[Site, Response]> {
    const res = await fetch(this.manifestUrl, { cache: 'no-cache' })
    if (!res.ok) throw new Error(`${MANIFEST_FILE} answered ${res.status}`)
    const text = await res.text()
    const site = createSite(parseManifest(JSON.parse(text)))
    return [site, new Response(text, { headers: { 'Content-Type': 'application/json' } })]
  }
}

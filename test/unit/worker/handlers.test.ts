import { afterEach, describe, expect, it, vi } from 'vitest'
import { handlers, type Context, type Handler, type WorkerState } from '../../../worker/handlers/index.js'
import { loaderFileHandler, loaderFileUndecidedHandler } from '../../../worker/handlers/loader-files.js'
import { notOursHandler } from '../../../worker/handlers/not-ours.js'
import { shellHandler } from '../../../worker/handlers/shell.js'
import { siteHandler } from '../../../worker/handlers/site.js'
import { createSite, relativePath, type Site } from '../../../worker/site.js'

const SCOPE = new URL('https://host.example/site/')
const SITE = createSite({
  infoHash: 'ab'.repeat(20),
  files: [
    { path: 'index.html', length: 3, type: 'text/html' },
    { path: 'docs/index.html', length: 3, type: 'text/html' },
    { path: 'site.torrent', length: 3, type: 'application/x-bittorrent' }
  ]
})

afterEach(() => { vi.unstubAllGlobals() })

/** A request as the browser hands it to the worker (Node's Request cannot be built with mode "navigate"). */
function request (path: string, init: { method?: string, mode?: RequestMode, destination?: RequestDestination } = {}): Request {
  return {
    url: new URL(path, SCOPE).href,
    method: init.method ?? 'GET',
    mode: init.mode ?? 'cors',
    destination: init.destination ?? '',
    headers: new Headers(),
    signal: new AbortController().signal
  } as unknown as Request
}

function fakeState (site: Site | undefined): WorkerState {
  const state = {
    scope: SCOPE,
    site,
    loadSite: async () => SITE,
    shell: async () => new Response('<shell>', { headers: { 'Content-Type': 'text/html' } }),
    refreshShell: async () => {},
    warm: async () => {},
    staleWhileRevalidate: async (r: Request) => new Response(`cached ${new URL(r.url).pathname}`),
    networkFirst: async (r: Request) => new Response(`${await (await fetch(r)).text()} (network first)`),
    opener: async () => async () => new ReadableStream({ start (c) { c.enqueue(new TextEncoder().encode('abc')); c.close() } })
  }
  return state as unknown as WorkerState
}

/** The handlers by name (they carry none: the worker never needs one). */
const NAMES = new Map<Handler, string>([
  [notOursHandler, 'not-ours'], [loaderFileHandler, 'loader-file'], [loaderFileUndecidedHandler, 'loader-file-undecided'],
  [shellHandler, 'shell'], [siteHandler, 'site']
])

/** The name of the handler that takes the request ("network" when none answers), and its response. */
async function dispatch (req: Request, loaded = true): Promise<[string, Response | undefined]> {
  const url = new URL(req.url)
  const ctx: Context = {
    event: { waitUntil: () => {} } as unknown as FetchEvent,
    request: req,
    url,
    rel: relativePath(url, SCOPE),
    state: fakeState(loaded ? SITE : undefined)
  }
  const handler = handlers.find((h) => h.canHandle(ctx))
  const name = handler === undefined ? 'network' : NAMES.get(handler)!
  if (handler?.handle === undefined) return [name, undefined]
  return [name, await handler.handle(ctx)]
}

const nav = (path: string): Request => request(path, { mode: 'navigate', destination: 'document' })
const frame = (path: string): Request => request(path, { mode: 'navigate', destination: 'iframe' })

describe('handler order', () => {
  it('answers every top-level navigation in the scope with the shell, whatever the path', async () => {
    for (const path of ['', 'docs/', 'no/such/page', 'index.html', '404.html']) {
      const [name, res] = await dispatch(nav(path))
      expect([path, name]).toEqual([path, 'shell'])
      expect(await res?.text()).toBe('<shell>')
    }
  })

  it('serves the iframe\'s navigations and every subresource from the site', async () => {
    const [name, res] = await dispatch(frame('docs/'))
    expect(name).toBe('site')
    expect(res?.status).toBe(200)
    expect(await res?.text()).toBe('abc')
    expect((await dispatch(request('style.css', { destination: 'style' })))[0]).toBe('site')
    expect((await dispatch(request('docs', { mode: 'navigate', destination: 'iframe' })))[1]?.status).toBe(301)
    expect((await dispatch(frame('missing')))[1]?.status).toBe(404)
  })

  it('serves index.html and 404.html from the site, never the loader\'s', async () => {
    expect((await dispatch(request('index.html')))[0]).toBe('site')
    expect((await dispatch(request('404.html')))[0]).toBe('site')
  })

  it('lets the loader\'s own files through to the network, unless the site has a file of that path', async () => {
    vi.stubGlobal('fetch', async (r: Request) => new Response(`net ${new URL(r.url).pathname}`))
    for (const path of ['sw.js', 'peersite.js', 'peersite.json']) {
      const [name, res] = await dispatch(request(path))
      expect([path, name]).toEqual([path, 'loader-file'])
      // The loader script comes from the cache first (stale-while-revalidate);
      // peersite.json network first (the cached copy when offline), sw.js straight from the network.
      const expected = { 'peersite.js': 'cached /site/peersite.js', 'peersite.json': 'net /site/peersite.json (network first)', 'sw.js': 'net /site/sw.js' }[path]
      expect(await res?.text()).toBe(expected)
    }
    vi.unstubAllGlobals()
    expect((await dispatch(request('site.torrent')))[0]).toBe('site')
    // below the root they are ordinary site paths
    expect((await dispatch(request('docs/peersite.js')))[0]).toBe('site')
  })

  it('decides a loader file after loading the manifest when a restarted worker has none yet', async () => {
    const fetched: string[] = []
    vi.stubGlobal('fetch', async (r: Request) => { fetched.push(r.url); return new Response('net') })
    const [name, res] = await dispatch(request('peersite.js'), false)
    expect(name).toBe('loader-file-undecided')
    expect(await res?.text()).toBe('net')
    expect(fetched).toEqual(['https://host.example/site/peersite.js'])
    const [, torrent] = await dispatch(request('site.torrent'), false)
    expect(await torrent?.text()).toBe('abc')
  })

  it('leaves other methods, origins and paths outside the scope to the network', async () => {
    expect((await dispatch(request('form', { method: 'POST' })))[0]).toBe('not-ours')
    expect((await dispatch(request('https://cdn.example/x.js')))[0]).toBe('not-ours')
    expect((await dispatch(request('/elsewhere/page.html')))[0]).toBe('not-ours')
    expect((await dispatch(request('/site')))[0]).toBe('not-ours')
  })
})

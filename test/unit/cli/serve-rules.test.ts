/**
 * `peersite serve` applies the same URL rules as the service worker: clean URLs, folder redirects, the 404 page,
 * the site's `_redirects` (read from the torrent, verified, through publish's parser) and `--spa`. The swarm is an
 * in-memory seeder; the gateway knows only the infohash and gets the metadata over BEP 9.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { publishedWithSpa } from '../../../cli/run/serve.js'
import { relativeRedirect, startGateway, type Gateway } from '../../../cli/lib/gateway.js'
import { publishSite } from '../../../cli/lib/publish.js'
import { fullBitfield } from '../../../engine/bitfield.js'
import type { Metainfo } from '../../../engine/metainfo/index.js'
import { MemoryStore } from '../../../engine/storage/memory.js'
import { Torrent } from '../../../engine/torrent.js'
import { memoryConnectionPair } from '../../../engine/transport/memory.js'
import { makeTorrent } from '../../fixtures/make-torrent.js'
import { makeTempDir } from '../../helpers/tmp.js'
import { copyHello, makeLoaderDir } from './helpers.js'
import { NoDiscovery } from '../../fixtures/engine-peers.js'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const page = (h1: string): Uint8Array => utf8(`<h1>${h1}</h1>`)
const FILES = [
  { path: 'index.html', data: page('home') },
  { path: 'about.html', data: page('about') },
  { path: 'guide/index.html', data: page('guide') },
  { path: 'guide/setup.html', data: page('setup') },
  { path: '404.html', data: page('not found') },
  { path: 'app/index.html', data: page('app') },
  { path: 'drafts/a.html', data: page('draft') },
  {
    path: '_redirects',
    data: utf8('/old /about\n/blog/:slug /guide/:slug 302\n/app/* /app/index.html 200\n/gone /404.html 404\nnot-a-rule\n' +
      '/shop/* https://shop.example/:splat\n/go/* /:splat 301\n/drafts/* /404.html 404!\n/café /about 301\n')
  }
]

let metainfo: Metainfo
let data: Uint8Array
beforeAll(async () => {
  ({ metainfo, data } = await makeTorrent(FILES, 16 * 1024))
})

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function served (spa = false): Promise<{ gateway: Gateway, warnings: string[] }> {
  const warnings: string[] = []
  const gateway = await startGateway({
    infoHash: metainfo.infoHash, trackers: [], spa, createDiscovery: () => new NoDiscovery(), onWarning: (w) => warnings.push(w)
  })
  cleanups.push(async () => await gateway.close())
  const store = new MemoryStore({ pieceLength: metainfo.pieceLength, length: metainfo.length })
  for (let i = 0; i < metainfo.pieceCount; i++) {
    await store.put(i, data.slice(i * metainfo.pieceLength, Math.min(data.length, (i + 1) * metainfo.pieceLength)))
  }
  const seed = new Torrent({ createStore: () => store }, { infoHash: metainfo.infoHash, metainfo, have: fullBitfield(metainfo.pieceCount) })
  cleanups.push(async () => await seed.destroy())
  const [a, b] = memoryConnectionPair()
  seed.addConnection(a)
  gateway.torrent.addConnection(b)
  return { gateway, warnings }
}

/** One request without following redirects: "STATUS body-or-location". */
async function answer (g: Gateway, path: string): Promise<string> {
  const res = await fetch(g.url + path, { redirect: 'manual' })
  const location = res.headers.get('location')
  const body = await res.text()
  return `${res.status} ${location ?? body}`
}

describe('serve applies the site URL rules', () => {
  it('clean URLs, folder redirects, index pages and the 404 page, as the worker does', async () => {
    const { gateway: g } = await served()
    expect(await answer(g, '')).toBe('200 <h1>home</h1>')
    expect(await answer(g, 'about')).toBe('200 <h1>about</h1>')
    expect(await answer(g, 'guide/setup')).toBe('200 <h1>setup</h1>')
    expect(await answer(g, 'guide')).toBe(`301 /guide/`)
    expect(await answer(g, 'guide/')).toBe('200 <h1>guide</h1>')
    expect(await answer(g, 'nope')).toBe('404 <h1>not found</h1>')
    expect(await answer(g, '_redirects')).toBe('404 <h1>not found</h1>')
  })

  it('the torrent\'s _redirects: redirects, placeholders, rewrites, 404 rules; a bad line is a warning', async () => {
    const { gateway: g, warnings } = await served()
    expect(await answer(g, 'old?x=1')).toBe(`301 /about?x=1`)
    expect(await answer(g, 'blog/setup')).toBe(`302 /guide/setup`)
    expect(await answer(g, 'app/users/42')).toBe('200 <h1>app</h1>')
    expect(await answer(g, 'gone')).toBe('404 <h1>not found</h1>')
    expect(warnings).toEqual([expect.stringMatching(/^_redirects line 5: needs a path and a target/)])
  })

  it('a rule\'s URL to another site stays absolute; a value naming a scheme or a host stays a path of this one', async () => {
    const { gateway: g } = await served()
    expect(await answer(g, 'shop/cart/1?x=2')).toBe('301 https://shop.example/cart/1?x=2')
    expect(await answer(g, 'go/javascript:alert(document.domain)')).toBe('301 /javascript:alert(document.domain)') // path-absolute: no scheme
    expect(await answer(g, 'go///evil.example/x')).toBe('301 /evil.example/x')
    expect(await answer(g, 'go/http:evil.example')).toBe('301 /http:evil.example')
  })

  it('rules match the decoded path, as the files do', async () => {
    const { gateway: g } = await served()
    expect(await answer(g, 'drafts/a.html')).toBe('404 <h1>not found</h1>')
    expect(await answer(g, '%64rafts/a.html')).toBe('404 <h1>not found</h1>')
    expect(await answer(g, 'caf%C3%A9')).toBe('301 /about')
  })

  it('--spa: unknown paths get index.html with 200', async () => {
    const { gateway: g } = await served(true)
    expect(await answer(g, 'dashboard/settings')).toBe('200 <h1>home</h1>')
    expect(await answer(g, 'about')).toBe('200 <h1>about</h1>')
    expect(await answer(g, 'gone')).toBe('404 <h1>not found</h1>') // a rule comes before the fallback
  })
})

describe('relativeRedirect', () => {
  const moved = (location: string): Response => new Response(null, { status: 301, headers: { Location: location } })
  it('makes a Location on the listening address relative, and leaves another origin\'s whole', () => {
    expect(relativeRedirect(moved('http://127.0.0.1:8888/docs/?a=1'), 'http://127.0.0.1:8888').headers.get('location')).toBe('/docs/?a=1')
    expect(relativeRedirect(moved('http://127.0.0.1:8888//evil.example/'), 'http://127.0.0.1:8888').headers.get('location')).toBe('/evil.example/')
    expect(relativeRedirect(moved('https://shop.example/cart/1'), 'http://127.0.0.1:8888').headers.get('location')).toBe('https://shop.example/cart/1')
    expect(relativeRedirect(moved('http://127.0.0.1:9999/x'), 'http://127.0.0.1:8888').headers.get('location')).toBe('http://127.0.0.1:9999/x')
  })
})

describe('serve --spa', () => {
  it('is taken from the peersite.json beside a site.torrent given by path, when it names the same infohash', async () => {
    const tmp = await makeTempDir('peersite-serve-spa-')
    try {
      const site = await copyHello(tmp.path)
      const loaderDir = await makeLoaderDir(tmp.path)
      const spa = await publishSite({ dir: site, out: join(tmp.path, 'spa'), trackers: [], loaderDir, spa: true })
      const plain = await publishSite({ dir: site, out: join(tmp.path, 'plain'), trackers: [], loaderDir })
      expect(await publishedWithSpa(join(spa.out, 'site.torrent'), spa.infoHash)).toBe(true)
      expect(await publishedWithSpa(join(spa.out, 'site.torrent'), 'cc'.repeat(20))).toBe(false)
      expect(await publishedWithSpa(join(plain.out, 'site.torrent'), plain.infoHash)).toBe(false)
      expect(await publishedWithSpa(join(tmp.path, 'nowhere', 'site.torrent'), spa.infoHash)).toBe(false)
    } finally {
      await tmp.cleanup()
    }
  })
})

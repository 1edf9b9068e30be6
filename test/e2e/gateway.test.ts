/**
 * `peersite gateway` in Chromium: two sites published to one tracker, opened as `<id1>.localhost` and
 * `<id2>.localhost` on one gateway, each in its own origin. Both render from the swarm (the gateway serves loader
 * files only); site 1's script is refused site 2's storage, caches, cookies and worker by the browser; a path, query
 * or fragment naming the other site is ignored; a magnet pasted on the front page lands on its site; a visitor
 * reseeds; deep links, `_redirects`, 404 and Range work as with the per-site loader.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/gateway.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startOriginGateway } from '../../cli/lib/origin-gateway.js'
import { startPointerSeeders } from '../../cli/lib/pointer-swarm.js'
import { publishSite } from '../../cli/lib/publish.js'
import { startSeeder } from '../../cli/lib/swarm.js'
import { createNodeTrackerDiscovery } from '../../engine/discovery/node.js'
import { generateEd25519 } from '../../engine/pointer/node.js'
import { PointerBook, encodePointerValue, pointerTarget, type PointerRecord } from '../../engine/pointer/index.js'
import { PointerHub } from '../../engine/pointer-exchange.js'
import { MemoryStore } from '../../engine/storage/memory.js'
import { Torrent } from '../../engine/torrent.js'
import { toHex } from '../../engine/util/bytes.js'
import { siteIdOf } from '../../engine/util/site-id.js'
import type { Peer } from '../../engine/wire/peer.js'
import { makeTempDir } from '../helpers/tmp.js'
import { trackerUrlFor } from '../helpers/tracker.js'
import { assertInNetns, rtcConfig } from '../helpers/webrtc.js'
import { launchChromium, loaderDir, loaderState, siteFrame, waitForFrameH1 } from './harness.js'
import { HELLO, siteBytesAsked, startGatewayWorld, type GatewayWorld } from './gateway-fixture.js'

const HELLO_H1 = 'Hello from peersite'
const KEYED_H1 = 'Hello from a site key'
const KEYED_V2_H1 = 'Hello from a site key, version 2'

/**
 * A peer in a key's pointer swarm that tells `record` whatever it is (its book believes that record's signature
 * and no other, so it never learns a newer one): the liar a browser must refuse.
 */
async function liarPeer (record: PointerRecord, tracker: string): Promise<{ close: () => Promise<void> }> {
  const verify = async (_key: Uint8Array, _message: Uint8Array, signature: Uint8Array): Promise<boolean> =>
    signature.length === record.signature.length && signature.every((b, i) => b === record.signature[i])
  const book = new PointerBook({ verifier: { verify } }, { publicKey: record.publicKey })
  const hub = new PointerHub<Peer>({ book, warn: () => {} })
  await hub.publish(record)
  const torrent = new Torrent({
    createStore: () => new MemoryStore({ pieceLength: 1, length: 1 }),
    createDiscovery: (init) => createNodeTrackerDiscovery({ ...init, announce: [tracker], rtcConfig, announceIntervalMs: 2000 })
  }, { infoHash: toHex(await pointerTarget(record.publicKey)), pointer: hub.exchange() })
  return { close: async () => { await torrent.destroy() } }
}
const DOCS_H1 = 'Home'

describe('the gateway: every site in its own origin (Chromium)', () => {
  let world: GatewayWorld
  let browser: Browser
  let context: BrowserContext
  let one: Page
  let two: Page

  beforeAll(async () => {
    assertInNetns()
    ;[browser, world] = await Promise.all([launchChromium(), startGatewayWorld()])
    context = await browser.newContext()
  }, 60_000)

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await world?.close()
  })

  it('two sites on one gateway both render from the swarm, each at its own id', async () => {
    const [s1, s2] = world.sites
    expect(s1.url).toMatch(/^http:\/\/[a-z2-7]{32}\.localhost:\d+\/$/)
    one = await context.newPage()
    two = await context.newPage()
    await Promise.all([one.goto(s1.url), two.goto(s2.url)])
    await waitForFrameH1(one, HELLO_H1)
    await waitForFrameH1(two, DOCS_H1)
    // The stylesheet, script and image of site 1 came through its worker (from peers), not from the gateway.
    await one.waitForFunction(() => {
      const doc = (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument
      const img = doc?.querySelector('img')
      return doc?.getElementById('app-status')?.textContent === 'app.js ran: hello from peersite!' && img != null && img.complete && img.naturalWidth > 0
    }, undefined, { timeout: 20_000 })
    const f1 = await siteFrame(one)
    expect(await f1.evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe('rgb(12, 34, 56)')
    for (const page of [one, two]) {
      const s = await loaderState(page)
      expect(s?.leader).toBe(true)
      expect(s?.peers).toBeGreaterThanOrEqual(1)
      expect(s?.downloaded).toBeGreaterThan(0)
    }
    expect(await one.evaluate(() => (window as unknown as { peersite: { manifest: { infoHash: string } } }).peersite.manifest.infoHash)).toBe(s1.infoHash)
    expect(await two.evaluate(() => (window as unknown as { peersite: { manifest: { infoHash: string } } }).peersite.manifest.infoHash)).toBe(s2.infoHash)
    // The gateway served loader files only: no site file but pages (navigations get the loader) was asked of it,
    // and never with a 200 for the manifest or torrent.
    expect(siteBytesAsked(world.gateway, s1.result.metainfo.files.map((f) => f.path))).toEqual([])
    expect(siteBytesAsked(world.gateway, s2.result.metainfo.files.map((f) => f.path))).toEqual([])
    expect(world.gateway.requests.filter((r) => /peersite\.json|site\.torrent/.test(r.path) && r.status === 200)).toEqual([])
    // History as on a plain host: a link, Back, Forward, the address bar on the site's own origin.
    await f1.click('a[href="docs/guide/"]')
    await waitForFrameH1(one, 'Guide')
    await one.waitForFunction((u) => location.href === u, `${s1.url}docs/guide/`)
    await one.goBack()
    await waitForFrameH1(one, HELLO_H1)
    await one.waitForFunction((u) => location.href === u, s1.url)
    await one.goForward()
    await waitForFrameH1(one, 'Guide')
    await one.goBack()
    await waitForFrameH1(one, HELLO_H1)
  }, 90_000)

  it("site 1's script cannot read or change site 2's storage, caches, cookies or worker", async () => {
    const [, s2] = world.sites
    const f1 = await siteFrame(one)
    const f2 = await siteFrame(two)
    await f2.evaluate(() => { localStorage.setItem('who', 'site 2'); document.cookie = 'who=site2; path=/' })
    const before2 = await f2.evaluate(async () => ({ caches: (await caches.keys()).sort(), dbs: (await indexedDB.databases()).map((d) => d.name).sort() }))
    expect(before2.caches.length).toBeGreaterThan(0)
    expect(before2.dbs.length).toBeGreaterThan(0)

    const tried = await f1.evaluate(async ({ url2, caches2 }) => {
      const out: Record<string, string> = {}
      const attempt = async (name: string, fn: () => unknown): Promise<void> => {
        try { out[name] = `allowed: ${String(await fn())}` } catch (err) { out[name] = `refused: ${(err as Error).name}` }
      }
      // Storage: site 2's window, opened by site 1, cannot be scripted.
      const frame = document.createElement('iframe')
      frame.src = url2
      document.body.append(frame)
      await new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }))
      await attempt('localStorage', () => frame.contentWindow!.localStorage.getItem('who'))
      await attempt('document', () => frame.contentWindow!.document.cookie)
      // Site 2's loader files: a cross-origin read without CORS.
      await attempt('fetch', async () => await (await fetch(url2 + 'peersite.json')).text())
      // A worker for site 2's origin.
      await attempt('register', async () => (await navigator.serviceWorker.register(url2 + 'sw.js', { scope: url2 })).scope)
      // Cookies for every *.localhost: the browser refuses a Domain that is a public suffix.
      document.cookie = 'who=site1; domain=localhost; path=/'
      document.cookie = 'mine=site1; path=/'
      localStorage.setItem('who', 'site 1')
      // Site 1 sees only its own caches and databases; deleting site 2's by name finds nothing.
      out.cachesSeen = (await caches.keys()).filter((n) => caches2.includes(n)).join(',')
      out.deleteCaches = String(await Promise.all(caches2.map(async (n) => await caches.delete(n))))
      out.registrations = (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope).join(',')
      return out
    }, { url2: s2.url, caches2: before2.caches })
    expect(tried.localStorage).toBe('refused: SecurityError')
    expect(tried.document).toBe('refused: SecurityError')
    expect(tried.fetch).toBe('refused: TypeError')
    expect(tried.register).toMatch(/^refused: /)
    expect(tried.cachesSeen).toBe('')
    expect(tried.deleteCaches).not.toContain('true')
    expect(tried.registrations).toBe(new URL('/', await f1.evaluate(() => location.href)).href)

    const after2 = await f2.evaluate(async () => ({
      who: localStorage.getItem('who'),
      cookie: document.cookie,
      caches: (await caches.keys()).sort(),
      dbs: (await indexedDB.databases()).map((d) => d.name).sort()
    }))
    expect(after2.who).toBe('site 2')
    expect(after2.cookie).toBe('who=site2')
    expect(after2.caches).toEqual(before2.caches)
    expect(after2.dbs).toEqual(before2.dbs)
    // Site 2 still works from its own worker.
    await f2.evaluate(() => { (document.querySelector('a[href="about.html"], a[href="about"], a[href="/about"]') as HTMLAnchorElement | null)?.click() })
    await waitForFrameH1(two, 'About')
  }, 60_000)

  it('a path, query or fragment naming another site is ignored: the host name alone names the site', async () => {
    const [s1, s2] = world.sites
    const page = await context.newPage()
    await page.goto(`${s1.url}${s2.infoHash}?id=${s2.id}&xt=urn:btih:${s2.infoHash}#${s2.id}`)
    const frame = await siteFrame(page)
    // Site 1 answers that path with its own 404 page.
    await waitForFrameH1(page, 'Not found')
    expect(await page.evaluate(() => (window as unknown as { peersite: { manifest: { infoHash: string } } }).peersite.manifest.infoHash)).toBe(s1.infoHash)
    expect(await frame.evaluate(() => location.hostname.split('.')[0])).toBe(s1.id)
    await page.goto(`${s1.url}#magnet:?xt=urn:btih:${s2.infoHash}`)
    await waitForFrameH1(page, HELLO_H1)
    await page.close()
  }, 60_000)

  it('deep links, _redirects read from the torrent, 404 and Range work through the gateway', async () => {
    const [s1, s2] = world.sites
    const fresh = await (await browser.newContext()).newPage()
    // A first visit straight to a deep link.
    await fresh.goto(`${s1.url}docs/guide/`)
    await waitForFrameH1(fresh, 'Guide')
    expect(fresh.url()).toBe(`${s1.url}docs/guide/`)
    const frame = await siteFrame(fresh)
    // Range: the worker answers 206 with the bytes asked for, verified, from peers.
    const logo = await readFile(join(HELLO, 'logo.png'))
    const ranged = await frame.evaluate(async () => {
      const res = await fetch('/logo.png', { headers: { Range: 'bytes=10-29' } })
      return { status: res.status, range: res.headers.get('content-range'), bytes: Array.from(new Uint8Array(await res.arrayBuffer())) }
    })
    expect(ranged.status).toBe(206)
    expect(ranged.range).toBe(`bytes 10-29/${logo.length}`)
    expect(ranged.bytes).toEqual(Array.from(logo.subarray(10, 30)))
    // An unknown path: the site's own 404 page, status 404.
    const missing = await frame.evaluate(async () => { const r = await fetch('/no/such/page'); return { status: r.status, text: await r.text() } })
    expect(missing.status).toBe(404)
    expect(missing.text).toContain('Not found')
    // A reload: the worker holds the manifest and torrent now (a returning visit boots from them).
    await fresh.reload()
    await waitForFrameH1(fresh, 'Guide')
    // A second tab of the site uses the first tab's engine (one leader per site and browser profile).
    const tab = await fresh.context().newPage()
    await tab.goto(`${s1.url}about.html`)
    await waitForFrameH1(tab, 'About')
    expect((await loaderState(tab))?.leader).toBe(false)
    expect((await loaderState(fresh))?.leader).toBe(true)
    // Site 2's _redirects came from its torrent (no peersite.json through a gateway).
    const docs = await (await browser.newContext()).newPage()
    await docs.goto(`${s2.url}old-about`)
    await waitForFrameH1(docs, 'About')
    await docs.waitForFunction((u) => location.href === u, `${s2.url}about`)
    await fresh.context().close()
    await docs.context().close()
  }, 90_000)

  it('a magnet pasted on the front page lands on the site, with the magnet\'s trackers', async () => {
    const [, s2] = world.sites
    // A gateway whose own tracker knows nobody: only the magnet's tr= finds the swarm.
    const lonely = await startOriginGateway({ trackers: ['ws://127.0.0.1:9'], rtcConfig, loaderDir })
    try {
      const page = await (await browser.newContext()).newPage()
      await page.goto(lonely.url)
      // Not a site: one line saying what may be pasted, and the page stays.
      await page.fill('input[name=site]', 'hello')
      await page.click('button')
      await page.waitForFunction(() => document.querySelector('[role=alert]')?.textContent?.startsWith('That is not a magnet link') === true)
      expect(page.url()).toBe(lonely.url)
      await page.fill('input[name=site]', s2.result.magnetURI)
      await page.click('button')
      await waitForFrameH1(page, DOCS_H1)
      expect(page.url()).toBe(lonely.siteUrl(s2.infoHash))
      // Pasted again: the origin's worker now controls the page, whose frame is made before peersite.js runs. The
      // fragment is the loader's, not the site's, on a return visit too (before: the site saw #peersite-tr=…, and the
      // address bar kept it).
      await page.goto(lonely.url)
      await page.fill('input[name=site]', s2.result.magnetURI)
      await page.click('button')
      await waitForFrameH1(page, DOCS_H1)
      expect(await (await siteFrame(page)).evaluate(() => location.hash)).toBe('')
      await page.waitForFunction((u) => location.href === u, lonely.siteUrl(s2.infoHash), { timeout: 5_000 })
      // /<infohash> and /#<infohash> on the front page's host go to the site's origin too.
      await page.goto(`${world.gateway.url}${s2.infoHash}`)
      expect(page.url()).toBe(world.gateway.siteUrl(s2.infoHash))
      await waitForFrameH1(page, DOCS_H1)
      await page.goto(`${world.gateway.url}#${s2.infoHash}`)
      await page.waitForURL(world.gateway.siteUrl(s2.infoHash))
      await page.context().close()
    } finally {
      await lonely.close()
    }
  }, 90_000)

  it('the problem pages: nobody shares this infohash; nobody tells the newest version of this site key', async () => {
    const page = await (await browser.newContext()).newPage()
    await page.addInitScript(() => { (globalThis as { PEERSITE_DEADLINE_MS?: number }).PEERSITE_DEADLINE_MS = 1500 })
    await page.goto(world.gateway.siteUrl('00'.repeat(20)))
    await page.waitForFunction(() => document.querySelector('#peersite-card h1')?.textContent === 'Nobody is sharing this site right now', undefined, { timeout: 20_000 })
    await page.goto(world.gateway.siteUrl('ab'.repeat(32)))
    expect(page.url()).toMatch(/^http:\/\/[a-z2-7]{52}\.localhost:\d+\/$/)
    await page.waitForFunction(() => document.querySelector('#peersite-card h1')?.textContent === 'Nobody is sharing this site right now', undefined, { timeout: 20_000 })
    expect(await page.evaluate(() => document.getElementById('peersite-card')?.textContent)).toContain('ab'.repeat(32))
    await page.context().close()
  }, 60_000)

  it('a site key\'s address opens its newest version (verified, in the key\'s origin), opens a newer one at the next visit, refuses a replayed older one', async () => {
    const tmp = await makeTempDir('peersite-gateway-key-')
    const running: Array<{ close: () => Promise<void> }> = []
    try {
      const siteDir = join(tmp.path, 'site')
      await cp(HELLO, siteDir, { recursive: true })
      await writeFile(join(siteDir, 'index.html'), `<!doctype html><title>Keyed</title><h1>${KEYED_H1}</h1><p><a href="about.html">About</a></p>\n`)
      const keyed = await publishSite({ dir: siteDir, out: join(tmp.path, 'out'), trackers: [world.tracker.url], loaderDir, keyFile: join(tmp.path, 'keys', 'site.key'), stateDir: join(tmp.path, 'state') })
      const record = keyed.pointer!
      const pointers = await startPointerSeeders({ record, trackers: [trackerUrlFor(world.tracker, 'key-pointer')], rtcConfig, announceIntervalMs: 2000 })
      running.push(pointers)
      running.push(await startSeeder({ metainfo: keyed.metainfo, root: keyed.plan.site.root, trackers: [trackerUrlFor(world.tracker, 'key-site')], rtcConfig, pointer: pointers.siteExchange, announceIntervalMs: 2000 }))
      const keyHex = toHex(record.publicKey)
      const url = world.gateway.siteUrl(keyHex)
      expect(url).toBe(`http://${siteIdOf(keyHex)}.localhost:${new URL(world.gateway.url).port}/`)

      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(url)
      await waitForFrameH1(page, KEYED_H1, 45_000)
      // The version opened is the record's, and the manifest carries the record the worker checked.
      const opened = await page.evaluate(() => (window as unknown as { peersite: { manifest: { infoHash: string, address?: string, pointer?: { seq: number } } } }).peersite.manifest)
      expect(opened.infoHash).toBe(keyed.infoHash)
      expect(opened.address).toBe(`magnet:?xs=urn:btpk:${keyHex}`)
      expect(opened.pointer?.seq).toBe(record.seq)
      expect(page.url()).toBe(url)
      // In the key's own origin, with a link followed through its worker.
      const frame = await siteFrame(page)
      expect(await frame.evaluate(() => location.hostname.split('.')[0])).toBe(siteIdOf(keyHex))
      await frame.click('a[href="about.html"]')
      await waitForFrameH1(page, 'About')
      // A reload reloads the window's address, which the shell may set to the frame's only after the frame's heading
      // shows: at the new document's commit, found by a 50 ms poll, once peersite-later.js's history code runs; before
      // that, at the frame's load event (loader/shell.ts). On a loaded machine the reload could come first and open
      // the first page again (the heading was in the frame before the address in 5 of 6 runs under load).
      await page.waitForFunction((u) => location.href === u, `${url}about.html`)
      // The highest seq of this key is remembered (IndexedDB), for a later rollback to be refused.
      expect(await page.evaluate(() => (globalThis as unknown as { peersiteKey: { book: { known?: { seq: number } } } }).peersiteKey.book.known?.seq)).toBe(record.seq)
      // A reload: the worker's held version (checked again) is still the newest, and opens.
      await page.reload()
      await waitForFrameH1(page, 'About', 30_000)
      // No site byte came from the gateway.
      expect(siteBytesAsked(world.gateway, keyed.metainfo.files.map((f) => f.path))).toEqual([])

      // Version 2 published with the same key while the page is open: the page hears of it in the pointer swarm.
      await writeFile(join(siteDir, 'index.html'), `<!doctype html><title>Keyed</title><h1>${KEYED_V2_H1}</h1><p><a href="about.html">About</a></p>\n`)
      const v2 = await publishSite({ dir: siteDir, out: join(tmp.path, 'out2'), trackers: [world.tracker.url], loaderDir, keyFile: join(tmp.path, 'keys', 'site.key'), stateDir: join(tmp.path, 'state') })
      expect(v2.pointer!.seq).toBeGreaterThan(record.seq)
      const v1Seeders = running.splice(0)
      const pointers2 = await startPointerSeeders({ record: v2.pointer!, trackers: [trackerUrlFor(world.tracker, 'key-pointer2')], rtcConfig, announceIntervalMs: 2000 })
      running.push(pointers2)
      running.push(await startSeeder({ metainfo: v2.metainfo, root: v2.plan.site.root, trackers: [trackerUrlFor(world.tracker, 'key-site2')], rtcConfig, pointer: pointers2.siteExchange, announceIntervalMs: 2000 }))
      for (const r of v1Seeders.reverse()) await r.close()
      // `peersiteKey?.`: the predicate runs again in every document the page commits, and a document's loader defines
      // peersiteKey only once its key watch is set up (loader/gateway.ts openKey); a throw would end the wait at once.
      await page.waitForFunction((seq) => (globalThis as unknown as { peersiteKey?: { book: { current?: { seq: number } } } }).peersiteKey?.book.current?.seq === seq, v2.pointer!.seq, { timeout: 45_000 })
      // Still version 1 on screen: the next visit opens version 2 (the worker's older version dropped).
      expect(await (await siteFrame(page)).evaluate(() => document.querySelector('h1')?.textContent)).toBe('About')
      await page.goto(url)
      await waitForFrameH1(page, KEYED_V2_H1, 45_000)
      expect(await page.evaluate(() => (window as unknown as { peersite: { manifest: { infoHash: string } } }).peersite.manifest.infoHash)).toBe(v2.infoHash)
      await (await siteFrame(page)).click('a[href="about.html"]')
      await waitForFrameH1(page, 'About')

      // A peer replaying version 1's record: refused as a rollback (the seq this browser verified is higher); the
      // visitor keeps version 2.
      await page.close()
      running.push(await liarPeer(record, trackerUrlFor(world.tracker, 'key-replay')))
      const again = await context.newPage()
      await again.goto(url)
      await again.waitForFunction(() => ((globalThis as unknown as { peersiteKey?: { refused: Array<{ message: string }> } }).peersiteKey?.refused ?? []).some((e) => e.message.includes('already known')), undefined, { timeout: 45_000 })
      await waitForFrameH1(again, KEYED_V2_H1, 30_000)
      expect(await again.evaluate(() => (globalThis as unknown as { peersiteKey: { book: { current?: { seq: number } } } }).peersiteKey.book.current?.seq)).toBe(v2.pointer!.seq)
      await context.close()
    } finally {
      for (const r of running.reverse()) await r.close().catch(() => {})
      await tmp.cleanup()
    }
  }, 180_000)

  it('a record for a site key that is not validly signed is refused, with a problem page, and nothing is opened', async () => {
    const [s1] = world.sites
    // A peer in the key's pointer swarm that claims the key's version 1 is site 1, with a signature the key never made.
    const { publicKey } = generateEd25519()
    const forged: PointerRecord = { publicKey, salt: new Uint8Array(0), seq: 1, value: encodePointerValue(s1.infoHash), signature: new Uint8Array(64).fill(7) }
    const liar = await liarPeer(forged, trackerUrlFor(world.tracker, 'liar'))
    try {
      const page = await (await browser.newContext()).newPage()
      await page.goto(world.gateway.siteUrl(toHex(publicKey)))
      await page.waitForFunction(() => document.querySelector('#peersite-card h1')?.textContent === 'A forged record for this site key was refused', undefined, { timeout: 45_000 })
      expect(await page.evaluate(() => document.getElementById('peersite-card')?.textContent)).toContain('signature')
      // Site 1 (what the forged record names) was not opened, and the key's book believes nothing.
      expect(await page.evaluate(() => document.getElementById('peersite-frame'))).toBeNull()
      expect(await page.evaluate(() => (globalThis as unknown as { peersiteKey: { book: { current?: unknown } } }).peersiteKey.book.current)).toBeUndefined()
      await page.context().close()
    } finally {
      await liar.close()
    }
  }, 90_000)

  it('a site opened through the gateway is reseeded by its visitors', async () => {
    const [s1] = world.sites
    await one.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, undefined, { timeout: 30_000 })
    await world.stopSeeder(s1)
    const second = await (await browser.newContext()).newPage()
    await second.goto(s1.url)
    await waitForFrameH1(second, HELLO_H1, 45_000)
    const s = await loaderState(second)
    expect(s?.downloaded).toBeGreaterThan(0)
    expect((await loaderState(one))?.uploaded).toBeGreaterThan(0)
    await second.context().close()
  }, 90_000)

  it('a returning visitor opens the site offline, with the gateway gone too: stored pieces, held manifest', async () => {
    const [s1] = world.sites
    // A return visit while online (its loader script now comes through the worker, as on any host), then offline.
    await one.reload()
    await waitForFrameH1(one, HELLO_H1)
    await context.setOffline(true)
    await world.gateway.close()
    await one.reload()
    await waitForFrameH1(one, HELLO_H1)
    expect(one.url()).toBe(s1.url)
    // A page this visitor never opened: not in the worker's file cache, only in IndexedDB (prefetched), served by
    // the engine that booted from the manifest and torrent the worker holds.
    const frame = await siteFrame(one)
    await frame.click('a[href="about.html"]')
    await waitForFrameH1(one, 'About', 15_000)
    expect((await loaderState(one))?.done).toBe(true)
  }, 60_000)
})

export type { Frame }

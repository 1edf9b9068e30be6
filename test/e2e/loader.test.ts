/**
 * A visitor's browser loads examples/hello from the swarm: Chromium (fresh contexts of one browser) opens the
 * URL of a site published like `peersite publish examples/hello --local`; the loader registers the worker, the
 * engine in the page fetches every page and asset from peers over WebRTC, and the static server only ever serves
 * the loader's own files.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Page, Response } from 'playwright-core'
import { loaderState, repoRoot, siteFrame, useChromiumAndSite, waitForFrameH1 } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')
const HOME_H1 = 'Hello from peersite'
const HOME_TITLE = 'Hello from peersite'
const GUIDE_TITLE = 'Guide - Hello from peersite'
const GUIDE_H1 = 'Guide'

describe('the loader serves a site from the swarm', () => {
  const env = useChromiumAndSite(HELLO)

  let home: Page
  /** Responses seen by the home visitor's page, for status checks. */
  const responses: Response[] = []

  it('a fresh profile shows the site: title, text, image, stylesheet, script, web font', async () => {
    const context = await env.newContext()
    home = await context.newPage()
    home.on('response', (r) => responses.push(r))
    await home.goto(env.site.url)
    const frame = await waitForFrameH1(home, HOME_H1)
    expect(await frame.title()).toBe(HOME_TITLE)
    // The script ran.
    await frame.waitForFunction(() => document.getElementById('app-status')?.textContent === 'app.js ran: hello from peersite!')
    // The image decoded.
    await frame.waitForFunction(() => {
      const img = document.querySelector('img')
      return img !== null && img.complete && img.naturalWidth > 0
    })
    // The stylesheet applies.
    expect(await frame.evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe('rgb(12, 34, 56)')
    // The web font loaded.
    await frame.waitForFunction(async () => {
      await document.fonts.ready
      return [...document.fonts].some((f) => f.family.replace(/"/g, '') === 'Open Sans' && f.status === 'loaded')
    })
    // The site fills the window (the frame is the page, not a box in it).
    const box = await home.locator('#peersite-frame').boundingBox()
    expect([box?.width, box?.height]).toEqual([home.viewportSize()?.width, home.viewportSize()?.height])
    // The window mirrors the frame: title and address.
    await home.waitForFunction((t) => document.title === t, HOME_TITLE)
    expect(home.url()).toBe(env.site.url)
    const state = await loaderState(home)
    expect(state?.leader).toBe(true)
    expect(state?.peers).toBeGreaterThanOrEqual(1)
    expect(state?.downloaded).toBeGreaterThan(0)
    // The frame's page came through the service worker.
    const frameResponse = responses.find((r) => r.frame() === frame && r.url() === env.site.url)
    expect(frameResponse?.status()).toBe(200)
    expect(frameResponse?.fromServiceWorker()).toBe(true)
  })

  it('links, back, forward and reload work, and the address bar shows the real paths', async () => {
    const frame = await siteFrame(home)
    await frame.click('a[href="docs/guide/"]')
    await waitForFrameH1(home, 'Guide')
    await home.waitForFunction((t) => document.title === t, GUIDE_TITLE)
    expect(home.url()).toBe(`${env.site.url}docs/guide/`)
    // The guide's relative stylesheet (../../style.css) applies too.
    expect(await (await siteFrame(home)).evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe('rgb(12, 34, 56)')

    await home.evaluate(() => history.back())
    await waitForFrameH1(home, HOME_H1)
    await home.waitForFunction((u) => location.href === u, env.site.url)
    await home.waitForFunction((t) => document.title === t, HOME_TITLE)

    await home.evaluate(() => history.forward())
    await waitForFrameH1(home, 'Guide')
    await home.waitForFunction((u) => location.href === u, `${env.site.url}docs/guide/`)

    // A reload is a top-level navigation: the worker answers it with the shell, which shows the same page.
    await home.reload()
    await waitForFrameH1(home, 'Guide')
    expect(home.url()).toBe(`${env.site.url}docs/guide/`)
    await home.waitForFunction((t) => document.title === t, GUIDE_TITLE)
  })

  it('a hard reload (which bypasses the worker) still ends on the same page', async () => {
    const cdp = await home.context().newCDPSession(home)
    await cdp.send('Page.reload', { ignoreCache: true })
    await waitForFrameH1(home, 'Guide')
    expect(home.url()).toBe(`${env.site.url}docs/guide/`)
    expect(await home.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
    await cdp.detach()
  })

  it('a restarted worker gets a new port from the leader (need-leader) and goes on serving', async () => {
    const introductions = async (): Promise<number> => await home.evaluate(() => (window as unknown as { peersite: { introductions: number } }).peersite.introductions)
    // After the reload the engine starts once the page has loaded and gone quiet (a return visit: loader/index.html).
    // Its handle (window.peersite) comes before the engine has introduced itself to the worker: wait for that.
    await home.waitForFunction(() => ((window as unknown as { peersite?: { introductions?: number } }).peersite?.introductions ?? 0) > 0)
    expect(await introductions()).toBe(1)
    const cdp = await home.context().newCDPSession(home)
    await cdp.send('ServiceWorker.enable')
    await cdp.send('ServiceWorker.stopAllWorkers')
    await cdp.detach()
    // A file this visitor has not fetched yet (pages it has seen come from the worker's piece cache, which also
    // holds the neighbours sharing their pieces: emptied so the worker must ask the engine).
    const frame = await siteFrame(home)
    const text = await frame.evaluate(async () => {
      for (const name of await caches.keys()) if (name.startsWith('peersite-files:')) await caches.delete(name)
      return await (await fetch(new URL('/about.html', location.href))).text()
    })
    expect(text).toContain('<title>')
    expect(await introductions()).toBe(2)
  })

  it('a missing path shows the site\'s 404 page with status 404', async () => {
    await home.goto(env.site.url)
    const frame = await (async () => { await waitForFrameH1(home, HOME_H1); return await siteFrame(home) })()
    const missing = `${env.site.url}no-such-page.html`
    const response = home.waitForResponse((r) => r.url() === missing && r.frame() !== home.mainFrame())
    await frame.click('a[href="no-such-page.html"]')
    expect((await response).status()).toBe(404)
    await waitForFrameH1(home, 'Not found')
    await home.waitForFunction((u) => location.href === u, missing)
    await home.waitForFunction(() => document.title === 'Not found - Hello from peersite')
    // The site's 404 page with its stylesheet (an absolute /style.css).
    const notFound = await siteFrame(home)
    expect(await notFound.evaluate(() => getComputedStyle(document.querySelector('.not-found')!).color)).toBe('rgb(150, 30, 30)')
  })

  it('a deep link opens in a new fresh profile', async () => {
    const context = await env.newContext()
    const page = await context.newPage()
    await page.goto(`${env.site.url}docs/guide/`)
    await waitForFrameH1(page, 'Guide')
    expect(page.url()).toBe(`${env.site.url}docs/guide/`)
    await page.waitForFunction((t) => document.title === t, GUIDE_TITLE)
    const frame = await siteFrame(page)
    expect(await frame.evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe('rgb(12, 34, 56)')
    await context.close()
  })

  it('a deep link asks the folders above it for peersite.json together, not one round trip per level', async () => {
    const context = await env.newContext()
    const asked: string[] = []
    /** How each held request ended: 'together' once the loader had asked for every folder above, else 'alone'. */
    const released: string[] = []
    const above = ['/docs/peersite.json', '/peersite.json']
    await context.route('**/peersite.json', async (route) => {
      if (route.request().serviceWorker() !== null) return await route.continue()
      const path = new URL(route.request().url()).pathname
      asked.push(path)
      // The link's own folder (the loader's first guess) is answered at once; each folder above is held until the
      // loader has asked for all of them, or for 5 s: a loader that waits for one answer before asking the next
      // folder still opens the page, one hold later, and says 'alone'.
      if (path !== '/docs/guide/peersite.json') {
        for (let waited = 0; !above.every((p) => asked.includes(p)) && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20))
        released.push(above.every((p) => asked.includes(p)) ? 'together' : 'alone')
      }
      await route.continue()
    })
    const page = await context.newPage()
    await page.goto(`${env.site.url}docs/guide/`)
    await waitForFrameH1(page, GUIDE_H1)
    expect(page.url()).toBe(`${env.site.url}docs/guide/`)
    expect(asked.slice(0, 3)).toEqual(['/docs/guide/peersite.json', ...above])
    expect(released).toEqual(['together', 'together'])
    await context.close()
  })

  it('a loader with no peersite.json in any folder above it says so', async () => {
    const context = await env.newContext()
    const asked: string[] = []
    await context.route('**/peersite.json', async (route) => {
      asked.push(new URL(route.request().url()).pathname)
      await route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not found"}' })
    })
    const page = await context.newPage()
    await page.goto(`${env.site.url}docs/guide/`)
    await page.waitForFunction(() => document.getElementById('peersite-status')?.textContent?.includes('not a peersite site'))
    expect(asked.filter((p) => !p.startsWith('/docs/guide/')).sort()).toEqual(['/docs/peersite.json', '/peersite.json'])
    await context.close()
  })

  it('one engine for all tabs: a second tab uses the leader\'s, and takes over when the leader closes', async () => {
    const context = await env.newContext()
    const first = await context.newPage()
    await first.goto(env.site.url)
    await waitForFrameH1(first, HOME_H1)
    const second = await context.newPage()
    await second.goto(`${env.site.url}about.html`)
    await waitForFrameH1(second, 'About')
    await second.waitForFunction((u) => location.href === u, `${env.site.url}about.html`)
    // The second tab is a return visit to the origin: its loader boots once its page has loaded and gone quiet.
    await second.waitForFunction(() => (window as unknown as { peersite?: unknown }).peersite !== undefined)
    expect((await loaderState(first))?.leader).toBe(true)
    // The second tab runs no engine: its page came through the first tab's.
    expect(await loaderState(second)).toMatchObject({ leader: false, peers: 0, downloaded: 0 })

    await first.close()
    await second.waitForFunction(() => (window as unknown as { peersite?: { leader: boolean } }).peersite?.leader === true)
    // A page neither tab has shown (so not in the worker's verified cache), fetched by its own engine now.
    const frame = await siteFrame(second)
    await frame.evaluate(() => { location.href = new URL('docs/guide/', location.href).href })
    await waitForFrameH1(second, GUIDE_H1)
    // Its own engine runs and served that page: it joined the swarm, or it already holds the whole site from this
    // origin's piece store (the first tab prefetched it), and then it drops the Node seeder: two seeds have nothing
    // to give each other.
    await second.waitForFunction(() => {
      const p = (window as unknown as { peersite?: { torrent?: { done: boolean }, stats(): { peers: number } | undefined } }).peersite
      return p?.torrent !== undefined && ((p.stats()?.peers ?? 0) >= 1 || p.torrent.done)
    })
    await context.close()
  })

  it('a browser with service workers blocked gets an explanation, not a blank page', async () => {
    const context = await env.newContext({ serviceWorkers: 'block' })
    const page = await context.newPage()
    await page.goto(env.site.url)
    const card = await page.waitForSelector('#peersite-card.full', { timeout: 10_000 })
    const text = await card.textContent()
    expect(text).toMatch(/Service workers are blocked/)
    expect(text).toMatch(/Allow them for this site|open it in/)
    // The infohash is offered for WebTorrent users.
    expect(text).toContain(env.site.manifest.infoHash)
    expect(await page.title()).toBe('Service workers are blocked')
    await context.close()
  })

  it('the static server never served a site file', () => {
    // Loader files at the root share their names with the site's index.html and 404.html: those are the loader.
    const loaderNames = new Set(['index.html', '404.html', 'sw.js', 'peersite.js', 'peersite-later.js', 'peersite.json', 'env.site.torrent'])
    const siteFiles = env.site.manifest.files.map((f) => f.path).filter((p) => !loaderNames.has(p)).map((p) => `/${p}`)
    expect(siteFiles.length).toBeGreaterThan(4)
    const served = env.site.server.requests.filter((path) => siteFiles.includes(path))
    expect(served).toEqual([])
    // What it did serve: the loader, peersite.json probes, and top-level navigations answered with the loader.
    for (const path of env.site.server.requests) {
      expect(path.endsWith('/') || /\/(peersite\.json|peersite\.js|peersite-later\.js|sw\.js|site\.torrent|index\.html|404\.html|no-such-page\.html)$/.test(path), path).toBe(true)
    }
  })

  // After the request-log check: the refused registration below does reach the static server (and is refused).
  it('a site file cannot become a service worker, no path escapes the file table, responses carry nosniff', async () => {
    const frame = await siteFrame(home)
    const registration = await frame.evaluate(async () => {
      try {
        await navigator.serviceWorker.register('/app.js', { scope: '/' })
        return 'registered'
      } catch (err) {
        return String(err)
      }
    })
    expect(registration).not.toBe('registered')
    expect(await home.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.active?.scriptURL ?? ''))).toEqual([`${env.site.url}sw.js`])
    const statuses = await frame.evaluate(async () => await Promise.all(
      ['/..%2f..%2fetc%2fpasswd', '/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/%2e%2e%2findex.html', '/docs%2fguide%5c..%5c..%5cindex.html', '/a%00b']
        .map(async (path) => (await fetch(path)).status)))
    for (const status of statuses) expect([400, 404]).toContain(status)
    const headers = await frame.evaluate(async () => {
      const res = await fetch('/style.css')
      return { nosniff: res.headers.get('x-content-type-options'), type: res.headers.get('content-type'), etag: res.headers.get('etag') }
    })
    expect(headers.nosniff).toBe('nosniff')
    expect(headers.type).toMatch(/^text\/css/)
    expect(headers.etag).toMatch(/^"[0-9a-f]{40}-/)
  })

  it('two visitors: after the seeder stops, a second visitor loads the site from the first', async () => {
    // Only the home visitor stays open.
    await env.closeContextsBut(home.context())
    // The first visitor fetches the whole (small) site in the background: wait until it holds every piece.
    await home.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, undefined, { timeout: 30_000 })
    await env.site.stopSeeder()

    const context = await env.newContext()
    const page = await context.newPage()
    await page.goto(env.site.url)
    const frame = await waitForFrameH1(page, HOME_H1, 45_000)
    await frame.waitForFunction(() => {
      const img = document.querySelector('img')
      return img !== null && img.complete && img.naturalWidth > 0
    })
    await frame.waitForFunction(() => document.getElementById('app-status')?.textContent === 'app.js ran: hello from peersite!')
    const second = await loaderState(page)
    expect(second?.peers).toBeGreaterThanOrEqual(1)
    expect(second?.downloaded).toBeGreaterThan(0)
    const first = await loaderState(home)
    expect(first?.uploaded).toBeGreaterThan(0)
  }, 90_000)

  it('a returning visitor gets the pages it has seen from its verified cache, with no peer at all', async () => {
    // Every peer is gone: the seeder stopped in the previous test; close every other visitor.
    const context = home.context()
    await env.closeContextsBut(context)
    await home.close()
    const page = await context.newPage()
    await page.goto(env.site.url)
    const frame = await waitForFrameH1(page, HOME_H1, 20_000)
    expect(await frame.evaluate(() => getComputedStyle(document.querySelector('h1')!).color)).toBe('rgb(12, 34, 56)')
    await page.waitForFunction(() => (window as unknown as { peersite?: unknown }).peersite !== undefined)
    const state = await loaderState(page)
    expect(state?.peers).toBe(0)
    expect(state?.downloaded).toBe(0)
  }, 60_000)
})

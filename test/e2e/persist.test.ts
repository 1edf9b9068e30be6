/**
 * Every visitor is a seeder (issue 5): a visitor's verified pieces persist in IndexedDB across a browser restart
 * (a persistent profile); the returning visitor announces them at once and serves a fresh visitor with the seeder
 * gone; and with the network cut it still gets its pages, also one it never opened (prefetched after the first
 * page, served by the engine from IndexedDB, the manifest and torrent from the worker's cache); a visitor who came
 * only once, its HTTP cache emptied, also boots its engine offline (peersite.js cached when the worker installed).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/persist.test.ts
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { CHROMIUM, CHROMIUM_ARGS, launchChromium, loaderState, repoRoot, siteFrame, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')
const HOME_H1 = 'Hello from peersite'
const GUIDE_H1 = 'Guide'

/** Pieces the leader's engine holds, and what it prefetches (`window.peersite`, loader/main.ts). */
async function held (page: Page): Promise<{ have: number, prefetch: number | undefined }> {
  return await page.evaluate(() => {
    const p = (window as unknown as { peersite?: { torrent?: { have?: { count: number } }, prefetch?: number } }).peersite
    return { have: p?.torrent?.have?.count ?? 0, prefetch: p?.prefetch }
  })
}

async function waitForPieces (page: Page, count: number, timeout = 30_000): Promise<void> {
  await page.waitForFunction((n) => {
    const p = (window as unknown as { peersite?: { torrent?: { have?: { count: number } } } }).peersite
    return (p?.torrent?.have?.count ?? 0) >= n
  }, count, { timeout })
}

describe('pieces persist: a returning visitor seeds and works offline', () => {
  let site: LocalSite
  let profile: TempDir
  let visitor: BrowserContext | undefined
  let browser: Browser | undefined
  let pieceCount: number

  const launchVisitor = async (): Promise<{ context: BrowserContext, page: Page }> => {
    const context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
    visitor = context
    const page = context.pages()[0] ?? await context.newPage()
    return { context, page }
  }

  beforeAll(async () => {
    assertInNetns()
    ;[site, profile] = await Promise.all([startLocalSite(HELLO), makeTempDir('peersite-profile-')])
    pieceCount = site.result.metainfo.pieceCount
  })

  afterAll(async () => {
    await visitor?.close().catch(() => {})
    await browser?.close().catch(() => {})
    await site?.stopSeeder().catch(() => {})
    await site?.server.close().catch(() => {})
    await site?.tracker.close().catch(() => {})
    await profile?.cleanup()
  })

  it('a first visit fetches the whole site in the background after the first page, and stores it', async () => {
    const { context, page } = await launchVisitor()
    try {
      await page.goto(site.url)
      await waitForFrameH1(page, HOME_H1)
      // examples/hello is far below the default prefetch limit: every piece, also those of the pages the home page
      // does not load (about.html, docs/guide/, 404.html), which only the prefetch fetches.
      await page.waitForFunction(() => (window as unknown as { peersite?: { prefetch?: number } }).peersite?.prefetch !== undefined)
      // The files' bytes: the torrent's length also counts BEP 47 padding, which is never fetched.
      expect((await held(page)).prefetch).toBe(site.result.metainfo.files.reduce((n, f) => n + f.length, 0))
      await waitForPieces(page, pieceCount)
      // A first visit's pieces wait in memory until IndexedDB's code has loaded after the first page, then move there
      // (loader/engine-host.ts persistStore); those verified later go there directly, counted once they are written.
      await page.waitForFunction(() => (window as unknown as { peersite?: { persisted?: boolean } }).peersite?.persisted === true)
    } finally {
      await context.close()
      visitor = undefined
    }
  })

  let returning: Page
  it('after a browser restart, with the seeder gone, the stored pieces are announced at once', async () => {
    await site.stopSeeder()
    const { page } = await launchVisitor()
    returning = page
    await page.goto(site.url)
    await waitForFrameH1(page, HOME_H1)
    await waitForPieces(page, pieceCount)
    const state = await loaderState(page)
    expect(state?.leader).toBe(true)
    expect(state?.done).toBe(true)
    expect(state?.downloaded).toBe(0) // nothing fetched again: it all came from IndexedDB
  })

  it('the returning visitor serves a fresh visitor', async () => {
    browser = await launchChromium()
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(site.url)
    await waitForFrameH1(page, HOME_H1)
    const frame = await siteFrame(page)
    await frame.click('a[href="docs/guide/"]')
    await waitForFrameH1(page, GUIDE_H1)
    expect((await loaderState(page))?.downloaded).toBeGreaterThan(0)
    expect((await loaderState(returning))?.uploaded).toBeGreaterThan(0)
    await context.close()
    await browser.close()
    browser = undefined
  })

  it('offline, a reload still renders its pages, also one it never opened (prefetched)', async () => {
    const context = visitor!
    // The network is cut and the host is gone: nothing can come from it.
    await context.setOffline(true)
    await site.server.close()
    await returning.reload()
    await waitForFrameH1(returning, HOME_H1)
    // The guide page was never opened by this visitor: not in the worker's file cache, only in IndexedDB. The
    // engine boots offline (manifest and torrent from the worker's cache) and serves it from there.
    const frame = await siteFrame(returning)
    await frame.click('a[href="docs/guide/"]')
    await waitForFrameH1(returning, GUIDE_H1, 15_000)
    // A return visit's engine starts once the page has gone quiet (loader/index.html), with every piece from IndexedDB.
    await waitForPieces(returning, pieceCount)
    expect((await held(returning)).have).toBe(pieceCount)
  })
})

describe('a visitor who came once returns offline', () => {
  let site: LocalSite
  let browser: Browser

  beforeAll(async () => {
    assertInNetns()
    ;[site, browser] = await Promise.all([startLocalSite(HELLO), launchChromium()])
  })

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await site?.close().catch(() => {})
  })

  it('the engine starts offline (peersite.js cached at the first visit) and serves a page never opened', async () => {
    const context = await browser.newContext()
    try {
      const first = await context.newPage()
      await first.goto(site.url)
      await waitForFrameH1(first, HOME_H1)
      await first.waitForFunction(() => (window as unknown as { peersite?: { persisted?: boolean } }).peersite?.persisted === true)
      await waitForPieces(first, site.result.metainfo.pieceCount)
      // Days later: the browser's HTTP cache no longer has the loader's files (or they are stale), only the worker's.
      await (await context.newCDPSession(first)).send('Network.clearBrowserCache')
      await first.close()
      // No second visit online: the host and the seeder are gone, the network is cut.
      await site.close()
      await context.setOffline(true)
      const back = await context.newPage()
      await back.goto(site.url)
      await waitForFrameH1(back, HOME_H1)
      await (await siteFrame(back)).click('a[href="docs/guide/"]')
      await waitForFrameH1(back, GUIDE_H1, 15_000)
      // The engine booted offline on the stored pieces (the pages of a site this small may all be in the worker's
      // file cache already): what serves a prefetched page and seeds the site to the next visitor.
      await waitForPieces(back, site.result.metainfo.pieceCount)
      expect((await loaderState(back))?.leader).toBe(true)
    } finally {
      await context.close()
    }
  })
})

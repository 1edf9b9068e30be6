/**
 * The Firefox tier: the main loader scenarios in Debian's Firefox ESR, driven headless with puppeteer-core over
 * WebDriver BiDi (Playwright cannot drive a stock Firefox, and its own build cannot be downloaded here). A fresh
 * profile renders examples/hello from the swarm (page, stylesheet, script, image, web font, all through the service
 * worker), links, back and reload work, and after the seeder stops a second Firefox visitor
 * gets the site from the first (another user context: its own storage and service worker).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/firefox.test.ts
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'puppeteer-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { makeTempDir, type TempDir } from '../helpers/tmp.js'
import { launchFirefox, repoRoot, startLocalSite, type LocalSite } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')
const HOME_H1 = 'Hello from peersite'
const HOME_TITLE = 'Hello from peersite'

/** The site frame's <h1> reads `text` (the frame may navigate meanwhile). */
async function frameH1 (page: Page, text: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction((t) => {
    const frame = document.getElementById('peersite-frame') as HTMLIFrameElement | null
    return frame?.contentDocument?.querySelector('h1')?.textContent === t
  }, { timeout }, text)
}

/** Runs `fn` on the site frame's document (same origin as the shell). */
async function inFrame<T> (page: Page, fn: string): Promise<T> {
  return await page.evaluate((src) => {
    const frame = document.getElementById('peersite-frame') as HTMLIFrameElement
    // eslint-disable-next-line no-new-func
    return new Function('doc', 'win', `return (${src})(doc, win)`)(frame.contentDocument, frame.contentWindow)
  }, fn) as T
}

async function stats (page: Page): Promise<{ leader: boolean, peers: number, downloaded: number, uploaded: number, done: boolean }> {
  return await page.evaluate(() => {
    const p = (window as unknown as { peersite: { leader: boolean, torrent?: { done: boolean }, stats(): { peers: number, downloaded: number, uploaded: number } | undefined } }).peersite
    const s = p.stats()
    return { leader: p.leader, peers: s?.peers ?? 0, downloaded: s?.downloaded ?? 0, uploaded: s?.uploaded ?? 0, done: p.torrent?.done === true }
  })
}

describe('Firefox: the loader serves a site from the swarm', () => {
  let site: LocalSite
  let browser: Browser
  let profile: TempDir
  /** A visitor: a fresh user context (its own storage, service workers and Web Locks, like another profile). */
  const visitor = async (): Promise<Page> => await (await browser.createBrowserContext()).newPage()

  beforeAll(async () => {
    assertInNetns()
    profile = await makeTempDir('peersite-firefox-')
    ;[browser, site] = await Promise.all([launchFirefox(profile.path), startLocalSite(HELLO)])
  })

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await site?.close()
    await profile?.cleanup()
  })

  let home: Page

  it('a fresh profile shows the site: title, stylesheet, script, image, web font', async () => {
    home = await visitor()
    await home.goto(site.url)
    await frameH1(home, HOME_H1)
    await home.waitForFunction(() => {
      const doc = (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument
      const img = doc?.querySelector('img')
      return doc?.getElementById('app-status')?.textContent === 'app.js ran: hello from peersite!' &&
        img != null && img.complete && img.naturalWidth > 0
    }, { timeout: 20_000 })
    expect(await inFrame<string>(home, '(doc, win) => win.getComputedStyle(doc.querySelector("h1")).color')).toBe('rgb(12, 34, 56)')
    await home.waitForFunction(() => {
      const doc = (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument
      return doc != null && [...doc.fonts].some((f) => f.family.replace(/"/g, '') === 'Open Sans' && f.status === 'loaded')
    }, { timeout: 20_000 })
    await home.waitForFunction((t) => document.title === t, {}, HOME_TITLE)
    expect(home.url()).toBe(site.url)
    const s = await stats(home)
    expect(s.leader).toBe(true)
    expect(s.peers).toBeGreaterThanOrEqual(1)
    expect(s.downloaded).toBeGreaterThan(0)
    // The page came through the service worker: the static host only has the loader.
    expect(await home.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true)
  }, 60_000)

  it('links, back and reload work, and the address bar shows the real paths', async () => {
    await inFrame(home, '(doc) => doc.querySelector(\'a[href="docs/guide/"]\').click()')
    await frameH1(home, 'Guide')
    await home.waitForFunction((u) => location.href === u, {}, `${site.url}docs/guide/`)
    await home.evaluate(() => history.back())
    await frameH1(home, HOME_H1)
    await home.waitForFunction((u) => location.href === u, {}, site.url)
    await home.evaluate(() => history.forward())
    await frameH1(home, 'Guide')
    await home.reload()
    await frameH1(home, 'Guide')
    expect(home.url()).toBe(`${site.url}docs/guide/`)
  }, 60_000)

  it('a second visitor loads the site from the first after the seeder stops', async () => {
    await home.goto(site.url)
    await frameH1(home, HOME_H1)
    await home.waitForFunction(() => (window as unknown as { peersite?: { torrent?: { done: boolean } } }).peersite?.torrent?.done === true, { timeout: 30_000 })
    await site.stopSeeder()
    const second = await visitor()
    await second.goto(site.url)
    await frameH1(second, HOME_H1, 45_000)
    await second.waitForFunction(() => {
      const img = (document.getElementById('peersite-frame') as HTMLIFrameElement | null)?.contentDocument?.querySelector('img')
      return img != null && img.complete && img.naturalWidth > 0
    }, { timeout: 20_000 })
    const s = await stats(second)
    expect(s.peers).toBeGreaterThanOrEqual(1)
    expect(s.downloaded).toBeGreaterThan(0)
    expect((await stats(home)).uploaded).toBeGreaterThan(0)
  }, 90_000)
})

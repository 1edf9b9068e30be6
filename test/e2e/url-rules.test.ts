/**
 * Real sites behave as on GitHub Pages or Netlify: the same folders (test/fixtures/sites: a generator-shaped site
 * with clean URLs, nested index pages, a `_redirects` file, a hash router and a pushState app; a single-page app
 * published with --spa) are opened in Chromium from peersite and from a plain static host (./plain-host.ts) in the
 * same run, and every URL rule and every step of history (clicks, reloads, back, forward, deep links) must give the
 * same address, title and page on both. `_redirects` is compared with Netlify's documented behaviour. The history
 * scenarios are shared with the Firefox tier (./history-compare.ts, history-firefox.test.ts).
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/url-rules.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Frame, Page, Response, Route } from 'playwright-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { launchChromium, siteFrame, waitForFrameH1 } from './harness.js'
import { compareHistory, HISTORY_SCENARIOS, peersiteSnapshot, plainSnapshot, playwrightTab, startHistorySites, type HistorySites, type Snapshot } from './history-compare.js'

/** How one address answers: the statuses of its redirect chain, the final path and the page's heading. */
interface Answer { chain: number[], path: string, h1: string }

describe('URL rules and history, peersite against a plain static host', () => {
  let browser: Browser
  let sites: HistorySites
  const contexts: BrowserContext[] = []
  const fresh = async (): Promise<Page> => {
    const context = await browser.newContext()
    contexts.push(context)
    return await context.newPage()
  }

  beforeAll(async () => {
    assertInNetns()
    ;[browser, sites] = await Promise.all([launchChromium(), startHistorySites()])
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await sites?.close()
  })

  const h1Of = async (frame: Frame): Promise<string> => await frame.evaluate(() => document.querySelector('h1')?.textContent ?? '').catch(() => '')

  /** Navigates `frame` (the plain page's main frame, or peersite's site frame) to `url` and reads the answer. */
  const answerOf = async (frame: Frame, base: string, url: string): Promise<Answer> => {
    const response = await frame.goto(url)
    const chain: number[] = []
    for (let r: Response | null = response; r !== null; r = (await r.request().redirectedFrom()?.response()) ?? null) chain.unshift(r.status())
    return { chain, path: `/${frame.url().slice(base.length)}`, h1: await h1Of(frame) }
  }

  it('published with a warning for the bad _redirects line, and the rules in peersite.json', () => {
    expect(sites.docs.result.plan.warnings).toEqual([expect.stringMatching(/^_redirects line 8: too many fields/)])
    expect(sites.docs.manifest.redirects).toHaveLength(6)
    expect(sites.spa.manifest.spa).toBe(true)
  })

  it('every static URL rule answers as on the plain host: clean URLs, folder redirects, index pages, 404.html', async () => {
    const plain = await fresh()
    const page = await fresh()
    await page.goto(sites.docs.url)
    await waitForFrameH1(page, 'Home')
    const frame = await siteFrame(page)
    const paths = ['', 'about', 'about.html', 'guide', 'guide/', 'guide/setup', 'guide/setup.html', 'guide/setup?x=1', 'posts/hello',
      'posts/', 'posts', 'hash', 'nope', 'guide/nope', 'no/such/deep/page']
    for (const path of paths) {
      const want = await answerOf(plain.mainFrame(), sites.plainDocs.url, sites.plainDocs.url + path)
      const got = await answerOf(frame, sites.docs.url, sites.docs.url + path)
      expect({ asked: path, ...got }).toEqual({ asked: path, ...want })
    }
    // The reported bug: a clean URL opened directly (a new tab, a reload) showed the 404 page.
    const deep = await fresh()
    await deep.goto(`${sites.docs.url}guide/setup`)
    await waitForFrameH1(deep, 'Setup')
    expect(deep.url()).toBe(`${sites.docs.url}guide/setup`)
    await deep.waitForFunction(() => document.title === 'Setup - Guide - Docs')
  }, 120_000)

  it('the _redirects rules answer as Netlify documents them', async () => {
    const page = await fresh()
    await page.goto(sites.docs.url)
    await waitForFrameH1(page, 'Home')
    const frame = await siteFrame(page)
    // Netlify: 301 is the default status, placeholders and :splat are substituted, a 200 rule rewrites (the URL
    // stays), a 404 rule serves its page with 404, a rule never shadows an existing file unless forced (!), and
    // _redirects itself is not served.
    const expected: Array<[string, Answer]> = [
      ['old-about', { chain: [301, 200], path: '/about', h1: 'About' }],
      ['blog/hello', { chain: [302, 200], path: '/posts/hello', h1: 'Hello post' }],
      ['docs/setup', { chain: [301, 200], path: '/guide/setup', h1: 'Setup' }],
      ['docs', { chain: [301, 200], path: '/guide/', h1: 'Guide' }],
      ['app/users/42', { chain: [200], path: '/app/users/42', h1: 'app: /app/users/42' }],
      ['app/', { chain: [200], path: '/app/', h1: 'app: /app/' }],
      ['gone', { chain: [404], path: '/gone', h1: 'Not found' }],
      ['index.html', { chain: [301, 200], path: '/', h1: 'Home' }],
      ['about', { chain: [200], path: '/about', h1: 'About' }],
      ['_redirects', { chain: [404], path: '/_redirects', h1: 'Not found' }]
    ]
    for (const [path, want] of expected) {
      expect({ asked: path, ...await answerOf(frame, sites.docs.url, sites.docs.url + path) }).toEqual({ asked: path, ...want })
    }
  }, 120_000)

  it('--spa: unknown paths get index.html with 200, as on the plain host with its SPA fallback', async () => {
    const plain = await fresh()
    const page = await fresh()
    await page.goto(sites.spa.url)
    await waitForFrameH1(page, 'spa: /')
    const frame = await siteFrame(page)
    for (const path of ['', 'settings', 'users/7', 'users/7/', 'main.js']) {
      const want = await answerOf(plain.mainFrame(), sites.plainSpa.url, sites.plainSpa.url + path)
      const got = await answerOf(frame, sites.spa.url, sites.spa.url + path)
      expect({ asked: path, ...got }).toEqual({ asked: path, ...want })
    }
  }, 120_000)

  it('the address and title follow a new page from its commit, before its load event, as on the plain host: a reload then shows that page (first visit, return visit, without peersite-later.js)', async () => {
    // slow.html's image is held back here until released, so the page's load event waits (the other tests find
    // nothing listening there and the image fails at once).
    const held: Route[] = []
    let holding = true
    const holdImage = async (context: BrowserContext): Promise<void> => {
      await context.route('**/held.png', async (route) => { if (holding) held.push(route); else await route.abort() })
    }
    const release = async (): Promise<void> => {
      holding = false
      for (const route of held.splice(0)) await route.abort().catch(() => {})
    }
    const strip = (s: Snapshot, base: string): Snapshot => ({ ...s, url: s.url.startsWith(base) ? `/${s.url.slice(base.length)}` : s.url })
    const notLoaded = async (frame: Frame): Promise<boolean> => await frame.evaluate(() => document.readyState !== 'complete')
    /** peersite's view until it matches `want` (15 s at most), then compared. */
    const expectPeersite = async (page: Page, want: Snapshot, label: string): Promise<void> => {
      const deadline = Date.now() + 15_000
      let got = strip(await peersiteSnapshot(playwrightTab(page)), sites.docs.url)
      while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        got = strip(await peersiteSnapshot(playwrightTab(page)), sites.docs.url)
      }
      expect({ step: label, ...got }).toEqual({ step: label, ...want })
    }
    const plainAt = async (plain: Page, h1: string): Promise<Snapshot> => {
      await plain.waitForFunction((text) => document.querySelector('h1')?.textContent === text, h1)
      return strip(await plainSnapshot(playwrightTab(plain)), sites.plainDocs.url)
    }
    /** Home, a link to slow.html, a reload while its image is held, then the image fails and the page loads. */
    const visit = async (label: string, page: Page, plain: Page, withHistory: boolean): Promise<void> => {
      holding = true
      await plain.goto(sites.plainDocs.url)
      const plainBefore = await plain.evaluate(() => history.length)
      await plain.click('#to-slow')
      const want = await plainAt(plain, 'Slow')
      expect(await plain.evaluate(() => history.length)).toBe(plainBefore + 1)
      expect(await notLoaded(plain.mainFrame())).toBe(true)
      expect(want).toMatchObject({ url: '/slow', title: 'Slow - Docs' })
      await page.goto(sites.docs.url)
      const home = await waitForFrameH1(page, 'Home', 60_000)
      await page.waitForFunction((w) => {
        const debug = (window as unknown as { peersite?: { loaded: boolean, history?: boolean } }).peersite
        return debug?.loaded === true && (debug.history === true) === w
      }, withHistory)
      const entries = async (): Promise<number> => await page.evaluate(() => history.length)
      const before = await entries()
      await home.click('#to-slow')
      const slow = await waitForFrameH1(page, 'Slow')
      await expectPeersite(page, want, `${label}: a link`)
      expect(await notLoaded(slow)).toBe(true)
      // One new entry, as on the plain host: the address mirrored at the commit adds none of its own.
      expect(await entries()).toBe(before + 1)
      await plain.reload({ waitUntil: 'commit' })
      const wantReloaded = await plainAt(plain, 'Slow')
      await page.reload({ waitUntil: 'commit' })
      await waitForFrameH1(page, 'Slow', 60_000)
      await expectPeersite(page, wantReloaded, `${label}: a reload`)
      await release()
      await plain.waitForFunction(() => document.readyState === 'complete')
      await expectPeersite(page, strip(await plainSnapshot(playwrightTab(plain)), sites.plainDocs.url), `${label}: loaded`)
    }
    const plainContext = await browser.newContext()
    contexts.push(plainContext)
    await holdImage(plainContext)
    const plain = await plainContext.newPage()
    const context = await browser.newContext()
    contexts.push(context)
    await holdImage(context)
    await visit('first visit', await context.newPage(), plain, true)
    await visit('return visit', await context.newPage(), plain, true)
    // peersite-later.js fails to load: the shell never gets its history code (the frame keeps its own entries).
    const noLater = await browser.newContext()
    contexts.push(noLater)
    await holdImage(noLater)
    await noLater.route(/\/peersite-later\.js(\?|$)/, async (route) => { await route.abort() })
    await visit('without peersite-later.js', await noLater.newPage(), plain, false)
  }, 240_000)

  for (const scenario of HISTORY_SCENARIOS) {
    it(scenario.name, async () => {
      await compareHistory(async () => playwrightTab(await fresh()), sites, scenario)
    }, 180_000)
  }
})

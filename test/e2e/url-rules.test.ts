/**
 * Real sites behave as on GitHub Pages or Netlify: the same folders (test/fixtures/sites: a generator-shaped site
 * with clean URLs, nested index pages, a `_redirects` file, a hash router and a pushState app; a single-page app
 * published with --spa) are opened in Chromium from peersite and from a plain static host (./plain-host.ts) in the
 * same run, and every URL rule and every step of history (clicks, reloads, back, forward, deep links) must give the
 * same address, title and page on both. `_redirects` is compared with Netlify's documented behaviour.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/url-rules.test.ts
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Frame, Page, Response } from 'playwright-core'
import { assertInNetns } from '../helpers/webrtc.js'
import { launchChromium, repoRoot, siteFrame, startLocalSite, waitForFrameH1, type LocalSite } from './harness.js'
import { startPlainHost, type PlainHost } from './plain-host.js'

const DOCS = join(repoRoot, 'test', 'fixtures', 'sites', 'docs')
const SPA = join(repoRoot, 'test', 'fixtures', 'sites', 'spa')

/** What a visitor sees: the address bar, the window's title, the page's heading and how far it is scrolled. */
interface Snapshot { url: string, title: string, h1: string, scrollY: number }

/** How one address answers: the statuses of its redirect chain, the final path and the page's heading. */
interface Answer { chain: number[], path: string, h1: string }

type Step = { click: string } | { scroll: number } | 'reload' | 'back' | 'forward'

describe('URL rules and history, peersite against a plain static host', () => {
  let browser: Browser
  let docs: LocalSite
  let spa: LocalSite
  let plainDocs: PlainHost
  let plainSpa: PlainHost
  const contexts: BrowserContext[] = []
  const fresh = async (): Promise<Page> => {
    const context = await browser.newContext()
    contexts.push(context)
    return await context.newPage()
  }

  beforeAll(async () => {
    assertInNetns()
    ;[browser, docs, spa, plainDocs, plainSpa] = await Promise.all([
      launchChromium(), startLocalSite(DOCS), startLocalSite(SPA, { spa: true }), startPlainHost(DOCS), startPlainHost(SPA, { spa: true })
    ])
  })

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await Promise.all([docs?.close(), spa?.close(), plainDocs?.close(), plainSpa?.close()])
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
    expect(docs.result.plan.warnings).toEqual([expect.stringMatching(/^_redirects line 8: too many fields/)])
    expect(docs.manifest.redirects).toHaveLength(6)
    expect(spa.manifest.spa).toBe(true)
  })

  it('every static URL rule answers as on the plain host: clean URLs, folder redirects, index pages, 404.html', async () => {
    const plain = await fresh()
    const page = await fresh()
    await page.goto(docs.url)
    await waitForFrameH1(page, 'Home')
    const frame = await siteFrame(page)
    const paths = ['', 'about', 'about.html', 'guide', 'guide/', 'guide/setup', 'guide/setup.html', 'guide/setup?x=1', 'posts/hello',
      'posts/', 'posts', 'hash', 'nope', 'guide/nope', 'no/such/deep/page']
    for (const path of paths) {
      const want = await answerOf(plain.mainFrame(), plainDocs.url, plainDocs.url + path)
      const got = await answerOf(frame, docs.url, docs.url + path)
      expect({ asked: path, ...got }).toEqual({ asked: path, ...want })
    }
    // The reported bug: a clean URL opened directly (a new tab, a reload) showed the 404 page.
    const deep = await fresh()
    await deep.goto(`${docs.url}guide/setup`)
    await waitForFrameH1(deep, 'Setup')
    expect(deep.url()).toBe(`${docs.url}guide/setup`)
    await deep.waitForFunction(() => document.title === 'Setup - Guide - Docs')
  }, 120_000)

  it('the _redirects rules answer as Netlify documents them', async () => {
    const page = await fresh()
    await page.goto(docs.url)
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
      expect({ asked: path, ...await answerOf(frame, docs.url, docs.url + path) }).toEqual({ asked: path, ...want })
    }
  }, 120_000)

  it('--spa: unknown paths get index.html with 200, as on the plain host with its SPA fallback', async () => {
    const plain = await fresh()
    const page = await fresh()
    await page.goto(spa.url)
    await waitForFrameH1(page, 'spa: /')
    const frame = await siteFrame(page)
    for (const path of ['', 'settings', 'users/7', 'users/7/', 'main.js']) {
      const want = await answerOf(plain.mainFrame(), plainSpa.url, plainSpa.url + path)
      const got = await answerOf(frame, spa.url, spa.url + path)
      expect({ asked: path, ...got }).toEqual({ asked: path, ...want })
    }
  }, 120_000)

  /** The visitor's view of the plain page. */
  const plainSnapshot = async (page: Page): Promise<Snapshot> =>
    ({ url: page.url(), title: await page.title(), h1: await h1Of(page.mainFrame()), scrollY: Math.round(await page.evaluate(() => scrollY)) })

  /** The visitor's view of peersite: the window's address and title, the site frame's heading. */
  const peersiteSnapshot = async (page: Page): Promise<Snapshot> => {
    try {
      return await page.evaluate(() => {
        const frame = document.getElementById('peersite-frame') as HTMLIFrameElement | null
        return {
          url: location.href,
          title: document.title,
          h1: frame?.contentDocument?.querySelector('h1')?.textContent ?? '',
          scrollY: Math.round(frame?.contentWindow?.scrollY ?? -1)
        }
      })
    } catch {
      return { url: page.url(), title: '', h1: '', scrollY: -1 } // mid-navigation
    }
  }

  const act = async (page: Page, frame: () => Promise<Frame>, step: Step): Promise<void> => {
    if (step === 'reload') await page.reload({ waitUntil: 'commit' })
    else if (step === 'back') await page.evaluate(() => { history.back() })
    else if (step === 'forward') await page.evaluate(() => { history.forward() })
    else if ('scroll' in step) await (await frame()).evaluate((y) => { scrollTo(0, y) }, step.scroll)
    else await (await frame()).click(step.click)
  }

  /**
   * Runs the same steps on the plain host and on peersite and compares what the visitor sees after each. The plain
   * side settles first (its snapshot is the expectation); peersite gets up to 15 s to show the same.
   */
  const compareHistory = async (plainBase: string, site: LocalSite, start: string, steps: Step[]): Promise<void> => {
    const plain = await fresh()
    await plain.goto(plainBase + start)
    const page = await fresh()
    await page.goto(site.url + start)
    const strip = (s: Snapshot, base: string): Snapshot => ({ ...s, url: s.url.startsWith(base) ? `/${s.url.slice(base.length)}` : s.url })
    const settle = async (want: Snapshot, label: string): Promise<void> => {
      const deadline = Date.now() + 15_000
      let got = strip(await peersiteSnapshot(page), site.url)
      while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        got = strip(await peersiteSnapshot(page), site.url)
      }
      expect({ step: label, ...got }).toEqual({ step: label, ...want })
    }
    const plainSettled = async (): Promise<Snapshot> => {
      await plain.waitForLoadState('load')
      // Same-document steps (a fragment, a pushState route) finish in a task: let them run.
      await plain.waitForTimeout(150)
      return strip(await plainSnapshot(plain), plainBase)
    }
    await settle(await plainSettled(), `open ${start}`)
    for (const [i, step] of steps.entries()) {
      // The plain page: Playwright's own history calls, which wait for the navigation (also same-document ones).
      if (step === 'back') await plain.goBack()
      else if (step === 'forward') await plain.goForward()
      else await act(plain, async () => plain.mainFrame(), step)
      const want = await plainSettled()
      await act(page, async () => await siteFrame(page), step)
      await settle(want, `${i + 1}: ${typeof step === 'string' ? step : JSON.stringify(step)}`)
    }
  }

  it('history of a multi-page site: links, reloads, back and forward as on the plain host (A -> B -> C, reload, back, back)', async () => {
    await compareHistory(plainDocs.url, docs, '', [
      { click: '#to-about' }, { click: '#to-guide' }, { click: '#to-setup' },
      'reload', 'back', 'back', 'back', 'forward', 'forward', 'reload', 'back', 'forward', 'forward'
    ])
  }, 180_000)

  it('history after a deep link, with a reload in the middle', async () => {
    await compareHistory(plainDocs.url, docs, 'guide/setup', [
      { click: '#to-post' }, 'back', 'reload', 'forward', { click: '#to-home' }, 'reload', 'back', 'back'
    ])
  }, 180_000)

  it('the scroll position comes back with Back, Forward and a reload', async () => {
    await compareHistory(plainDocs.url, docs, 'long', [
      { scroll: 1200 }, { click: '#to-about' }, 'back', 'reload', 'forward', 'back', { scroll: 300 }, 'reload'
    ])
  }, 180_000)

  it('history of hash routes, across a reload', async () => {
    await compareHistory(plainDocs.url, docs, 'hash', [
      { click: '#to-one' }, { click: '#to-two' }, 'back', 'forward', 'reload', 'back', 'back', 'forward', 'forward'
    ])
  }, 180_000)

  it('history of a pushState single-page app (--spa), across reloads', async () => {
    await compareHistory(plainSpa.url, spa, '', [
      { click: 'a[href="/settings"]' }, { click: 'a[href="/users/7"]' }, { click: 'a[href="/users/7#bio"]' },
      'back', 'reload', 'back', 'back', 'forward', 'reload', 'forward', 'forward'
    ])
  }, 180_000)
})

/**
 * History as on a plain host, for any browser: the generator-shaped fixtures (test/fixtures/sites: a multi-page docs
 * site with clean URLs, a long page, hash routes; a pushState app published with --spa) are published with peersite
 * and served by a plain static host (./plain-host.ts) in the same run, and the same steps (clicks, scrolls, reloads,
 * back, forward, deep links) are taken on both: after each one, peersite must show what the plain page shows (the
 * address, the window's title, the page's heading and how far it is scrolled).
 *
 * Browser-neutral: a test hands in `Tab`s (playwrightTab for Chromium in url-rules.test.ts, puppeteerTab for Firefox
 * in history-firefox.test.ts); everything else (the scenarios, the snapshots, the waiting) is shared.
 */
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Page as PlaywrightPage } from 'playwright-core'
import type { Page as PuppeteerPage } from 'puppeteer-core'
import { repoRoot, startLocalSite, type LocalSite } from './harness.js'
import { startPlainHost, type PlainHost } from './plain-host.js'

export const DOCS = join(repoRoot, 'test', 'fixtures', 'sites', 'docs')
export const SPA = join(repoRoot, 'test', 'fixtures', 'sites', 'spa')

/** What a visitor sees: the address bar, the window's title, the page's heading and how far it is scrolled. */
export interface Snapshot { url: string, title: string, h1: string, scrollY: number }

export type Step = { click: string } | { scroll: number } | 'reload' | 'back' | 'forward'

export interface HistoryScenario {
  readonly name: string
  /** The --spa site (the pushState app) rather than the docs site. */
  readonly spa?: boolean
  /** The first address, relative to the site root (a deep link when not ''). */
  readonly start: string
  readonly steps: readonly Step[]
}

export const HISTORY_SCENARIOS: readonly HistoryScenario[] = [
  {
    name: 'history of a multi-page site: links, reloads, back and forward as on the plain host (A -> B -> C, reload, back, back)',
    start: '',
    steps: [
      { click: '#to-about' }, { click: '#to-guide' }, { click: '#to-setup' },
      'reload', 'back', 'back', 'back', 'forward', 'forward', 'reload', 'back', 'forward', 'forward'
    ]
  },
  {
    name: 'history after a deep link, with a reload in the middle',
    start: 'guide/setup',
    steps: [{ click: '#to-post' }, 'back', 'reload', 'forward', { click: '#to-home' }, 'reload', 'back', 'back']
  },
  {
    name: 'the scroll position comes back with Back, Forward and a reload',
    start: 'long',
    steps: [{ scroll: 1200 }, { click: '#to-about' }, 'back', 'reload', 'forward', 'back', { scroll: 300 }, 'reload']
  },
  {
    name: 'history of hash routes, across a reload',
    start: 'hash',
    steps: [{ click: '#to-one' }, { click: '#to-two' }, 'back', 'forward', 'reload', 'back', 'back', 'forward', 'forward']
  },
  {
    name: 'history of a pushState single-page app (--spa), across reloads',
    spa: true,
    start: '',
    steps: [
      { click: 'a[href="/settings"]' }, { click: 'a[href="/users/7"]' }, { click: 'a[href="/users/7#bio"]' },
      'back', 'reload', 'back', 'back', 'forward', 'reload', 'forward', 'forward'
    ]
  }
]

/** Both fixtures from peersite (published and seeded) and from the plain host. */
export interface HistorySites {
  readonly docs: LocalSite
  readonly spa: LocalSite
  readonly plainDocs: PlainHost
  readonly plainSpa: PlainHost
  close (): Promise<void>
}

export async function startHistorySites (): Promise<HistorySites> {
  const [docs, spa, plainDocs, plainSpa] = await Promise.all([
    startLocalSite(DOCS), startLocalSite(SPA, { spa: true }), startPlainHost(DOCS), startPlainHost(SPA, { spa: true })
  ])
  return {
    docs,
    spa,
    plainDocs,
    plainSpa,
    close: async () => { await Promise.all([docs.close(), spa.close(), plainDocs.close(), plainSpa.close()]) }
  }
}

/** One browser tab as the comparison drives it, whatever drives the browser. */
export interface Tab {
  /** Opens `url` and resolves once it has loaded. */
  goto (url: string): Promise<void>
  /** Reloads; resolves once the new document exists (not necessarily loaded). */
  reload (): Promise<void>
  /** Runs `fn` in the tab's top document. */
  evaluate<T, A> (fn: (arg: A) => T, arg: A): Promise<T>
  /** A real click on the element `selector` in the top document, or in peersite's site frame. */
  click (selector: string, inSiteFrame: boolean): Promise<void>
}

export function playwrightTab (page: PlaywrightPage): Tab {
  return {
    goto: async (url) => { await page.goto(url) },
    reload: async () => { await page.reload({ waitUntil: 'commit' }) },
    evaluate: async <T, A>(fn: (arg: A) => T, arg: A) => await page.evaluate(fn as (a: unknown) => T, arg as unknown),
    click: async (selector, inSiteFrame) => {
      if (!inSiteFrame) return await page.click(selector)
      const frame = await (await page.waitForSelector(`#${FRAME_ID}`, { state: 'attached' }))?.contentFrame()
      if (frame === null || frame === undefined) throw new Error('the site frame has no content frame')
      await frame.click(selector)
    }
  }
}

export function puppeteerTab (page: PuppeteerPage): Tab {
  return {
    goto: async (url) => { await page.goto(url) },
    reload: async () => { await page.reload({ waitUntil: 'domcontentloaded' }) },
    evaluate: async <T, A>(fn: (arg: A) => T, arg: A) => await page.evaluate(fn as (a: unknown) => T, arg as unknown) as T,
    click: async (selector, inSiteFrame) => {
      if (!inSiteFrame) return await page.click(selector)
      const frame = await (await page.waitForSelector(`#${FRAME_ID}`))?.contentFrame()
      if (frame === null || frame === undefined) throw new Error('the site frame has no content frame')
      await frame.click(selector)
    }
  }
}

/** The shell's site frame (loader/shell.ts FRAME_ID). */
const FRAME_ID = 'peersite-frame'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `fn` in the tab until it is true or `timeoutMs` has passed (a document mid-navigation counts as false). */
async function waitInTab<A = undefined> (tab: Tab, fn: (arg: A) => boolean, timeoutMs: number, arg?: A): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await tab.evaluate(fn, arg as A).catch(() => false)) return true
    if (Date.now() >= deadline) return false
    await sleep(100)
  }
}

/** The visitor's view of the plain page. */
export async function plainSnapshot (tab: Tab): Promise<Snapshot> {
  return await tab.evaluate(() => ({
    url: location.href,
    title: document.title,
    h1: document.querySelector('h1')?.textContent ?? '',
    scrollY: Math.round(scrollY)
  }), undefined)
}

/** The visitor's view of peersite: the window's address and title, the site frame's heading and scroll. */
export async function peersiteSnapshot (tab: Tab): Promise<Snapshot> {
  try {
    return await tab.evaluate((id) => {
      const frame = document.getElementById(id) as HTMLIFrameElement | null
      return {
        url: location.href,
        title: document.title,
        h1: frame?.contentDocument?.querySelector('h1')?.textContent ?? '',
        scrollY: Math.round(frame?.contentWindow?.scrollY ?? -1)
      }
    }, FRAME_ID)
  } catch {
    return { url: '', title: '', h1: '', scrollY: -1 } // mid-navigation
  }
}

/**
 * peersite's first page has loaded in this shell (loader/main.ts sets `window.peersite.loaded`), and the shell has
 * taken over the history (`window.peersite.history`: its code comes with peersite-later.js, after the first page).
 */
const shellLoaded = (): boolean => {
  const debug = (window as unknown as { peersite?: { loaded: boolean, history?: boolean } }).peersite
  return debug?.loaded === true && debug.history === true
}

/**
 * How long peersite may take to show its first page when the shell (re)starts: a first visit installs the worker
 * and connects to a peer over WebRTC, which on a loaded machine can take longer than a step (a missed first
 * connection waits for the next announce). The comparison itself still has STEP_MS after that.
 */
const FIRST_PAGE_MS = 45_000
/** How long peersite may take to show what the plain page shows after a step. */
const STEP_MS = 15_000

async function act (tab: Tab, step: Step, peersite: boolean): Promise<void> {
  if (step === 'reload') await tab.reload()
  // From a task of its own: a traversal that leaves the document could otherwise destroy the evaluation's context
  // before its answer comes back ("Execution context was destroyed", seen in CI); the waits that follow see it happen.
  else if (step === 'back') await tab.evaluate(() => { setTimeout(() => { history.back() }, 0) }, undefined)
  else if (step === 'forward') await tab.evaluate(() => { setTimeout(() => { history.forward() }, 0) }, undefined)
  else if ('click' in step) await tab.click(step.click, peersite)
  else {
    await tab.evaluate(([y, id]) => {
      const win = id === '' ? window : (document.getElementById(id) as HTMLIFrameElement).contentWindow!
      win.scrollTo(0, y)
    }, [step.scroll, peersite ? FRAME_ID : ''] as const)
  }
}

/**
 * Takes the scenario's steps on the plain host and on peersite, in two fresh tabs (`open`), and compares what the
 * visitor sees after each. The plain side settles first (its snapshot is the expectation); peersite gets STEP_MS to
 * show the same, after its first page when the step (re)started the shell.
 */
export async function compareHistory (open: () => Promise<Tab>, sites: HistorySites, scenario: HistoryScenario): Promise<void> {
  const plainBase = scenario.spa === true ? sites.plainSpa.url : sites.plainDocs.url
  const siteUrl = scenario.spa === true ? sites.spa.url : sites.docs.url
  const { start, steps } = scenario
  const plain = await open()
  await plain.goto(plainBase + start)
  const page = await open()
  await page.goto(siteUrl + start)
  const strip = (s: Snapshot, base: string): Snapshot => ({ ...s, url: s.url.startsWith(base) ? `/${s.url.slice(base.length)}` : s.url })
  const settle = async (want: Snapshot, label: string, restarted: boolean): Promise<void> => {
    // A shell that (re)starts shows "Loading…" until its first page: wait for that page, then compare.
    if (restarted) await waitInTab(page, shellLoaded, FIRST_PAGE_MS)
    const deadline = Date.now() + STEP_MS
    let got = strip(await peersiteSnapshot(page), siteUrl)
    while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
      await sleep(100)
      got = strip(await peersiteSnapshot(page), siteUrl)
    }
    expect({ step: label, ...got }).toEqual({ step: label, ...want })
  }
  /**
   * The plain page after a step: every step of the scenarios but a scroll changes the address or the document, so
   * wait for that (the drivers differ in what their own navigation waits cover: same-document ones, traversals),
   * then for the document's load to have finished (a traversal's scroll is restored by then), then for the page's
   * router, if it has one, to have rendered the new address: the hash and pushState fixtures render in a task of
   * their own (hashchange, popstate) and note the address they rendered (`data-shown`). A fixed pause here (150 ms)
   * was too short on a loaded machine: the expectation was read before the router ran.
   */
  const plainSettled = async (before: { href: string, mark: string } | undefined): Promise<Snapshot> => {
    if (before !== undefined) {
      await waitInTab(plain, (b) => location.href !== b.href || (window as unknown as { peersiteStep?: string }).peersiteStep !== b.mark, STEP_MS, before)
    }
    await waitInTab(plain, () => document.readyState === 'complete' && (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.loadEventEnd !== 0, STEP_MS)
    await waitInTab(plain, () => {
      const shown = document.documentElement.dataset.shown
      return shown === undefined || shown === location.href
    }, STEP_MS)
    return strip(await plainSnapshot(plain), plainBase)
  }
  await settle(await plainSettled(undefined), `open ${start}`, true)
  for (const [i, step] of steps.entries()) {
    const mark = `step ${i + 1}`
    const before = typeof step === 'object' && 'scroll' in step
      ? undefined
      : { href: await plain.evaluate((m) => { (window as unknown as { peersiteStep?: string }).peersiteStep = m; return location.href }, mark), mark }
    await act(plain, step, false)
    const want = await plainSettled(before)
    await act(page, step, true)
    await settle(want, `${i + 1}: ${typeof step === 'string' ? step : JSON.stringify(step)}`, step === 'reload')
  }
}

/**
 * A return visit (loader/index.html): the worker controls the page, so the shell shows the site's frame at once and
 * starts the engine only once the frame has loaded and fetched nothing new for a moment (the engine's boot would
 * take the main thread the site needs), or at once when the worker needs the engine for a file it has no copy of.
 *
 *   npm run build && sh scripts/in-netns.sh npx vitest run test/e2e/return-visit.test.ts
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { loaderState, repoRoot, siteFrame, useChromiumAndSite, waitForFrameH1 } from './harness.js'

const HELLO = join(repoRoot, 'examples', 'hello')

describe('a return visit', () => {
  const env = useChromiumAndSite(HELLO)

  /** A profile that has visited the home page once (its tab closed): the worker holds that page's files. */
  async function visited (): Promise<{ context: BrowserContext, first: Page }> {
    const context = await env.newContext()
    const first = await context.newPage()
    await first.goto(env.site.url)
    await waitForFrameH1(first, 'Hello from peersite')
    await first.waitForFunction(() => (window as unknown as { peersite?: { loaded: boolean } }).peersite?.loaded === true)
    expect(await fillsWindow(first)).toBe(true)
    return { context, first }
  }

  /** The site's frame covers the window (the shell page's style sheet styles it by its id). */
  const fillsWindow = async (page: Page): Promise<boolean> => await page.evaluate(() => {
    const frame = document.getElementById('peersite-frame')!
    const box = frame.getBoundingClientRect()
    return getComputedStyle(frame).position === 'fixed' && box.width === innerWidth && box.height === innerHeight
  })

  /** Its engine started and won the election (its handle, window.peersite, comes a moment before that). */
  const booted = async (page: Page): Promise<void> => {
    await page.waitForFunction(() => (window as unknown as { peersite?: { leader?: boolean } }).peersite?.leader === true)
  }

  it('shows the page it has seen with the site\'s title, then starts its engine', async () => {
    const { context, first } = await visited()
    await first.close()
    const page = await context.newPage()
    await page.goto(env.site.url)
    await waitForFrameH1(page, 'Hello from peersite')
    await page.waitForFunction(() => document.title === 'Hello from peersite')
    expect(await fillsWindow(page)).toBe(true)
    await booted(page)
    expect((await loaderState(page))?.leader).toBe(true)
  })

  it('a page the worker has no copy of: the worker asks for the engine, which starts and serves it', async () => {
    const { context, first } = await visited()
    // The worker's copies are gone (it keeps no other): every file must come through the engine.
    const frame = await siteFrame(first)
    await frame.evaluate(async () => {
      for (const name of await caches.keys()) if (name.startsWith('peersite-files:')) await caches.delete(name)
    })
    await first.close()
    const page = await context.newPage()
    await page.goto(`${env.site.url}about.html`)
    await waitForFrameH1(page, 'About')
    await page.waitForFunction(() => document.title === 'About - Hello from peersite')
    await booted(page)
    expect((await loaderState(page))?.leader).toBe(true)
  })
})
